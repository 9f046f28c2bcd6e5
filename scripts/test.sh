#!/usr/bin/env bash
# Builds coven with its tests (preset dev, or the one given: asan, tsan, clang, release) and
# runs the whole suite. Ends with CTest's summary line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset="${1:-dev}"
extra=()
[ "$preset" = clang ] && extra+=(clang)
# The asan preset builds with clang, whose sanitizer runtimes Debian packages apart.
[ "$preset" = asan ] && extra+=(clang libclang-rt-14-dev)
bash scripts/install-deps.sh "${extra[@]}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" --timeout 300
