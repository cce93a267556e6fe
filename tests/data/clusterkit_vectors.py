#!/usr/bin/env python3
"""Golden vectors for ringplan's ClusterKit partition scheme, computed from ClusterKit's rules
(github.com/skshohagmiah/clusterkit, partitions.go) with Python's hashlib, independently of
ringplan's code:

  hashKey(s)     = big-endian uint32 of the first 4 bytes of MD5(s)
  partition(key) = hashKey(key) % Q                      (GetPartitionForKey)
  nodes(i)       = all node ids sorted ascending by hashKey("partition-<i>" + id), ties by id
                   (ClusterKit's sort.Slice is unstable there); the first min(rf, N) are the
                   primary and its replicas                (assignNodesToPartition)

Writes clusterkit.txt beside this script:
  key <Q> <key in hex, or - for empty> <partition>
  map <Q> <rf> <comma-separated nodes> <partition> <node> [<node> ...]
Run it only to extend the vectors; a changed line means the scheme is no longer ClusterKit's.
"""
import hashlib
import os


def hash_key(s: bytes) -> int:
    return int.from_bytes(hashlib.md5(s).digest()[:4], "big")


def main() -> None:
    out = []
    keys = [b"", b"a", b"user:123", b"order:456", b"hello world", b"\x00\xff"]
    keys += [b"key-%d" % i for i in range(20)]
    for q in (1, 7, 16, 256, 65536):
        for k in keys:
            out.append("key %d %s %d" % (q, k.hex() or "-", hash_key(k) % q))
    memberships = [
        (16, 3, ["node-1", "node-2", "node-3"]),
        (16, 3, ["node-1", "node-2", "node-3", "node-4"]),
        (64, 2, ["a", "b", "c", "d", "e"]),
        (100, 3, ["n%d" % i for i in range(1, 8)]),
        (8, 3, ["x", "y"]),
    ]
    for q, rf, nodes in memberships:
        r = min(rf, len(nodes))
        for p in range(q):
            name = ("partition-%d" % p).encode()
            ranked = sorted(nodes, key=lambda n: (hash_key(name + n.encode()), n))
            out.append("map %d %d %s %d %s" % (q, rf, ",".join(nodes), p, " ".join(ranked[:r])))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clusterkit.txt")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
