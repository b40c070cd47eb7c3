// Demand paging: one byte of state per 4 KiB page of the 4 GiB memory (2^20 entries, by Wasm
// offset), as a page table would hold it, plus the counters /proc/self/status reports. The
// page-table pages themselves (VmPTE) are counted by virtual address, as the MMU's are: in an
// x86_64 process the offsets of a window are not where its pages sit in the 47-bit space.
//
//   NONE      not present: never touched, or dropped (munmap, MADV_DONTNEED, brk shrink)
//   ZERO      present, mapped to the shared zero page by a read fault: no RSS
//   ANON/FILE/SHMEM  resident (written, populated, or found non-zero by a scan); the state
//             remembers which of RssAnon / RssFile / RssShmem the page counts in
//
// The allocator's stores fault: the page map (pagemap.ts) promises a store only on a resident
// page, so its first store into any other page comes here through the fault handler, as on Linux.
// The user's raw stores through `memory` do not fault. With writes: "declared" they are declared
// (Process.touch); with "scan", the default, the kernel finds them by scanning non-resident pages
// of writable VMAs for non-zero bytes (zeroscan.ts) before it reports or zeroes anything.
// Zeroing touches only pages that are resident or found non-zero, so a huge mapping that was
// never written costs no host memory to drop. Two facts spare reading: memory no VMA covers is
// all zero (every unmap zeroes what it leaves), and a VMA that is not writable holds no unseen
// stores (losing PROT_WRITE scans). Every change of residency is reported (onResidency) to the
// page map.

import { PAGE_SIZE } from "../constants.js";
import { zeroScanner, type ZeroScanner } from "./zeroscan.js";

export const PAGE_NONE = 0;
export const PAGE_ZERO = 1;
export const PAGE_ANON = 2;
export const PAGE_FILE = 3;
export const PAGE_SHMEM = 4;

const PAGE_COUNT = 1 << 20;
/** Pages per 4 MiB region, the unit of presentIn (and of the page map's leaves). */
export const REGION_PAGE_SHIFT = 10;
/** Pages mapped by one page-table page (x86-64 PTE table: 512 × 4 KiB = 2 MiB). */
const PTE_SHIFT = 9;
/** Bytes one page-table page maps (2 MiB). */
export const PTE_SPAN_BYTES = (1 << PTE_SHIFT) * PAGE_SIZE;
/** Pages mapped by one PMD table (1 GiB). */
const PMD_SHIFT = 18;
/** Pages mapped by one PUD table (512 GiB). */
const PUD_PAGES = 2 ** 27;

export class Pages {
  readonly state = new Uint8Array(PAGE_COUNT);
  /**
   * Pages present (state ≠ NONE) in each 4 MiB region: a region at 0 holds nothing to drop,
   * paint or report, and is passed over without reading its 1024 states.
   */
  readonly presentIn = new Uint16Array(PAGE_COUNT >> REGION_PAGE_SHIFT);
  /** Resident pages by state (index PAGE_ANON, PAGE_FILE, PAGE_SHMEM). */
  readonly rss = [0, 0, 0, 0, 0];
  rssTotal = 0;
  hiwaterRss = 0;
  minorFaults = 0;
  private readonly pteTables = new Uint8Array(PAGE_COUNT >> PTE_SHIFT);
  private readonly pmdTables = new Uint8Array(PAGE_COUNT >> PMD_SHIFT);
  pteTableCount = 0;
  pmdTableCount = 0;
  pudTableCount = 0;

  private bytes = new Uint8Array(0);
  private words = new Int32Array(0);

  /** Finds and clears non-zero bytes (zeroscan.ts). */
  private readonly scanner: ZeroScanner;

  /**
   * Told of every run of pages that became resident or stopped being resident (the page map's
   * write plane promises exactly the resident pages of writable VMAs).
   */
  onResidency: ((startPage: number, endPage: number) => void) | null = null;

  /**
   * False when every write is declared (writes: "declared"): a page that is not resident is
   * known to be zero, and drop() never reads it.
   */
  rawWrites = true;

  /** x86_64: the page tables by VA, sparse (an i386 process's fit the arrays above). */
  private readonly vaTables: VaTables | null;

  constructor(
    private readonly memory: WebAssembly.Memory,
    /** Called with the new RSS in pages whenever it grows: the OOM killer's hook. */
    private readonly onRssGrow: (rssPages: number) => void,
    /** The VA page of an offset page; null when they are the same (i386). */
    private readonly vaPageOf: ((page: number) => number) | null = null,
  ) {
    this.vaTables = vaPageOf === null ? null : new VaTables();
    this.scanner = zeroScanner(memory, () => {
      this.u8();
      return this.words;
    });
  }

  /**
   * The byte view of the memory, re-made only when the memory grew. Growing detaches the old
   * buffer, which empties every view of it: a length of 0 is the sign, and cheaper to read than
   * the memory's `buffer` accessor.
   */
  u8(): Uint8Array {
    if (this.bytes.length === 0) this.refresh();
    return this.bytes;
  }

  private refresh(): void {
    const buf = this.memory.buffer as ArrayBuffer;
    this.bytes = new Uint8Array(buf);
    this.words = new Int32Array(buf);
  }

  /** The first page of [startPage, endPage) holding a non-zero byte, or endPage (past the memory all is zero). */
  nextNonZeroPage(startPage: number, endPage: number): number {
    const a = startPage * PAGE_SIZE;
    const b = Math.min(endPage * PAGE_SIZE, this.u8().length);
    if (a >= b) return endPage;
    const hit = this.scanner.firstNonZero(a, b);
    return hit >= b ? endPage : Math.floor(hit / PAGE_SIZE);
  }

  /**
   * Page `page` is present: the page tables over its VA exist from now on. Also for a frame that
   * moved to another VA (mremap between far pages), whose new VA needs its own tables.
   */
  present(page: number): void {
    if (this.vaTables !== null) {
      this.vaTables.present(this.vaPageOf!(page));
      this.syncTableCounts();
      return;
    }
    const t = page >>> PTE_SHIFT;
    if (this.pteTables[t] === 0) {
      this.pteTables[t] = 1;
      this.pteTableCount++;
      const m = page >>> PMD_SHIFT;
      if (this.pmdTables[m] === 0) {
        this.pmdTables[m] = 1;
        this.pmdTableCount++;
        if (this.pudTableCount === 0) this.pudTableCount = 1;
      }
    }
  }

  /**
   * A read fault. `readState` is PAGE_ZERO for private anonymous memory (the shared zero page,
   * no RSS), or the resident state a read brings in (shmem and file pages are real pages).
   */
  touchRead(page: number, readState: number): void {
    if (this.state[page] !== PAGE_NONE) return;
    this.minorFaults++;
    this.present(page);
    this.presentIn[page >>> REGION_PAGE_SHIFT]!++;
    if (readState === PAGE_ZERO) this.state[page] = PAGE_ZERO;
    else this.makeResident(page, readState);
  }

  /** A write fault (or populate / found non-zero): the page becomes resident. True if it was not. */
  touchWrite(page: number, residentState: number): boolean {
    const s = this.state[page]!;
    if (s >= PAGE_ANON) return false;
    this.minorFaults++;
    if (s === PAGE_NONE) {
      this.present(page);
      this.presentIn[page >>> REGION_PAGE_SHIFT]!++;
    }
    this.makeResident(page, residentState);
    return true;
  }

  private makeResident(page: number, residentState: number): void {
    this.state[page] = residentState;
    this.rss[residentState]!++;
    this.rssTotal++;
    if (this.rssTotal > this.hiwaterRss) this.hiwaterRss = this.rssTotal;
    this.onResidency?.(page, page + 1);
    this.onRssGrow(this.rssTotal);
  }

  /**
   * Scans the non-resident pages of [startPage, endPage) for bytes written behind the kernel's
   * back, making each such page resident. Returns how many it found.
   */
  scan(startPage: number, endPage: number, residentState: number, onFound?: (page: number) => void): number {
    let found = 0;
    const state = this.state;
    let p = startPage;
    while (p < endPage) {
      while (p < endPage && state[p]! >= PAGE_ANON) p++;
      if (p >= endPage) break;
      let runEnd = p + 1;
      while (runEnd < endPage && state[runEnd]! < PAGE_ANON) runEnd++;
      for (let q = this.nextNonZeroPage(p, runEnd); q < runEnd; q = this.nextNonZeroPage(q + 1, runEnd)) {
        this.touchWrite(q, residentState);
        onFound?.(q);
        found++;
      }
      p = runEnd;
    }
    return found;
  }

  /**
   * Drops [startPage, endPage): resident pages and pages found non-zero are zeroed, all become
   * not present. The next touch reads zero, as a fresh page does; and memory that no VMA covers
   * is all zero, which is why a new mapping needs no clearing. `writable: false` says the
   * pages were not writable since they were last scanned or dropped (the rule scanVma relies
   * on): the non-resident ones are known to be zero and are not read.
   *
   * A page found non-zero here was written behind the kernel's back: on Linux it faulted in and
   * counted in RSS until now. It is counted as a fault, and the peak (VmHWM, which Linux brings
   * up to date before it unmaps or zaps) includes it.
   */
  drop(startPage: number, endPage: number, writable = true): void {
    const state = this.state;
    const u8 = this.u8();
    const rssBefore = this.rssTotal;
    const scanRaw = writable && this.rawWrites;
    let found = 0;
    let p = startPage;
    while (p < endPage) {
      const r = p >>> REGION_PAGE_SHIFT;
      const regionEnd = Math.min(endPage, (r + 1) << REGION_PAGE_SHIFT);
      if (this.presentIn[r] === 0) {
        if (scanRaw) found += this.clearRaw(u8, p, regionEnd);
        p = regionEnd;
        continue;
      }
      while (p < regionEnd) {
        if (state[p]! >= PAGE_ANON) {
          let runEnd = p;
          while (runEnd < regionEnd && state[runEnd]! >= PAGE_ANON) {
            this.rss[state[runEnd]!]!--;
            this.rssTotal--;
            state[runEnd] = PAGE_NONE;
            runEnd++;
          }
          this.presentIn[r]! -= runEnd - p;
          u8.fill(0, p * PAGE_SIZE, runEnd * PAGE_SIZE);
          this.onResidency?.(p, runEnd);
          p = runEnd;
          continue;
        }
        let runEnd = p;
        let zeroPages = 0;
        while (runEnd < regionEnd && state[runEnd]! < PAGE_ANON) {
          if (state[runEnd] === PAGE_ZERO) zeroPages++;
          runEnd++;
        }
        if (zeroPages > 0) {
          state.fill(PAGE_NONE, p, runEnd);
          this.presentIn[r]! -= zeroPages;
        }
        if (scanRaw) found += this.clearRaw(u8, p, runEnd);
        p = runEnd;
      }
    }
    if (found > 0) {
      this.minorFaults += found;
      if (rssBefore + found > this.hiwaterRss) this.hiwaterRss = rssBefore + found;
    }
  }

  /** Clears the pages of [startPage, endPage) holding raw writes; how many there were. */
  private clearRaw(u8: Uint8Array, startPage: number, endPage: number): number {
    // Past the memory's end everything is zero already.
    const a = startPage * PAGE_SIZE;
    const b = Math.min(endPage * PAGE_SIZE, u8.length);
    return a < b ? this.scanner.clearNonZeroPages(a, b) : 0;
  }

  /**
   * Moves the pages of [src, src + count) to [dst, dst + count) (mremap): contents and states
   * travel, the source is left not present and zero. The ranges do not overlap, the
   * destination is unmapped (so zero and not present), and the caller has scanned the source
   * for raw stores: only resident pages have contents to copy.
   */
  move(srcPage: number, dstPage: number, count: number): void {
    if (count <= 0 || srcPage === dstPage) return;
    const u8 = this.u8();
    const state = this.state;
    let i = 0;
    while (i < count) {
      const s = state[srcPage + i]!;
      if (s === PAGE_NONE) {
        i++;
        continue;
      }
      if (s === PAGE_ZERO) {
        this.present(dstPage + i);
        state[dstPage + i] = s;
        state[srcPage + i] = PAGE_NONE;
        this.presentIn[(srcPage + i) >>> REGION_PAGE_SHIFT]!--;
        this.presentIn[(dstPage + i) >>> REGION_PAGE_SHIFT]!++;
        i++;
        continue;
      }
      let j = i;
      while (j < count && state[srcPage + j]! >= PAGE_ANON) {
        this.present(dstPage + j);
        state[dstPage + j] = state[srcPage + j]!;
        state[srcPage + j] = PAGE_NONE;
        this.presentIn[(srcPage + j) >>> REGION_PAGE_SHIFT]!--;
        this.presentIn[(dstPage + j) >>> REGION_PAGE_SHIFT]!++;
        j++;
      }
      const from = (srcPage + i) * PAGE_SIZE;
      const to = (dstPage + i) * PAGE_SIZE;
      const bytes = (j - i) * PAGE_SIZE;
      u8.copyWithin(to, from, from + bytes);
      u8.fill(0, from, from + bytes);
      this.onResidency?.(srcPage + i, srcPage + j);
      this.onResidency?.(dstPage + i, dstPage + j);
      i = j;
    }
  }

  /**
   * Copies the pages of [src, src + count) to the fresh [dst, dst + count), states included:
   * how one flat memory shows a second mapping of the same shmem pages (mremap duplicating a
   * shared mapping, or MREMAP_DONTUNMAP of one). The two copies do not stay coherent. The
   * caller has scanned the source for raw stores.
   */
  copy(srcPage: number, dstPage: number, count: number): void {
    const u8 = this.u8();
    for (let i = 0; i < count; i++) {
      const s = this.state[srcPage + i]!;
      if (s === PAGE_NONE) continue;
      if (s === PAGE_ZERO) {
        this.touchRead(dstPage + i, PAGE_ZERO);
        continue;
      }
      this.touchWrite(dstPage + i, s);
      u8.copyWithin((dstPage + i) * PAGE_SIZE, (srcPage + i) * PAGE_SIZE, (srcPage + i + 1) * PAGE_SIZE);
    }
  }

  /**
   * free_pgtables: after an unmap of [startPage, endPage), page-table pages whose span no
   * VMA intersects any more are freed. `mapped(a, b)` tells whether a VMA intersects [a, b).
   */
  freeTables(startPage: number, endPage: number, mapped: (startAddr: number, endAddr: number) => boolean): void {
    if (this.vaTables !== null) {
      this.vaTables.free(startPage, endPage, mapped);
      this.syncTableCounts();
      return;
    }
    const span = 1 << PTE_SHIFT;
    for (let t = startPage >>> PTE_SHIFT; t <= (endPage - 1) >>> PTE_SHIFT; t++) {
      if (this.pteTables[t] === 0) continue;
      const a = (t << PTE_SHIFT) * PAGE_SIZE;
      if (!mapped(a, a + span * PAGE_SIZE)) {
        this.pteTables[t] = 0;
        this.pteTableCount--;
      }
    }
    const gib = 1 << PMD_SHIFT;
    for (let m = startPage >>> PMD_SHIFT; m <= (endPage - 1) >>> PMD_SHIFT; m++) {
      if (this.pmdTables[m] === 0) continue;
      const a = m * gib * PAGE_SIZE;
      if (!mapped(a, a + gib * PAGE_SIZE)) {
        this.pmdTables[m] = 0;
        this.pmdTableCount--;
      }
    }
    if (this.pmdTableCount === 0) this.pudTableCount = 0;
  }

  /** The page-table pages mm_pgtables_bytes counts (PTE + PMD + PUD tables). */
  get tablePages(): number {
    return this.pteTableCount + this.pmdTableCount + this.pudTableCount;
  }

  /** Whether the page-table page mapping (offset) page is there, for verify(). */
  isTablePresent(page: number): boolean {
    if (this.vaTables !== null) return this.vaTables.hasPte(this.vaPageOf!(page));
    return this.pteTables[page >>> PTE_SHIFT] === 1;
  }

  private syncTableCounts(): void {
    const t = this.vaTables!;
    this.pteTableCount = t.pte.size;
    this.pmdTableCount = t.pmd.size;
    this.pudTableCount = t.pud.size;
  }
}

/**
 * The page tables of a 47-bit address space, by VA: sets of the PTE (2 MiB), PMD (1 GiB) and
 * PUD (512 GiB) spans that have a table. A table is made at the first fault under it and freed
 * (free_pgtables) when an unmap leaves no VMA over its span.
 */
class VaTables {
  readonly pte = new Set<number>();
  readonly pmd = new Set<number>();
  readonly pud = new Set<number>();

  present(vaPage: number): void {
    const t = Math.floor(vaPage / PTE_SPAN_PAGES);
    if (this.pte.has(t)) return;
    this.pte.add(t);
    this.pmd.add(Math.floor(vaPage / PMD_SPAN_PAGES));
    this.pud.add(Math.floor(vaPage / PUD_PAGES));
  }

  hasPte(vaPage: number): boolean {
    return this.pte.has(Math.floor(vaPage / PTE_SPAN_PAGES));
  }

  /** After an unmap of the VA pages [startPage, endPage): the tables no VMA is over any more go. */
  free(startPage: number, endPage: number, mapped: (startAddr: number, endAddr: number) => boolean): void {
    const level = (set: Set<number>, spanPages: number): void => {
      const first = Math.floor(startPage / spanPages);
      const last = Math.floor((endPage - 1) / spanPages);
      // a huge range (munmap of most of the space) walks the tables there are, not the span
      const keys = last - first + 1 > set.size ? [...set].filter((k) => k >= first && k <= last) : null;
      const check = (k: number): void => {
        if (!set.has(k)) return;
        const a = k * spanPages * PAGE_SIZE;
        if (!mapped(a, a + spanPages * PAGE_SIZE)) set.delete(k);
      };
      if (keys !== null) for (const k of keys) check(k);
      else for (let k = first; k <= last; k++) check(k);
    };
    level(this.pte, PTE_SPAN_PAGES);
    level(this.pmd, PMD_SPAN_PAGES);
    level(this.pud, PUD_PAGES);
  }
}

const PTE_SPAN_PAGES = 1 << PTE_SHIFT;
const PMD_SPAN_PAGES = 1 << PMD_SHIFT;
