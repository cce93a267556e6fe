#!/usr/bin/env bash
# Regenerates the golden files in this folder from tools independent of ringplan's code:
# xxhsum (Debian package `xxhash`, the xxHash project's own CLI) for XXH3-64, and a few lines of
# Python for FNV-1a 64. Run it only to extend the vectors; a change in existing lines means
# placement changed, which breaks every deployed ring.
#   golden_hashes.txt  <policy> <input bytes in hex, or - for empty> <hash in hex>
#   golden_ring.txt    <policy> <token in decimal> <node>, in ring order, for the ring of nodes
#                      alpha, beta, gamma with 4 vnodes each
set -euo pipefail
cd "$(dirname "$0")"
command -v xxhsum >/dev/null || { echo "needs xxhsum: apt-get install xxhash" >&2; exit 1; }

xxh3() {  # hex bytes -> hex hash
    printf '%s' "$1" | xxd -r -p | xxhsum -H3 - | awk '{print $NF}'
}
fnv() {
    python3 -c 'import sys
h = 0xcbf29ce484222325
for b in bytes.fromhex(sys.argv[1]):
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print("%016x" % h)' "$1"
}
hexof() { printf '%s' "$1" | xxd -p | tr -d '\n'; }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }

inputs=("" "$(hexof a)" "$(hexof abc)" "$(hexof 'hello world')" "$(hexof user:1234)"
        "00" "ff80fe7f" "$(hexof "$(printf 'x%.0s' {1..200})")"
        "$(hexof alpha)$(le32 0)" "$(hexof alpha)$(le32 1)" "$(hexof alpha)$(le32 255)"
        "$(hexof alpha)$(le32 65536)" "2a00000000000000")
{
    for policy in xxh3 fnv1a64; do
        for in in "${inputs[@]}"; do
            if [[ $policy == xxh3 ]]; then h=$(xxh3 "$in"); else h=$(fnv "$in"); fi
            printf '%s %s %s\n' "$policy" "${in:--}" "$h"
        done
    done
} > golden_hashes.txt

{
    for policy in xxh3 fnv1a64; do
        for node in alpha beta gamma; do
            for i in 0 1 2 3; do
                in="$(hexof $node)$(le32 $i)"
                if [[ $policy == xxh3 ]]; then h=$(xxh3 "$in"); else h=$(fnv "$in"); fi
                printf '%s %s %s\n' "$policy" "$(python3 -c "print(int('$h', 16))")" "$node"
            done
        done | sort -k1,1 -k2,2n -k3,3 -s
    done
} > golden_ring.txt
