// brk(2) as the raw syscall (mm/mmap.c, Linux 6.1): it returns the new break, or the old one
// when it refuses. It never goes below start_brk, past RLIMIT_DATA (counted with the data
// segment), or within a page (plus the guard gap of a stack) of the next mapping; on x86_64,
// beyond the program's window.

import { PAGE_SIZE } from "../constants.js";
import { pageAlign, STACK_GUARD_GAP } from "./aslr.js";
import type { Mm } from "./mm.js";
import { BACKING_ANON, MAX_MAP_COUNT, VM_ACCOUNT, VM_LOCKED, VM_READ, VM_WRITE, pagesOf, startGap } from "./vma.js";

export function sysBrk(mm: Mm, brkArg: unknown): number {
  const brk = mm.word(brkArg);
  const origBrk = mm.brk;
  if (brk < mm.startBrk) return origBrk;
  // check_data_rlimit
  const dataLimit = mm.rlimits.cur(2);
  if (dataLimit < Infinity && brk - mm.startBrk + (mm.endData - mm.startData) > dataLimit) return origBrk;

  const newBrk = pageAlign(brk);
  const oldBrk = pageAlign(mm.brk);
  if (oldBrk === newBrk) {
    mm.brk = brk;
    return brk;
  }
  if (brk <= mm.brk) {
    // Shrinking is always allowed, provided there is still something there to unmap.
    if (mm.vmas.intersecting(newBrk, oldBrk) === undefined) return origBrk;
    mm.brk = brk;
    if (mm.unmapTail(newBrk, oldBrk)) return brk;
    if (mm.unmap(newBrk, oldBrk) < 0) {
      mm.brk = origBrk;
      return origBrk;
    }
    return brk;
  }

  // check_brk_limits: the range must be placeable, and fit RLIMIT_MEMLOCK after mlockall(MCL_FUTURE).
  if (mm.getUnmappedArea(oldBrk, newBrk - oldBrk, true) < 0) return origBrk;
  // An x86_64 heap stays in the program's window, where the allocator reaches it inline: the break
  // stops at its end as at a mapping (docs/x86_64-layout.md, "Limits").
  if (!mm.identity && mm.runOffset(oldBrk, newBrk) < 0) return origBrk;
  if (!mm.mlockFutureOk(mm.defFlags, newBrk - oldBrk)) return origBrk;
  const next = mm.vmas.list[mm.vmas.lowerBound(oldBrk)];
  if (next !== undefined && next.start <= newBrk - 1 + PAGE_SIZE + STACK_GUARD_GAP) {
    if (newBrk + PAGE_SIZE > startGap(next)) return origBrk;
  }
  // do_brk_flags
  const len = newBrk - oldBrk;
  const flags = VM_READ | VM_WRITE | VM_ACCOUNT | mm.defFlags;
  if (!mm.mayExpandVm(flags, pagesOf(len))) return origBrk;
  if (mm.mapCount > MAX_MAP_COUNT) return origBrk;
  if (!mm.chargeCommit(pagesOf(len))) return origBrk;
  if (!mm.ensureMemory(newBrk)) {
    mm.commit.uncharge(pagesOf(len));
    return origBrk;
  }
  mm.insertVma({ start: oldBrk, end: newBrk, flags, pgoff: pagesOf(oldBrk), backing: BACKING_ANON, anonVma: 0, objectId: 0 });
  mm.brk = brk;
  if (flags & VM_LOCKED) {
    mm.lockedVm += pagesOf(len);
    mm.populate(oldBrk, newBrk, true);
  }
  return brk;
}
