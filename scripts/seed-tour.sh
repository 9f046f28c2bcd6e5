#!/usr/bin/env bash
# The seed tour: builds coven and runs every program in examples/seeds/, printing what each
# prints, in real time. scarletio_sleep_loop runs forever, like its seed, so the tour skips it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
targets=()
for src in examples/seeds/*.cpp; do targets+=("$(basename "$src" .cpp)"); done
cmake --build --preset release --target "${targets[@]}"
for src in examples/seeds/*.cpp; do
    name=$(basename "$src" .cpp)
    if [ "$name" = scarletio_sleep_loop ]; then
        echo "=== $name (skipped: prints the time every 4 s forever; run build/release/examples/seeds/$name)"
        continue
    fi
    echo "=== $name"
    "build/release/examples/seeds/$name"
done
