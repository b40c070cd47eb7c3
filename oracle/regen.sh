#!/usr/bin/env bash
# Rebuilds every oracle program (gcc -m32) and regenerates every fixture from the real
# 32-bit glibc and Linux kernel of this machine. Exits non-zero if any fixture changed.
set -uo pipefail
cd "$(dirname "$0")"
status=0
for part in kernel replay; do
  if [ -x "$part/regen.sh" ] || [ -f "$part/regen.sh" ]; then
    echo "oracle: $part"
    bash "$part/regen.sh" || status=1
  fi
done
exit $status
