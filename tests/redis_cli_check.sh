#!/usr/bin/env bash
# Drives examples/net/coven_redis with the real Redis clients (Debian's redis-tools): every
# command family through redis-cli with its printed replies, pub/sub across two clients, key
# expiry on the real clock, the request-size, client and idle limits, a short redis-benchmark
# run that must report no error, EMFILE on accept under a lowered fd limit, and a graceful stop.
#   redis_cli_check.sh <coven_redis binary>
set -euo pipefail
bin=$1
out=$(mktemp -d)
servers=()
cleanup() {
    for p in "${servers[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$out"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }

# [fd_limit=N] start <name> [args...]: runs the server on a free port (under `ulimit -n N` if
# fd_limit is set); sets $port and $pid.
start() {
    local name=$1
    shift
    local run=("$bin")
    [[ -n ${fd_limit:-} ]] && run=(bash -c 'ulimit -n "$0" && exec "$@"' "$fd_limit" "$bin")
    "${run[@]}" 127.0.0.1:0 "$@" >"$out/$name.log" 2>&1 &
    pid=$!
    servers+=("$pid")
    for _ in $(seq 200); do
        grep -q '^listening on ' "$out/$name.log" && break
        sleep 0.02
    done
    port=$(sed -n 's/^listening on 127.0.0.1://p' "$out/$name.log")
    [[ -n $port ]] || fail "$name did not say where it listens"
}
cli() { timeout 10 redis-cli -p "$port" "$@"; }
# expect <expected output> <redis-cli args...>
expect() {
    local want=$1
    shift
    local got
    got=$(cli "$@" 2>&1) || true
    [[ $got == "$want" ]] || fail "redis-cli $*: printed [$got], expected [$want]"
}
stop() { # graceful: SIGTERM, exit 0, the server says so
    kill -TERM "$pid"
    local status=0
    wait "$pid" || status=$?
    ((status == 0)) || fail "coven_redis exited with $status after SIGTERM"
    grep -q '^stopped by signal 15' "$out/$1.log" || fail "no graceful stop in $1.log"
}

# --- commands and replies ----------------------------------------------------------------------
start main
expect PONG PING
expect 'hello world' ECHO 'hello world'
expect OK SET greeting hi
expect hi GET greeting
expect '' GET missing
expect OK SET n 41
expect 42 INCR n
expect 52 INCRBY n 10
expect 51 DECR n
expect 'ERR value is not an integer or out of range' INCR greeting
expect OK SET big 9223372036854775807
expect 'ERR increment or decrement would overflow' INCR big
expect OK MSET a 1 b 2 c 3
expect $'1\n2\n\n3' MGET a b nope c
expect 2 EXISTS a b nope
expect 2 DEL a b nope
expect 0 EXISTS a
expect '' SET greeting bye NX
expect hi GET greeting
expect OK SET greeting bye XX
expect '' SET nokey v XX
expect bye SET greeting again GET
cli MSET key:1 x key:2 y key:3 z kex w >/dev/null
[[ $(cli KEYS 'key:*' | sort | tr '\n' ' ') == 'key:1 key:2 key:3 ' ]] || fail "KEYS key:*"
[[ $(cli KEYS 'k?x' | sort | tr '\n' ' ') == 'kex ' ]] || fail "KEYS k?x"
[[ $(cli KEYS 'key:[^1]' | sort | tr '\n' ' ') == 'key:2 key:3 ' ]] || fail "KEYS key:[^1]"
expect 8 DBSIZE
expect "ERR unknown command 'NOSUCH', with args beginning with: 'x' " NOSUCH x
expect "ERR wrong number of arguments for 'get' command" GET
expect 'ERR syntax error' SET k v EX 10 PX 10
expect "ERR invalid expire time in 'set' command" SET k v EX 0
expect save CONFIG GET save
expect $'appendonly\nno' CONFIG GET appendonly
[[ $(cli COMMAND COUNT) -ge 25 ]] || fail "COMMAND COUNT"
cli INFO clients | grep -q '^connected_clients:1' || fail "INFO clients"
expect OK FLUSHALL
expect 0 DBSIZE
# Pipelining: many commands in one write, the replies in order.
got=$(printf 'SET p 1\r\nINCR p\r\nINCR p\r\nGET p\r\n' | timeout 10 redis-cli -p "$port" --pipe 2>&1)
grep -q 'errors: 0, replies: 4' <<<"$got" || fail "--pipe: $got"
expect 3 GET p

# --- expiry on the real clock ------------------------------------------------------------------
expect OK SET soon v PX 300
expect OK SET later v EX 100
expect 100 TTL later
expect -1 TTL p
expect -2 TTL nope
expect v GET soon
sleep 0.6
expect '' GET soon
expect OK SET gone v PX 200
sleep 0.5
# Nobody read `gone`: the server's expiry task freed it, so DBSIZE (which counts every key
# held) no longer counts it.
expect 2 DBSIZE
expect 1 EXPIRE later 1
sleep 1.3
expect 0 EXISTS later

# --- pub/sub across two clients ----------------------------------------------------------------
timeout 10 redis-cli -p "$port" SUBSCRIBE news sport >"$out/subscriber.out" &
subscriber=$!
for _ in $(seq 100); do
    [[ $(cli PUBLISH news probe) == 1 ]] && break
    sleep 0.05
done
expect 1 PUBLISH news 'first headline'
expect 1 PUBLISH sport goal
expect 0 PUBLISH weather rain
sleep 0.2
kill "$subscriber" 2>/dev/null || true
wait "$subscriber" 2>/dev/null || true
grep -qx 'first headline' "$out/subscriber.out" || fail "subscriber did not get the news"
grep -qx 'goal' "$out/subscriber.out" || fail "subscriber did not get sport"
grep -q 'rain' "$out/subscriber.out" && fail "subscriber got a channel it did not subscribe to"

# --- redis-benchmark: the commands it sends, no errors -----------------------------------------
for pipeline in 1 16; do
    bench=$(timeout 120 redis-benchmark -p "$port" -q -n 20000 -c 20 -P $pipeline \
        -t ping,set,get,incr,mset 2>&1 | tr '\r' '\n') || fail "redis-benchmark -P $pipeline: $bench"
    for test in PING_INLINE PING_MBULK SET GET INCR 'MSET (10 keys)'; do
        grep -q "^$test: .* requests per second" <<<"$bench" || fail "no $test line: $bench"
    done
    grep -qi 'error' <<<"$bench" && fail "redis-benchmark -P $pipeline reported an error: $bench"
done
stop main

# --- limits ------------------------------------------------------------------------------------
# A bulk longer than --max-request: a protocol error, then the connection is closed.
start limits --max-request 1024 --maxclients 2 --timeout 1
long=$(head -c 2000 /dev/zero | tr '\0' x)
expect 'ERR Protocol error: invalid bulk length' SET k "$long"
expect PONG PING
# Two clients held open (the idle one is closed after 1 s, so keep within it), a third refused.
exec {c1}<>/dev/tcp/127.0.0.1/"$port"
exec {c2}<>/dev/tcp/127.0.0.1/"$port"
expect 'ERR max number of clients reached' PING
# Idle: after 1 s without a command the server closes both (a read sees the end at once).
sleep 1.6
timeout 2 cat <&"$c1" >/dev/null || fail "an idle client was not disconnected"
exec {c1}>&- {c2}>&-
expect PONG PING
grep -q 'closing a client: idle timeout' "$out/limits.log" || fail "no idle close logged"
stop limits

# --- EMFILE on accept: an fd limit of 32 in the server's process -------------------------------
fd_limit=32 start emfile --maxclients 1000
fds=()
for _ in $(seq 40); do # more connections than the server has fds: the kernel queues the rest
    exec {fd}<>/dev/tcp/127.0.0.1/"$port"
    fds+=("$fd")
done
for _ in $(seq 100); do
    grep -q 'Too many open files; accepting again in' "$out/emfile.log" && break
    sleep 0.05
done
grep -q 'Too many open files; accepting again in' "$out/emfile.log" || fail "no EMFILE back-off"
# A client accepted before the limit is still served.
printf 'PING\r\n' >&"${fds[0]}"
read -r -t 5 reply <&"${fds[0]}" || fail "no reply on an accepted connection during EMFILE"
[[ $reply == $'+PONG\r' ]] || fail "reply during EMFILE: $reply"
for fd in "${fds[@]}"; do exec {fd}>&-; done
# With fds free again, new clients are served.
expect PONG PING
kill -0 "$pid" || fail "the server died of EMFILE"
stop emfile

echo "coven_redis: redis-cli replies, pipelining, expiry, pub/sub, redis-benchmark without errors, request/client/idle limits, EMFILE back-off, graceful SIGTERM: as expected"
