// The address space as a sorted array of VMAs (virtual memory areas), as mm_struct's maple tree
// holds them. Addresses are byte offsets into the Wasm memory; every VMA is page aligned and
// half-open [start, end). A typical 32-bit layout (aslr 2; the picture is not to scale):
//
//   0x00000000 ┌──────────────────────────────┐
//              │ null guard (< mmap_min_addr) │ never mapped
//   0x00010000 ├──────────────────────────────┤ program.textStart
//              │ text   r-xp  /usr/bin/…      │ file-backed (fake dev/inode)
//              │ data   rw-p  /usr/bin/…      │ the Wasm module's static data
//              ├ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─┤ + 0..32 MiB of brk randomization
//   start_brk  │ [heap] rw-p   grows up ↑     │ brk(); refuses to come within a page of the next VMA
//              │                              │
//              │ free                         │
//              │                              │
//              │ mappings, top-down ↓         │ each new one just below the lowest free hole
//   mmap_base  ├──────────────────────────────┤ = TASK_SIZE − clamp(stack gap) − 8 random bits of pages
//              │ free (stack may grow here)   │ stack_guard_gap (1 MiB) kept below [stack]
//              │ [stack] rw-p  VM_GROWSDOWN   │ 132 KiB at start, randomized top
//   0xFFFFE000 └──────────────────────────────┘ TASK_SIZE of a compat task
//
// Merging follows vma_merge: two adjacent VMAs merge when nothing would tell them apart: same
// flags, same backing object, page offsets that continue, and anon_vmas that do not conflict.
// The counters Linux keeps in mm_struct (total_vm, data_vm, stack_vm, exec_vm, locked_vm) are
// kept here, updated by every insertion, removal, resize and flag change, so nothing needs to
// walk the whole list to answer may_expand_vm or /proc/self/status.

import { PAGE_SHIFT } from "../constants.js";
import { STACK_GUARD_GAP } from "./aslr.js";

// vm_flags bits: Linux's values, except VM_MERGEABLE (Linux's 0x80000000 does not fit a JS
// bitwise int) which borrows the unused VM_MIXEDMAP bit.
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_LOCKED = 0x2000;
export const VM_SEQ_READ = 0x8000;
export const VM_RAND_READ = 0x10000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_LOCKONFAULT = 0x80000;
export const VM_ACCOUNT = 0x100000;
export const VM_SYNC = 0x800000;
export const VM_NORESERVE = 0x200000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_MERGEABLE = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** x86 has no VM_GROWSUP: VM_STACK is VM_GROWSDOWN. */
export const VM_STACK = VM_GROWSDOWN;

/** What backs a VMA's pages: decides merging, procfs naming and which RSS counter a page joins. */
export const BACKING_ANON = 0; // private anonymous (incl. heap and stack): RssAnon
export const BACKING_SHMEM = 1; // MAP_SHARED|MAP_ANONYMOUS: a shmem object, RssShmem
export const BACKING_FILE = 2; // a file's image (the program, libc, ld.so): RssFile read, RssAnon once written
export const BACKING_SPECIAL = 3; // the vDSO's special mappings ([vvar], [vvar_vclock], [vdso])

export interface Vma {
  start: number;
  end: number;
  flags: number;
  /** vm_pgoff: for private anonymous memory, the page number it was created at (kept by mremap). */
  pgoff: number;
  backing: number;
  /** Identity of the anon_vma (0 = none yet): set on the first write fault, shared by splits. */
  anonVma: number;
  /** The shmem object or file: mappings of different objects never merge. */
  objectId: number;
}

/** vm_start_gap: where a VMA's exclusion zone begins (a stack keeps its guard gap free below it). */
export function startGap(v: Vma): number {
  return v.flags & VM_GROWSDOWN ? Math.max(0, v.start - STACK_GUARD_GAP) : v.start;
}

export const isExecMapping = (f: number) => (f & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC;
export const isStackMapping = (f: number) => (f & VM_STACK) === VM_STACK;
export const isDataMapping = (f: number) => (f & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE;

/** sysctl vm.max_map_count. */
export const MAX_MAP_COUNT = 65530;

const PAGE_BYTES = 2 ** PAGE_SHIFT;
export const pagesOf = (bytes: number) => bytes / PAGE_BYTES;

export class VmaList {
  readonly list: Vma[] = [];
  totalPages = 0;
  dataPages = 0;
  stackPages = 0;
  execPages = 0;
  lockedPages = 0;
  /** mm->hiwater_vm: the peak of totalPages, sampled before it shrinks (as Linux does). */
  hiwaterPages = 0;
  /** Bumped whenever free space may have grown (a VMA removed or shrunk): placement caches key on it. */
  freedGeneration = 0;
  /**
   * Told every range whose access may have changed (a VMA inserted, removed, resized or given new
   * flags), after the change: the page map (pagemap.ts) follows the list from here.
   */
  onAccessChange: ((start: number, end: number) => void) | null = null;

  get count(): number {
    return this.list.length;
  }

  /** Index of the first VMA with end > addr (find_vma), or count if none. */
  lowerBound(addr: number): number {
    const list = this.list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the VMA containing addr (vma_lookup), or -1. */
  indexOf(addr: number): number {
    const i = this.lowerBound(addr);
    return i < this.list.length && this.list[i]!.start <= addr ? i : -1;
  }

  find(addr: number): Vma | undefined {
    const i = this.indexOf(addr);
    return i < 0 ? undefined : this.list[i];
  }

  /** The first VMA intersecting [start, end) (find_vma_intersection), or undefined. */
  intersecting(start: number, end: number): Vma | undefined {
    const i = this.lowerBound(start);
    const v = this.list[i];
    return v !== undefined && v.start < end ? v : undefined;
  }

  /** Pages of [start, end) covered by VMAs (count_vma_pages_range). */
  pagesMapped(start: number, end: number): number {
    let pages = 0;
    for (let i = this.lowerBound(start); i < this.list.length; i++) {
      const v = this.list[i]!;
      if (v.start >= end) break;
      pages += pagesOf(Math.min(v.end, end) - Math.max(v.start, start));
    }
    return pages;
  }

  private account(flags: number, pages: number): void {
    if (pages < 0) this.updateHiwater();
    this.totalPages += pages;
    if (isExecMapping(flags)) this.execPages += pages;
    else if (isStackMapping(flags)) this.stackPages += pages;
    else if (isDataMapping(flags)) this.dataPages += pages;
    if (flags & VM_LOCKED) this.lockedPages += pages;
  }

  updateHiwater(): void {
    if (this.totalPages > this.hiwaterPages) this.hiwaterPages = this.totalPages;
  }

  insert(index: number, vma: Vma): void {
    this.list.splice(index, 0, vma);
    this.account(vma.flags, pagesOf(vma.end - vma.start));
    this.onAccessChange?.(vma.start, vma.end);
  }

  remove(index: number, count = 1): Vma[] {
    this.freedGeneration++;
    const removed = this.list.splice(index, count);
    for (const v of removed) this.account(v.flags, -pagesOf(v.end - v.start));
    if (removed.length > 0) this.onAccessChange?.(removed[0]!.start, removed[removed.length - 1]!.end);
    return removed;
  }

  setFlags(index: number, flags: number): void {
    const v = this.list[index]!;
    const pages = pagesOf(v.end - v.start);
    this.account(v.flags, -pages);
    v.flags = flags;
    this.account(flags, pages);
    this.onAccessChange?.(v.start, v.end);
  }

  /** Moves a VMA's bounds (brk, stack growth, mremap in place), accounting the difference. */
  resize(index: number, start: number, end: number): void {
    const v = this.list[index]!;
    if (start > v.start || end < v.end) this.freedGeneration++;
    const delta = pagesOf(end - start - (v.end - v.start));
    const oldStart = v.start;
    const oldEnd = v.end;
    v.pgoff += pagesOf(start - v.start);
    v.start = start;
    v.end = end;
    this.account(v.flags, delta);
    // only the pages between the old and the new bounds changed access (the flags stay): brk
    // moving the heap's end repaints the pages it added or took, not the whole heap
    if (start !== oldStart) this.onAccessChange?.(Math.min(start, oldStart), Math.max(start, oldStart));
    if (end !== oldEnd) this.onAccessChange?.(Math.min(end, oldEnd), Math.max(end, oldEnd));
  }

  /** Cuts VMA `index` at addr (strictly inside it); the upper part becomes index + 1. */
  split(index: number, addr: number): void {
    const v = this.list[index]!;
    const upper: Vma = { ...v, start: addr, pgoff: v.pgoff + pagesOf(addr - v.start) };
    v.end = addr;
    this.list.splice(index + 1, 0, upper);
  }

  /** Whether b may be merged onto the end of a (is_mergeable_vma + anon_vma + pgoff rules). */
  static canMerge(a: Vma, b: Vma): boolean {
    return (
      a.end === b.start &&
      a.flags === b.flags &&
      a.backing === b.backing &&
      a.objectId === b.objectId &&
      a.pgoff + pagesOf(a.end - a.start) === b.pgoff &&
      (a.anonVma === 0 || b.anonVma === 0 || a.anonVma === b.anonVma)
    );
  }

  /** Merges VMA index with index + 1 if they are compatible; true if it did. */
  mergeNext(index: number): boolean {
    const a = this.list[index];
    const b = this.list[index + 1];
    if (a === undefined || b === undefined || !VmaList.canMerge(a, b)) return false;
    a.end = b.end;
    if (a.anonVma === 0) a.anonVma = b.anonVma;
    this.list.splice(index + 1, 1);
    return true;
  }

  /**
   * Merges VMA index with both neighbours where possible; returns the index of the result. The
   * lower neighbour goes first, as in Linux: when both could take the VMA but their anon_vmas
   * differ, it joins the one below, and what it brings is then held against the one above.
   */
  mergeAround(index: number): number {
    if (index > 0 && this.mergeNext(index - 1)) index--;
    this.mergeNext(index);
    return index;
  }
}
