// Far pages of an x86_64 process (docs/x86_64-layout.md): mappings where no window of the Wasm
// memory is, placed as Linux places them, whose pages take a 4 KiB frame of the frame pool at their
// first touch and give it back when they stop being present. Every case checks what a program sees
// (bytes, maps, mincore, status) and what it costs (frames in use).

import { describe, expect, it } from "vitest";
import { MADV_DONTNEED, MAP_FIXED, MAP_POPULATE, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ } from "../../host/constants.js";
import { ProcessKilled, SegmentationFault } from "../../host/errors.js";
import type { Kernel, KernelOptions } from "../../host/kernel/kernel.js";
import { ANON_PRIVATE, ANON_SHARED, GiB, MiB, PAGE, PROT_RW, makeKernel, vmaAt } from "./helpers.js";

const POOL_FRAMES = (256 * MiB) / PAGE;

const kernel64 = (options: Partial<Omit<KernelOptions, "memory">> = {}): Kernel => makeKernel({ arch: "x86_64", libraries: true, ...options });
const framesIn = (k: Kernel) => k.mm.frames!.size;
const inPool = (k: Kernel, offset: number) => {
  const pool = k.mm.layout.framePool;
  return offset >= pool.offset && offset < pool.offset + pool.length;
};

describe("MAP_FIXED at low addresses no window holds", () => {
  it("maps 0x1000 and 0x40000000, and their bytes are read and written through frames of the pool", () => {
    const k = kernel64();
    expect(k.mmap(0x1000, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0)).toBe(0x1000);
    expect(k.mmap(0x40000000, 4 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0)).toBe(0x40000000);
    expect(k.maps()).toMatch(/^00001000-00002000 rw-p 00000000 00:00 0 *\n40000000-40004000 rw-p /);
    expect(framesIn(k)).toBe(0);
    const rss0 = k.status().VmRSS;

    k.write(0x1ffe, [1, 2]);
    k.write(0x40000000 + 2 * PAGE - 2, [3, 4, 5, 6]); // across two far pages
    expect(k.read(0x1ffe, 2)).toEqual(new Uint8Array([1, 2]));
    expect(k.read(0x40000000 + 2 * PAGE - 3, 6)).toEqual(new Uint8Array([0, 3, 4, 5, 6, 0]));
    expect(k.read(0x40000000 + 3 * PAGE, 4)).toEqual(new Uint8Array(4)); // never written: zero
    expect(framesIn(k)).toBe(4); // three written, one read (the zero page: a frame, no RSS)
    expect(k.status().VmRSS - rss0).toBe(3 * 4);

    // the frame is where the bytes are, both ways
    const at = k.vaToOffset(0x1ffe);
    expect(inPool(k, at)).toBe(true);
    expect(new Uint8Array(k.mm.memory.buffer, at, 2)).toEqual(new Uint8Array([1, 2]));
    expect(k.offsetToVa(at)).toBe(0x1ffe);
    k.verify();
  });

  it("counts the page tables over far pages by VA (VmPTE) and frees them with the mapping", () => {
    const k = kernel64();
    const pte0 = k.status().VmPTE;
    k.mmap(0x40000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    expect(k.status().VmPTE).toBe(pte0);
    k.fill(0x40000000, 1, 1);
    expect(k.status().VmPTE).toBe(pte0 + 12); // a PTE table, a PMD and a PUD: nothing was mapped below 512 GiB
    k.munmap(0x40000000, PAGE);
    expect(k.status().VmPTE).toBe(pte0);
  });
});

describe("frames come back to the pool", () => {
  it("munmap frees a far page's frame, zeroed, and the next far page takes it again", () => {
    const k = kernel64();
    const free0 = k.mm.frames!.freeCount;
    const a = k.mmap(0x40000000, 2 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    k.fill(a, 0xee, 2 * PAGE);
    const frame = k.vaToOffset(a + PAGE);
    expect(k.mm.frames!.freeCount).toBe(free0 - 2);
    expect(k.munmap(a, 2 * PAGE)).toBe(0);
    expect(framesIn(k)).toBe(0);
    expect(k.mm.frames!.freeCount).toBe(free0);
    expect(k.offsetToVa(frame)).toBe(-1);
    expect(new Uint8Array(k.mm.memory.buffer, frame, PAGE).every((b) => b === 0)).toBe(true);
    const b = k.mmap(0x7000000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    expect(k.read(b, PAGE).every((x) => x === 0)).toBe(true);
    expect(k.vaToOffset(b)).toBe(frame); // the most recently freed frame first
    k.verify();
  });

  it("madvise(MADV_DONTNEED) drops far pages: mincore says absent, they read zero, their frames are free", () => {
    const k = kernel64();
    const a = k.mmap(0x40000000, 4 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    k.fill(a + PAGE, 0x11, 2 * PAGE);
    const vec = new Uint8Array(4);
    expect(k.mincore(a, 4 * PAGE, vec)).toBe(0);
    expect([...vec]).toEqual([0, 1, 1, 0]);
    const rss = k.status().VmRSS;
    expect(k.madvise(a, 2 * PAGE, MADV_DONTNEED)).toBe(0);
    expect(k.mincore(a, 4 * PAGE, vec)).toBe(0);
    expect([...vec]).toEqual([0, 0, 1, 0]);
    expect(k.status().VmRSS).toBe(rss - 4);
    expect(framesIn(k)).toBe(1);
    expect(k.read(a + PAGE, 1)[0]).toBe(0);
    expect(k.read(a + 2 * PAGE, 1)[0]).toBe(0x11);
    expect(k.mincore(a, 4 * PAGE, vec)).toBe(0);
    expect([...vec]).toEqual([0, 1, 1, 0]); // the read mapped the zero page
    k.verify();
  });

  it("raw stores into a frame (at its offset) are found like any raw store, and cleared with the page", () => {
    const k = kernel64();
    const a = k.mmap(0x40000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    k.read(a, 1); // present, the zero page
    const rss = k.status().VmRSS;
    new Uint8Array(k.mm.memory.buffer)[k.vaToOffset(a) + 9] = 0x42;
    expect(k.status().VmRSS).toBe(rss + 4);
    expect(k.read(a + 9, 1)[0]).toBe(0x42);
    k.munmap(a, PAGE);
    k.mmap(a, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    expect(k.read(a + 9, 1)[0]).toBe(0);
    k.verify();
  });
});

describe("mremap of far mappings", () => {
  it("moves a far mapping into W1 and back, its bytes with it; far to far moves the frames, not the bytes", () => {
    const k = kernel64();
    const far = k.mmap(0x40000000, 3 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    k.write(far + 5, [1, 2, 3]);
    k.write(far + 2 * PAGE, [9]);
    const w1 = k.windows[1]!;
    const inW1 = w1.va + 64 * MiB;
    expect(k.mremap(far, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, inW1)).toBe(inW1);
    expect(framesIn(k)).toBe(0);
    expect(k.vaToOffset(inW1)).toBe(w1.offset + 64 * MiB);
    expect(k.read(inW1 + 5, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(k.read(inW1 + 2 * PAGE, 1)[0]).toBe(9);
    k.verify();

    const back = 0x50000000;
    expect(k.mremap(inW1, 3 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, back)).toBe(back);
    expect(framesIn(k)).toBe(2); // the two present pages, not the one never touched
    expect(k.read(back + 5, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(k.read(back + 2 * PAGE, 1)[0]).toBe(9);
    expect(k.read(back + 3 * PAGE, 1)[0]).toBe(0);
    k.verify();

    const frame = k.vaToOffset(back + 5);
    const again = 0x60000000;
    expect(k.mremap(back, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, again)).toBe(again);
    expect(k.vaToOffset(again + 5)).toBe(frame);
    expect(k.offsetToVa(frame)).toBe(again + 5);
    expect(k.read(again + 5, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(vmaAt(k, back)).toBeUndefined();
    k.verify();
  });

  it("grows a far mapping in place, and duplicates a shared one (old_len 0) into far pages", () => {
    const k = kernel64();
    const a = k.mmap(0x40000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    k.write(a, [4]);
    expect(k.mremap(a, PAGE, 8 * PAGE, 0)).toBe(a);
    k.write(a + 7 * PAGE, [5]);
    expect(vmaAt(k, a)).toEqual([a, a + 8 * PAGE, "rw-p"]);
    const s = k.mmap(0x48000000, 2 * PAGE, PROT_RW, ANON_SHARED | MAP_FIXED, -1, 0);
    k.write(s + PAGE, [6, 7]);
    const dup = k.mremap(s, 0, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0x49000000);
    expect(dup).toBe(0x49000000);
    expect(k.read(dup + PAGE, 2)).toEqual(new Uint8Array([6, 7]));
    k.verify();
  });
});

describe("a 4 GiB mapping costs what is touched", () => {
  it("with RAM enough for the overcommit heuristic, 4 GiB map and one touched page takes one frame", () => {
    const k = kernel64({ ramBytes: 24 * GiB });
    const { VmRSS: rss0, VmSize: size0 } = k.status();
    const a = k.mmap(0, 4 * GiB, PROT_RW, ANON_PRIVATE, -1, 0);
    expect(a).toBeGreaterThan(0);
    expect(vmaAt(k, a)?.[0]).toBe(a);
    expect(k.status().VmSize - size0).toBe(4 * 1024 * 1024);
    k.write(a + 16, [1]); // the first page, as calloc's header is
    expect(framesIn(k)).toBe(1);
    expect(k.status().VmRSS - rss0).toBe(4);
    const vec = new Uint8Array(3);
    expect(k.mincore(a, 3 * PAGE, vec)).toBe(0);
    expect([...vec]).toEqual([1, 0, 0]);
    expect(k.munmap(a, 4 * GiB)).toBe(0);
    expect(framesIn(k)).toBe(0);
    expect(k.status().VmRSS).toBe(rss0);
    k.verify();
  });

  it("the default 1 GiB of RAM refuses it, as Linux's heuristic does", () => {
    expect(kernel64().mmap(0, 4 * GiB, PROT_RW, ANON_PRIVATE, -1, 0)).toBe(-12);
  });
});

describe("permissions of far pages", () => {
  it("mprotect(PROT_NONE) on a far page: an access is SIGSEGV SEGV_ACCERR at its address, and the page map's bits are cleared", () => {
    const k = kernel64();
    const a = k.mmap(0x40000000, 2 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    k.write(a + PAGE, [1]);
    const at = k.vaToOffset(a + PAGE);
    expect(k.mm.pageMap.allows(at, false)).toBe(true);
    expect(k.mm.pageMap.allows(at, true)).toBe(true);
    expect(k.mprotect(a + PAGE, PAGE, 0)).toBe(0);
    expect(k.mm.pageMap.allows(at, false)).toBe(false);
    expect(k.mm.pageMap.allows(at, true)).toBe(false);
    expect(() => k.read(a + PAGE + 3, 1)).toThrow(expect.objectContaining({ code: "SEGV_ACCERR", addr: a + PAGE + 3 }));
    expect(k.accessFault(a + PAGE, false)?.code).toBe("SEGV_ACCERR");
    expect(k.farOffset(a + PAGE, false)).toBe(-1);
    // a fill running into it writes up to the page, then faults there
    expect(() => k.fill(a + PAGE - 2, 9, 4)).toThrow(expect.objectContaining({ addr: a + PAGE }));
    expect(k.read(a + PAGE - 2, 2)).toEqual(new Uint8Array([9, 9]));
    // read-only: loads go on, stores fault; the write bit stays clear
    expect(k.mprotect(a + PAGE, PAGE, PROT_READ)).toBe(0);
    expect(k.mm.pageMap.allows(at, false)).toBe(true);
    expect(k.mm.pageMap.allows(at, true)).toBe(false);
    expect(k.read(a + PAGE, 1)[0]).toBe(1);
    expect(() => k.write(a + PAGE, [2])).toThrow(SegmentationFault);
    expect(k.mprotect(a + PAGE, PAGE, PROT_RW)).toBe(0);
    expect(k.mm.pageMap.allows(at, true)).toBe(true);
    k.verify();
  });
});

describe("farOffset: the allocator's way to a far page", () => {
  it("a store faults the page in (resident, writable by the map); a load maps the zero page; -1 where the access faults", () => {
    const k = kernel64();
    const a = k.mmap(0x40000000, 2 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    const rss = k.status().VmRSS;
    const minor = k.faults.minor;
    const w = k.farOffset(a + 8, true);
    expect(inPool(k, w)).toBe(true);
    expect(w % PAGE).toBe(8);
    expect(k.mm.pageMap.allows(w, true)).toBe(true);
    expect(k.status().VmRSS).toBe(rss + 4);
    const r = k.farOffset(a + PAGE + 1, false);
    expect(inPool(k, r)).toBe(true);
    expect(k.mm.pageMap.allows(r, false)).toBe(true);
    expect(k.mm.pageMap.allows(r, true)).toBe(false); // the zero page: a store must fault
    expect(k.status().VmRSS).toBe(rss + 4);
    expect(k.faults.minor).toBe(minor + 2);
    expect(k.farOffset(a + PAGE + 1, false)).toBe(r); // present now: the same frame, no fault
    expect(k.faults.minor).toBe(minor + 2);
    // a store through the offset the load got: the allocator's page fault names the offset
    expect(k.accessFault(k.offsetToVa(r), true)).toBeNull();
    expect(k.mm.pageMap.allows(r, true)).toBe(true);
    // a VA in a window: its window's offset
    expect(k.farOffset(k.startBrk - 1, false)).toBe(k.vaToOffset(k.startBrk - 1));
    // unmapped: -1, and accessFault gives the SIGSEGV
    expect(k.farOffset(0x30000000, true)).toBe(-1);
    expect(k.accessFault(0x30000000, true)).toEqual(new SegmentationFault("SEGV_MAPERR", 0x30000000));
    expect(framesIn(k)).toBe(2);
    k.verify();
  });
});

describe("the pool is finite", () => {
  it("a far page that needs a frame when none is left is the OOM kill", () => {
    let died: Error | null = null;
    const k = kernel64({ ramBytes: 8 * GiB, onDeath: (e) => (died = e) });
    const a = k.mmap(0x40000000, 300 * MiB, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0);
    expect(a).toBe(0x40000000);
    k.fill(a, 1, 100 * MiB); // fits
    expect(framesIn(k)).toBe((100 * MiB) / PAGE);
    expect(() => k.mmap(0x60000000, 200 * MiB, PROT_RW, ANON_PRIVATE | MAP_FIXED | MAP_POPULATE, -1, 0)).toThrow(ProcessKilled);
    expect(died).toBeInstanceOf(ProcessKilled);
    expect(framesIn(k)).toBe(POOL_FRAMES);
  });
});
