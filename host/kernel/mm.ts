// mm_struct: one process's address space and the primitives every memory syscall is built from
// (unmap a range, insert a mapping, change flags over a range, fault pages in, pick a free
// range). The syscalls themselves (mmap.ts, brk.ts, …) only validate and sequence these.

import { EFAULT, ENOMEM, PAGE_SIZE, WASM_PAGE_SIZE } from "../constants.js";
import { ProcessKilled } from "../errors.js";
import { ulong, ulong64 } from "./args.js";
import { computeLayout, pageAlign, pageDown, Prng, windowOffset, windowVa, X86_64_MEMORY_BYTES, type Arch, type Layout, type Window } from "./aslr.js";
import { dropParts, readFaultParts, scanParts, writeFaultParts } from "./far.js";
import { Frames } from "./frames.js";
import { getUnmappedArea } from "./placement.js";
import { imageSet, mapImages, programReadOnlyPages, STACK_RESIDENT_PAGES_X86_64 } from "./images.js";
import { Commit, Rlimits, type Rlimit } from "./limits.js";
import { PAGE_ANON, PAGE_FILE, PAGE_SHMEM, PAGE_ZERO, PTE_SPAN_BYTES, Pages } from "./pages.js";
import { PageMap } from "./pagemap.js";
import {
  BACKING_ANON,
  BACKING_FILE,
  BACKING_SPECIAL,
  BACKING_SHMEM,
  MAX_MAP_COUNT,
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  VmaList,
  isDataMapping,
  pagesOf,
  type Vma,
} from "./vma.js";

export interface KernelOptions {
  /**
   * "i386" (default): a 32-bit process, addresses are Wasm offsets. "x86_64": a 64-bit PIE
   * process whose 47-bit address space lives in three windows of the memory (aslr.ts).
   */
  arch?: Arch;
  /** Created by the process with maximum 65536 pages; only the kernel grows it. */
  memory: WebAssembly.Memory;
  seed: number;
  aslr: 0 | 1 | 2;
  overcommit: 0 | 1 | 2;
  overcommitRatio: number;
  ramBytes: number;
  swapBytes: number;
  /** CAP_IPC_LOCK: mlock ignores RLIMIT_MEMLOCK. (No other capability is modelled.) */
  privileged: boolean;
  rlimits: Partial<Record<"RLIMIT_AS" | "RLIMIT_DATA" | "RLIMIT_STACK" | "RLIMIT_MEMLOCK", Rlimit>>;
  /** The Wasm module's image: a text page at textStart, static data in [dataStart, dataEnd). */
  program: { textStart: number; dataStart: number; dataEnd: number };
  /** Called just before the kernel throws ProcessKilled. */
  onDeath?: (err: Error) => void;
  /** Map what a dynamically linked program has before main(): ld.so, the vDSO, libc (images.ts). */
  libraries?: boolean;
  /**
   * The end of user space (TASK_SIZE) of an i386 process: 0xFFFFE000 unless the memory's maximum
   * is smaller (aslr.ts). An x86_64 process's is always 0x7ffffffff000 (this is ignored).
   */
  taskSize?: number;
  /**
   * "scan" (default): raw writes to the memory are searched for before pages are reported or
   * dropped. "declared": every write is known (checked writes, the allocator's faults, touch):
   * nothing is ever scanned.
   */
  writes?: "scan" | "declared";
}

/**
 * mmap_min_addr as the kernel uses it: max(vm.mmap_min_addr, CONFIG_LSM_MMAP_MIN_ADDR). Hints
 * below it are raised to it and the kernel never places anything lower on its own (the null
 * guard); stacks do not grow below it.
 */
export const MMAP_MIN_ADDR = 0x10000;
/** vm.mmap_min_addr itself (dac_mmap_min_addr): MAP_FIXED below it is EPERM. */
export const DAC_MMAP_MIN_ADDR = 0x1000;
/** The program image's fake identity in /proc/self/maps. */
export const PROGRAM_PATH = "/usr/bin/ptmalloc-wasm";
export const PROGRAM_INODE = 1316977;
export const PROGRAM_DEV = "08:01";
/** First inode number handed to a MAP_SHARED|MAP_ANONYMOUS object ("/dev/zero (deleted)"). */
const FIRST_SHMEM_INODE = 1046;

interface ShmemObject {
  mappedPages: number;
  chargedPages: number;
}

export class Mm {
  readonly arch: Arch;
  /** The layout's windows (aslr.ts): where each VA range lives in the memory. */
  readonly windows: readonly Window[];
  /** The windows in VA order (they are kept in offset order), for cutting a range at their edges. */
  readonly windowsByVa: readonly Window[];
  /** i386: one window, VA = Wasm offset; every translation is skipped. */
  readonly identity: boolean;
  /** x86_64: the frames of the pages no window holds (frames.ts); null on i386, where every page is in the window. */
  readonly frames: Frames | null;
  /** Draws made after exec (MAP_32BIT's randomized base), from the process's seed. */
  readonly rng: Prng;
  readonly vmas = new VmaList();
  /** Which pages are readable and writable, in the memory itself, for the allocator (pagemap.ts). */
  readonly pageMap: PageMap;
  readonly pages: Pages;
  /** writes: "declared": no page is ever scanned for raw writes (KernelOptions.writes). */
  readonly declaredWrites: boolean;
  readonly rlimits: Rlimits;
  readonly commit: Commit;
  readonly layout: Layout;
  readonly privileged: boolean;
  readonly memory: WebAssembly.Memory;
  readonly ramBytes: number;
  readonly swapBytes: number;
  readonly overcommit: 0 | 1 | 2;
  readonly startCode: number;
  readonly endCode: number;
  readonly startData: number;
  readonly endData: number;
  readonly startBrk: number;
  brk: number;
  /** mm->def_flags: VM_LOCKED (| VM_LOCKONFAULT) after mlockall(MCL_FUTURE). */
  defFlags = 0;
  /**
   * mm->locked_vm in pages (VmLck, and what RLIMIT_MEMLOCK is checked against). A counter moved
   * by each call as Linux moves it, not the sum over VM_LOCKED VMAs: MREMAP_DONTUNMAP of a locked
   * mapping counts the new VMA and leaves the old one's pages counted after unlocking it.
   */
  lockedVm = 0;
  private nextAnonVma = 1;
  private nextShmemInode = FIRST_SHMEM_INODE;
  private readonly shmem = new Map<number, ShmemObject>();
  private readonly onDeath: ((err: Error) => void) | undefined;
  private dead = false;

  constructor(options: KernelOptions) {
    this.memory = options.memory;
    this.arch = options.arch ?? "i386";
    const wide = this.arch === "x86_64";
    this.identity = !wide;
    this.rlimits = new Rlimits(options.ramBytes, options.rlimits, this.arch);
    const { textStart, dataStart, dataEnd } = options.program;
    // With the libraries (images.ts), the i386 program's read-only pages that a C program has and
    // this image lacks follow its data; the break starts above them. The x86_64 image has them
    // below its data (mapProgram64), so its break starts right after the data.
    const programRoPages = options.libraries === true && !wide ? programReadOnlyPages() : 0;
    this.layout = computeLayout({
      arch: this.arch,
      aslr: options.aslr,
      seed: options.seed,
      stackRlimitCur: this.rlimits.cur(3),
      taskSize: options.taskSize,
      dataEnd: pageAlign(dataEnd) + programRoPages * PAGE_SIZE,
    });
    this.windows = this.layout.windows;
    this.windowsByVa = [...this.windows].sort((a, b) => a.va - b.va);
    this.frames = wide ? new Frames(this.layout.framePool) : null;
    this.rng = new Prng(options.seed ^ 0x5eed32b1);
    const oomPages = Math.floor((options.ramBytes + options.swapBytes) / PAGE_SIZE);
    const vaPageOf = wide ? (page: number) => this.offsetToVa(page * PAGE_SIZE) / PAGE_SIZE : null;
    this.pages = new Pages(
      options.memory,
      (rss) => {
        if (rss > oomPages) this.oomKill();
      },
      vaPageOf,
    );
    const pageMap = new PageMap(options.memory, this.vmas, this.pages, this.windows, this.frames);
    this.pageMap = pageMap;
    if (this.frames !== null) this.frames.onChange = (page) => pageMap.frameChanged(page);
    this.vmas.onAccessChange = (start, end) => pageMap.changed(start, end);
    this.pages.onResidency = (startPage, endPage) => pageMap.residency(startPage, endPage);
    this.declaredWrites = options.writes === "declared";
    this.pages.rawWrites = !this.declaredWrites;
    this.privileged = options.privileged;
    this.ramBytes = options.ramBytes;
    this.swapBytes = options.swapBytes;
    this.overcommit = options.overcommit;
    this.onDeath = options.onDeath;
    this.commit = new Commit({
      overcommit: options.overcommit,
      overcommitRatio: options.overcommitRatio,
      ramBytes: options.ramBytes,
      swapBytes: options.swapBytes,
    });

    this.startBrk = this.layout.startBrk;
    this.brk = this.startBrk;
    pageMap.hotAddr = this.startBrk;
    const image = wide
      ? this.mapProgram64(textStart, dataStart, dataEnd, options.libraries === true)
      : this.mapProgram32(textStart, dataStart, dataEnd, options.libraries === true, programRoPages);
    this.startCode = image.startCode;
    this.endCode = image.endCode;
    this.startData = image.startData;
    this.endData = image.endData;
    const { stackStart, stackEnd } = this.layout;
    this.commit.charge(pagesOf(stackEnd - stackStart), this.vmas.totalPages);
    this.insertVma({
      start: stackStart,
      end: stackEnd,
      flags: VM_READ | VM_WRITE | VM_GROWSDOWN | VM_ACCOUNT,
      pgoff: pagesOf(stackStart),
      backing: BACKING_ANON,
      anonVma: 0,
      objectId: 0,
    });
    if (!this.ensureMemory(stackEnd)) throw new RangeError("the Wasm memory cannot cover the stack");
    // What exec leaves resident: the program's pages read in, the data the module initialized,
    // argv/envp (and on x86-64 what the C start-up wrote of the stack).
    for (const [start, end] of image.readIn) this.readFault(this.vmas.indexOf(start), start, end);
    for (const [start, end] of image.written) this.writeFault(this.vmas.indexOf(start), start, end);
    const { dataVmaStart, dataVmaEnd } = image;
    const dataResident =
      dataVmaEnd > dataVmaStart ? this.pages.scan(this.off(dataVmaStart) / PAGE_SIZE, this.off(dataVmaStart) / PAGE_SIZE + pagesOf(dataVmaEnd - dataVmaStart), PAGE_ANON) : 0;
    const stackPages = wide ? STACK_RESIDENT_PAGES_X86_64 : 1;
    this.writeFault(this.vmas.indexOf(stackEnd - 1), stackEnd - stackPages * PAGE_SIZE, stackEnd);
    if (options.libraries === true) mapImages(this, pagesOf(Math.max(0, dataVmaEnd - dataVmaStart)), dataResident);
  }

  /** Maps pages of the program's file (the caller charges what VM_ACCOUNT says is charged). */
  private mapProgramPages(start: number, end: number, flags: number, pgoff: number): void {
    if (end <= start) return;
    this.insertVma({ start, end, flags, pgoff, backing: BACKING_FILE, anonVma: 0, objectId: PROGRAM_INODE });
  }

  /**
   * The i386 image, by its Wasm offsets (= addresses): a text page at textStart, the module's
   * static data read-write, and (with the libraries) the 3 read-only pages a C program has beyond
   * them after the data.
   */
  private mapProgram32(textStart: number, dataStart: number, dataEnd: number, libraries: boolean, roPages: number): ProgramImage {
    const startCode = textStart;
    const endCode = Math.min(textStart + PAGE_SIZE, Math.max(textStart, pageDown(dataStart)));
    this.mapProgramPages(startCode, endCode, VM_READ | VM_EXEC, 0);
    const dataVmaStart = Math.max(pageDown(dataStart), endCode);
    const dataVmaEnd = pageAlign(dataEnd);
    if (dataVmaEnd > dataVmaStart) {
      this.commit.charge(pagesOf(dataVmaEnd - dataVmaStart), 0);
      this.mapProgramPages(dataVmaStart, dataVmaEnd, VM_READ | VM_WRITE | VM_ACCOUNT, pagesOf(dataVmaStart - pageDown(textStart)));
    }
    if (roPages > 0) this.mapProgramPages(dataVmaEnd, dataVmaEnd + roPages * PAGE_SIZE, VM_READ, pagesOf(dataVmaEnd - pageDown(textStart)));
    return {
      startCode,
      endCode,
      startData: dataStart,
      // With the libraries, the program is a minimal C program whose data is libc's business.
      endData: libraries ? dataStart + imageSet("i386").programDataBytes : dataEnd,
      dataVmaStart,
      dataVmaEnd,
      readIn: endCode > startCode ? [[startCode, endCode]] : [],
      written: [],
    };
  }

  /**
   * The x86_64 image at the load base, as a minimal PIE program has it: ELF header r--p, text
   * r-xp, rodata r--p, RELRO r--p, then the data rw-p, which holds the module's static data: the
   * x86_64 build puts it at Wasm offset textStart + 4 pages (its memoryBase), which W0 maps to
   * loadBase + 0x4000, where the real program's .data is. File offsets are the real program's.
   */
  private mapProgram64(textStart: number, dataStart: number, dataEnd: number, libraries: boolean): ProgramImage {
    if (pageDown(dataStart) !== textStart + 4 * PAGE_SIZE) {
      throw new Error(`x86_64 program image: the static data must start 4 pages above the text (at 0x${(textStart + 4 * PAGE_SIZE).toString(16)}), not at 0x${dataStart.toString(16)}`);
    }
    const va = (offset: number) => this.offsetToVa(offset);
    const header = va(textStart);
    const text = header + PAGE_SIZE;
    const dataVmaStart = va(pageDown(dataStart));
    const dataVmaEnd = va(pageAlign(dataEnd));
    this.mapProgramPages(header, text, VM_READ, 0);
    this.mapProgramPages(text, text + PAGE_SIZE, VM_READ | VM_EXEC, 1);
    this.mapProgramPages(text + PAGE_SIZE, text + 2 * PAGE_SIZE, VM_READ, 2);
    // RELRO: written by the loader, then made read-only; the commit charge stays
    this.commit.charge(1, 0);
    this.mapProgramPages(text + 2 * PAGE_SIZE, dataVmaStart, VM_READ | VM_ACCOUNT, 2);
    if (dataVmaEnd > dataVmaStart) {
      this.commit.charge(pagesOf(dataVmaEnd - dataVmaStart), 0);
      this.mapProgramPages(dataVmaStart, dataVmaEnd, VM_READ | VM_WRITE | VM_ACCOUNT, 3);
    }
    const startData = va(dataStart);
    return {
      startCode: text,
      endCode: text + PAGE_SIZE,
      startData,
      endData: libraries ? startData + imageSet("x86_64").programDataBytes : va(dataEnd),
      dataVmaStart,
      dataVmaEnd,
      readIn: [[header, text + 2 * PAGE_SIZE]],
      written: [[text + 2 * PAGE_SIZE, dataVmaStart]],
    };
  }

  // ── addresses and the memory ─────────────────────────────────────────────────

  /**
   * The Wasm offset of the byte at va: through its window, or in its frame for a far page that is
   * present; -1 for a far page that is not (it has no bytes yet).
   */
  vaToOffset(va: number): number {
    const offset = windowOffset(this.windows, va);
    if (offset >= 0 || this.frames === null) return offset;
    const page = this.frames.frameOf(Math.floor(va / PAGE_SIZE));
    return page < 0 ? -1 : page * PAGE_SIZE + (va % PAGE_SIZE);
  }

  /** The VA of the byte at Wasm offset `offset` (through a window, or the far page its frame backs), or -1. */
  offsetToVa(offset: number): number {
    const va = windowVa(this.windows, offset);
    if (va >= 0 || this.frames === null) return va;
    const vaPage = this.frames.vaPageOf(Math.floor(offset / PAGE_SIZE));
    return vaPage < 0 ? -1 : vaPage * PAGE_SIZE + (offset % PAGE_SIZE);
  }

  /** The Wasm offset of va through the windows alone, or -1 (a far page, present or not). */
  windowOffset(va: number): number {
    return windowOffset(this.windows, va);
  }

  /**
   * The Wasm offset of start when one window holds all of [start, end) (its offsets then run on as
   * its addresses do), else -1: the test that keeps every windowed range on the contiguous path.
   */
  runOffset(start: number, end: number): number {
    for (const w of this.windows) {
      const d = start - w.va;
      if (d >= 0 && d < w.length) return end - w.va <= w.length ? w.offset + d : -1;
    }
    return -1;
  }

  /** An `unsigned long` argument of this ABI (args.ts): 32 bits on i386, 64 on x86_64. */
  word(value: unknown): number {
    return this.identity ? ulong(value) : ulong64(value);
  }

  /** The offset of a VA the caller knows to be in a window: free on i386. */
  off(va: number): number {
    return this.identity ? va : windowOffset(this.windows, va);
  }

  /** The OOM killer: resident memory beyond RAM and swap, or no frame left for a far page. */
  oomKill(): never {
    const err = new ProcessKilled();
    if (!this.dead) {
      this.dead = true;
      this.onDeath?.(err);
    }
    throw err;
  }

  /**
   * Grows the Wasm memory so that it holds the VAs below `endVa`; false if the host refuses. An
   * x86_64 process's memory is all of it from exec (the stack's window is its top, and a far page
   * may take any frame of the pool): whatever the VA, the whole memory.
   */
  ensureMemory(endVa: number): boolean {
    const end = this.identity ? endVa : X86_64_MEMORY_BYTES;
    const have = this.pages.u8().length;
    if (end <= have) return true;
    const needPages = Math.ceil(end / WASM_PAGE_SIZE) - have / WASM_PAGE_SIZE;
    try {
      this.memory.grow(needPages);
      return true;
    } catch {
      return false;
    }
  }

  readState(v: Vma): number {
    if (v.backing === BACKING_SHMEM) return PAGE_SHMEM;
    if (v.backing === BACKING_FILE || v.backing === BACKING_SPECIAL) return PAGE_FILE;
    return PAGE_ZERO;
  }

  writeState(v: Vma): number {
    return v.backing === BACKING_SHMEM ? PAGE_SHMEM : PAGE_ANON;
  }

  get mapCount(): number {
    return this.vmas.count;
  }

  // ── VMAs ─────────────────────────────────────────────────────────────────────

  /** Inserts a VMA into a free range and merges it with its neighbours; returns its index. */
  insertVma(vma: Vma): number {
    const vmas = this.vmas;
    const i = vmas.lowerBound(vma.start);
    const prev = vmas.list[i - 1];
    const next = vmas.list[i];
    const withPrev = prev !== undefined && VmaList.canMerge(prev, vma);
    const withNext = next !== undefined && VmaList.canMerge(vma, next);
    // The common cases — brk growing the heap, a top-down mapping landing just below its twin —
    // merge on one side only: the neighbour grows in place, which leaves what inserting and
    // merging would (same bounds, pgoff, anon_vma and counters) without reshaping the array.
    if (withPrev && !withNext) {
      if (prev.anonVma === 0) prev.anonVma = vma.anonVma;
      vmas.resize(i - 1, prev.start, vma.end);
      return i - 1;
    }
    if (withNext && !withPrev) {
      if (next.anonVma === 0) next.anonVma = vma.anonVma;
      vmas.resize(i, vma.start, next.end);
      return i;
    }
    vmas.insert(i, vma);
    return vmas.mergeAround(i);
  }

  newAnonVmaId(): number {
    return this.nextAnonVma++;
  }

  /** A new shmem object for MAP_SHARED|MAP_ANONYMOUS; returns its inode number. */
  newShmem(pages: number, chargedPages: number): number {
    const id = this.nextShmemInode++;
    this.shmem.set(id, { mappedPages: pages, chargedPages });
    return id;
  }

  /**
   * Gives an anonymous VMA its anon_vma on its first write fault, reusing a neighbour's when
   * the two could one day merge (find_mergeable_anon_vma), so that mprotect round trips re-merge.
   */
  private assignAnonVma(index: number): void {
    const list = this.vmas.list;
    const v = list[index]!;
    const compatible = (a: Vma, b: Vma) =>
      a.end === b.start &&
      a.backing === b.backing &&
      a.objectId === b.objectId &&
      ((a.flags ^ b.flags) & ~VM_ACCESS_FLAGS) === 0 &&
      b.pgoff === a.pgoff + pagesOf(a.end - a.start);
    const next = list[index + 1];
    const prev = list[index - 1];
    if (next !== undefined && next.anonVma !== 0 && compatible(v, next)) v.anonVma = next.anonVma;
    else if (prev !== undefined && prev.anonVma !== 0 && compatible(prev, v)) v.anonVma = prev.anonVma;
    else v.anonVma = this.newAnonVmaId();
  }

  /**
   * Whether VMA `index` has an anon_vma: a page of it was ever faulted in for writing. Stores
   * made through the memory behind the kernel's back would have faulted too, so a writable VMA
   * without one is scanned for them first.
   */
  hasAnonVma(index: number, scannedStart = 0, scannedEnd = 0): boolean {
    const v = this.vmas.list[index]!;
    if (v.anonVma === 0 && v.backing === BACKING_ANON) {
      // [scannedStart, scannedEnd): a part the caller has just scanned.
      if (scannedEnd <= v.start || scannedStart >= v.end) this.scanVma(index, v.start, v.end);
      else {
        if (v.start < scannedStart) this.scanVma(index, v.start, scannedStart);
        if (v.anonVma === 0 && scannedEnd < v.end) this.scanVma(index, scannedEnd, v.end);
      }
    }
    return v.anonVma !== 0;
  }

  /**
   * Applies `fixup(index, vma, s, e)` to each VMA piece of [start, end) in address order, as the
   * loops of mprotect and apply_vma_lock_flags do: a hole gives -ENOMEM and the first error stops
   * the walk (what was changed before it stays changed, as on Linux). Each step looks its VMA up
   * again, since a fixup may split or merge the array.
   */
  forEachVmaPiece(start: number, end: number, fixup: (index: number, vma: Vma, s: number, e: number) => number): number {
    let nstart = start;
    while (nstart < end) {
      const i = this.vmas.lowerBound(nstart);
      const v = this.vmas.list[i];
      if (v === undefined || v.start > nstart) return -ENOMEM;
      const e = Math.min(v.end, end);
      const r = fixup(i, v, nstart, e);
      if (r < 0) return r;
      nstart = e;
    }
    return 0;
  }

  /**
   * Gives [s, e) of VMA `index` new vm_flags, as mprotect_fixup / mlock_fixup /
   * madvise_update_vma do: a piece that can join a neighbour moves the boundary instead of
   * splitting; every real split needs room under max_map_count. Returns the index of the VMA
   * now covering [s, e), or -ENOMEM.
   */
  fixup(index: number, s: number, e: number, newFlags: number): number {
    const vmas = this.vmas;
    const v = vmas.list[index]!;
    if (newFlags === v.flags) return index;
    const piece: Vma = { ...v, start: s, end: e, flags: newFlags, pgoff: v.pgoff + pagesOf(s - v.start) };
    const prev = vmas.list[index - 1];
    const next = vmas.list[index + 1];
    const intoPrev = s === v.start && prev !== undefined && VmaList.canMerge(prev, piece);
    const intoNext = e === v.end && next !== undefined && VmaList.canMerge(piece, next);
    const splitAtStart = s > v.start;
    if (splitAtStart) {
      if (!intoNext && vmas.count >= MAX_MAP_COUNT) return -ENOMEM;
      vmas.split(index, s);
      index++;
    }
    if (e < vmas.list[index]!.end) {
      if (!intoPrev && vmas.count >= MAX_MAP_COUNT) {
        if (splitAtStart) vmas.mergeNext(index - 1);
        return -ENOMEM;
      }
      vmas.split(index, e);
    }
    vmas.setFlags(index, newFlags);
    return vmas.mergeAround(index);
  }

  /** Moves a shmem object's count of mapped pages (mremap growing or moving it). */
  shmemMapped(objectId: number, deltaPages: number): void {
    const obj = this.shmem.get(objectId);
    if (obj !== undefined) obj.mappedPages += deltaPages;
  }

  // ── pages ────────────────────────────────────────────────────────────────────

  /** Write-faults [start, end) of VMA `index` in (all of it must lie in that VMA). */
  writeFault(index: number, start: number, end: number): void {
    const v = this.vmas.list[index]!;
    const state = this.writeState(v);
    let any = false;
    const at = this.identity ? start : this.runOffset(start, end);
    if (at >= 0) {
      const first = at / PAGE_SIZE;
      for (let p = first, e = first + (end - start) / PAGE_SIZE; p < e; p++) if (this.pages.touchWrite(p, state)) any = true;
    } else any = writeFaultParts(this, start, end, state);
    if (any && v.backing === BACKING_ANON && v.anonVma === 0) this.assignAnonVma(index);
  }

  /** Read-faults [start, end) of VMA `index`. */
  readFault(index: number, start: number, end: number): void {
    const v = this.vmas.list[index]!;
    const state = this.readState(v);
    const at = this.identity ? start : this.runOffset(start, end);
    if (at < 0) return readFaultParts(this, start, end, state);
    const first = at / PAGE_SIZE;
    for (let p = first, e = first + (end - start) / PAGE_SIZE; p < e; p++) this.pages.touchRead(p, state);
  }

  /**
   * Finds raw writes in [start, end) of VMA `index`; those pages become resident. Only
   * writable memory is scanned: a real store into anything else would have faulted, and pages
   * written before their VMA lost PROT_WRITE were scanned when it did (see mprotect).
   */
  scanVma(index: number, start: number, end: number): void {
    const v = this.vmas.list[index]!;
    if (!(v.flags & VM_WRITE) || this.declaredWrites) return;
    const at = this.identity ? start : this.runOffset(start, end);
    const first = at / PAGE_SIZE;
    const found = at >= 0 ? this.pages.scan(first, first + (end - start) / PAGE_SIZE, this.writeState(v)) : scanParts(this, start, end, this.writeState(v));
    if (found > 0 && v.backing === BACKING_ANON && v.anonVma === 0) this.assignAnonVma(index);
  }

  /** Scans every mapped page (for /proc/self/status). */
  scanAll(): void {
    for (let i = 0; i < this.vmas.count; i++) {
      const v = this.vmas.list[i]!;
      this.scanVma(i, v.start, v.end);
    }
  }

  /**
   * populate_vma_page_range over [start, end) for each VMA met (holes are skipped, as
   * __mm_populate skips them). Returns 0, or -EFAULT at the first inaccessible VMA unless
   * errors are ignored.
   */
  populate(start: number, end: number, ignoreErrors: boolean): number {
    for (let i = this.vmas.lowerBound(start); i < this.vmas.count; i++) {
      const v = this.vmas.list[i]!;
      if (v.start >= end) break;
      if (v.flags & VM_LOCKONFAULT) continue;
      const a = Math.max(v.start, start);
      const b = Math.min(v.end, end);
      if ((v.flags & VM_ACCESS_FLAGS) === 0) {
        if (ignoreErrors) continue;
        return -EFAULT;
      }
      if ((v.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE) this.writeFault(i, a, b);
      else this.readFault(i, a, b);
    }
    return 0;
  }

  // ── unmapping ────────────────────────────────────────────────────────────────

  /**
   * do_munmap on a page-aligned range: splits the VMAs at the edges, drops their pages (unless
   * the caller already did: `pagesClear`) and their commit charge. Fails (ENOMEM) only when
   * punching a hole would exceed max_map_count.
   */
  unmap(start: number, end: number, pagesClear = false): number {
    const vmas = this.vmas;
    let i = vmas.lowerBound(start);
    const first = vmas.list[i];
    if (first === undefined || first.start >= end) return 0;
    if (start > first.start) {
      if (end < first.end && vmas.count >= MAX_MAP_COUNT) return -ENOMEM;
      vmas.split(i, start);
      i++;
    }
    let last = vmas.lowerBound(end - 1);
    if (last >= vmas.count || vmas.list[last]!.start >= end) last--;
    if (vmas.list[last]!.end > end) vmas.split(last, end);
    const removed = vmas.remove(i, last - i + 1);
    for (const r of removed) this.release(r, pagesClear);
    this.pages.freeTables(removed[0]!.start / PAGE_SIZE, removed[removed.length - 1]!.end / PAGE_SIZE, this.isMapped);
    return 0;
  }

  /** Pages.drop over the VAs [start, end) of one VMA. */
  dropPages(start: number, end: number, writable: boolean): void {
    const at = this.identity ? start : this.runOffset(start, end);
    if (at < 0) return dropParts(this, start, end, writable);
    const first = at / PAGE_SIZE;
    this.pages.drop(first, first + (end - start) / PAGE_SIZE, writable);
  }

  /** Whether a VMA intersects [start, end): freeTables' question, one closure for all calls. */
  private readonly isMapped = (start: number, end: number): boolean => this.vmas.intersecting(start, end) !== undefined;

  /**
   * unmap's common case when brk shrinks the heap: [start, end) is the tail of one private
   * anonymous VMA. The VMA is cut short in place rather than split and the upper part removed;
   * pages, commit charge, locked pages and counters end up as unmap leaves them. False (nothing
   * done) when the range is anything else.
   */
  unmapTail(start: number, end: number): boolean {
    const i = this.vmas.lowerBound(start);
    const v = this.vmas.list[i];
    if (v === undefined || v.start >= start || v.end !== end || v.backing !== BACKING_ANON) return false;
    const pages = pagesOf(end - start);
    this.vmas.resize(i, v.start, start);
    this.dropPages(start, end, (v.flags & VM_WRITE) !== 0);
    if (v.flags & VM_ACCOUNT) this.commit.uncharge(pages);
    if (v.flags & VM_LOCKED) this.lockedVm -= pages;
    // The VMA still covers the page below `start`: only page tables wholly above it can go.
    const firstTable = Math.ceil(start / PTE_SPAN_BYTES) * PTE_SPAN_BYTES;
    if (firstTable < end) this.pages.freeTables(firstTable / PAGE_SIZE, end / PAGE_SIZE, this.isMapped);
    return true;
  }

  /**
   * What a removed VMA gives back: its pages, its commit charge, its share of a shmem object.
   * `pagesClear`: the caller has just left every page not present and zero (mremap's move).
   */
  private release(v: Vma, pagesClear: boolean): void {
    const pages = pagesOf(v.end - v.start);
    if (!pagesClear) this.dropPages(v.start, v.end, (v.flags & VM_WRITE) !== 0);
    if (v.flags & VM_ACCOUNT) this.commit.uncharge(pages);
    if (v.flags & VM_LOCKED) this.lockedVm -= pages;
    if (v.backing === BACKING_SHMEM) {
      const obj = this.shmem.get(v.objectId);
      if (obj !== undefined) {
        obj.mappedPages -= pages;
        if (obj.mappedPages <= 0) {
          this.commit.uncharge(obj.chargedPages);
          this.shmem.delete(v.objectId);
        }
      }
    }
  }

  // ── limits ───────────────────────────────────────────────────────────────────

  /** may_expand_vm: RLIMIT_AS, and RLIMIT_DATA for private writable non-stack memory. */
  mayExpandVm(flags: number, pages: number): boolean {
    const as = this.rlimits.cur(9);
    if (this.vmas.totalPages + pages > Math.floor(as / PAGE_SIZE)) return false;
    if (isDataMapping(flags)) {
      const dataCur = this.rlimits.cur(2);
      if (this.vmas.dataPages + pages > Math.floor(dataCur / PAGE_SIZE)) {
        // The Valgrind workaround: a zero soft limit is checked against the hard one.
        if (dataCur === 0 && this.vmas.dataPages + pages <= Math.floor(this.rlimits.max(2) / PAGE_SIZE)) return true;
        return false;
      }
    }
    return true;
  }

  /** mlock_future_check: would locking `bytes` more of VM_LOCKED memory pass RLIMIT_MEMLOCK? */
  mlockFutureOk(flags: number, bytes: number): boolean {
    if (!(flags & VM_LOCKED)) return true;
    const locked = pagesOf(bytes) + this.lockedVm;
    return locked <= Math.floor(this.rlimits.cur(8) / PAGE_SIZE) || this.privileged;
  }

  /** can_do_mlock: a non-zero RLIMIT_MEMLOCK, or CAP_IPC_LOCK. */
  canDoMlock(): boolean {
    return this.rlimits.cur(8) !== 0 || this.privileged;
  }

  chargeCommit(pages: number): boolean {
    return this.commit.charge(pages, this.vmas.totalPages);
  }

  /** get_unmapped_area for anonymous memory (placement.ts); `low32`: MAP_FIXED's absence with MAP_32BIT. */
  getUnmappedArea(addr: number, len: number, fixed: boolean, low32 = false): number {
    return getUnmappedArea(this, addr, len, fixed, low32);
  }
}

/** Where the program image went (addresses) and what exec left resident in it. */
interface ProgramImage {
  startCode: number;
  endCode: number;
  startData: number;
  endData: number;
  dataVmaStart: number;
  dataVmaEnd: number;
  /** Ranges read in (file pages resident). */
  readIn: Array<[number, number]>;
  /** Ranges written (private copies: anonymous pages). */
  written: Array<[number, number]>;
}
