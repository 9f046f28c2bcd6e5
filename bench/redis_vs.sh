#!/usr/bin/env bash
# coven_redis against Debian's redis-server under the same redis-benchmark command, in one run:
# 50 clients, SET and GET, pipeline 1 and 16; requests per second and p50/p99 latency side by
# side, the median of R rounds (the servers take turns within each round).
#   bash bench/redis_vs.sh [requests per test, default 200000] [rounds, default 3]
# Both servers run one thread; redis-benchmark runs one thread on the other core.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-200000}
rounds=${2:-3}
bash scripts/install-deps.sh redis-server >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target coven_redis >/dev/null
coven=build/release/examples/net/coven_redis
out=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$out"' EXIT

# A port nothing listens on (a connect to it is refused).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
wait_ping() { for _ in $(seq 200); do redis-cli -p "$1" PING >/dev/null 2>&1 && return; sleep 0.05; done; echo "server on $1 did not answer" >&2; exit 1; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --io-threads 1 --logfile "$out/redis.log" &
pids+=($!)
coven_port=$(free_port)
"$coven" "127.0.0.1:$coven_port" >"$out/coven.log" 2>&1 &
pids+=($!)
wait_ping "$redis_port"
wait_ping "$coven_port"

echo "# redis_vs: redis-benchmark -c 50 -n $n -t set,get -P {1,16}, median of $rounds rounds"
echo "# redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), coven_redis $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l > 1.5) }'; then
    echo "# WARNING: load average above 1.5 before this run; its figures are not to be trusted"
fi
# results: one line per run: server test pipeline rps p50 p99
for round in $(seq "$rounds"); do
    for pipeline in 1 16; do
        order="redis coven"
        ((round % 2 == 0)) && order="coven redis"
        for server in $order; do
            port=$redis_port
            [[ $server == coven ]] && port=$coven_port
            redis-benchmark -p "$port" -c 50 -n "$n" -P "$pipeline" -t set,get --csv 2>/dev/null |
                tr -d '"' | awk -F, -v s="$server" -v p="$pipeline" \
                    'NR > 1 { print s, $1, p, $2, $5, $7 }' >>"$out/results"
        done
    done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-8s %-3s  %14s %9s %9s  %14s %9s %9s  %8s\n' test P "redis rps" "p50 ms" "p99 ms" \
    "coven rps" "p50 ms" "p99 ms" "rps x"
for test in SET GET; do
    for pipeline in 1 16; do
        row=()
        for server in redis coven; do
            for col in 4 5 6; do
                row+=("$(awk -v s="$server" -v t="$test" -v p="$pipeline" -v c="$col" \
                    '$1 == s && $2 == t && $3 == p { print $c }' "$out/results" | median)")
            done
        done
        ratio=$(awk -v a="${row[3]}" -v b="${row[0]}" 'BEGIN { printf "%.2f", a / b }')
        printf '%-8s %-3s  %14.0f %9.3f %9.3f  %14.0f %9.3f %9.3f  %8s\n' "$test" "$pipeline" \
            "${row[@]}" "$ratio"
    done
done
echo "# rps x: coven_redis's requests per second over redis-server's (above 1: coven is faster)"
echo "# load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
