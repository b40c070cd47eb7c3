#!/usr/bin/env bash
# Rebuilds the kernel oracle (32-bit, gcc -m32) and rewrites test/fixtures/kernel/*.out from the
# real kernel of this machine; the same interpreter built for x86-64 (plain gcc) rewrites
# test/fixtures/kernel64/*.out (scenarios marked "# i386 only" left out). Exits 1 if any fixture
# changed (or the x86-64 build failed), 2 if the 32-bit oracle cannot be built.
# Also builds the native kernel benchmark probe (bench.c) used by bench/kernel.bench.ts.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/oracle/bin"
mkdir -p "$bin" "$root/test/fixtures/kernel" "$root/test/fixtures/kernel64"

cc="${CC:-gcc}"
if ! "$cc" -m32 -O2 -Wall -o "$bin/kernel-oracle" "$here/interp.c"; then
  echo "kernel oracle: cannot build with $cc -m32 (gcc-multilib missing?)" >&2
  exit 2
fi
"$cc" -m32 -O2 -Wall -o "$bin/kernel-bench" "$here/bench.c" || echo "kernel oracle: bench.c did not build" >&2
have64=1
"$cc" -O2 -Wall -o "$bin/kernel-oracle64" "$here/interp.c" || have64=0

# Every scenario switches to uid 65534 (and CAP_IPC_LOCK for "privileged yes"): that needs root.
if [ "$(id -u)" != "0" ]; then
  echo "kernel oracle: must run as root (scenarios switch users and capabilities); fixtures untouched" >&2
  exit 2
fi

changed=0
if [ "$have64" -eq 0 ]; then echo "kernel oracle: cannot build the x86-64 interpreter with $cc" >&2; changed=1; fi
# regen_kernel ORACLE FIXTURE_DIR: every scenario file through ORACLE, one NAME.out each
regen_kernel() {
  local oracle=$1 fixtures=$2
  for scenario in "$here"/scenarios/*.txt; do
    name="$(basename "$scenario" .txt)"
    out="$fixtures/$name.out"
    tmp="$(mktemp)"
    if ! "$oracle" "$scenario" >"$tmp"; then
      echo "kernel oracle: $name: the oracle failed" >&2
      rm -f "$tmp"
      exit 1
    fi
    if [ -f "$out" ] && cmp -s "$tmp" "$out"; then
      rm -f "$tmp"
    else
      echo "kernel oracle: fixture ${out#"$root"/} changed" >&2
      [ -f "$out" ] && diff -u "$out" "$tmp" | head -40 >&2
      mv "$tmp" "$out"
      chmod 644 "$out"
      changed=1
    fi
  done
  # fixtures whose scenario file is gone
  for out in "$fixtures"/*.out; do
    [ -e "$out" ] || continue
    name="$(basename "$out" .out)"
    if [ ! -f "$here/scenarios/$name.txt" ]; then
      echo "kernel oracle: removing stale fixture ${out#"$root"/}" >&2
      rm -f "$out"
      changed=1
    fi
  done
}
regen_kernel "$bin/kernel-oracle" "$root/test/fixtures/kernel"
if [ "$have64" -eq 1 ]; then regen_kernel "$bin/kernel-oracle64" "$root/test/fixtures/kernel64"; fi
exit $changed
