// The page operations of Mm (faults, scans, drops, mremap's moves, mincore, checked byte access)
// over a VA range that some window does not hold whole. The range is cut at the window edges: a
// part a window holds is one run of Wasm pages, done as Mm does any run; a part no window holds is
// done page by page through the frame table (frames.ts), touching only the pages that have a frame
// unless the operation makes pages present. Mm takes this path only when its one-window test
// fails, so an i386 process and every range inside a window never come here.

import { PAGE_SIZE } from "../constants.js";
import type { Frames } from "./frames.js";
import type { Mm } from "./mm.js";
import { PAGE_NONE } from "./pages.js";

/**
 * Cuts [start, end) at the window edges, in address order: `windowed(s, e, offset)` for a part a
 * window holds (offset: the Wasm offset of s), `far(s, e)` for a part none holds.
 */
export function forEachPart(
  mm: Mm,
  start: number,
  end: number,
  windowed: (s: number, e: number, offset: number) => void,
  far: (s: number, e: number) => void,
): void {
  let a = start;
  while (a < end) {
    let next = end;
    let held = false;
    for (const w of mm.windowsByVa) {
      if (a >= w.va && a < w.va + w.length) {
        const e = Math.min(end, w.va + w.length);
        windowed(a, e, w.offset + (a - w.va));
        a = e;
        held = true;
        break;
      }
      if (w.va > a && w.va < next) next = w.va;
    }
    if (!held) {
      far(a, next);
      a = next;
    }
  }
}

function framesOf(mm: Mm): Frames {
  const frames = mm.frames;
  if (frames === null) throw new Error("kernel: a far page in a process without a frame pool");
  return frames;
}

/** The frame of VA page `vaPage`, taken from the pool if it has none: an empty pool is the OOM kill. */
function frameFor(mm: Mm, frames: Frames, vaPage: number): number {
  const page = frames.frameOf(vaPage);
  if (page >= 0) return page;
  const taken = frames.take(vaPage);
  return taken >= 0 ? taken : mm.oomKill();
}

/**
 * `touch(page)` on every page of [start, end) (page-aligned), a far page's frame taken first if it
 * has none; true if any touch returned true.
 */
function touchParts(mm: Mm, start: number, end: number, touch: (page: number) => boolean): boolean {
  const frames = framesOf(mm);
  let any = false;
  forEachPart(
    mm,
    start,
    end,
    (s, e, offset) => {
      for (let p = offset / PAGE_SIZE, last = p + (e - s) / PAGE_SIZE; p < last; p++) if (touch(p)) any = true;
    },
    (s, e) => {
      for (let v = s / PAGE_SIZE; v < e / PAGE_SIZE; v++) if (touch(frameFor(mm, frames, v))) any = true;
    },
  );
  return any;
}

/** Write-faults [start, end); true if a page became resident. */
export function writeFaultParts(mm: Mm, start: number, end: number, residentState: number): boolean {
  return touchParts(mm, start, end, (page) => mm.pages.touchWrite(page, residentState));
}

/** Read-faults [start, end): a far page gets a frame even for the zero page (no RSS, but a frame). */
export function readFaultParts(mm: Mm, start: number, end: number, readState: number): void {
  touchParts(mm, start, end, (page) => {
    mm.pages.touchRead(page, readState);
    return false;
  });
}

/**
 * `run(firstPage, count, vaPage)` over what is present of [start, end): each windowed run whole
 * (vaPage -1), and each far page that has a frame (count 1). A far page without a frame has no
 * bytes, so nothing to scan or drop: a huge far range costs the frames it has.
 */
function presentRuns(mm: Mm, start: number, end: number, run: (firstPage: number, count: number, vaPage: number) => void): void {
  const frames = framesOf(mm);
  forEachPart(
    mm,
    start,
    end,
    (s, e, offset) => run(offset / PAGE_SIZE, (e - s) / PAGE_SIZE, -1),
    (s, e) => {
      for (const v of frames.inRange(s / PAGE_SIZE, e / PAGE_SIZE)) run(frames.frameOf(v), 1, v);
    },
  );
}

/** Scans [start, end) for raw writes; how many pages it found. */
export function scanParts(mm: Mm, start: number, end: number, residentState: number): number {
  let found = 0;
  presentRuns(mm, start, end, (first, count) => {
    found += mm.pages.scan(first, first + count, residentState);
  });
  return found;
}

/** Pages.drop over [start, end); the far pages' frames go back to the pool. */
export function dropParts(mm: Mm, start: number, end: number, writable: boolean): void {
  const frames = framesOf(mm);
  presentRuns(mm, start, end, (first, count, vaPage) => {
    mm.pages.drop(first, first + count, writable);
    if (vaPage >= 0) frames.give(vaPage);
  });
}

/** The Wasm page holding VA page `vaPage` now: its window's, its frame, or -1 (far, not present). */
function pageAt(mm: Mm, frames: Frames, vaPage: number): number {
  const offset = mm.windowOffset(vaPage * PAGE_SIZE);
  return offset >= 0 ? offset / PAGE_SIZE : frames.frameOf(vaPage);
}

/**
 * Pages.move from [src, src + count pages) to [dst, …) when either range leaves a window: page by
 * page. Far to far re-keys the frame (no bytes move); into a far page the page takes a frame; out
 * of one the frame is freed once its bytes have moved.
 */
export function movePages(mm: Mm, srcVa: number, dstVa: number, count: number): void {
  const frames = framesOf(mm);
  const pages = mm.pages;
  for (let i = 0; i < count; i++) {
    const sv = srcVa / PAGE_SIZE + i;
    const dv = dstVa / PAGE_SIZE + i;
    const src = pageAt(mm, frames, sv);
    if (src < 0 || pages.state[src] === PAGE_NONE) continue;
    const srcFar = frames.holds(src);
    const dstWindow = mm.windowOffset(dv * PAGE_SIZE);
    if (srcFar && dstWindow < 0) {
      pages.present(frames.rekey(sv, dv)); // the page tables of its new VA
      continue;
    }
    const dst = dstWindow >= 0 ? dstWindow / PAGE_SIZE : frameFor(mm, frames, dv);
    pages.move(src, dst, 1);
    if (srcFar) frames.give(sv);
  }
}

/** Pages.copy from [src, …) to the fresh [dst, …) when either range leaves a window. */
export function copyPages(mm: Mm, srcVa: number, dstVa: number, count: number): void {
  const frames = framesOf(mm);
  const pages = mm.pages;
  for (let i = 0; i < count; i++) {
    const src = pageAt(mm, frames, srcVa / PAGE_SIZE + i);
    if (src < 0 || pages.state[src] === PAGE_NONE) continue;
    const dv = dstVa / PAGE_SIZE + i;
    const dst = pageAt(mm, frames, dv);
    pages.copy(src, dst >= 0 ? dst : frameFor(mm, frames, dv), 1);
  }
}

/** mincore's byte for each page of [start, start + n pages), written at vec[out…]. */
export function presentParts(mm: Mm, start: number, n: number, vec: Uint8Array, out: number): void {
  const frames = framesOf(mm);
  const state = mm.pages.state;
  for (let k = 0; k < n; k++) {
    const page = pageAt(mm, frames, start / PAGE_SIZE + k);
    vec[out + k] = page >= 0 && state[page] !== PAGE_NONE ? 1 : 0;
  }
}

/**
 * The bytes of [addr, addr + len) (faulted in already), part by part: `run(offset, at, n)` for each
 * piece of n bytes at Wasm offset `offset`, `at` bytes into the range.
 */
export function forEachByteRun(mm: Mm, addr: number, len: number, run: (offset: number, at: number, n: number) => void): void {
  const frames = framesOf(mm);
  forEachPart(
    mm,
    addr,
    addr + len,
    (s, e, offset) => run(offset, s - addr, e - s),
    (s, e) => {
      for (let a = s; a < e; ) {
        const pageEnd = Math.min(e, (Math.floor(a / PAGE_SIZE) + 1) * PAGE_SIZE);
        const page = frames.frameOf(Math.floor(a / PAGE_SIZE));
        if (page < 0) throw new Error(`kernel: far page 0x${a.toString(16)} has no frame after its fault`);
        run(page * PAGE_SIZE + (a % PAGE_SIZE), a - addr, pageEnd - a);
        a = pageEnd;
      }
    },
  );
}
