// mlock(2), mlock2, munlock, mlockall, munlockall (mm/mlock.c of Linux 6.1), against
// RLIMIT_MEMLOCK unless privileged (CAP_IPC_LOCK). Locking populates: writable private pages
// become resident, others map the zero page; MLOCK_ONFAULT / MCL_ONFAULT leave pages alone.

import {
  EAGAIN,
  EFAULT,
  EINVAL,
  ENOMEM,
  EPERM,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  PAGE_SIZE,
} from "../constants.js";
import { int } from "./args.js";
import { pageAlign } from "./aslr.js";
import type { Mm } from "./mm.js";
import { VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, pagesOf } from "./vma.js";

/** mlock_fixup: new lock bits on [s, e) of VMA `index`; locked_vm follows VM_LOCKED changes. */
function mlockFixup(mm: Mm, index: number, s: number, e: number, newFlags: number): number {
  const oldFlags = mm.vmas.list[index]!.flags;
  if (newFlags === oldFlags) return index;
  const r = mm.fixup(index, s, e, newFlags);
  if (r >= 0 && (oldFlags ^ newFlags) & VM_LOCKED) mm.lockedVm += newFlags & VM_LOCKED ? pagesOf(e - s) : -pagesOf(e - s);
  return r;
}

/** apply_vma_lock_flags: sets the lock bits on every VMA of [start, start + len), no holes. */
function applyVmaLockFlags(mm: Mm, start: number, len: number, lockFlags: number): number {
  const end = start + len;
  if (end === start) return 0;
  if (mm.vmas.indexOf(start) < 0) return -ENOMEM;
  return mm.forEachVmaPiece(start, end, (i, v, s, e) => mlockFixup(mm, i, s, e, (v.flags & ~VM_LOCKED_MASK) | lockFlags));
}

/** Pages of [start, start + len) already locked (count_mm_mlocked_page_nr). */
function lockedPagesIn(mm: Mm, start: number, len: number): number {
  const end = start + len;
  let pages = 0;
  for (let i = mm.vmas.lowerBound(start); i < mm.vmas.count; i++) {
    const v = mm.vmas.list[i]!;
    if (v.start >= end) break;
    if (v.flags & VM_LOCKED) pages += pagesOf(Math.min(v.end, end) - Math.max(v.start, start));
  }
  return pages;
}

function doMlock(mm: Mm, addrArg: unknown, lenArg: unknown, lockFlags: number): number {
  let start = mm.word(addrArg);
  let len = mm.word(lenArg);
  if (!mm.canDoMlock()) return -EPERM;
  len = pageAlign(len + (start % PAGE_SIZE));
  start -= start % PAGE_SIZE;
  const lockLimit = Math.floor(mm.rlimits.cur(8) / PAGE_SIZE);
  let locked = pagesOf(len) + mm.lockedVm;
  if (locked > lockLimit && !mm.privileged) locked -= lockedPagesIn(mm, start, len);
  if (!(locked <= lockLimit || mm.privileged)) return -ENOMEM;
  const r = applyVmaLockFlags(mm, start, len, lockFlags);
  if (r < 0) return r;
  const p = mm.populate(start, start + len, false);
  // __mlock_posix_error_return
  if (p === -EFAULT) return -ENOMEM;
  if (p === -ENOMEM) return -EAGAIN;
  return p;
}

export function sysMlock(mm: Mm, addr: unknown, len: unknown): number {
  return doMlock(mm, addr, len, VM_LOCKED);
}

export function sysMlock2(mm: Mm, addr: unknown, len: unknown, flagsArg: unknown): number {
  const flags = int(flagsArg);
  if (flags & ~MLOCK_ONFAULT) return -EINVAL;
  return doMlock(mm, addr, len, VM_LOCKED | (flags & MLOCK_ONFAULT ? VM_LOCKONFAULT : 0));
}

export function sysMunlock(mm: Mm, addrArg: unknown, lenArg: unknown): number {
  let start = mm.word(addrArg);
  const len = pageAlign(mm.word(lenArg) + (start % PAGE_SIZE));
  start -= start % PAGE_SIZE;
  return applyVmaLockFlags(mm, start, len, 0);
}

/** apply_mlockall_flags: mm->def_flags for future mappings, and every VMA now (errors ignored). */
function applyMlockallFlags(mm: Mm, flags: number): void {
  mm.defFlags &= ~VM_LOCKED_MASK;
  if (flags & MCL_FUTURE) {
    mm.defFlags |= VM_LOCKED;
    if (flags & MCL_ONFAULT) mm.defFlags |= VM_LOCKONFAULT;
    if (!(flags & MCL_CURRENT)) return;
  }
  let toAdd = 0;
  if (flags & MCL_CURRENT) {
    toAdd = VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  const vmas = mm.vmas;
  let a = 0;
  for (;;) {
    const i = vmas.lowerBound(a);
    const v = vmas.list[i];
    if (v === undefined) break;
    a = v.end;
    mlockFixup(mm, i, v.start, v.end, (v.flags & ~VM_LOCKED_MASK) | toAdd);
  }
}

export function sysMlockall(mm: Mm, flagsArg: unknown): number {
  const flags = int(flagsArg);
  if (!flags || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  if (!mm.canDoMlock()) return -EPERM;
  const lockLimit = Math.floor(mm.rlimits.cur(8) / PAGE_SIZE);
  if (flags & MCL_CURRENT && !(mm.vmas.totalPages <= lockLimit || mm.privileged)) return -ENOMEM;
  applyMlockallFlags(mm, flags);
  if (flags & MCL_CURRENT) mm.populate(0, mm.layout.taskSize, true);
  return 0;
}

export function sysMunlockall(mm: Mm): number {
  applyMlockallFlags(mm, 0);
  return 0;
}
