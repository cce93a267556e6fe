#!/bin/sh
# Regenerates the golden compatibility vectors from the real libraries (Debian 12:
# libmemcached-dev 1.1.4, python3-cassandra 3.25):
#   tests/data/compat/make_golden.sh
# ketama.txt: ketama_reference.c linked against libmemcached; murmur3.txt: murmur3_reference.py;
# nts.txt: nts_reference.py (NetworkTopologyStrategy in the driver's order).
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/ketama_reference" "$dir/ketama_reference.c" $(pkg-config --cflags --libs libmemcached)
"$tmp/ketama_reference" > "$dir/ketama.txt"
/usr/bin/python3 "$dir/murmur3_reference.py" > "$dir/murmur3.txt"
/usr/bin/python3 "$dir/nts_reference.py" > "$dir/nts.txt"
