// Where a new mapping goes (get_unmapped_area and arch/x86/mm/mmap.c's searches for a compat
// task): a free hint is honoured; otherwise the highest free range below mmap_base (top-down),
// falling back to the lowest one above the legacy base (bottom-up); the legacy layout is
// bottom-up only. A stack's guard gap counts as taken. In an x86_64 process only what a window
// holds can be mapped (docs/x86_64-layout.md): the top-down search stays in W1 (the VAs below
// mmap_base), a hint outside every window is ignored, MAP_FIXED there is ENOMEM, and MAP_32BIT
// (below 2 GiB on Linux) takes the lowest free range of W1. Each search walks the sorted VMA array
// from where it starts, so it costs the number of VMAs it passes, never the address space.

import { EINVAL, ENOMEM, EPERM, PAGE_SIZE } from "../constants.js";
import { pageAlign, pageDown } from "./aslr.js";
import { DAC_MMAP_MIN_ADDR, MMAP_MIN_ADDR, type Mm } from "./mm.js";
import { startGap } from "./vma.js";

/**
 * What the last top-down search learnt (Linux keeps the same knowledge in the maple tree's gap
 * annotations): every gap above `addr` is smaller than `hole` bytes, as long as nothing was
 * unmapped since (`generation`). A longer request can start below `addr`, so that a process
 * that maps many separate regions does not rescan them all on every mmap.
 */
interface TopdownCache {
  generation: number;
  high: number;
  low: number;
  addr: number;
  hole: number;
}
const caches = new WeakMap<Mm, TopdownCache>();

/** The highest free range of `len` bytes inside [low, high), or -ENOMEM (unmapped_area_topdown). */
function topdown(mm: Mm, len: number, low: number, high: number): number {
  if (high < len || low > high - len) return -ENOMEM;
  const list = mm.vmas.list;
  let cache = caches.get(mm);
  const usable =
    cache !== undefined &&
    cache.generation === mm.vmas.freedGeneration &&
    cache.high === high &&
    cache.low === low &&
    len > cache.hole;
  let k: number;
  let hole: number;
  if (usable) {
    k = mm.vmas.lowerBound(cache!.addr);
    hole = cache!.hole;
  } else {
    k = mm.vmas.lowerBound(high - 1);
    hole = 0;
  }
  // Walk the gaps downward: the gap below list[k] ends where its exclusion zone starts.
  for (;;) {
    const next = list[k];
    const gapEnd = Math.min(next === undefined ? high : startGap(next), high);
    const prev = list[k - 1];
    const gapStart = Math.max(prev === undefined ? 0 : prev.end, low);
    if (gapEnd >= gapStart + len) {
      const addr = gapEnd - len;
      if (cache === undefined) caches.set(mm, (cache = { generation: 0, high, low, addr, hole }));
      cache.generation = mm.vmas.freedGeneration;
      cache.high = high;
      cache.low = low;
      cache.addr = addr;
      cache.hole = hole;
      return addr;
    }
    if (gapEnd > gapStart) hole = Math.max(hole, gapEnd - gapStart);
    if (prev === undefined || prev.end <= low) return -ENOMEM;
    k--;
  }
}

/** The lowest free range of `len` bytes inside [low, high), or -ENOMEM (unmapped_area). */
function bottomup(mm: Mm, len: number, low: number, high: number): number {
  if (high < len || low > high - len) return -ENOMEM;
  const list = mm.vmas.list;
  let k = mm.vmas.lowerBound(low);
  for (;;) {
    const prev = list[k - 1];
    const gapStart = Math.max(prev === undefined ? 0 : prev.end, low);
    if (gapStart + len > high) return -ENOMEM;
    const next = list[k];
    const gapEnd = Math.min(next === undefined ? high : startGap(next), high);
    if (gapEnd >= gapStart + len) return gapStart;
    if (next === undefined) return -ENOMEM;
    k++;
  }
}

/** Whether [addr, addr + len) is clear of every VMA and of every stack's guard gap. */
function hintFree(mm: Mm, addr: number, len: number): boolean {
  const v = mm.vmas.list[mm.vmas.lowerBound(addr)];
  return v === undefined || addr + len <= startGap(v);
}

/** arch_get_unmapped_area: the bottom-up search from the legacy base (TASK_UNMAPPED_BASE + rnd). */
function legacyArea(mm: Mm, addr: number, len: number): number {
  const end = mm.layout.taskSize;
  if (len > end) return -ENOMEM;
  if (addr !== 0) {
    addr = pageAlign(addr);
    if (end - len >= addr && hintFree(mm, addr, len)) return addr;
  }
  return bottomup(mm, len, mm.layout.legacyMmapBase, end);
}

/**
 * get_unmapped_area for an anonymous mapping. MAP_FIXED takes addr as is and only checks it.
 * Returns the address or -errno (ENOMEM: no room or out of range; EINVAL: unaligned fixed
 * address; EPERM: below vm.mmap_min_addr).
 */
export function getUnmappedArea(mm: Mm, addr: number, len: number, fixed: boolean, low32 = false): number {
  if (!mm.identity) return windowedArea(mm, addr, len, fixed, low32);
  const TASK_SIZE = mm.layout.taskSize;
  if (len > TASK_SIZE) return -ENOMEM;
  let result: number;
  if (fixed) result = addr;
  else if (!mm.layout.legacy) {
    result = -ENOMEM;
    if (addr !== 0) {
      addr = pageDown(addr);
      if (TASK_SIZE - len >= addr && hintFree(mm, addr, len)) result = addr;
    }
    // x86 searches from PAGE_SIZE up; the null guard below mmap_min_addr is kept free here.
    if (result < 0) result = topdown(mm, len, MMAP_MIN_ADDR, mm.layout.mmapBase);
    if (result < 0) result = legacyArea(mm, 0, len);
  } else {
    result = legacyArea(mm, addr, len);
  }
  if (result < 0) return result;
  if (result > TASK_SIZE - len) return -ENOMEM;
  if (result % PAGE_SIZE !== 0) return -EINVAL;
  if (result < DAC_MMAP_MIN_ADDR) return -EPERM; // security_mmap_addr
  return result;
}

/**
 * get_unmapped_area of an x86_64 process: arch_get_unmapped_area_topdown's order of checks, with
 * every range kept inside a window. W1 is [mmap_base − its length, mmap_base): the top-down
 * search's own range, cut short.
 */
function windowedArea(mm: Mm, addr: number, len: number, fixed: boolean, low32: boolean): number {
  const TASK_SIZE = mm.layout.taskSize;
  if (len > TASK_SIZE) return -ENOMEM;
  const w1 = mm.windows[1]!;
  let result: number;
  if (fixed) result = addr;
  else if (low32) {
    // MAP_32BIT: Linux searches [1 GiB, 2 GiB) bottom-up (a hint counts only below 2 GiB, where
    // no window is); here the lowest free range of the mmap window stands for it.
    result = bottomup(mm, len, w1.va, w1.va + w1.length);
  } else {
    result = -ENOMEM;
    if (addr !== 0) {
      addr = pageDown(addr);
      if (TASK_SIZE - len >= addr && mm.inWindow(addr, len) && hintFree(mm, addr, len)) result = addr;
    }
    if (result < 0) result = topdown(mm, len, Math.max(w1.va, MMAP_MIN_ADDR), w1.va + w1.length);
  }
  if (result < 0) return result;
  if (result > TASK_SIZE - len) return -ENOMEM;
  if (result % PAGE_SIZE !== 0) return -EINVAL;
  if (result < DAC_MMAP_MIN_ADDR) return -EPERM; // security_mmap_addr
  if (!mm.inWindow(result, len)) return -ENOMEM; // no Wasm memory holds the range
  return result;
}
