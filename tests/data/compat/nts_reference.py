#!/usr/bin/python3
# ringplan: golden NetworkTopologyStrategy replicas from the DataStax Python driver
# (make_golden.sh). tests/compat/nts_live.py imports the cluster generator and driver_replicas.
# SPDX-License-Identifier: MIT
#
# Clusters come from a fixed seed; every replica list is what the installed driver returns:
# TokenMap.get_replicas (bisect_left: a key token equal to a node token belongs to that node)
# over NetworkTopologyStrategy.make_token_replica_map, in the driver's order. Format, one
# record per line, fields separated by spaces:
#   cluster NAME                          starts a cluster
#   rf DC:N [DC:N...]                     the keyspace's replication factors
#   node NAME DC RACK TOKEN[,TOKEN...]    RACK '-' = no rack (the driver's None)
#   key HEX TOKEN REPLICAS                a partition key ('-' = empty), its Murmur3 token
#   token TOKEN REPLICAS                  a key token equal to a node token
# REPLICAS is NAME[,NAME...] or '-' for none. Tokens are signed, as Cassandra prints them.
import random
import sys

import cassandra
from cassandra.metadata import Murmur3Token, NetworkTopologyStrategy, TokenMap
from cassandra.pool import Host

MIN_TOKEN = -(1 << 63)
MAX_TOKEN = (1 << 63) - 1


class _Keyspace(object):
    def __init__(self, strategy):
        self.replication_strategy = strategy


class _Metadata(object):
    # What TokenMap.rebuild_keyspace reads of the driver's Metadata.
    def __init__(self, strategy):
        self.keyspaces = {"ks": _Keyspace(strategy)}


def driver_replicas(nodes, rfs, tokens):
    """The driver's replica lists (names) for signed key `tokens`. nodes: (name, dc, rack or
    None, [signed tokens]); rfs: {dc: rf}."""
    owner = {}
    for name, dc, rack, toks in nodes:
        host = Host(name, lambda h: None, datacenter=dc, rack=rack)
        for t in toks:
            owner[Murmur3Token(t)] = host
    ring = sorted(owner)
    strategy = NetworkTopologyStrategy(dict((dc, str(rf)) for dc, rf in rfs.items()))
    token_map = TokenMap(Murmur3Token, owner, ring, _Metadata(strategy))
    return [[h.address for h in token_map.get_replicas("ks", Murmur3Token(t))] for t in tokens]


class Tokens(object):
    """Distinct random node tokens (never Long.MIN_VALUE, Cassandra's minimum token)."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def take(self, n):
        out = []
        while len(out) < n:
            t = self.rng.randint(MIN_TOKEN + 1, MAX_TOKEN)
            if t not in self.used:
                self.used.add(t)
                out.append(t)
        return out


def random_cluster(rng):
    """1-4 datacenters of 1-12 nodes on 1-5 racks, 1-16 tokens a node; some datacenters have no
    racks or only some; rfs 0-5, sometimes a datacenter listed without nodes or not listed."""
    tokens = Tokens(rng)
    dcs = ["dc%d" % (i + 1) for i in range(rng.randint(1, 4))]
    rng.shuffle(dcs)  # the driver's datacenter order follows the ring, not the names
    nodes = []
    for dc in dcs:
        racks = rng.randint(1, 5)
        mode = rng.choice(["racked"] * 6 + ["rackless"] + ["mixed"] * 3)
        for i in range(rng.randint(1, 12)):
            rack = "r%d" % rng.randint(1, racks)
            if mode == "rackless" or (mode == "mixed" and rng.random() < 0.3):
                rack = None
            nodes.append(("%s-n%d" % (dc, i), dc, rack, tokens.take(rng.randint(1, 16))))
    rfs = dict((dc, rng.randint(0, 5)) for dc in dcs if rng.random() < 0.85)
    if rng.random() < 0.3:
        rfs["dc9"] = rng.randint(1, 5)  # listed, no nodes
    if not any(rfs.values()):
        rfs[dcs[0]] = rng.randint(1, 5)
    return nodes, rfs


def explicit_clusters(rng):
    """The cases named in docs/compatibility.md, each with random tokens."""
    tokens = Tokens(rng)

    def node(name, dc, rack, count=1):
        return (name, dc, rack, tokens.take(count))

    out = []
    # Fewer racks than rf: repeats fill the rest.
    out.append(("racks-below-rf",
                [node("a%d" % i, "dc1", "r%d" % (i % 2), 4) for i in range(6)] +
                [node("b%d" % i, "dc2", "r1", 2) for i in range(3)],
                {"dc1": 4, "dc2": 3}))
    # A datacenter with fewer nodes than its rf.
    out.append(("nodes-below-rf",
                [node("a1", "dc1", "r1", 3), node("a2", "dc1", "r2", 2),
                 node("b1", "dc2", "r1", 3)],
                {"dc1": 5, "dc2": 1}))
    # No node of dc1 has a rack (the driver places none there), dc2 has racks.
    out.append(("dc-without-racks",
                [node("a%d" % i, "dc1", None, 3) for i in range(4)] +
                [node("b%d" % i, "dc2", "r%d" % i, 3) for i in range(3)],
                {"dc1": 2, "dc2": 2}))
    # Some nodes of dc1 have racks, some not.
    out.append(("some-rackless",
                [node("a%d" % i, "dc1", None if i % 3 == 0 else "r%d" % (i % 2), 4)
                 for i in range(7)],
                {"dc1": 3}))
    # rf 0 for a datacenter with nodes, a datacenter with nodes not listed, one listed without.
    out.append(("rf-zero-unlisted-empty",
                [node("a%d" % i, "dc1", "r%d" % (i % 3), 2) for i in range(4)] +
                [node("b%d" % i, "dc2", "r1", 2) for i in range(3)] +
                [node("c%d" % i, "dc3", "r%d" % i, 2) for i in range(3)],
                {"dc1": 2, "dc2": 0, "dc4": 3}))
    # Hosts of many tokens on one rack, one host on another: a host is skipped once per token
    # before the second rack is placed, and the driver then lists it twice.
    out.append(("skipped-twice",
                [node("a%d" % i, "dc1", "r1", 16) for i in range(3)] +
                [node("b1", "dc1", "r2", 1)],
                {"dc1": 3}))
    # Every rack of a rackless host and a racked one: None counts as a placed rack.
    out.append(("rackless-first",
                [node("a1", "dc1", None, 8), node("a2", "dc1", "r1", 8),
                 node("a3", "dc1", "r1", 8), node("a4", "dc1", "r2", 1)],
                {"dc1": 4}))
    # One datacenter, one node, one token.
    out.append(("single", [node("a1", "dc1", "r1", 1)], {"dc1": 3}))
    # Node tokens at both ends of the token space (Long.MIN_VALUE is the partitioner's minimum,
    # still a token a node may hold; Long.MAX_VALUE is the token of keys hashing to MIN).
    out.append(("extreme-tokens",
                [("a1", "dc1", "r1", [MIN_TOKEN]), ("a2", "dc1", "r2", [MAX_TOKEN]),
                 ("b1", "dc2", "r1", [0] + tokens.take(2))],
                {"dc1": 1, "dc2": 1}))
    return out


def random_key(rng):
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 12)))


def main():
    rng = random.Random(20251017)
    clusters = explicit_clusters(rng)
    for i in range(70):
        nodes, rfs = random_cluster(rng)
        clusters.append(("random-%d" % i, nodes, rfs))
    w = sys.stdout.write
    w("# NetworkTopologyStrategy replicas from the DataStax Python driver %s, driver order\n"
      % cassandra.__version__)
    w("# (tests/data/compat/nts_reference.py says the format)\n")
    doubled = 0
    for name, nodes, rfs in clusters:
        w("cluster %s\n" % name)
        w("rf %s\n" % " ".join("%s:%d" % (dc, rfs[dc]) for dc in sorted(rfs)))
        for n, dc, rack, toks in nodes:
            w("node %s %s %s %s\n" % (n, dc, rack or "-", ",".join(str(t) for t in toks)))
        keys = [random_key(rng) for _ in range(25 if name.startswith("random") else 120)]
        key_tokens = [Murmur3Token.hash_fn(k) for k in keys]
        all_tokens = sorted(t for n in nodes for t in n[3])
        exact = sorted(rng.sample(all_tokens, min(4, len(all_tokens))))
        exact = sorted(set(exact + [all_tokens[0], all_tokens[-1]]))
        lists = driver_replicas(nodes, rfs, key_tokens + exact)
        for k, t, r in zip(keys, key_tokens, lists):
            w("key %s %d %s\n" % (k.hex() or "-", t, ",".join(r) or "-"))
            doubled += len(r) != len(set(r))
        for t, r in zip(exact, lists[len(keys):]):
            w("token %d %s\n" % (t, ",".join(r) or "-"))
            doubled += len(r) != len(set(r))
    sys.stderr.write("nts_reference: %d clusters, %d lists name a host twice\n"
                     % (len(clusters), doubled))


if __name__ == "__main__":
    main()
