import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  PAGEMAP_END, PAGEMAP_FIRST_LEAF, PAGEMAP_HOT_LEN, PAGEMAP_HOT_START, PAGEMAP_STORE_LEN, PAGEMAP_STORE_START, PAGEMAP_TOP,
} from "../../assembly/config.js";
import type { Kernel } from "../../host/kernel/kernel.js";
import { ANON_PRIVATE, PAGE, makeKernel } from "./helpers.js";

const FIXED = 0x10;
const REGION = 4 * 1024 * 1024;

/**
 * What the VMAs and the page table say of the page holding addr: readable (any access right on
 * x86); writable without a fault (PROT_WRITE, and resident: a present, writable PTE).
 */
function truth(k: Kernel, addr: number): { read: boolean; write: boolean } {
  const v = k.mm.vmas.find(addr);
  if (v === undefined) return { read: false, write: false };
  return { read: (v.flags & 7) !== 0, write: (v.flags & 2) !== 0 && k.mm.pages.state[Math.floor(addr / PAGE)]! >= 2 };
}

/** Every page of every region holding a mapping agrees with the VMAs (a set bit is a promise, a clear bit is asked of the kernel). */
function expectExact(k: Kernel, regionStride = 1): void {
  const regions = new Set<number>();
  for (const v of k.mm.vmas.list) for (let r = Math.floor(v.start / REGION); r <= Math.floor((v.end - 1) / REGION); r++) regions.add(r);
  const map = k.mm.pageMap;
  const asking = map.askingRegions > 0;
  const wrong: string[] = [];
  for (const r of regions) {
    if (r % regionStride !== 0) continue;
    for (let a = r * REGION; a < (r + 1) * REGION; a += PAGE) {
      const t = truth(k, a);
      const read = map.allows(a, false);
      const write = map.allows(a, true);
      // a set bit is a promise; a clear bit is one only while no region waits for a leaf
      if ((read && !t.read) || (write && !t.write) || (!asking && (read !== t.read || write !== t.write))) wrong.push(a.toString(16));
      // whatever the map says, the kernel's answer to a fault is the truth (below a stack, a
      // fault would grow it: not asked here)
      if (!read && !isBelowStack(k, a) && (k.accessFault(a, false) === null) !== t.read) wrong.push(`fault ${a.toString(16)}`);
    }
  }
  expect(wrong.slice(0, 10)).toEqual([]);
  // the count of private leaves the map keeps is the number of regions pointing at one
  const top = new Uint8Array(k.mm.memory.buffer, PAGEMAP_TOP, 2 ** 10);
  expect(map.leavesInUse).toBe(top.filter((leaf) => leaf >= PAGEMAP_FIRST_LEAF).length);
}

/** Stores into the writable pages of [addr, addr + len), as the allocator's faults would. */
function touchWritable(k: Kernel, addr: number, len: number): void {
  for (let a = addr; a < addr + len; a += PAGE) if (truth(k, a).read && (k.mm.vmas.find(a)!.flags & 2) !== 0) k.touch(a, 1);
}

/** The store span, when there is one, lies in the brk heap's VMA and holds only resident, writable pages. */
function expectStoreSpan(k: Kernel): void {
  const [start, lenLess3] = Array.from(new Uint32Array(k.mm.memory.buffer, PAGEMAP_STORE_START, 2));
  if (lenLess3 === 0) return;
  const bad: string[] = [];
  for (let a = start!; a < start! + lenLess3! + 3; a += PAGE) if (!truth(k, a).write) bad.push(a.toString(16));
  expect(bad).toEqual([]);
  expect(k.mm.vmas.find(start!)).toBe(k.mm.vmas.find(k.startBrk));
}

const isBelowStack = (k: Kernel, a: number) => {
  const v = k.mm.vmas.list[k.mm.vmas.lowerBound(a)];
  return v !== undefined && (v.flags & 0x100) !== 0 && v.start > a;
};

describe("the page map", () => {
  it("lives below 64 KiB and marks a fresh process's program, heap, libraries and stack", () => {
    const k = makeKernel({ aslr: 2, seed: 5 });
    expect(PAGEMAP_END).toBe(0x10000);
    expectExact(k);
    expect(k.mm.pageMap.allows(0x11000, false)).toBe(true); // the program's data
    k.touch(0x11000, 1);
    expect(k.mm.pageMap.allows(0x11000, true)).toBe(true); // written: resident
    expect(k.mm.pageMap.allows(0x10000, true)).toBe(false); // its text: r-x
    expect(k.mm.pageMap.allows(0x10000, false)).toBe(true);
    expect(k.mm.pageMap.allows(0x2000, false)).toBe(false);
  });

  it("follows brk, mmap, mprotect, munmap and mremap, page by page", () => {
    const k = makeKernel({ aslr: 2, seed: 7 });
    k.brk(k.startBrk + 300 * PAGE);
    const a = k.mmap(0, 64 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mprotect(a + 4 * PAGE, 2 * PAGE, 0)).toBe(0);
    expect(k.mprotect(a + 10 * PAGE, 3 * PAGE, 1)).toBe(0);
    expect(k.munmap(a + 20 * PAGE, 5 * PAGE)).toBe(0);
    expectExact(k);
    expect(k.mm.pageMap.allows(a + 4 * PAGE, false)).toBe(false);
    expect(k.mm.pageMap.allows(a + 10 * PAGE, false)).toBe(true);
    expect(k.mm.pageMap.allows(a + 10 * PAGE, true)).toBe(false);
    // a page written becomes writable in the map; pages moved by mremap keep their bits
    k.touch(a + 31 * PAGE, 3 * PAGE);
    expect(k.mm.pageMap.allows(a + 32 * PAGE, true)).toBe(true);
    const b = k.mremap(a + 30 * PAGE, 10 * PAGE, 40 * PAGE, 1);
    expect(b).toBeGreaterThan(0);
    expect(k.mm.pageMap.allows(a + 32 * PAGE, true)).toBe(false);
    expect(k.mm.pageMap.allows(b + 2 * PAGE, true)).toBe(true);
    k.brk(k.startBrk + 10 * PAGE);
    expectExact(k);
    // a mapping of 12 MiB covers whole regions; written whole, a region takes the shared
    // all-readable-and-writable leaf, and a page dropped from it gives it a leaf of its own
    const big = k.mmap(0, 3 * REGION, 3, ANON_PRIVATE, -1, 0);
    expectExact(k);
    const whole = Math.ceil(big / REGION) * REGION;
    expect(k.mm.pageMap.allows(whole + 123 * PAGE, true)).toBe(false);
    k.touch(whole, REGION);
    expect(k.mm.pageMap.allows(whole + 123 * PAGE, true)).toBe(true);
    expectExact(k);
    expect(k.madvise(whole + 5 * PAGE, PAGE, 4)).toBe(0); // MADV_DONTNEED
    expect(k.mm.pageMap.allows(whole + 5 * PAGE, true)).toBe(false);
    expect(k.mm.pageMap.allows(whole + 6 * PAGE, true)).toBe(true);
    expectExact(k);
  });

  it("lets a store into a writable page that is not resident fault it in, as Linux does, zeros and all", () => {
    const k = makeKernel({ aslr: 2, seed: 9 });
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const rss = k.status().VmRSS;
    expect(k.mm.pageMap.allows(a + PAGE, true)).toBe(false);
    expect(k.accessFault(a + PAGE + 8, true)).toBeNull();
    expect(k.mm.pageMap.allows(a + PAGE, true)).toBe(true);
    expect(k.status().VmRSS).toBe(rss + 4); // the page is resident though nothing non-zero was stored
    expect(k.accessFault(a + 2 * PAGE, false)).toBeNull(); // a load faults nothing in
    expect(k.mm.pageMap.allows(a + 2 * PAGE, true)).toBe(false);
    expect(k.mprotect(a, 4 * PAGE, 1)).toBe(0);
    expect(k.accessFault(a + PAGE, true)?.code).toBe("SEGV_ACCERR");
    expectExact(k);
  });

  it("keeps the brk heap as the hot span (for loads), and none once it is read-only", () => {
    const k = makeKernel({ aslr: 2, seed: 3 });
    k.brk(k.startBrk + 10 * PAGE);
    const words = () => Array.from(new Uint32Array(k.mm.memory.buffer, PAGEMAP_HOT_START, 2));
    expect(PAGEMAP_HOT_LEN).toBe(PAGEMAP_HOT_START + 4);
    expect(words()).toEqual([k.startBrk, 10 * PAGE - 3]);
    expect(k.mprotect(k.startBrk, 10 * PAGE, 1)).toBe(0);
    expect(words()).toEqual([0, 0]);
  });

  it("keeps a run of resident pages of the brk heap as the store span", () => {
    const k = makeKernel({ aslr: 2, seed: 3 });
    const h = k.startBrk;
    k.brk(h + 10 * PAGE);
    const words = () => Array.from(new Uint32Array(k.mm.memory.buffer, PAGEMAP_STORE_START, 2));
    expect(PAGEMAP_STORE_LEN).toBe(PAGEMAP_STORE_START + 4);
    expect(words()).toEqual([0, 0]); // nothing written yet
    k.touch(h, 2 * PAGE);
    expect(words()).toEqual([h, 2 * PAGE - 3]);
    k.touch(h + 2 * PAGE, 1); // next to it: it grows
    expect(words()).toEqual([h, 3 * PAGE - 3]);
    k.touch(h + 6 * PAGE, 1); // a run elsewhere: it stays
    expect(words()).toEqual([h, 3 * PAGE - 3]);
    k.touch(h + 4 * PAGE, 2 * PAGE); // a run of three after a hole: it stays
    expect(words()).toEqual([h, 3 * PAGE - 3]);
    k.touch(h + 3 * PAGE, 1); // the hole filled: all seven pages
    expect(words()).toEqual([h, 7 * PAGE - 3]);
    expect(k.madvise(h + PAGE, PAGE, 4)).toBe(0); // dropped inside: the longer side is kept
    expect(words()).toEqual([h + 2 * PAGE, 5 * PAGE - 3]);
    k.brk(h + 5 * PAGE); // the break moved down through it
    expect(words()).toEqual([h + 2 * PAGE, 3 * PAGE - 3]);
    expect(k.mprotect(h, 5 * PAGE, 1)).toBe(0);
    expect(words()).toEqual([0, 0]);
  });

  it("gives up a page of its own that a MAP_FIXED takes (zeroed, as a fresh mapping reads), and takes it back after the unmap", () => {
    const k = makeKernel({ aslr: 2, seed: 11 });
    // enough partially mapped regions that leaves live in every page of the map
    for (let i = 0; i < 40; i++) k.mmap(0x10000000 + i * REGION, PAGE, 3, ANON_PRIVATE | FIXED, -1, 0);
    expectExact(k);
    expect(k.mmap(0x2000, 2 * PAGE, 3, ANON_PRIVATE | FIXED, -1, 0)).toBe(0x2000);
    expect(Array.from(new Uint8Array(k.mm.memory.buffer, 0x2000, 2 * PAGE)).every((b) => b === 0)).toBe(true);
    expect(k.mm.pageMap.allows(0x2000, false)).toBe(true);
    k.touch(0x2000, 1);
    expect(k.mm.pageMap.allows(0x2000, true)).toBe(true);
    expectExact(k);
    expect(k.munmap(0x2000, 2 * PAGE)).toBe(0);
    k.mmap(0x50000000, PAGE, 3, ANON_PRIVATE | FIXED, -1, 0); // a later change takes the pages back
    expectExact(k);
  });

  it("out of leaves, a region asks the kernel: still exact, only slower", () => {
    const k = makeKernel({ aslr: 2, seed: 13 });
    for (let i = 0; i < 300; i++) k.mmap(0x10000000 + i * REGION, PAGE, 3, ANON_PRIVATE | FIXED, -1, 0);
    expect(k.mm.pageMap.askingRegions).toBeGreaterThan(0);
    expectExact(k, 7);
    for (let i = 0; i < 150; i++) k.munmap(0x10000000 + i * REGION, PAGE);
    expect(k.mm.pageMap.askingRegions).toBe(0);
    expectExact(k, 7);
  });

  it("agrees with the VMAs after any sequence of mapping calls", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("mmap" as const), page: fc.nat(2047), pages: fc.integer({ min: 1, max: 1200 }), prot: fc.constantFrom(0, 1, 2, 3, 4) }),
      fc.record({ kind: fc.constant("munmap" as const), page: fc.nat(2047), pages: fc.integer({ min: 1, max: 1200 }) }),
      fc.record({ kind: fc.constant("mprotect" as const), page: fc.nat(2047), pages: fc.integer({ min: 1, max: 1200 }), prot: fc.constantFrom(0, 1, 3) }),
      fc.record({ kind: fc.constant("brk" as const), pages: fc.integer({ min: 0, max: 2000 }) }),
      fc.record({ kind: fc.constant("touch" as const), page: fc.nat(2047), pages: fc.integer({ min: 1, max: 1200 }) }),
      fc.record({ kind: fc.constant("dontneed" as const), page: fc.nat(2047), pages: fc.integer({ min: 1, max: 1200 }) }),
      fc.record({ kind: fc.constant("heap" as const), page: fc.nat(2000), pages: fc.integer({ min: 1, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
        const k = makeKernel({ aslr: 2, seed: 1 });
        const W = 0x40000000 - 1024 * PAGE; // a window across a region boundary
        for (const o of ops) {
          if (o.kind === "mmap") k.mmap(W + o.page * PAGE, o.pages * PAGE, o.prot, ANON_PRIVATE | FIXED, -1, 0);
          else if (o.kind === "munmap") k.munmap(W + o.page * PAGE, o.pages * PAGE);
          else if (o.kind === "mprotect") k.mprotect(W + o.page * PAGE, o.pages * PAGE, o.prot);
          else if (o.kind === "touch") touchWritable(k, W + o.page * PAGE, o.pages * PAGE);
          else if (o.kind === "dontneed") k.madvise(W + o.page * PAGE, o.pages * PAGE, 4);
          else if (o.kind === "heap") touchWritable(k, k.startBrk + o.page * PAGE, o.pages * PAGE);
          else k.brk(k.startBrk + o.pages * PAGE);
        }
        expectExact(k);
        expectStoreSpan(k);
      }),
      { numRuns: 25 },
    );
  });
});
