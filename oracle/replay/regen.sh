#!/usr/bin/env bash
# Rebuilds the allocator oracle programs (gcc -m32: replay, walkthrough, corrupt) and regenerates
# test/fixtures/alloc from the real 32-bit glibc of this machine:
#   ../traces/NAME.replay32.txt.gz  the recorded traces (test/fixtures/traces), replayed again and
#                                 compared (stored data, never rewritten)
#   NAME.replay32.txt             one per oracle/scenarios/NAME.ops (a checkpoint after every op,
#                                 or every N with a "# checkpoint-every: N" comment in the op list;
#                                 "# align-break: A" runs the replayer with -a A)
#   walkthrough.txt               oracle/replay/walkthrough.c
#   corruption-cases.json         oracle/replay/corruption.cases run by oracle/replay/corrupt.c
# A regenerated fixture that differs is rewritten in place (so `git diff` shows the change) and
# the script exits non-zero. The programs run with an empty environment (no MALLOC_* variables).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/oracle/bin"
fixtures="$root/test/fixtures/alloc"
scenarios="$root/oracle/scenarios"
mkdir -p "$bin" "$fixtures"

for prog in replay walkthrough corrupt; do
  gcc -m32 -O2 -Wall -Wextra -o "$bin/${prog}32" "$here/$prog.c" || { echo "regen: cannot build $prog"; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
run() { env -i PATH="$PATH" "$@"; }

# shellcheck source=../settle.sh
. "$root/oracle/settle.sh"

echo "replay: shared traces"
shopt -s nullglob
traces=("$root"/test/fixtures/traces/*.ops.gz)
if [ ${#traces[@]} -eq 0 ]; then echo "  (no traces under test/fixtures/traces)"; fi
for ops in "${traces[@]}"; do
  name=$(basename "$ops" .ops.gz)
  expected="$root/test/fixtures/traces/$name.replay32.txt.gz"
  gzip -dc "$ops" | run "$bin/replay32" > "$tmp/$name.out" || { echo "  FAILED   $name"; status=1; continue; }
  if gzip -dc "$expected" | cmp -s - "$tmp/$name.out"; then
    echo "  same     $name"
  else
    echo "  DIFFERS  $name (first difference below; the stored file is not rewritten)"
    gzip -dc "$expected" | diff - "$tmp/$name.out" | head -5
    status=1
  fi
done

echo "replay: scenarios"
for ops in "$scenarios"/*.ops; do
  name=$(basename "$ops" .ops)
  # "# checkpoint-every: N" sets the interval (default: after every op); "# align-break: A"
  # moves the break to a multiple of A before the first op
  every=$(sed -n 's/^# checkpoint-every: *\([0-9][0-9]*\).*/\1/p' "$ops" | head -n 1)
  align=$(sed -n 's/^# align-break: *\([0-9][0-9]*\).*/\1/p' "$ops" | head -n 1)
  run "$bin/replay32" -c "${every:-1}" ${align:+-a "$align"} "$ops" > "$tmp/$name.replay32.txt" \
    || { echo "  FAILED   $name"; status=1; continue; }
  settle "$tmp/$name.replay32.txt" "$fixtures/$name.replay32.txt"
done
for fixture in "$fixtures"/*.replay32.txt; do
  name=$(basename "$fixture" .replay32.txt)
  if [ ! -f "$scenarios/$name.ops" ]; then echo "  STALE    ${fixture#"$root"/} (no oracle/scenarios/$name.ops)"; status=1; fi
done

echo "walkthrough"
run "$bin/walkthrough32" > "$tmp/walkthrough.txt" || { echo "  FAILED"; status=1; }
settle "$tmp/walkthrough.txt" "$fixtures/walkthrough.txt"

echo "corruption cases"
run "$bin/corrupt32" "$here/corruption.cases" > "$tmp/corruption-cases.json" || { echo "  FAILED"; status=1; }
settle "$tmp/corruption-cases.json" "$fixtures/corruption-cases.json"

exit $status
