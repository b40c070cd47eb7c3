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
# and the same from the machine's x86-64 glibc (plain gcc: replay64, walkthrough64, corrupt64) into
# test/fixtures/alloc64: NAME.replay64.txt, walkthrough64.txt, corruption-cases.json; the traces'
# NAME.replay64.txt.gz are compared as the 32-bit ones are. Scenarios listed in i386_only are not
# replayed on x86-64, and corruption cases marked `only i386` are left out of the 64-bit file
# (oracle/replay/README.md says why).
# A regenerated fixture that differs is rewritten in place (so `git diff` shows the change) and
# the script exits non-zero. The programs run with an empty environment (no MALLOC_* variables).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/oracle/bin"
fixtures="$root/test/fixtures/alloc"
fixtures64="$root/test/fixtures/alloc64"
scenarios="$root/oracle/scenarios"
mkdir -p "$bin" "$fixtures" "$fixtures64"
# scenarios whose output on x86-64 depends on the address-space layout (see the README)
i386_only=" alignment "

for prog in replay walkthrough corrupt; do
  gcc -m32 -O2 -Wall -Wextra -o "$bin/${prog}32" "$here/$prog.c" || { echo "regen: cannot build $prog"; exit 1; }
done
for prog in replay walkthrough corrupt; do
  gcc -O2 -Wall -Wextra -o "$bin/${prog}64" "$here/$prog.c" || { echo "regen: cannot build $prog for x86-64"; exit 1; }
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
for bits in 32 64; do
  for ops in "${traces[@]}"; do
    name=$(basename "$ops" .ops.gz)
    expected="$root/test/fixtures/traces/$name.replay$bits.txt.gz"
    if [ ! -f "$expected" ]; then echo "  MISSING  ${expected#"$root"/}"; status=1; continue; fi
    gzip -dc "$ops" | run "$bin/replay$bits" > "$tmp/$name.out" || { echo "  FAILED   $name.replay$bits"; status=1; continue; }
    if gzip -dc "$expected" | cmp -s - "$tmp/$name.out"; then
      echo "  same     $name.replay$bits"
    else
      echo "  DIFFERS  $name.replay$bits (first difference below; the stored file is not rewritten)"
      gzip -dc "$expected" | diff - "$tmp/$name.out" | head -5
      status=1
    fi
  done
done

echo "replay: scenarios"
for ops in "$scenarios"/*.ops; do
  name=$(basename "$ops" .ops)
  # "# checkpoint-every: N" sets the interval (default: after every op); "# align-break: A"
  # moves the break to a multiple of A before the first op
  every=$(sed -n 's/^# checkpoint-every: *\([0-9][0-9]*\).*/\1/p' "$ops" | head -n 1)
  align=$(sed -n 's/^# align-break: *\([0-9][0-9]*\).*/\1/p' "$ops" | head -n 1)
  for bits in 32 64; do
    dir=$fixtures
    if [ "$bits" = 64 ]; then
      dir=$fixtures64
      case "$i386_only" in *" $name "*) continue ;; esac
    fi
    run "$bin/replay$bits" -c "${every:-1}" ${align:+-a "$align"} "$ops" > "$tmp/$name.replay$bits.txt" \
      || { echo "  FAILED   $name.replay$bits"; status=1; continue; }
    settle "$tmp/$name.replay$bits.txt" "$dir/$name.replay$bits.txt"
  done
done
for fixture in "$fixtures"/*.replay32.txt "$fixtures64"/*.replay64.txt; do
  name=$(basename "$fixture" .txt)
  name=${name%.replay??}
  if [ ! -f "$scenarios/$name.ops" ]; then echo "  STALE    ${fixture#"$root"/} (no oracle/scenarios/$name.ops)"; status=1; fi
done

echo "walkthrough"
run "$bin/walkthrough32" > "$tmp/walkthrough.txt" || { echo "  FAILED"; status=1; }
settle "$tmp/walkthrough.txt" "$fixtures/walkthrough.txt"
run "$bin/walkthrough64" > "$tmp/walkthrough64.txt" || { echo "  FAILED   walkthrough64"; status=1; }
settle "$tmp/walkthrough64.txt" "$fixtures64/walkthrough64.txt"

echo "corruption cases"
run "$bin/corrupt32" "$here/corruption.cases" > "$tmp/corruption-cases.json" || { echo "  FAILED"; status=1; }
settle "$tmp/corruption-cases.json" "$fixtures/corruption-cases.json"
# the same cases file: its numbers in words (`-1w`) and `I386|X86_64` pairs evaluate to 64-bit
# offsets and sizes; cases marked `only i386` are skipped by corrupt64 itself
run "$bin/corrupt64" "$here/corruption.cases" > "$tmp/corruption-cases64.json" || { echo "  FAILED   corrupt64"; status=1; }
settle "$tmp/corruption-cases64.json" "$fixtures64/corruption-cases.json"

exit $status
