// madvise(2) (mm/madvise.c, Linux 6.1). Unmapped parts of the range are skipped and reported
// as ENOMEM at the end, after the advice was applied to the mapped parts.
//
// What the advice does here: DONTNEED drops pages (they read zero again; shmem keeps its data),
// REMOVE punches a hole in shmem, POPULATE_* faults pages in, the flag-setting advice splits and
// merges VMAs like mprotect. FREE, WILLNEED, COLD and PAGEOUT change nothing visible: without
// memory pressure or swap, lazily freed pages stay, and nothing is paged out.

import {
  EACCES,
  EINVAL,
  ENOMEM,
  MADV_COLD,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  PAGE_SIZE,
} from "../constants.js";
import { int } from "./args.js";
import { pageAlign } from "./aslr.js";
import type { Mm } from "./mm.js";
import {
  BACKING_ANON,
  BACKING_SHMEM,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
} from "./vma.js";

/**
 * madvise_behavior_valid for a 6.1 kernel with KSM and THP. MADV_COLLAPSE (25), the memory-
 * failure injectors (100, 101) and anything else are EINVAL (as on the reference machine).
 */
const VALID = new Set([
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTDUMP,
  MADV_DODUMP,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_DONTNEED_LOCKED,
]);

export function sysMadvise(mm: Mm, addrArg: unknown, lenArg: unknown, adviceArg: unknown): number {
  const advice = int(adviceArg);
  if (!VALID.has(advice)) return -EINVAL;
  let start = mm.word(addrArg);
  const lenIn = mm.word(lenArg);
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + pageAlign(lenIn);
  if (end === start) return 0;

  const vmas = mm.vmas;
  let unmappedError = 0;
  for (;;) {
    const i = vmas.lowerBound(start);
    const v = vmas.list[i];
    if (v === undefined) return -ENOMEM;
    if (start < v.start) {
      unmappedError = -ENOMEM;
      start = v.start;
      if (start >= end) break;
    }
    const tmp = Math.min(v.end, end);
    const r = adviseVma(mm, i, start, tmp, advice);
    if (r < 0) return r;
    start = tmp;
    if (start >= end) break;
  }
  return unmappedError;
}

function adviseVma(mm: Mm, index: number, s: number, e: number, advice: number): number {
  const v = mm.vmas.list[index]!;
  switch (advice) {
    case MADV_REMOVE:
      if (v.flags & VM_LOCKED) return -EINVAL;
      if (v.backing === BACKING_ANON) return -EINVAL;
      if ((v.flags & (VM_SHARED | VM_WRITE)) !== (VM_SHARED | VM_WRITE)) return -EACCES;
      mm.dropPages(s, e, (v.flags & VM_WRITE) !== 0);
      return 0;
    case MADV_WILLNEED:
      return 0;
    case MADV_COLD:
    case MADV_PAGEOUT:
      return v.flags & VM_LOCKED ? -EINVAL : 0;
    case MADV_FREE:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
      if (v.flags & VM_LOCKED && advice !== MADV_DONTNEED_LOCKED) return -EINVAL;
      if (advice === MADV_FREE) return v.backing === BACKING_ANON ? 0 : -EINVAL;
      // Private anonymous pages are freed; shmem keeps its pages; the program's own image
      // would fall back to its file contents, which are its current contents here.
      if (v.backing === BACKING_ANON) {
        // A raw store there not yet found would have faulted on Linux and given the VMA its
        // anon_vma (which decides later merges): it is looked for before the pages are dropped.
        if (v.anonVma === 0) mm.scanVma(index, s, e);
        mm.dropPages(s, e, (v.flags & VM_WRITE) !== 0);
      }
      return 0;
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE: {
      const write = advice === MADV_POPULATE_WRITE;
      if (!(v.flags & (write ? VM_WRITE : VM_READ))) return -EINVAL;
      if (write) mm.writeFault(index, s, e);
      else {
        mm.scanVma(index, s, e);
        mm.readFault(index, s, e);
      }
      return 0;
    }
  }
  // The advice that only sets vm_flags (madvise_update_vma).
  let flags = v.flags;
  switch (advice) {
    case MADV_NORMAL:
      flags &= ~(VM_RAND_READ | VM_SEQ_READ);
      break;
    case MADV_SEQUENTIAL:
      flags = (flags & ~VM_RAND_READ) | VM_SEQ_READ;
      break;
    case MADV_RANDOM:
      flags = (flags & ~VM_SEQ_READ) | VM_RAND_READ;
      break;
    case MADV_DONTFORK:
      flags |= VM_DONTCOPY;
      break;
    case MADV_DOFORK:
      flags &= ~VM_DONTCOPY;
      break;
    case MADV_WIPEONFORK:
      if (v.backing !== BACKING_ANON) return -EINVAL;
      flags |= VM_WIPEONFORK;
      break;
    case MADV_KEEPONFORK:
      flags &= ~VM_WIPEONFORK;
      break;
    case MADV_DONTDUMP:
      flags |= VM_DONTDUMP;
      break;
    case MADV_DODUMP:
      flags &= ~VM_DONTDUMP;
      break;
    case MADV_MERGEABLE:
      if (!(flags & (VM_SHARED | VM_MAYSHARE)) && v.backing !== BACKING_SHMEM) flags |= VM_MERGEABLE;
      break;
    case MADV_UNMERGEABLE:
      flags &= ~VM_MERGEABLE;
      break;
    case MADV_HUGEPAGE:
      flags = (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case MADV_NOHUGEPAGE:
      flags = (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
  }
  const r = mm.fixup(index, s, e, flags);
  return Math.min(r, 0);
}
