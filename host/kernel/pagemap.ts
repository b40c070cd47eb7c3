// The page map: which pages of the address space are readable and which writable, kept in the
// process's own memory below mmap_min_addr (the picture and the constants are in
// assembly/config.ts), so that the allocator — the Wasm build and its TypeScript twin alike —
// can check a link before it follows it, with two loads and no call out of Wasm. Real glibc
// takes SIGSEGV at the first load through a link into unmapped memory; without the map the
// emulated allocator would read the zeros a Wasm memory has there and go on.
//
// The map is kept exact from the two places every change goes through: VmaList (vma.ts) reports
// each range whose access may have changed, and each 4 MiB region it touches is rebuilt from the
// VMA list; Pages (pages.ts) reports each run of pages that became resident or stopped being so.
// A set bit is a promise — readable; or writable *and resident*, as a present, writable PTE is —
// and a clear bit only sends the allocator to the kernel (accessFault in access.ts), which
// answers from the VMAs: SIGSEGV, or a write fault that makes the page resident and sets its bit.
// So the allocator's own stores fault their pages in exactly as on Linux, zeros included, and the
// kernel never has to search for them. A region that found no free leaf is still exact, only slower.
//
// In front of the map, two spans settled by one subtraction and one compare: the hot span, the
// brk heap's VMA while it is writable, for loads; and the store span, a run of resident pages of
// that VMA, for stores (a store must meet a resident page). The store span grows as pages next to
// it become resident and is cut where pages are dropped (the longer side stays).
//
// Everything here is by Wasm offset: the map describes the memory the allocator loads from. The
// VMAs are by virtual address, and each window (aslr.ts) says which offsets hold which VAs: a
// region's pages are painted from the VMAs over the VAs its offsets hold (an i386 process has one
// window, the identity, and no translation).
//
// The frames of far pages (frames.ts) have their bits too, painted frame by frame from the VMA
// over the VA each backs: a pool region holds frames of unrelated VAs, so its leaf is never a
// shared one, and a free frame's bits are clear.
//
// A MAP_FIXED may place a mapping anywhere from 0x1000 up (vm.mmap_min_addr is 4096 on the
// machine the kernel follows): the leaves in a page it takes are given up (their regions move to
// other leaves, or to "ask") and the page is zeroed, as a fresh mapping reads; the page is taken
// back at a later change, once no VMA covers it (its unmap has zeroed it by then).

import {
  PAGEMAP_END, PAGEMAP_FIRST_LEAF, PAGEMAP_HOT_LEN, PAGEMAP_HOT_START, PAGEMAP_STORE_LEN, PAGEMAP_STORE_START, PAGEMAP_LEAF_NONE, PAGEMAP_LEAF_RO, PAGEMAP_LEAF_RW, PAGEMAP_LEAF_SHIFT,
  PAGEMAP_LEAVES, PAGEMAP_REGION_SHIFT, PAGEMAP_TOP, PAGEMAP_WRITE_PLANE,
} from "../../assembly/config.js";
import { PAGE_SHIFT, PAGE_SIZE } from "../constants.js";
import { ANY_ACCESS, clearBits, fillBits, frameBits, pageBit, paintFrame, setBits } from "./pagebits.js";
import { windowOffset, type Window } from "./aslr.js";
import type { Frames } from "./frames.js";
import { PAGE_ANON } from "./pages.js";
import { VM_WRITE, type VmaList } from "./vma.js";

const REGION_BYTES = 2 ** PAGEMAP_REGION_SHIFT;
const REGIONS = 2 ** (32 - PAGEMAP_REGION_SHIFT);
const REGION_PAGES = REGION_BYTES / PAGE_SIZE;
const LEAF_BYTES = 2 ** PAGEMAP_LEAF_SHIFT;
const LEAVES_PER_PAGE = PAGE_SIZE / LEAF_BYTES;

export { pageBit };

export class PageMap {
  readonly #memory: WebAssembly.Memory;
  readonly #vmas: VmaList;
  /** The process's windows, in offset order. */
  readonly #windows: readonly Window[];
  /** One window, VA = offset (i386). */
  readonly #identity: boolean;
  /** What a span's published length leaves off: SIZE_SZ − 1 of the process (see the constructor). */
  readonly #slack: number;
  /** The frames of far pages (x86_64), or null. */
  readonly #frames: Frames | null;
  /** The pool's pages and regions [first, end): both empty without frames. */
  readonly #poolFirstPage: number;
  readonly #poolEndPage: number;
  readonly #poolFirstRegion: number;
  readonly #poolEndRegion: number;

  /** Pages.state: a page's write bit is set only while it is resident (state ≥ PAGE_ANON). */
  readonly #state: Uint8Array;
  /** Pages.presentIn: a region with no page present has none resident. */
  readonly #presentIn: Uint16Array;
  /** The store span's bounds (page-aligned; empty when equal). */
  #storeStart = 0;
  #storeEnd = 0;
  /** The hot span's VMA (the brk heap while writable) as of the last change; empty when equal. */
  #heapStart = 0;
  #heapEnd = 0;
  #u8: Uint8Array;
  /** The map's first 64 KiB as words (the hot span's two). */
  #words: Uint32Array;
  /** Free leaves (numbers), popped from the end. */
  readonly #free: number[] = [];
  /** The region each private leaf serves, or -1. */
  readonly #regionOf = new Int32Array(PAGEMAP_LEAVES).fill(-1);
  /** Leaves whose #regionOf is set. */
  #inUse = 0;
  /** Pages of the map (1..15) a mapping has taken: bit p. Their leaves are not used. */
  #blocked = 0;
  #collapsing = false;
  /** Regions with mapped pages left on the all-clear leaf for want of a free one ("ask the kernel"). */
  readonly #ask = new Set<number>();
  /** The most private leaves ever in use at once. */
  peakLeaves = 0;
  /**
   * An address inside the brk heap (start_brk): the VMA holding it, when writable, is the hot span
   * the allocator checks first. 0 until the layout is known: no hot span.
   */
  hotAddr = 0;

  constructor(
    memory: WebAssembly.Memory,
    vmas: VmaList,
    pages: { readonly state: Uint8Array; readonly presentIn: Uint16Array },
    windows: readonly Window[] = [{ va: 0, offset: 0, length: 2 ** 32 }],
    frames: Frames | null = null,
  ) {
    this.#frames = frames;
    this.#poolFirstPage = frames?.firstPage ?? 0;
    this.#poolEndPage = frames?.endPage ?? 0;
    this.#poolFirstRegion = Math.floor(this.#poolFirstPage / REGION_PAGES);
    this.#poolEndRegion = Math.ceil(this.#poolEndPage / REGION_PAGES);
    this.#memory = memory;
    this.#vmas = vmas;
    this.#windows = [...windows].sort((a, b) => a.offset - b.offset);
    this.#identity = windows.length === 1 && windows[0]!.va === 0 && windows[0]!.offset === 0;
    // A span's length is published less (word size − 1), so that a word access that starts in it
    // ends in it: 4-byte words in an i386 process, 8-byte ones in an x86_64 one (several windows).
    this.#slack = this.#identity ? 3 : 7;
    this.#state = pages.state;
    this.#presentIn = pages.presentIn;
    // Views of the map's own 64 KiB: everything the map reads or writes lies there.
    this.#u8 = new Uint8Array(memory.buffer, 0, PAGEMAP_END);
    this.#words = new Uint32Array(memory.buffer, 0, PAGEMAP_END / 4);
    const u8 = this.#u8;
    u8.fill(0, 0, PAGEMAP_END);
    u8.fill(PAGEMAP_LEAF_NONE, PAGEMAP_TOP, PAGEMAP_TOP + REGIONS);
    u8.fill(0xff, PAGEMAP_LEAF_RW << PAGEMAP_LEAF_SHIFT, (PAGEMAP_LEAF_RW + 1) << PAGEMAP_LEAF_SHIFT);
    u8.fill(0xff, PAGEMAP_LEAF_RO << PAGEMAP_LEAF_SHIFT, (PAGEMAP_LEAF_RO << PAGEMAP_LEAF_SHIFT) + PAGEMAP_WRITE_PLANE);
    for (let n = PAGEMAP_LEAVES - 1; n >= PAGEMAP_FIRST_LEAF; n--) this.#free.push(n);
  }

  /** Private leaves in use now. */
  get leavesInUse(): number {
    return this.#inUse;
  }

  /** Regions waiting for a leaf (their pages are answered by the kernel). */
  get askingRegions(): number {
    return this.#ask.size;
  }

  /**
   * [start, end) may have gained or lost access: the regions it touches are brought up to date
   * from the VMAs — a region with a leaf of its own only over [start, end) (brk moving the heap's
   * end, the common case), any other one whole.
   */
  changed(startVa: number, endVa: number): void {
    if (endVa <= startVa) return;
    this.#refreshViews();
    if (this.#blocked !== 0) this.#unblock();
    if (this.#identity) this.#changedOffsets(startVa, endVa);
    else {
      let windowed = 0;
      for (const w of this.#windows) {
        const s = Math.max(startVa, w.va);
        const e = Math.min(endVa, w.va + w.length);
        if (s < e) {
          this.#changedOffsets(s - w.va + w.offset, e - w.va + w.offset);
          windowed += e - s;
        }
      }
      // the rest is far: the frames there (only far pages have frames) follow their VMAs
      const frames = this.#frames;
      if (frames !== null && windowed < endVa - startVa && frames.size > 0) {
        for (const v of frames.inRange(Math.floor(startVa / PAGE_SIZE), Math.ceil(endVa / PAGE_SIZE))) this.frameChanged(frames.frameOf(v));
      }
    }
    if (this.#ask.size > 0 && this.#free.length > 0) for (const r of [...this.#ask]) this.#rebuildRegion(r);
    this.#setHotSpan();
  }

  /** changed() over the offsets [start, end) of one window. */
  #changedOffsets(start: number, end: number): void {
    if (start < PAGEMAP_END) this.#block();
    const last = Math.floor((end - 1) / REGION_BYTES);
    for (let r = Math.floor(start / REGION_BYTES); r <= last; r++) {
      const base = r * REGION_BYTES;
      const s = Math.max(start, base);
      const e = Math.min(end, base + REGION_BYTES);
      if ((s > base || e < base + REGION_BYTES) && this.#u8[PAGEMAP_TOP + r]! >= PAGEMAP_FIRST_LEAF) this.#update(r, s, e);
      else this.#rebuild(r);
    }
  }

  /**
   * Window k's part of the offsets [s, e): sets #ws, #we (its offsets) and #d (VA − offset there)
   * and returns the index of the first VMA over it (the list's length when none). The walks of
   * residency(), #paint and #rebuild go window by window with it, without a callback (residency
   * runs at every page fault); on i386 there is one window, and d is 0.
   */
  #firstVma(k: number, s: number, e: number): number {
    const w = this.#windows[k]!;
    this.#ws = Math.max(s, w.offset);
    this.#we = Math.min(e, w.offset + w.length);
    this.#d = w.va - w.offset;
    return this.#ws < this.#we ? this.#vmas.lowerBound(this.#ws + this.#d) : this.#vmas.list.length;
  }
  #ws = 0;
  #we = 0;
  #d = 0;

  /** Whether a VMA is over any of the offsets [start, end). */
  #mappedAt(start: number, end: number): boolean {
    if (this.#identity) return this.#vmas.intersecting(start, end) !== undefined;
    for (const w of this.#windows) {
      const ws = Math.max(start, w.offset);
      const we = Math.min(end, w.offset + w.length);
      if (ws < we && this.#vmas.intersecting(ws - w.offset + w.va, we - w.offset + w.va) !== undefined) return true;
    }
    return false;
  }

  /** The offset of a mapped VA (one a VMA holds, so in a window). */
  #offsetOf(va: number): number {
    return this.#identity ? va : windowOffset(this.#windows, va);
  }

  /**
   * The writable VMA holding hotAddr as the hot span (or none), and the store span kept inside it,
   * after every change. A VMA one window does not hold whole (some of it far) is not a span: its
   * offsets do not run on as its addresses do.
   */
  #setHotSpan(): void {
    const v = this.hotAddr === 0 ? undefined : this.#vmas.find(this.hotAddr);
    const heap = v !== undefined && (v.flags & VM_WRITE) !== 0 && (this.#identity || this.#inOneWindow(v.start, v.end));
    // the spans are kept by offset: the allocator checks them after its own translation
    this.#heapStart = heap ? this.#offsetOf(v.start) : 0;
    this.#heapEnd = heap ? this.#heapStart + (v.end - v.start) : 0;
    const hot = heap && v.end - v.start > this.#slack;
    this.#words[PAGEMAP_HOT_START >>> 2] = hot ? this.#heapStart : 0;
    this.#words[PAGEMAP_HOT_LEN >>> 2] = hot ? v.end - v.start - this.#slack : 0;
    this.#storeStart = Math.min(Math.max(this.#storeStart, this.#heapStart), this.#heapEnd);
    this.#storeEnd = Math.max(Math.min(this.#storeEnd, this.#heapEnd), this.#storeStart);
    this.#setStoreSpan();
  }

  #setStoreSpan(): void {
    const len = this.#storeEnd - this.#storeStart;
    this.#words[PAGEMAP_STORE_START >>> 2] = len > this.#slack ? this.#storeStart : 0;
    this.#words[PAGEMAP_STORE_LEN >>> 2] = len > this.#slack ? len - this.#slack : 0;
  }

  /**
   * [a, b) became resident: the store span takes it when it is next to it (or there is no span),
   * and then every resident page that now joins it. A run elsewhere is left alone: measuring it on
   * every fault made a heap growing page by page beside the span cost the square of its length.
   * The brk heap is written from its start upwards, so the span grows with it.
   */
  #storeGained(a: number, b: number): void {
    const heapStart = this.#heapStart;
    const heapEnd = this.#heapEnd;
    if (a < heapStart || b > heapEnd || heapStart === heapEnd) return;
    const empty = this.#storeEnd === this.#storeStart;
    if (!empty && (a > this.#storeEnd || b < this.#storeStart)) return;
    let s = empty ? a : Math.min(a, this.#storeStart);
    let e = empty ? b : Math.max(b, this.#storeEnd);
    const state = this.#state;
    while (s > heapStart && state[s / PAGE_SIZE - 1]! >= PAGE_ANON) s -= PAGE_SIZE;
    while (e < heapEnd && state[e / PAGE_SIZE]! >= PAGE_ANON) e += PAGE_SIZE;
    this.#storeStart = s;
    this.#storeEnd = e;
    this.#setStoreSpan();
  }

  /** [a, b) stopped being resident: the store span keeps its longer part outside it. */
  #storeLost(a: number, b: number): void {
    if (a >= this.#storeEnd || b <= this.#storeStart) return;
    if (a - this.#storeStart >= this.#storeEnd - b) this.#storeEnd = Math.max(a, this.#storeStart);
    else this.#storeStart = Math.min(b, this.#storeEnd);
    this.#setStoreSpan();
  }

  /** Whether one window holds all of the VAs [start, end). */
  #inOneWindow(start: number, end: number): boolean {
    for (const w of this.#windows) if (start >= w.va && end <= w.va + w.length) return true;
    return false;
  }

  /**
   * Pages [startPage, endPage) all became resident, or all stopped being resident: their write
   * bits follow.
   */
  residency(startPage: number, endPage: number): void {
    this.#refreshViews();
    if (startPage < this.#poolEndPage && startPage >= this.#poolFirstPage) {
      for (let p = startPage; p < endPage; p++) this.frameChanged(p);
      return;
    }
    const resident = this.#state[startPage]! >= PAGE_ANON;
    const lastRegion = Math.floor((endPage - 1) / REGION_PAGES);
    for (let r = Math.floor(startPage / REGION_PAGES); r <= lastRegion; r++) {
      const leaf = this.#u8[PAGEMAP_TOP + r]!;
      if (leaf === PAGEMAP_LEAF_RW) this.#rebuild(r);
      else if (leaf >= PAGEMAP_FIRST_LEAF) {
        const base = r * REGION_BYTES;
        const s = Math.max(startPage * PAGE_SIZE, base);
        const e = Math.min(endPage * PAGE_SIZE, base + REGION_BYTES);
        const planeAt = (leaf << PAGEMAP_LEAF_SHIFT) + PAGEMAP_WRITE_PLANE;
        const list = this.#vmas.list;
        for (let k = 0; k < this.#windows.length; k++) {
          for (let i = this.#firstVma(k, s, e), d = this.#d, ws = this.#ws, we = this.#we; i < list.length && list[i]!.start < we + d; i++) {
            const v = list[i]!;
            if (v.flags & VM_WRITE) fillBits(this.#u8, planeAt, (Math.max(v.start - d, ws) - base) >>> PAGE_SHIFT, (Math.min(v.end - d, we) - base) >>> PAGE_SHIFT, resident);
          }
        }
      }
    }
    if (resident) this.#storeGained(startPage * PAGE_SIZE, endPage * PAGE_SIZE);
    else this.#storeLost(startPage * PAGE_SIZE, endPage * PAGE_SIZE);
  }

  /**
   * Re-wraps the memory after it grew: growing detaches the old buffer, which empties every view
   * of it (a length of 0 is the sign, far cheaper to read than the memory's `buffer` accessor).
   */
  #refreshViews(): void {
    if (this.#u8.length === 0) {
      this.#u8 = new Uint8Array(this.#memory.buffer, 0, PAGEMAP_END);
      this.#words = new Uint32Array(this.#memory.buffer, 0, PAGEMAP_END / 4);
    }
  }

  /** Pages [s, e) of region r, which has a leaf of its own, from the VMAs over them. */
  #update(r: number, s: number, e: number): void {
    const u8 = this.#u8;
    const base = r * REGION_BYTES;
    if (!this.#mappedAt(base, base + REGION_BYTES)) {
      // nothing mapped in the region any more: its leaf goes back to the pool
      this.#release(u8[PAGEMAP_TOP + r]!);
      u8[PAGEMAP_TOP + r] = PAGEMAP_LEAF_NONE;
      return;
    }
    const at = u8[PAGEMAP_TOP + r]! << PAGEMAP_LEAF_SHIFT;
    const ps = (s - base) >>> PAGE_SHIFT;
    const pe = Math.ceil((e - base) / PAGE_SIZE);
    clearBits(u8, at, ps, pe);
    clearBits(u8, at + PAGEMAP_WRITE_PLANE, ps, pe);
    this.#paint(at, base, s, e);
  }

  /** Sets the bits of the leaf at `at` (its region starting at base) for the VMAs over [s, e). */
  #paint(at: number, base: number, s: number, e: number): void {
    const list = this.#vmas.list;
    for (let k = 0; k < this.#windows.length; k++) {
      for (let i = this.#firstVma(k, s, e), d = this.#d, ws = this.#ws, we = this.#we; i < list.length && list[i]!.start < we + d; i++) {
        const v = list[i]!;
        if (!(v.flags & ANY_ACCESS)) continue;
        const ps = (Math.max(v.start - d, ws) - base) >>> PAGE_SHIFT;
        const pe = (Math.min(v.end - d, we) - base) >>> PAGE_SHIFT;
        setBits(this.#u8, at, ps, pe);
        if (v.flags & VM_WRITE) this.#paintResident(at, base, ps, pe);
      }
    }
  }

  /** Sets the write bits of pages [ps, pe) of the region at base that are resident. */
  #paintResident(at: number, base: number, ps: number, pe: number): void {
    const state = this.#state;
    const first = base / PAGE_SIZE;
    if (this.#presentIn[first / REGION_PAGES] === 0) return;
    let p = ps;
    while (p < pe) {
      while (p < pe && state[first + p]! < PAGE_ANON) p++;
      let q = p;
      while (q < pe && state[first + q]! >= PAGE_ANON) q++;
      if (q > p) fillBits(this.#u8, at + PAGEMAP_WRITE_PLANE, p, q, true);
      p = q;
    }
  }

  /** Whether the page at Wasm offset addr is writable and resident by the map (a store there needs no fault). */
  storeReady(addr: number): boolean {
    this.#refreshViews();
    return pageBit(this.#u8, addr >>> 0, PAGEMAP_WRITE_PLANE) !== 0;
  }

  /** Whether the map says the page at Wasm offset addr is readable (or writable): for tests and tools. */
  allows(addr: number, write: boolean): boolean {
    this.#refreshViews();
    return pageBit(this.#u8, addr >>> 0, write ? PAGEMAP_WRITE_PLANE : 0) !== 0;
  }

  /** Any region whole: a pool region frame by frame, any other from the VMAs over its windows. */
  #rebuildRegion(r: number): void {
    if (r < this.#poolEndRegion && r >= this.#poolFirstRegion) this.#rebuildPool(r);
    else this.#rebuild(r);
  }

  // The leaf taken inline rather than through #leafOf: a call more here made V8 stop inlining
  // #firstVma, and a 1.5 GiB mapping (more regions than leaves) took twice as long to map.
  #rebuild(r: number): void {
    const u8 = this.#u8;
    const base = r * REGION_BYTES;
    const lim = base + REGION_BYTES;
    let covered = 0;
    let allWritable = true;
    let anyWritable = false;
    let allReadable = true;
    const list = this.#vmas.list;
    for (let k = 0; k < this.#windows.length; k++) {
      for (let i = this.#firstVma(k, base, lim), d = this.#d, ws = this.#ws, we = this.#we; i < list.length && list[i]!.start < we + d; i++) {
        const v = list[i]!;
        covered += Math.min(v.end - d, we) - Math.max(v.start - d, ws);
        if (v.flags & VM_WRITE) anyWritable = true;
        else allWritable = false;
        if (!(v.flags & ANY_ACCESS)) allReadable = false;
      }
    }
    let shared = -1;
    if (covered === 0) shared = PAGEMAP_LEAF_NONE;
    else if (covered === REGION_BYTES && allWritable && this.#allResident(base)) shared = PAGEMAP_LEAF_RW;
    else if (covered === REGION_BYTES && allReadable && !anyWritable) shared = PAGEMAP_LEAF_RO;
    const current = u8[PAGEMAP_TOP + r]!;
    const own = current >= PAGEMAP_FIRST_LEAF ? current : -1;
    if (shared >= 0) {
      if (own >= 0) this.#release(own);
      this.#ask.delete(r);
      u8[PAGEMAP_TOP + r] = shared;
      return;
    }
    let leaf = own;
    if (leaf < 0) {
      leaf = this.#take();
      if (leaf < 0) {
        this.#ask.add(r);
        u8[PAGEMAP_TOP + r] = PAGEMAP_LEAF_NONE;
        return;
      }
      this.#regionOf[leaf] = r;
      this.#inUse++;
      this.#ask.delete(r);
    }
    const at = leaf << PAGEMAP_LEAF_SHIFT;
    u8.fill(0, at, at + LEAF_BYTES);
    this.#paint(at, base, base, lim);
    u8[PAGEMAP_TOP + r] = leaf;
  }

  /** Region r on a shared leaf (its own leaf, if any, back to the pool). */
  #setShared(r: number, shared: number): void {
    const current = this.#u8[PAGEMAP_TOP + r]!;
    if (current >= PAGEMAP_FIRST_LEAF) this.#release(current);
    this.#ask.delete(r);
    this.#u8[PAGEMAP_TOP + r] = shared;
  }

  /**
   * Region r's own leaf, cleared: the one it has, or a free one (not yet published in the top
   * level). -1 when none is left: the region then asks the kernel.
   */
  #leafOf(r: number): number {
    const current = this.#u8[PAGEMAP_TOP + r]!;
    let leaf = current >= PAGEMAP_FIRST_LEAF ? current : -1;
    if (leaf < 0) {
      leaf = this.#take();
      if (leaf < 0) {
        this.#ask.add(r);
        this.#u8[PAGEMAP_TOP + r] = PAGEMAP_LEAF_NONE;
        return -1;
      }
      this.#regionOf[leaf] = r;
      this.#inUse++;
      this.#ask.delete(r);
    }
    const at = leaf << PAGEMAP_LEAF_SHIFT;
    this.#u8.fill(0, at, at + LEAF_BYTES);
    return leaf;
  }

  /**
   * A frame was mapped, freed, moved to another VA, or changed residency: its bits follow. A pool
   * region gets a leaf of its own at its first frame with a bit, and gives it back at its last.
   */
  frameChanged(page: number): void {
    this.#refreshViews();
    const r = Math.floor(page / REGION_PAGES);
    const leaf = this.#u8[PAGEMAP_TOP + r]!;
    const bits = frameBits(this.#frames!, this.#vmas, this.#state, page);
    if (leaf < PAGEMAP_FIRST_LEAF) {
      if (bits !== 0) this.#rebuildPool(r);
    } else if (this.#frames!.mappedIn(r) === 0) this.#setShared(r, PAGEMAP_LEAF_NONE);
    else paintFrame(this.#u8, leaf << PAGEMAP_LEAF_SHIFT, page - r * REGION_PAGES, bits);
  }

  /** Pool region r whole, frame by frame. */
  #rebuildPool(r: number): void {
    if (this.#frames!.mappedIn(r) === 0) return this.#setShared(r, PAGEMAP_LEAF_NONE);
    const leaf = this.#leafOf(r);
    if (leaf < 0) return;
    const first = r * REGION_PAGES;
    for (let i = 0; i < REGION_PAGES; i++) paintFrame(this.#u8, leaf << PAGEMAP_LEAF_SHIFT, i, frameBits(this.#frames!, this.#vmas, this.#state, first + i));
    this.#u8[PAGEMAP_TOP + r] = leaf;
  }

  #allResident(base: number): boolean {
    const first = base / PAGE_SIZE;
    if (this.#presentIn[first / REGION_PAGES] !== REGION_PAGES) return false;
    for (let p = first; p < first + REGION_PAGES; p++) if (this.#state[p]! < PAGE_ANON) return false;
    return true;
  }

  #take(): number {
    // Out of leaves: regions updated page by page may since have become all mapped or all
    // unmapped; rebuilding them whole gives their leaves back.
    if (this.#free.length === 0 && !this.#collapsing) {
      this.#collapsing = true;
      for (let leaf = PAGEMAP_FIRST_LEAF; leaf < PAGEMAP_LEAVES; leaf++) {
        const r = this.#regionOf[leaf]!;
        if (r >= 0) this.#rebuildRegion(r);
      }
      this.#collapsing = false;
    }
    const leaf = this.#free.pop();
    if (leaf === undefined) return -1;
    const inUse = this.#inUse + 1;
    if (inUse > this.peakLeaves) this.peakLeaves = inUse;
    return leaf;
  }

  #release(leaf: number): void {
    this.#regionOf[leaf] = -1;
    this.#inUse--;
    if (!(this.#blocked & (1 << (leaf / LEAVES_PER_PAGE)))) this.#free.push(leaf);
  }

  /** Gives up the map's pages a mapping now covers: their regions move, the page reads zero. */
  #block(): void {
    for (let p = 1; p < PAGEMAP_END / PAGE_SIZE; p++) {
      const bit = 1 << p;
      if (this.#blocked & bit || !this.#mappedAt(p * PAGE_SIZE, (p + 1) * PAGE_SIZE)) continue;
      this.#blocked |= bit;
      const lo = p * LEAVES_PER_PAGE;
      const hi = lo + LEAVES_PER_PAGE;
      for (let k = this.#free.length - 1; k >= 0; k--) if (this.#free[k]! >= lo && this.#free[k]! < hi) this.#free.splice(k, 1);
      const moved: number[] = [];
      for (let leaf = lo; leaf < hi; leaf++) {
        const r = this.#regionOf[leaf]!;
        if (r < 0) continue;
        this.#regionOf[leaf] = -1;
        this.#inUse--;
        this.#u8[PAGEMAP_TOP + r] = PAGEMAP_LEAF_NONE;
        moved.push(r);
      }
      this.#u8.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
      for (const r of moved) this.#rebuildRegion(r);
    }
  }

  /** Takes back the pages no mapping covers any more (zeroed by their unmap). */
  #unblock(): void {
    for (let p = 1; p < PAGEMAP_END / PAGE_SIZE; p++) {
      const bit = 1 << p;
      if (!(this.#blocked & bit) || this.#mappedAt(p * PAGE_SIZE, (p + 1) * PAGE_SIZE)) continue;
      this.#blocked &= ~bit;
      for (let leaf = (p + 1) * LEAVES_PER_PAGE - 1; leaf >= p * LEAVES_PER_PAGE; leaf--) this.#free.push(leaf);
    }
  }
}
