// mm.verify(): the whole-structure invariant check that tests and fuzzers run after every step.

import { PAGE_SIZE } from "../constants.js";
import type { Mm } from "./mm.js";
import { DAC_MMAP_MIN_ADDR } from "./mm.js";
import { PAGE_ANON, PAGE_NONE, PAGE_SHMEM, REGION_PAGE_SHIFT } from "./pages.js";
import { PAGEMAP_WRITE_PLANE } from "../../assembly/config.js";
import { pageBit } from "./pagemap.js";
import { MAX_MAP_COUNT, VM_EXEC, VM_LOCKED, VM_READ, VM_WRITE, VmaList, isDataMapping, isExecMapping, isStackMapping, pagesOf } from "./vma.js";

function fail(what: string): never {
  throw new Error(`kernel invariant violated: ${what}`);
}

const hex = (n: number) => "0x" + n.toString(16);

export function verify(mm: Mm): void {
  const list = mm.vmas.list;
  if (list.length > MAX_MAP_COUNT + 1) fail(`map count ${list.length}`);
  let total = 0;
  let data = 0;
  let stack = 0;
  let exec = 0;
  let locked = 0;
  const memoryEnd = mm.memory.buffer.byteLength;
  for (let i = 0; i < list.length; i++) {
    const v = list[i]!;
    const at = `VMA ${hex(v.start)}-${hex(v.end)}`;
    if (v.start % PAGE_SIZE !== 0 || v.end % PAGE_SIZE !== 0) fail(`${at} not page aligned`);
    if (!(v.start < v.end)) fail(`${at} empty`);
    if (v.start < DAC_MMAP_MIN_ADDR || v.end > mm.layout.taskSize) fail(`${at} outside user space`);
    const lastOffset = mm.identity ? v.end - 1 : mm.windowOffset(v.end - 1);
    if (lastOffset + 1 > memoryEnd) fail(`${at} beyond the Wasm memory (${hex(memoryEnd)})`);
    const prev = list[i - 1];
    if (prev !== undefined) {
      if (prev.end > v.start) fail(`${at} overlaps or is out of order`);
      if (VmaList.canMerge(prev, v)) fail(`${at} could merge with the VMA before it`);
    }
    const pages = pagesOf(v.end - v.start);
    total += pages;
    if (isExecMapping(v.flags)) exec += pages;
    else if (isStackMapping(v.flags)) stack += pages;
    else if (isDataMapping(v.flags)) data += pages;
    if (v.flags & VM_LOCKED) locked += pages;
  }
  const s = mm.vmas;
  if (total !== s.totalPages) fail(`total_vm ${s.totalPages}, VMAs hold ${total}`);
  if (data !== s.dataPages) fail(`data_vm ${s.dataPages}, VMAs hold ${data}`);
  if (stack !== s.stackPages) fail(`stack_vm ${s.stackPages}, VMAs hold ${stack}`);
  if (exec !== s.execPages) fail(`exec_vm ${s.execPages}, VMAs hold ${exec}`);
  if (locked !== s.lockedPages) fail(`locked pages ${s.lockedPages}, VMAs hold ${locked}`);
  // locked_vm only ever counts more than the locked VMAs hold (MREMAP_DONTUNMAP leaves pages in it).
  if (mm.lockedVm < locked) fail(`locked_vm ${mm.lockedVm}, below the ${locked} pages of locked VMAs`);

  // Page states: nothing outside a VMA is present; the RSS counters match the states.
  const state = mm.pages.state;
  const rss = [0, 0, 0, 0, 0];
  const presentIn = new Uint16Array(mm.pages.presentIn.length);
  const words = new Uint32Array(state.buffer, state.byteOffset, state.length / 4);
  let k = 0;
  let next = list[0];
  for (let p = 0; p < state.length; p++) {
    if ((p & 3) === 0 && words[p >>> 2] === 0) {
      p += 3;
      continue;
    }
    const st = state[p]!;
    if (st === PAGE_NONE) continue;
    // windows are in the same order by VA as by offset, except when a huge RLIMIT_STACK put
    // mmap_base below the program: then each page is looked up on its own
    const addr = mm.identity ? p * PAGE_SIZE : mm.offsetToVa(p * PAGE_SIZE);
    if (addr < 0) fail(`page at offset ${hex(p * PAGE_SIZE)} is present outside every window and every mapped frame`);
    if (mm.identity) {
      while (next !== undefined && next.end <= addr) next = list[++k];
    } else next = list[mm.vmas.lowerBound(addr)];
    if (next === undefined || next.start > addr) fail(`page ${hex(addr)} is present outside any VMA`);
    if (!mm.pages.isTablePresent(p)) fail(`page ${hex(addr)} is present without a page table`);
    if (st >= PAGE_ANON && st <= PAGE_SHMEM) rss[st]!++;
    presentIn[p >>> REGION_PAGE_SHIFT]!++;
  }
  for (let r = 0; r < presentIn.length; r++) {
    if (presentIn[r] !== mm.pages.presentIn[r]) fail(`region ${r} counts ${mm.pages.presentIn[r]} present pages, holds ${presentIn[r]}`);
  }
  for (let st = PAGE_ANON; st <= PAGE_SHMEM; st++) {
    if (rss[st] !== mm.pages.rss[st]) fail(`RSS counter ${st} is ${mm.pages.rss[st]}, pages hold ${rss[st]}`);
  }
  if (mm.pages.rssTotal !== rss[2]! + rss[3]! + rss[4]!) fail("RSS total disagrees with its parts");
  verifyFrames(mm);
  if (mm.brk < mm.startBrk) fail(`brk ${hex(mm.brk)} below start_brk ${hex(mm.startBrk)}`);
}

/**
 * The frames of far pages: each backs a far VA of a VMA, both ways; a free frame is not present
 * and zero; a mapped one is present, and the page map promises no more than its VMA and state
 * allow. Free frames are checked by the state loop above (present outside any VMA) and here by count.
 */
function verifyFrames(mm: Mm): void {
  const frames = mm.frames;
  if (frames === null) return;
  if (frames.size + frames.freeCount !== frames.endPage - frames.firstPage) fail(`${frames.size} frames mapped and ${frames.freeCount} free do not make the pool`);
  const state = mm.pages.state;
  const u8 = mm.pages.u8();
  const mappedIn = new Map<number, number>();
  for (const [vaPage, page] of frames.entries()) {
    const va = vaPage * PAGE_SIZE;
    const at = `far page ${hex(va)} (frame ${hex(page * PAGE_SIZE)})`;
    if (!frames.holds(page) || frames.vaPageOf(page) !== vaPage) fail(`${at}: the table's two directions disagree`);
    if (mm.windowOffset(va) >= 0) fail(`${at} lies in a window`);
    if (state[page] === PAGE_NONE) fail(`${at} has a frame but is not present`);
    const v = mm.vmas.find(va);
    if (v === undefined) fail(`${at} has a frame outside any VMA`);
    if (pageBit(u8, page * PAGE_SIZE, 0) && !(v.flags & (VM_READ | VM_WRITE | VM_EXEC))) fail(`${at}: the page map says readable`);
    if (pageBit(u8, page * PAGE_SIZE, PAGEMAP_WRITE_PLANE) && !(v.flags & VM_WRITE && state[page]! >= PAGE_ANON)) fail(`${at}: the page map says writable`);
    const r = page >>> REGION_PAGE_SHIFT;
    mappedIn.set(r, (mappedIn.get(r) ?? 0) + 1);
  }
  for (let r = frames.firstPage >>> REGION_PAGE_SHIFT; r < frames.endPage >>> REGION_PAGE_SHIFT; r++) {
    if ((mappedIn.get(r) ?? 0) !== frames.mappedIn(r)) fail(`pool region ${r} counts ${frames.mappedIn(r)} mapped frames, holds ${mappedIn.get(r) ?? 0}`);
  }
}
