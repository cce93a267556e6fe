#!/usr/bin/env bash
# End-to-end test of examples/redis_ring against real redis-server processes (ctest label e2e).
#
#   redis_e2e.sh REDIS_RING REDIS_SERVER REDIS_CLI [--bench] [--keys N]
#
# Starts 6 servers (and a 7th to join) on free loopback ports in a temporary directory, loads
# N keys (default 100000) with rf 3, then: leave, crash (kill -9 a server, then `crash`),
# down + write N/10 + up, join; `verify` after every step must find nothing missing, misplaced
# or wrong, and every operation must move exactly its plan's projection (redis_ring exits 1
# otherwise). Bad input is checked to leave the cluster file unchanged. --bench instead times a
# planned leave against the naive rebalance (rescan everything) on the same servers.
# Every server started here is stopped on exit, failed or not.
set -euo pipefail

ring=$1 server=$2 cli=$3
shift 3
bench=0
keys=100000
while [ $# -gt 0 ]; do
    case "$1" in
        --bench) bench=1 ;;
        --keys) keys=$2; shift ;;
        *) echo "redis_e2e: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

dir=$(mktemp -d /tmp/ringplan_redis_e2e.XXXXXX)
pids=()
ports=()
cleanup() {
    local p
    for p in "${ports[@]}"; do
        "$cli" -p "$p" shutdown nosave >/dev/null 2>&1 || true
    done
    for p in "${pids[@]}"; do
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT

fail() {
    echo "redis_e2e: FAILED: $*" >&2
    exit 1
}

# start_server <name>: a redis-server on a free loopback port; sets $port.
start_server() {
    local name=$1 try candidate pid
    for try in $(seq 1 50); do
        candidate=$((20000 + RANDOM % 40000))
        mkdir -p "$dir/$name"
        "$server" --port "$candidate" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$dir/$name" --daemonize no --logfile "$dir/$name/log" &
        pid=$!
        for _ in $(seq 1 50); do
            if "$cli" -p "$candidate" ping 2>/dev/null | grep -q PONG; then
                # The port answers: make sure it is our server, not one that was there before.
                if kill -0 "$pid" 2>/dev/null; then
                    pids+=("$pid")
                    ports+=("$candidate")
                    port=$candidate
                    return 0
                fi
                break
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    fail "could not start redis-server"
}

cluster="$dir/cluster"
echo "# the e2e cluster" >"$cluster"
declare -A port_of pid_of
for n in n1 n2 n3 n4 n5 n6 n7; do
    start_server "$n"
    port_of[$n]=$port
    pid_of[$n]=${pids[-1]}
    if [ "$n" != n7 ]; then
        echo "$n 127.0.0.1:$port" >>"$cluster"
    fi
done

rr() { "$ring" --cluster "$cluster" --rf 3 "$@"; }

# step <what> <args...>: runs redis_ring, shows its summary, fails the test on a non-zero exit.
step() {
    local out
    out=$(rr "$@" 2>"$dir/stderr") || {
        cat "$dir/stderr" >&2
        echo "$out" >&2
        fail "redis_ring $* exited with $?"
    }
    echo "$out"
}

total=$keys
verify() {
    local out
    out=$(rr verify --keys "$total" 2>"$dir/stderr") || {
        cat "$dir/stderr" >&2
        fail "verify after $1: $out"
    }
    echo "  $out"
    case "$out" in
        *"missing 0, misplaced 0, wrong values 0, unexpected 0, hint sets 0"*) ;;
        *) fail "verify after $1 reports differences: $out" ;;
    esac
}

# refuse <exit> <stderr regex> <args...>: bad input must fail with that status and message
# and leave the cluster file as it was.
refuse() {
    local want=$1 regex=$2 status=0
    shift 2
    cp "$cluster" "$dir/cluster.before"
    "$ring" "$@" >/dev/null 2>"$dir/stderr" || status=$?
    [ "$status" = "$want" ] || fail "redis_ring $* exited with $status, expected $want"
    grep -Eq "$regex" "$dir/stderr" || fail "redis_ring $*: stderr lacks /$regex/: $(cat "$dir/stderr")"
    cmp -s "$cluster" "$dir/cluster.before" || fail "redis_ring $* changed the cluster file"
}

step load "$keys"
verify load

if [ "$bench" = 1 ]; then
    # The same node leaves twice on the same servers: planned, then (after joining back) naive.
    step leave n6 --max-send 4 --max-recv 4
    verify "planned leave"
    step join n6 "127.0.0.1:${port_of[n6]}"
    verify "join back"
    step leave n6 --naive
    verify "naive leave"
    exit 0
fi

# Bad input: nothing is written, the file is unchanged.
echo "n9 127.0.0.1:notaport" >"$dir/bad_cluster"
refuse 1 "bad_cluster:1: .*bad port 'notaport'" --cluster "$dir/bad_cluster" --rf 3 verify
refuse 1 "unknown node 'n9'" --cluster "$cluster" --rf 3 leave n9
refuse 1 "rf 7 is larger than the cluster \(6 nodes\)" --cluster "$cluster" --rf 7 load 10
refuse 1 "bad COUNT '10x'" --cluster "$cluster" --rf 3 load 10x
free_port=$((${port_of[n7]} + 1))
while "$cli" -p "$free_port" ping >/dev/null 2>&1; do free_port=$((free_port + 1)); done
cp "$cluster" "$dir/unreachable"
echo "n8 127.0.0.1:$free_port" >>"$dir/unreachable"
refuse 1 "cannot reach node n8" --cluster "$dir/unreachable" --rf 3 leave n1
[ "$("$cli" -p "${port_of[n1]}" dbsize)" -gt 0 ] || fail "the refused leave of n1 moved its keys"

step leave n1 --max-send 2 --max-recv 2
verify leave

{
    kill -9 "${pid_of[n2]}"
    wait "${pid_of[n2]}"
} 2>/dev/null || true
step crash n2
verify crash

step down n3
step write $((keys / 10)) --start "$keys"
total=$((keys + keys / 10))
step up n3 --max-send 2 --max-recv 2
verify "down, write, up"

step join n7 "127.0.0.1:${port_of[n7]}"
verify join

# verify itself must see a difference: a lost copy, a wrong value, a stray copy.
holder="" other=""
for n in n3 n4 n5 n6 n7; do
    if [ "$("$cli" -p "${port_of[$n]}" exists key:42)" = 1 ]; then
        if [ -z "$holder" ]; then holder=$n; else other=$n; fi
    fi
done
[ -n "$other" ] || fail "key:42 has fewer than 2 copies"
"$cli" -p "${port_of[$holder]}" del key:42 >/dev/null
"$cli" -p "${port_of[$other]}" set key:42 wrong >/dev/null
"$cli" -p "${port_of[n3]}" set key:999999999 v >/dev/null
status=0
out=$(rr verify --keys "$total" 2>/dev/null) || status=$?
[ "$status" = 1 ] || fail "verify of a damaged cluster exited with $status: $out"
case "$out" in
    *"missing 1, misplaced 0, wrong values 2, unexpected 1,"*) echo "  damaged: $out" ;;
    *) fail "verify of a damaged cluster: $out" ;;
esac
echo "redis_e2e: passed"
