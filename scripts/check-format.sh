#!/usr/bin/env bash
# Checks that every C++ source of the repository is formatted as .clang-format says, with
# Debian 12's clang-format 14 (another version may format differently). Lists the files that
# are not and fails; `clang-format-14 -i <file>` fixes one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh clang-format-14
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.hpp' '*.cpp' '*.h')
else
    mapfile -t files < <(find include src tests examples bench -name '*.hpp' -o -name '*.cpp' -o -name '*.h')
fi
bad=()
for f in "${files[@]}"; do
    clang-format-14 --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
    echo "coven: not formatted with .clang-format (run clang-format-14 -i on them):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "coven: ${#files[@]} files formatted as .clang-format says"
