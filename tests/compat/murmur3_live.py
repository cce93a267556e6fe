#!/usr/bin/python3
# Live cross-check against the installed DataStax driver: ringplan's Murmur3 tokens (printed by
# the murmur3_tokens program given as argv[1]) must equal cassandra.murmur3.murmur3 and
# Murmur3Token.hash_fn for random byte strings of every length 0..300, long ones, the empty
# key and keys of bytes >= 0x80. Registered by tests/CMakeLists.txt when the driver imports.
import random
import subprocess
import sys

import cassandra
from cassandra.metadata import Murmur3Token
from cassandra.murmur3 import murmur3

rng = random.Random(7)
keys = [b"", bytes(range(128, 256)), bytes([0xff] * 15), bytes([0x80] * 31)]
keys += [bytes(rng.randrange(256) for _ in range(n)) for n in range(301) for _ in range(10)]
keys += [bytes(rng.randrange(128, 256) for _ in range(n)) for n in range(1, 40)]
keys += [bytes(rng.randrange(256) for _ in range(rng.randrange(1000, 70000))) for _ in range(10)]
inp = "".join((k.hex() or "-") + "\n" for k in keys)
out = subprocess.run([sys.argv[1]], input=inp, capture_output=True, text=True, check=True).stdout
bad = 0
for k, line in zip(keys, out.splitlines()):
    _, h, t = line.split()
    if int(h) != murmur3(k) or int(t) != Murmur3Token.hash_fn(k):
        bad += 1
        if bad <= 5:
            print("mismatch on %s: ringplan %s %s, driver %d %d" % (k.hex()[:64], h, t, murmur3(k), Murmur3Token.hash_fn(k)))
if len(out.splitlines()) != len(keys):
    print("murmur3_tokens printed %d lines for %d keys" % (len(out.splitlines()), len(keys)))
    bad += 1
print("murmur3_live: cassandra-driver %s, %d keys, %d mismatches" % (cassandra.__version__, len(keys), bad))
sys.exit(1 if bad else 0)
