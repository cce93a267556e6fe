#!/usr/bin/python3
# ringplan: golden Murmur3Partitioner vectors from the DataStax Python driver (make_golden.sh).
# SPDX-License-Identifier: MIT
#
# Prints "hex-of-key murmur3 token" per line: murmur3 is cassandra.murmur3.murmur3 (h1 of
# Cassandra's MurmurHash3 x64_128), token is cassandra.metadata.Murmur3Token.hash_fn (with the
# Long.MIN_VALUE -> Long.MAX_VALUE special case). Inputs come from a fixed seed.
import random
import sys

import cassandra
from cassandra.metadata import Murmur3Token
from cassandra.murmur3 import murmur3

rng = random.Random(20240607)
keys = [b"", b"\x00", b"\x80", b"\xff", b"a", b"key:0", bytes(range(256)), bytes(range(255, -1, -1))]
keys += [bytes([0x80 + i % 128] * n) for i, n in enumerate(range(1, 40))]  # every tail length, bytes >= 0x80
keys += [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 64)]
keys += [bytes(rng.randrange(256) for _ in range(rng.randrange(64, 2048))) for _ in range(20)]
keys += [("key:%d" % i).encode() for i in range(50)]
print("# Murmur3 tokens from the DataStax Python driver %s: hex-key murmur3 token" % cassandra.__version__)
for k in keys:
    sys.stdout.write("%s %d %d\n" % (k.hex() or "-", murmur3(k), Murmur3Token.hash_fn(k)))
