#!/usr/bin/env bash
# The seed tour: builds coven and runs every program in examples/seeds/, printing what each
# prints, in real time, and checks it against the program's .expected (the output the seed
# prints). Real time is looser than the tests' virtual clock, so a number may differ from the
# expected one by at most 0.15 (a time printed as 1.0 that took 1.04 s); every other character
# must match. Ends with one line: `N examples, M as expected`; exits non-zero if they differ.
# scarletio_sleep_loop runs forever, like its seed, so the tour skips it; scarletio_executor
# prints thread ids, so it has no .expected and is run without a check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
targets=()
for src in examples/seeds/*.cpp; do targets+=("$(basename "$src" .cpp)"); done
cmake --build --preset release --target "${targets[@]}"

# Same lines, same text between the numbers, numbers within 0.15 of each other.
same_output() { # expected-file actual-file
    awk '
        NR == FNR { want[FNR] = $0; n = FNR; next }
        { got[FNR] = $0; m = FNR }
        END {
            if (n != m) exit 1
            for (i = 1; i <= n; i++) {
                if (want[i] == got[i]) continue
                a = want[i]; b = got[i]
                sa = a; sb = b
                gsub(/-?[0-9]+(\.[0-9]+)?/, "#", sa); gsub(/-?[0-9]+(\.[0-9]+)?/, "#", sb)
                if (sa != sb) exit 1
                while (match(a, /-?[0-9]+(\.[0-9]+)?/)) {
                    x = substr(a, RSTART, RLENGTH) + 0; a = substr(a, RSTART + RLENGTH)
                    match(b, /-?[0-9]+(\.[0-9]+)?/)
                    y = substr(b, RSTART, RLENGTH) + 0; b = substr(b, RSTART + RLENGTH)
                    d = x - y; if (d < 0) d = -d
                    if (d > 0.15) exit 1
                }
            }
        }' "$1" "$2"
}

checked=0
as_expected=0
different=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for src in examples/seeds/*.cpp; do
    name=$(basename "$src" .cpp)
    if [ "$name" = scarletio_sleep_loop ]; then
        echo "=== $name (skipped: prints the time every 4 s forever; run build/release/examples/seeds/$name)"
        continue
    fi
    echo "=== $name"
    "build/release/examples/seeds/$name" | tee "$out"
    expected="examples/seeds/$name.expected"
    [ -f "$expected" ] || continue
    checked=$((checked + 1))
    if same_output "$expected" "$out"; then
        as_expected=$((as_expected + 1))
    else
        different+=("$name")
        echo "--- $name differs from $expected, which says:"
        cat "$expected"
    fi
done
echo "$checked examples, $as_expected as expected${different:+ (different: ${different[*]})}"
[ "$checked" -eq "$as_expected" ]
