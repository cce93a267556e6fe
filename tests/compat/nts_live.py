#!/usr/bin/python3
# Live cross-check against the installed DataStax driver: `route --scheme nts` (argv[1]) must
# list every key's NetworkTopologyStrategy replicas as the driver's TokenMap.get_replicas does,
# in its order, for random clusters (tests/data/compat/nts_reference.py makes them: 1-4
# datacenters, 1-5 racks, nodes without racks, rf 0, datacenters without nodes). argv[2], if
# given, is the seed; else one is drawn and printed. Registered by tests/CMakeLists.txt when the
# driver imports.
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "compat"))

import cassandra  # noqa: E402
from cassandra.metadata import Murmur3Token  # noqa: E402
from nts_reference import driver_replicas, random_cluster  # noqa: E402

CLUSTERS = 300
KEYS = 200

route = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.SystemRandom().randrange(1 << 32)
rng = random.Random(seed)
bad = 0
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "nodes")
    for c in range(CLUSTERS):
        nodes, rfs = random_cluster(rng)
        with open(path, "w") as f:
            for name, dc, rack, toks in nodes:
                f.write("%s %s %s %s\n" % (name, dc, rack or "-", ",".join(str(t) for t in toks)))
        keys = ["k%d-%x" % (i, rng.getrandbits(64)) for i in range(KEYS)]
        rf_arg = ",".join("%s:%d" % (dc, rf) for dc, rf in sorted(rfs.items()))
        run = subprocess.run([route, "--scheme", "nts", "--rf", rf_arg, path],
                             input="".join(k + "\n" for k in keys),
                             capture_output=True, text=True)
        want = driver_replicas(nodes, rfs, [Murmur3Token.hash_fn(k.encode()) for k in keys])
        expected = "".join("%s\t%s\n" % (k, ",".join(r)) for k, r in zip(keys, want))
        if run.returncode != 0 or run.stdout != expected:
            bad += 1
            if bad <= 3:
                print("cluster %d differs (exit %d, rf %s): %s" % (c, run.returncode, rf_arg,
                                                                    run.stderr.strip()))
                for got, exp in zip(run.stdout.splitlines(), expected.splitlines()):
                    if got != exp:
                        print("  route:  %s\n  driver: %s" % (got, exp))
                        break
print("nts_live: cassandra-driver %s, seed %d, %d clusters of %d keys, %d differ"
      % (cassandra.__version__, seed, CLUSTERS, KEYS, bad))
sys.exit(1 if bad else 0)
