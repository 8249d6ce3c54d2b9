#!/usr/bin/env bash
# Enforces DESIGN.md's layering: which folders may include which. Exits 1 and names every
# offending line. Usage: check-includes.sh [ROOT]  (ROOT defaults to the repository).
set -uo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
status=0

# folder : folders it must never include
rules=(
  "runtime:sim buggify coord broker workloads cli"
  "buggify:sim coord broker workloads cli"
  "sim:coord broker workloads cli"
  "coord:sim broker workloads cli runtime/real"
  "broker:sim workloads cli runtime/real"
  "workloads:sim cli runtime/real"
)

for rule in "${rules[@]}"; do
  dir="${rule%%:*}"
  forbidden="${rule#*:}"
  [[ -d "$root/$dir" ]] || continue
  for f in $forbidden; do
    # runtime/real is part of runtime but may include runtime; nothing else special.
    hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]+[\"<]$f/" "$root/$dir" \
             --include='*.h' --include='*.cc' --include='*.hpp' --include='*.cpp' 2>/dev/null)
    if [[ -n "$hits" ]]; then
      echo "layering violation: $dir/ must not include $f/:"
      echo "$hits" | sed "s|^$root/||; s|^|  |"
      status=1
    fi
  done
done

if [[ $status -eq 0 ]]; then echo "include layering: ok"; fi
exit $status
