#!/usr/bin/env bash
# Fails when a C++ file of the project is not formatted with the checked-in .clang-format
# (`make format` fixes them). Part of `make test`.
cd "$(dirname "$0")/.." || exit 1
if ! command -v clang-format >/dev/null; then
  echo "check-format: clang-format is not installed (scripts/install-deps.sh installs it)"
  exit 1
fi
mapfile -t files < <(git ls-files 'runtime/*.h' 'runtime/*.cc' 'sim/*.h' 'sim/*.cc' 'buggify/*.h' \
  'buggify/*.cc' 'coord/*.h' 'coord/*.cc' 'broker/*.h' 'broker/*.cc' 'workloads/*.h' \
  'workloads/*.cc' 'cli/*.h' 'cli/*.cc' 'tests/*.h' 'tests/*.cc' 'bench/*.h' 'bench/*.cc')
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not clang-formatted (run make format):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
