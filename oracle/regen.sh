#!/usr/bin/env bash
# Rebuilds every oracle program (gcc -m32, and plain gcc for the x86-64 fixtures) and regenerates
# every fixture from the real 32-bit and 64-bit glibc and Linux kernel of this machine. Exits 1 if
# any fixture changed. A part that cannot run here (exit 2: no 32-bit gcc, or not root for the kernel scenarios, which switch
# to an unprivileged user) is reported and skipped.
set -uo pipefail
cd "$(dirname "$0")"
status=0
for part in kernel replay threads; do
  echo "oracle: $part"
  bash "$part/regen.sh"
  case $? in
    0) ;;
    2) echo "oracle: $part skipped: it cannot run on this machine" ;;
    *) status=1 ;;
  esac
done
exit $status
