#!/usr/bin/env bash
# Drives examples/net over real sockets: starts echo_server on a free loopback port, runs
# echo_client against it, checks both outputs, then stops the server with SIGTERM and checks
# that it shut down gracefully (its scope ended every connection and it exited 0).
#   net_examples_check.sh <dir with echo_server and echo_client>
set -euo pipefail
bin=$1
out=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$out"' EXIT

"$bin/echo_server" 127.0.0.1:0 >"$out/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$out/server.log" && break
    sleep 0.05
done
addr=$(sed -n 's/^listening on //p' "$out/server.log")
[[ -n $addr ]] || { echo "echo_server did not say where it listens:"; cat "$out/server.log"; exit 1; }

got=$(timeout 10 "$bin/echo_client" "$addr" hello "second line" "")
expected=$'hello\nsecond line'
if [[ $got != "$expected" ]]; then
    echo "echo_client printed:"; printf '%s\n' "$got"; echo "expected:"; printf '%s' "$expected"
    exit 1
fi

# A client that connects to nothing fails within its deadline with a clear message.
if msg=$(timeout 10 "$bin/echo_client" 127.0.0.1:1 x 2>&1); then
    echo "echo_client to a closed port succeeded: $msg"; exit 1
fi
grep -q 'connect to 127.0.0.1:1: Connection refused' <<<"$msg" || { echo "unexpected error: $msg"; exit 1; }

for _ in $(seq 100); do
    grep -q 'echoed 19 bytes' "$out/server.log" && break
    sleep 0.05
done
kill -TERM "$server"
status=0
wait "$server" || status=$?
if ((status != 0)); then
    echo "echo_server exited with $status after SIGTERM:"; cat "$out/server.log"; exit 1
fi
grep -q 'echoed 19 bytes' "$out/server.log" || { echo "no connection report:"; cat "$out/server.log"; exit 1; }
grep -q "stopped by signal 15" "$out/server.log" || { echo "no graceful stop:"; cat "$out/server.log"; exit 1; }
echo "net examples: echo over TCP, refused connect, graceful SIGTERM: as expected"
