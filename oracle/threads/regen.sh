#!/usr/bin/env bash
# Rebuilds the threads oracle (gcc -m32 -O2 -pthread, and gcc -O2 -pthread for x86-64) and
# regenerates test/fixtures/threads from the real 32-bit glibc of this machine and
# test/fixtures/threads64 from its x86-64 glibc: NAME.txt for every oracle/threads/scenarios/NAME.ops.
#
# Every scenario runs twice, each time in a private mount namespace (unshare -m) where a file
# "0-(N-1)" is bind-mounted over /sys/devices/system/cpu/online, so that get_nprocs() answers N
# ("# nprocs: N" in the op list, 2 by default; the header line prints what it answered), with an
# empty environment (no MALLOC_* or GLIBC_TUNABLES) and an 8 MiB stack limit (the default thread
# stack size comes from RLIMIT_STACK). The two outputs must be identical.
#
# A fixture that differs is rewritten in place (so `git diff` shows it) and the script exits 1.
# Exit 2: it cannot run here (no 32-bit gcc, or no private mount namespace to fake the CPU count).
# Without a 64-bit gcc only the 32-bit fixtures are regenerated (said, and exit 1).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/oracle/bin"
scenarios="$here/scenarios"
mkdir -p "$bin" "$root/test/fixtures/threads" "$root/test/fixtures/threads64"

if ! gcc -m32 -O2 -Wall -Wextra -pthread -o "$bin/replay-threads32" "$here/replay-threads.c"; then
  echo "threads oracle: cannot build with gcc -m32 -pthread (gcc-multilib missing?)" >&2
  exit 2
fi
have64=1
gcc -O2 -Wall -Wextra -pthread -o "$bin/replay-threads64" "$here/replay-threads.c" || have64=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ulimit -s 8192 || { echo "threads oracle: cannot set an 8 MiB stack limit" >&2; exit 2; }

# runs "$@" with get_nprocs() faked to $1 (the rest is the command)
with_nprocs() {
  local n=$1
  shift
  local online="$tmp/online-$n"
  if [ "$n" -eq 1 ]; then echo 0 > "$online"; else echo "0-$((n - 1))" > "$online"; fi
  unshare -m sh -c 'mount --bind "$1" /sys/devices/system/cpu/online && shift && exec env -i PATH="$PATH" "$@"' \
    sh "$online" "$@"
}

probe=$(with_nprocs 3 cat /sys/devices/system/cpu/online 2>/dev/null)
if [ "$probe" != "0-2" ]; then
  echo "threads oracle: cannot bind-mount a fake /sys/devices/system/cpu/online in a private mount namespace (needs root or user namespaces); fixtures untouched" >&2
  exit 2
fi

status=0
if [ "$have64" -eq 0 ]; then echo "  FAILED   cannot build the x86-64 threads oracle (gcc -pthread)"; status=1; fi
# shellcheck source=../settle.sh
. "$root/oracle/settle.sh"
# regen_threads BITS FIXTURE_DIR: every scenario through oracle/bin/replay-threadsBITS
regen_threads() {
  local bits=$1 fixtures=$2
  echo "threads: ${bits}-bit"
  for ops in "$scenarios"/*.ops; do
    name=$(basename "$ops" .ops)
    nprocs=$(sed -n 's/^# nprocs: *\([0-9][0-9]*\).*/\1/p' "$ops" | head -n 1)
    every=$(sed -n 's/^# checkpoint-every: *\([0-9][0-9]*\).*/\1/p' "$ops" | head -n 1)
    for run in 1 2; do
      if ! with_nprocs "${nprocs:-2}" "$bin/replay-threads$bits" -c "${every:-1}" "$ops" > "$tmp/$name.$bits.$run"; then
        echo "  FAILED   $name"
        status=1
        continue 2
      fi
    done
    if ! cmp -s "$tmp/$name.$bits.1" "$tmp/$name.$bits.2"; then
      echo "  UNSTABLE $name (two runs differ; the fixture is not rewritten)"
      diff "$tmp/$name.$bits.1" "$tmp/$name.$bits.2" | head -5
      status=1
      continue
    fi
    if ! head -n 1 "$tmp/$name.$bits.1" | grep -q " nprocs=${nprocs:-2} "; then
      echo "  FAILED   $name (get_nprocs() did not answer ${nprocs:-2})"
      status=1
      continue
    fi
    settle "$tmp/$name.$bits.1" "$fixtures/$name.txt"
  done
  for fixture in "$fixtures"/*.txt; do
    [ -e "$fixture" ] || continue
    name=$(basename "$fixture" .txt)
    if [ ! -f "$scenarios/$name.ops" ]; then echo "  STALE    ${fixture#"$root"/} (no oracle/threads/scenarios/$name.ops)"; status=1; fi
  done
}
regen_threads 32 "$root/test/fixtures/threads"
if [ "$have64" -eq 1 ]; then regen_threads 64 "$root/test/fixtures/threads64"; fi
exit $status
