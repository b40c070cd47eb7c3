// mremap(2) (mm/mremap.c, as the reference kernel has it): shrink in place, grow in place when the pages after the VMA are
// free, otherwise move (MREMAP_MAYMOVE) keeping the contents; MREMAP_FIXED picks the target and
// unmaps what was there; MREMAP_DONTUNMAP moves the pages and leaves the old range mapped and
// empty. The order of checks follows the kernel; so does the commit accounting of a move (the
// old charge travels with the pages) and its VmPeak (the transient double mapping is not a peak).

import { EAGAIN, EFAULT, EINVAL, ENOMEM, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE } from "../constants.js";
import { ulong } from "./args.js";
import { pageAlign } from "./aslr.js";
import { copyPages as copyFarPages, movePages as moveFarPages } from "./far.js";
import type { Mm } from "./mm.js";
import { BACKING_ANON, BACKING_SHMEM, MAX_MAP_COUNT, VM_ACCOUNT, VM_LOCKED, VM_LOCKED_MASK, VM_SHARED, VM_WRITE, pagesOf } from "./vma.js";

/**
 * Pages.copy (a shared mapping's second view) or Pages.move of `pages` pages from oldAddr to
 * newAddr: one run when a window holds each range whole, else far.ts's page by page.
 */
function transferPages(mm: Mm, oldAddr: number, newAddr: number, pages: number, copy: boolean): void {
  const from = mm.identity ? oldAddr : mm.runOffset(oldAddr, oldAddr + pages * PAGE_SIZE);
  const to = mm.identity ? newAddr : mm.runOffset(newAddr, newAddr + pages * PAGE_SIZE);
  if (from < 0 || to < 0) (copy ? copyFarPages : moveFarPages)(mm, oldAddr, newAddr, pages);
  else if (copy) mm.pages.copy(from / PAGE_SIZE, to / PAGE_SIZE, pages);
  else mm.pages.move(from / PAGE_SIZE, to / PAGE_SIZE, pages);
}

/** do_munmap with its own argument checks (the ranges mremap derives can be out of bounds). */
function doMunmap(mm: Mm, start: number, len: number): number {
  if (start % PAGE_SIZE !== 0 || start > mm.layout.taskSize || len > mm.layout.taskSize - start) return -EINVAL;
  const aligned = pageAlign(len);
  if (aligned === 0) return -EINVAL;
  return mm.unmap(start, start + aligned);
}

/** vma_to_resize: the VMA holding addr, if [addr, addr + oldLen) may become newLen long. */
function vmaToResize(mm: Mm, addr: number, oldLen: number, newLen: number): number {
  const i = mm.vmas.indexOf(addr);
  if (i < 0) return -EFAULT;
  const v = mm.vmas.list[i]!;
  // A zero old_len duplicates a shared mapping; a private one cannot be duplicated.
  if (oldLen === 0 && !(v.flags & VM_SHARED)) return -EINVAL;
  if (oldLen > v.end - addr) return -EFAULT;
  if (newLen === oldLen) return i;
  if (!mm.mlockFutureOk(v.flags, newLen - oldLen)) return -EAGAIN;
  if (!mm.mayExpandVm(v.flags, pagesOf(newLen - oldLen))) return -ENOMEM;
  return i;
}

export function sysMremap(
  mm: Mm,
  addrArg: unknown,
  oldLenArg: unknown,
  newLenArg: unknown,
  flagsArg: unknown,
  newAddrArg: unknown,
): number {
  const addr = mm.word(addrArg);
  let oldLen = mm.word(oldLenArg);
  let newLen = mm.word(newLenArg);
  const flags = ulong(flagsArg);
  const newAddr = mm.word(newAddrArg);
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || oldLen !== newLen)) return -EINVAL;
  if (addr % PAGE_SIZE !== 0) return -EINVAL;
  oldLen = pageAlign(oldLen);
  newLen = pageAlign(newLen);
  if (newLen === 0) return -EINVAL;
  if (newLen > mm.layout.taskSize) return -EINVAL; // checked before anything else since 6.16
  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
    // The new range is checked before the old one is looked up (EINVAL before EFAULT).
    const bad = newRangeError(mm, addr, oldLen, newAddr, newLen);
    if (bad < 0) return bad;
    if (flags & MREMAP_FIXED && oldLen === newLen) return remapMove(mm, addr, oldLen, newAddr, flags);
    if (mm.vmas.indexOf(addr) < 0) return -EFAULT;
    return mremapTo(mm, addr, oldLen, newAddr, newLen, flags);
  }
  if (mm.vmas.indexOf(addr) < 0) return -EFAULT;

  // Shrinking always works: it just unmaps the tail.
  if (oldLen >= newLen) {
    if (oldLen === newLen) return addr;
    const r = doMunmap(mm, addr + newLen, oldLen - newLen);
    return r < 0 ? r : addr;
  }

  const i = vmaToResize(mm, addr, oldLen, newLen);
  if (i < 0) return i;
  const v = mm.vmas.list[i]!;
  if (oldLen === v.end - addr && expandable(mm, i, newLen - oldLen)) {
    const pages = pagesOf(newLen - oldLen);
    if (v.flags & VM_ACCOUNT && !mm.chargeCommit(pages)) return -ENOMEM;
    if (!mm.ensureMemory(addr + newLen)) {
      if (v.flags & VM_ACCOUNT) mm.commit.uncharge(pages);
      return -ENOMEM;
    }
    mm.vmas.resize(i, v.start, addr + newLen);
    if (v.flags & VM_LOCKED) mm.lockedVm += pages;
    if (v.backing === BACKING_SHMEM) mm.shmemMapped(v.objectId, pages);
    mm.vmas.mergeNext(i);
    if (v.flags & VM_LOCKED) mm.populate(addr + oldLen, addr + newLen, true);
    return addr;
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const target = mm.getUnmappedArea(0, newLen, false);
  if (target < 0) return target;
  return moveVma(mm, addr, oldLen, newLen, target, flags);
}

/** vma_expandable: the pages after the VMA are free and the longer VMA still fits. */
function expandable(mm: Mm, index: number, delta: number): boolean {
  const v = mm.vmas.list[index]!;
  const end = v.end + delta;
  if (mm.vmas.intersecting(v.end, end) !== undefined) return false;
  return mm.getUnmappedArea(v.start, end - v.start, true) >= 0;
}

/** The checks of the new range (MREMAP_FIXED, or the hint of MREMAP_DONTUNMAP): 0 or −EINVAL. */
function newRangeError(mm: Mm, addr: number, oldLen: number, newAddr: number, newLen: number): number {
  if (newAddr % PAGE_SIZE !== 0) return -EINVAL;
  if (newLen > mm.layout.taskSize || newAddr > mm.layout.taskSize - newLen) return -EINVAL;
  if (addr + oldLen > newAddr && newAddr + newLen > addr) return -EINVAL;
  return 0;
}

/**
 * remap_move (since 6.17): MREMAP_FIXED without a resize moves every VMA of the old range, which
 * may span several VMAs and holes (not a hole at its start: EFAULT). Each piece moves as its own
 * fixed mremap, to the target plus the gap the source had before it, so holes stay holes (what
 * was mapped in the target's gaps stays). The first piece's address is the answer; an error stops
 * the walk with the pieces before it moved.
 */
function remapMove(mm: Mm, addr: number, len: number, newAddr: number, flags: number): number {
  const end = addr + len;
  let cursor = addr;
  let target = newAddr;
  let lastEnd = 0;
  let res = -EFAULT;
  for (let seen = false; ; seen = true) {
    // Done when the whole range has moved (with MREMAP_DONTUNMAP the old VMAs are still there).
    if (cursor >= end) return res;
    const v = mm.vmas.intersecting(cursor, end);
    if (v === undefined) return res;
    if (!seen && v.start > addr) return -EFAULT;
    const from = Math.max(v.start, cursor);
    const pieceLen = Math.min(end, v.end) - from;
    const offset = seen ? v.start - lastEnd : 0;
    lastEnd = v.end;
    const r = mremapTo(mm, from, pieceLen, target + offset, pieceLen, flags);
    if (r < 0) return r;
    if (!seen) res = r;
    target = r + pieceLen;
    cursor = from + pieceLen;
  }
}

/** mremap_to: the new range has passed newRangeError. */
function mremapTo(mm: Mm, addr: number, oldLen: number, newAddr: number, newLen: number, flags: number): number {
  // Room for both ranges to be split in three before anything is unmapped.
  if (mm.mapCount + 2 >= MAX_MAP_COUNT - 3) return -ENOMEM;
  if (flags & MREMAP_FIXED) {
    const r = doMunmap(mm, newAddr, newLen);
    if (r < 0) return r;
  }
  if (oldLen > newLen) {
    const r = doMunmap(mm, addr + newLen, oldLen - newLen);
    if (r < 0) return r;
    oldLen = newLen;
  }
  const i = vmaToResize(mm, addr, oldLen, newLen);
  if (i < 0) return i;
  const v = mm.vmas.list[i]!;
  if (flags & MREMAP_DONTUNMAP && !mm.mayExpandVm(v.flags, pagesOf(oldLen))) return -ENOMEM;
  const target = mm.getUnmappedArea(newAddr, newLen, (flags & MREMAP_FIXED) !== 0);
  if (target < 0) return target;
  return moveVma(mm, addr, oldLen, newLen, flags & MREMAP_FIXED ? newAddr : target, flags);
}

/** move_vma: a new VMA at newAddr takes the pages of [oldAddr, oldAddr + oldLen). */
function moveVma(mm: Mm, oldAddr: number, oldLen: number, newLen: number, newAddr: number, flags: number): number {
  const vmas = mm.vmas;
  if (mm.mapCount >= MAX_MAP_COUNT - 3) return -ENOMEM;
  const dontUnmap = (flags & MREMAP_DONTUNMAP) !== 0;
  const index = vmas.indexOf(oldAddr);
  let v = vmas.list[index]!;
  const vmFlags = v.flags;
  const toAccount = pagesOf(dontUnmap ? newLen : newLen - oldLen);
  if (vmFlags & VM_ACCOUNT && !mm.chargeCommit(toAccount)) return -ENOMEM;
  if (!mm.ensureMemory(newAddr + newLen)) {
    if (vmFlags & VM_ACCOUNT) mm.commit.uncharge(toAccount);
    return -ENOMEM;
  }
  // Raw stores into the moving pages travel with them: find them first (once, for both uses).
  const movedEnd = oldLen === 0 ? Math.min(oldAddr + newLen, v.end) : oldAddr + oldLen;
  mm.scanVma(index, oldAddr, movedEnd);
  // copy_vma: a never-faulted anonymous VMA takes a pgoff matching its new place, to merge there.
  let pgoff = v.pgoff + pagesOf(oldAddr - v.start);
  if (v.backing === BACKING_ANON && !mm.hasAnonVma(index, oldAddr, movedEnd)) pgoff = pagesOf(newAddr);
  const hiwater = Math.max(vmas.hiwaterPages, vmas.totalPages);
  mm.insertVma({ ...v, start: newAddr, end: newAddr + newLen, pgoff });
  // The new VMA's pages count in locked_vm at once; the old one's leave it only if it is unmapped.
  if (vmFlags & VM_LOCKED) mm.lockedVm += pagesOf(newLen);
  if (v.backing === BACKING_SHMEM) mm.shmemMapped(v.objectId, pagesOf(newLen));
  // Shared pages stay where they were as well: a duplicate, or the old half of DONTUNMAP.
  if (oldLen === 0) {
    transferPages(mm, oldAddr, newAddr, pagesOf(Math.min(newLen, v.end - oldAddr)), true);
    vmas.hiwaterPages = hiwater;
    return newAddr;
  }
  transferPages(mm, oldAddr, newAddr, pagesOf(oldLen), dontUnmap && v.backing === BACKING_SHMEM);

  let oldIndex = vmas.indexOf(oldAddr);
  v = vmas.list[oldIndex]!;
  if (dontUnmap) {
    // The old range stays mapped, fresh and unlocked (the whole old VMA loses its lock bits,
    // though locked_vm keeps counting them).
    vmas.setFlags(oldIndex, v.flags & ~VM_LOCKED_MASK);
    if (v.start === oldAddr && v.end === oldAddr + oldLen) v.anonVma = 0;
    vmas.mergeAround(oldIndex);
    return newAddr;
  }
  // Conceal VM_ACCOUNT while unmapping the old range: its charge now belongs to the new VMA.
  const accountStart = vmFlags & VM_ACCOUNT && v.start < oldAddr;
  const accountEnd = vmFlags & VM_ACCOUNT && v.end > oldAddr + oldLen;
  if (vmFlags & VM_ACCOUNT) vmas.setFlags(oldIndex, v.flags & ~VM_ACCOUNT);
  // The pages just moved out: the old range of a writable VMA (scanned above) is already not
  // present and zero; anything else is dropped as usual.
  if (mm.unmap(oldAddr, oldAddr + oldLen, (vmFlags & VM_WRITE) !== 0) < 0) {
    if (vmFlags & VM_ACCOUNT) {
      mm.commit.charge(pagesOf(oldLen), 0);
      oldIndex = vmas.indexOf(oldAddr);
      vmas.setFlags(oldIndex, vmas.list[oldIndex]!.flags | VM_ACCOUNT);
    }
  } else {
    if (accountStart) {
      const k = vmas.indexOf(oldAddr - 1);
      vmas.setFlags(k, vmas.list[k]!.flags | VM_ACCOUNT);
      vmas.mergeAround(k);
    }
    if (accountEnd) {
      const k = vmas.indexOf(oldAddr + oldLen);
      vmas.setFlags(k, vmas.list[k]!.flags | VM_ACCOUNT);
      vmas.mergeAround(k);
    }
  }
  vmas.hiwaterPages = hiwater;
  if (vmFlags & VM_LOCKED) mm.populate(newAddr + oldLen, newAddr + newLen, true);
  return newAddr;
}

