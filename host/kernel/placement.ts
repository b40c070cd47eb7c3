// Where a new mapping goes (get_unmapped_area and arch/x86/mm/mmap.c's searches for a compat
// task): a free hint is honoured; otherwise the highest free range below mmap_base (top-down),
// falling back to the lowest one above the legacy base (bottom-up); the legacy layout is
// bottom-up only. A stack's guard gap counts as taken. An x86_64 process places its mappings as
// Linux does too, windows or not: a page no window holds is a far page (frames.ts), so the place of
// a mapping decides only how fast its pages are reached, never whether it can be made. Each search
// walks the sorted VMA array from where it starts, so it costs the number of VMAs it passes, never
// the address space.

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
 * address; EPERM: below vm.mmap_min_addr). `low32`: MAP_32BIT of a 64-bit task.
 */
export function getUnmappedArea(mm: Mm, addr: number, len: number, fixed: boolean, low32 = false): number {
  const TASK_SIZE = mm.layout.taskSize;
  if (len > TASK_SIZE) return -ENOMEM;
  let result: number;
  if (fixed) result = addr;
  else if (low32) result = low32Area(mm, addr, len);
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

/** MAP_32BIT's window on x86-64 (find_start_end): [1 GiB, 2 GiB), its start randomized by 32 MiB. */
const LOW32_BEGIN = 0x40000000;
const LOW32_END = 0x80000000;
const LOW32_RND_PAGES = 0x02000000 / PAGE_SIZE;

/**
 * arch_get_unmapped_area for MAP_32BIT: a free hint below 2 GiB, else the lowest free range of
 * [1 GiB + rnd, 2 GiB), bottom-up, with no fallback (a draw per call, as randomize_page makes it).
 */
function low32Area(mm: Mm, addr: number, len: number): number {
  let begin = LOW32_BEGIN;
  if (mm.layout.randomized) begin += (mm.rng.nextU32() % LOW32_RND_PAGES) * PAGE_SIZE;
  if (len > LOW32_END) return -ENOMEM;
  if (addr !== 0) {
    addr = pageAlign(addr);
    if (LOW32_END - len >= addr && hintFree(mm, addr, len)) return addr;
  }
  return bottomup(mm, len, begin, LOW32_END);
}
