// mprotect(2), as do_mprotect_pkey / mprotect_fixup: VMAs are changed one after the other, so a
// hole stops the walk with ENOMEM after the VMAs before it were changed. As on the reference
// kernel (6.7 and later), a private anonymous VMA that never had a page faulted in (no anon_vma)
// gives its commit charge back when it stops being writable, and so can merge with neighbours
// that were never charged.

import { EINVAL, ENOMEM, PAGE_SIZE, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE } from "../constants.js";
import { ulong } from "./args.js";
import { pageAlign } from "./aslr.js";
import type { Mm } from "./mm.js";
import { protToVmFlags } from "./mmap.js";
import {
  BACKING_ANON,
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_NORESERVE,
  VM_SHARED,
  VM_WRITE,
  pagesOf,
} from "./vma.js";

export function sysMprotect(mm: Mm, addrArg: unknown, lenArg: unknown, protArg: unknown): number {
  let start = mm.word(addrArg);
  const lenIn = mm.word(lenArg);
  let prot = ulong(protArg);
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  if (lenIn === 0) return 0;
  const len = pageAlign(lenIn);
  const end = start + len;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL; // arch_validate_prot

  const vmas = mm.vmas;
  const first = vmas.list[vmas.lowerBound(start)];
  if (first === undefined) return -ENOMEM;
  if (grows & PROT_GROWSDOWN) {
    if (first.start >= end) return -ENOMEM;
    start = first.start;
    if (!(first.flags & VM_GROWSDOWN)) return -EINVAL;
  } else {
    if (first.start > start) return -ENOMEM;
    if (grows & PROT_GROWSUP) return -EINVAL; // x86 has no VM_GROWSUP
  }
  const protFlags = protToVmFlags(prot);
  return mm.forEachVmaPiece(start, end, (i, v, s, e) =>
    mprotectFixup(mm, i, s, e, protFlags | (v.flags & ~VM_ACCESS_FLAGS)),
  );
}

/**
 * mprotect_fixup: a private mapping made writable is charged; made read-only it stays charged,
 * unless it is anonymous and was never faulted (no anon_vma), when nothing can be lost by
 * giving the charge back.
 */
function mprotectFixup(mm: Mm, index: number, s: number, e: number, newFlags: number): number {
  const v = mm.vmas.list[index]!;
  const oldFlags = v.flags;
  if (newFlags === oldFlags) return 0;
  const pages = pagesOf(e - s);
  let charged = 0;
  if (newFlags & VM_WRITE) {
    if (!mm.mayExpandVm(newFlags, pages) && mm.mayExpandVm(oldFlags, pages)) return -ENOMEM;
    if (!(oldFlags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))) {
      if (!mm.chargeCommit(pages)) return -ENOMEM;
      charged = pages;
      newFlags |= VM_ACCOUNT;
    }
  } else if (oldFlags & VM_ACCOUNT && v.backing === BACKING_ANON && !mm.hasAnonVma(index)) {
    newFlags &= ~VM_ACCOUNT;
  }
  // Stores made while the pages were writable must be found before they stop being scanned.
  if (oldFlags & VM_WRITE && !(newFlags & VM_WRITE)) mm.scanVma(index, s, e);
  const r = mm.fixup(index, s, e, newFlags);
  if (r < 0) {
    mm.commit.uncharge(charged);
    return r;
  }
  if (oldFlags & VM_ACCOUNT && !(newFlags & VM_ACCOUNT)) mm.commit.uncharge(pages);
  // A locked private mapping made writable is populated for writing at once.
  if ((oldFlags & (VM_WRITE | VM_SHARED | VM_LOCKED)) === VM_LOCKED && newFlags & VM_WRITE) mm.populate(s, e, true);
  return 0;
}
