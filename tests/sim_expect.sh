#!/usr/bin/env bash
# Runs `weir sim run` on seeds 1..N until one exits with the expected code; then, if it wrote a
# replay file, replays it and requires the replay to reproduce the same verdict and unseed.
# With WANT_REASON (an extended regex) the failing seed's output must also name that reason, so
# a broken variant cannot pass by failing some other way.
# usage: [WANT_REASON=REGEX] sim_expect.sh WEIR SPEC EXPECTED_EXIT [SEEDS] [EXTRA FLAGS...]
set -uo pipefail
weir="$1"; spec="$2"; want="$3"; seeds="${4:-5}"; shift 4 2>/dev/null || shift $#
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for seed in $(seq 1 "$seeds"); do
  # Only this seed's replay counts: earlier seeds may have failed another way and left theirs.
  rm -f "$out"/replay-*.txtpb
  "$weir" sim run --spec "$spec" --seed "$seed" --replay-dir "$out" "$@" > "$out/stdout" 2> "$out/stderr"
  rc=$?
  if [[ $rc -eq $want ]]; then
    echo "seed $seed exited $rc as expected: $(head -c 400 "$out/stdout")"
    cat "$out/stderr" | head -20
    if [[ -n "${WANT_REASON:-}" ]] && ! grep -Eq -- "$WANT_REASON" "$out/stdout" "$out/stderr"; then
      echo "FAIL: seed $seed failed, but not with a reason matching /$WANT_REASON/"
      exit 1
    fi
    replay=$(ls "$out"/replay-*.txtpb 2>/dev/null | head -1)
    if [[ $want -ne 0 && $want -ne 6 ]]; then
      [[ -n "$replay" ]] || { echo "FAIL: no replay file written"; exit 1; }
      grep -q "replay with: .* sim replay $replay" "$out/stderr" || { echo "FAIL: no replay command printed"; exit 1; }
      "$weir" sim replay "$replay" > "$out/replay.out" 2> "$out/replay.err"
      rrc=$?
      cat "$out/replay.err" | tail -3
      [[ $rrc -eq $want ]] || { echo "FAIL: replay exited $rrc, want $want"; exit 1; }
      grep -q "reproduced" "$out/replay.err" || { echo "FAIL: replay did not reproduce"; exit 1; }
    fi
    exit 0
  fi
  echo "seed $seed exited $rc (want $want)"
done
echo "FAIL: no seed in 1..$seeds exited $want"
exit 1
