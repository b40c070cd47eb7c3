// Far pages: the pages of an x86_64 process that no window holds (docs/x86_64-layout.md). Each
// gets a 4 KiB frame of the frame pool (Layout.framePool) when it first becomes present, and gives
// it back when it stops being present (unmapped, dropped, moved into a window). A frame's state,
// bytes, RSS and page-map bits are those of its Wasm offset, as for any page of a window; this
// file only says which VA page a frame backs.
//
//   VA page (far) ──frameOf──▶ frame page (Wasm offset / 4 KiB, inside the pool)
//   frame page    ──vaPageOf──▶ VA page, or -1 while free
//
// A far page with no frame is not present and reads zero. A mapped frame is never PAGE_NONE, so
// "has a frame" and "is present" are one fact; a free frame is zero and not present, as memory no
// VMA covers is. The table is a Map: it is walked only for far pages, never on a window's path.

import { PAGE_SIZE } from "../constants.js";
import type { FramePool } from "./aslr.js";
import { REGION_PAGE_SHIFT } from "./pages.js";

export class Frames {
  /** The pool's first and end frame pages (Wasm offsets / 4 KiB). */
  readonly firstPage: number;
  readonly endPage: number;
  readonly #frameOf = new Map<number, number>();
  /** By frame index: the VA page it backs, or -1. */
  readonly #vaPageOf: Float64Array;
  /** Free frame indices, a stack: the most recently freed frame is reused first. */
  readonly #free: Int32Array;
  #freeCount: number;
  /** Mapped frames per 4 MiB region of the memory (the page map's unit), by region number. */
  readonly #mappedIn: Uint16Array;
  /** Told of every frame that was mapped, freed or moved to another VA (the page map follows). */
  onChange: ((framePage: number) => void) | null = null;

  constructor(pool: FramePool) {
    this.firstPage = pool.offset / PAGE_SIZE;
    this.endPage = (pool.offset + pool.length) / PAGE_SIZE;
    const count = this.endPage - this.firstPage;
    this.#vaPageOf = new Float64Array(count).fill(-1);
    this.#free = new Int32Array(count);
    // popped from the end: the lowest frame first, so that a few far pages share a region
    for (let i = 0; i < count; i++) this.#free[i] = count - 1 - i;
    this.#freeCount = count;
    this.#mappedIn = new Uint16Array(Math.ceil(this.endPage / (1 << REGION_PAGE_SHIFT)));
  }

  /** Frames in use. */
  get size(): number {
    return this.#frameOf.size;
  }

  /** Frames free. */
  get freeCount(): number {
    return this.#freeCount;
  }

  /** The frame page backing VA page `vaPage`, or -1. */
  frameOf(vaPage: number): number {
    return this.#frameOf.get(vaPage) ?? -1;
  }

  /** Whether Wasm page `page` is a frame of the pool. */
  holds(page: number): boolean {
    return page >= this.firstPage && page < this.endPage;
  }

  /** The VA page frame page `page` backs, or -1 (free, or not a frame). */
  vaPageOf(page: number): number {
    return this.holds(page) ? this.#vaPageOf[page - this.firstPage]! : -1;
  }

  /** Mapped frames in 4 MiB region `region` of the memory. */
  mappedIn(region: number): number {
    return this.#mappedIn[region] ?? 0;
  }

  /** A free frame for VA page `vaPage` (which has none), or -1 when the pool is exhausted. */
  take(vaPage: number): number {
    if (this.#freeCount === 0) return -1;
    const i = this.#free[--this.#freeCount]!;
    const page = this.firstPage + i;
    this.#vaPageOf[i] = vaPage;
    this.#frameOf.set(vaPage, page);
    this.#mappedIn[page >>> REGION_PAGE_SHIFT]!++;
    this.onChange?.(page);
    return page;
  }

  /** Frees the frame of VA page `vaPage` (the caller has left it zero and not present). */
  give(vaPage: number): void {
    const page = this.#frameOf.get(vaPage);
    if (page === undefined) return;
    this.#frameOf.delete(vaPage);
    const i = page - this.firstPage;
    this.#vaPageOf[i] = -1;
    this.#free[this.#freeCount++] = i;
    this.#mappedIn[page >>> REGION_PAGE_SHIFT]!--;
    this.onChange?.(page);
  }

  /** The frame of VA page `from` now backs VA page `to` (which had none): mremap between far pages. */
  rekey(from: number, to: number): number {
    const page = this.#frameOf.get(from);
    if (page === undefined) return -1;
    this.#frameOf.delete(from);
    this.#frameOf.set(to, page);
    this.#vaPageOf[page - this.firstPage] = to;
    this.onChange?.(page);
    return page;
  }

  /**
   * The VA pages of [startVaPage, endVaPage) that have a frame, in address order: the range's
   * pages or the table's entries, whichever is fewer, so a huge range with few frames costs little.
   */
  inRange(startVaPage: number, endVaPage: number): number[] {
    const out: number[] = [];
    const table = this.#frameOf;
    if (table.size === 0 || endVaPage <= startVaPage) return out;
    if (endVaPage - startVaPage <= table.size) {
      for (let p = startVaPage; p < endVaPage; p++) if (table.has(p)) out.push(p);
      return out;
    }
    for (const p of table.keys()) if (p >= startVaPage && p < endVaPage) out.push(p);
    return out.sort((a, b) => a - b);
  }

  /** Every (VA page, frame page) pair, for the checker. */
  entries(): IterableIterator<[number, number]> {
    return this.#frameOf.entries();
  }
}
