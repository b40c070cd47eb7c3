// A stand-in kernel for the x86_64 allocator build alone: the three windows of an x86-64 process
// (program + brk heap, mmap zone, stack) over one 4 GiB memory, a brk that never fails inside
// W0, top-down anonymous mappings in W1 (first fit from the top, hints and MAP_FIXED honoured),
// pages that read as zero when taken again, and a page map that says every page is readable and
// writable. Enough to replay op lists against the real x86-64 glibc's output, not a Linux.

import type { AllocatorKernel, AllocatorWindow } from "../../host/allocator.js";
import { PAGEMAP_LEAF_RW, PAGEMAP_LEAF_SHIFT, PAGEMAP_TOP, PAGEMAP_WRITE_PLANE } from "../../assembly/config.js";

const PAGE = 4096;
const MAP_FIXED = 0x10;
const MADV_DONTNEED = 4;
const ENOMEM = 12;
const W0_OFFSET = 0x10000;
const W2_LENGTH = 64 * 1024 * 1024;
const FOUR_GIB = 2 ** 32;

export interface FakeKernel64 extends AllocatorKernel {
  readonly windows: readonly AllocatorWindow[];
  offsetToVa(offset: number): number;
  vaToOffset(va: number): number;
  /** The first break (page-aligned, above the program's data). */
  readonly startBrk: number;
  /** Every access fault the allocator reported, as VAs. */
  readonly faults: number[];
}

const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;

export function fakeKernel64(memory: WebAssembly.Memory, heapBaseOffset: number, loadBase = 0x555555554000): FakeKernel64 {
  const w0: AllocatorWindow = { va: loadBase, offset: W0_OFFSET, length: 0x80000000 - W0_OFFSET };
  const w2: AllocatorWindow = { va: 0x7ffffc000000 - W2_LENGTH, offset: FOUR_GIB - W2_LENGTH, length: W2_LENGTH };
  const w1Length = FOUR_GIB - W2_LENGTH - 0x80000000;
  const mmapBase = 0x7ffff7fff000;
  const w1: AllocatorWindow = { va: mmapBase - w1Length, offset: 0x80000000, length: w1Length };
  const windows = [w0, w1, w2];
  const vaToOffset = (va: number): number => {
    for (const w of windows) if (va >= w.va && va < w.va + w.length) return va - w.va + w.offset;
    return -1;
  };
  const offsetToVa = (off: number): number => {
    for (const w of windows) if (off >= w.offset && off < w.offset + w.length) return off - w.offset + w.va;
    return -1;
  };
  const cover = (endOffset: number) => {
    const need = Math.ceil(endOffset / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) memory.grow(need);
  };
  const zero = (va: number, len: number) => {
    const off = vaToOffset(va);
    cover(off + len);
    new Uint8Array(memory.buffer, off, len).fill(0);
  };
  // every page readable and writable: each region's leaf is the all-set one
  cover(0x10000);
  const u8 = new Uint8Array(memory.buffer);
  u8.fill(0xff, PAGEMAP_LEAF_RW << PAGEMAP_LEAF_SHIFT, (PAGEMAP_LEAF_RW + 1) << PAGEMAP_LEAF_SHIFT);
  u8.fill(PAGEMAP_LEAF_RW, PAGEMAP_TOP, PAGEMAP_TOP + 1024);
  void PAGEMAP_WRITE_PLANE;

  const startBrk = pageUp(w0.va + (heapBaseOffset - w0.offset)) + 0x2000;
  let brk = startBrk;
  // anonymous mappings in W1: [start, end) VAs, sorted by start
  const maps: [number, number][] = [];
  const free = (start: number, end: number) => maps.every(([s, e]) => end <= s || start >= e);
  const unmap = (start: number, end: number) => {
    for (let i = maps.length - 1; i >= 0; i--) {
      const [s, e] = maps[i];
      if (end <= s || start >= e) continue;
      maps.splice(i, 1);
      if (s < start) maps.push([s, start]);
      if (e > end) maps.push([end, e]);
    }
    maps.sort((a, b) => a[0] - b[0]);
  };
  const place = (len: number): number => {
    // top-down: the highest gap below mmapBase that fits
    let top = mmapBase;
    for (let i = maps.length - 1; i >= -1; i--) {
      const below = i >= 0 ? maps[i][1] : w1.va;
      if (top - below >= len) return top - len;
      if (i >= 0) top = Math.min(top, maps[i][0]);
    }
    return -1;
  };
  const map = (start: number, len: number) => {
    maps.push([start, start + len]);
    maps.sort((a, b) => a[0] - b[0]);
    zero(start, len);
  };
  const faults: number[] = [];
  return {
    windows,
    vaToOffset,
    offsetToVa,
    startBrk,
    faults,
    brk(addr) {
      if (addr === 0 || addr < startBrk || addr > w0.va + w0.length) return brk;
      const old = brk;
      brk = addr;
      if (pageUp(addr) < pageUp(old)) zero(pageUp(addr), pageUp(old) - pageUp(addr)); // given back
      cover(vaToOffset(pageUp(addr) - 1) + 1);
      return brk;
    },
    mmap(addr, length, _prot, flags) {
      const len = pageUp(length);
      if (len === 0 || len > w1.length) return -ENOMEM;
      if ((flags & MAP_FIXED) !== 0) {
        if (vaToOffset(addr) < 0 || addr < w1.va || addr + len > mmapBase) return -ENOMEM;
        unmap(addr, addr + len);
        map(addr, len);
        return addr;
      }
      let at = addr !== 0 && addr >= w1.va && addr + len <= mmapBase && free(addr, addr + len) ? addr : -1;
      if (at < 0) at = place(len);
      if (at < 0) return -ENOMEM;
      map(at, len);
      return at;
    },
    munmap(addr, length) {
      unmap(addr, addr + pageUp(length));
      return 0;
    },
    mremap(oldAddr, oldLength, newLength) {
      const oldLen = pageUp(oldLength);
      const newLen = pageUp(newLength);
      if (newLen <= oldLen) {
        unmap(oldAddr + newLen, oldAddr + oldLen);
        return oldAddr;
      }
      if (free(oldAddr + oldLen, oldAddr + newLen) && oldAddr + newLen <= mmapBase) {
        map(oldAddr + oldLen, newLen - oldLen);
        unmap(oldAddr, oldAddr + oldLen);
        maps.push([oldAddr, oldAddr + newLen]);
        maps.sort((a, b) => a[0] - b[0]);
        return oldAddr;
      }
      const at = place(newLen);
      if (at < 0) return -ENOMEM;
      map(at, newLen);
      const from = vaToOffset(oldAddr);
      const to = vaToOffset(at);
      new Uint8Array(memory.buffer).copyWithin(to, from, from + oldLen);
      unmap(oldAddr, oldAddr + oldLen);
      return at;
    },
    madvise(addr, length, advice) {
      if (advice === MADV_DONTNEED) zero(addr, pageUp(length));
      return 0;
    },
    mprotect() {
      return 0;
    },
    accessFault(addr) {
      faults.push(addr);
      return null;
    },
  };
}
