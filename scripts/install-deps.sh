#!/usr/bin/env bash
# Installs the Debian 12 packages coven needs to build and test, skipping those already there.
# Runs apt-get as root (or through sudo). redis-tools: redis-cli and redis-benchmark drive
# coven_redis in the tests (net_examples.redis_cli).
set -euo pipefail
need=()
for p in g++ cmake ninja-build pkg-config libgtest-dev libgmock-dev redis-tools "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "coven: installing Debian packages: ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
