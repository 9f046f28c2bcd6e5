#!/usr/bin/env bash
# Checks the rules that keep the layers apart (docs/design.md, "A map of the code"):
#  1. the loop's state (src/kernel/loop_state.hpp) is included only by src/kernel/;
#  2. no public header includes from src/;
#  3. the kernel names no facade: src/kernel/ includes no facade header of its own layer above
#     (task_scope, task_group, async_scope, cancel_scope, timeout) and no src/ folder but time/
#     and io/;
#  4. no source or header file (tests aside) passes 600 lines.
# Prints each breach and fails if there is one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bad=0
say() {
    echo "coven layering: $*" >&2
    bad=1
}

while IFS= read -r hit; do
    say "the loop state is private to src/kernel/: $hit"
done < <(grep -rn --include='*.cpp' --include='*.hpp' -E '#include ".*loop_state\.hpp"' \
    include src tests bench examples | grep -v '^src/kernel/' || true)

while IFS= read -r hit; do
    say "a public header includes from src/: $hit"
done < <(grep -rn -E '#include "' include || true)

while IFS= read -r hit; do
    say "the kernel names a facade: $hit"
done < <(grep -rn -E '#include <coven/(task_scope|task_group|async_scope|cancel_scope|timeout|eager_task_group|delayed_result)\.hpp>|#include "(cancel|scope|threads|mem)/' \
    src/kernel || true)

while IFS= read -r f; do
    n=$(wc -l < "$f")
    if ((n > 600)); then
        say "$f has $n lines (the limit is 600: split it by job)"
    fi
done < <(git ls-files 'include/*.hpp' 'src/*.hpp' 'src/*.cpp' 'bench/*.cpp' 'bench/*.hpp' 'examples/*.cpp' 2>/dev/null || find include src bench examples -name '*.?pp')

if ((bad)); then
    exit 1
fi
echo "coven: the layering rules hold"
