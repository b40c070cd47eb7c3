// The inspector decodes glibc's heap from memory alone; these heaps are small enough to know by
// heart (i386 glibc 2.36: 8-byte headers, 16-byte alignment, the tcache struct as first chunk).

import { describe, expect, it } from "vitest";
import { createProcess, type Process } from "../../host/index.js";
import { bootProcess } from "../../host/boot.js";
import { inspectHeap, hex, revealPtr } from "../../host/inspect/index.js";
import { MP as BASELINE_MP } from "../../host/baseline/layout.js";

const fresh = () => createProcess({ seed: 1 });
const chunkOf = (p: number) => p - 8;

function chunkList(proc: Process) {
  return inspectHeap(proc).heap!.chunks.map((c) => [c.addr - chunkOf(0), c.size, c.state, c.bin ?? ""]);
}

describe("where glibc's state is", () => {
  it("finds mp_ where the Wasm module's linker put it, and where the TypeScript twin put it", async () => {
    const booted = await bootProcess({ seed: 1 });
    const exports = (booted.allocator as { exports?: { mp_addr(): number } }).exports;
    expect(inspectHeap(booted.process).addrs.mp).toBe(exports!.mp_addr() >>> 0);
    const twin = await createProcess({ seed: 1, allocator: "ts" });
    expect(inspectHeap(twin).addrs.mp).toBe(BASELINE_MP);
  });

  it("an unsorted chunk links to bin_at(1) inside main_arena", async () => {
    const proc = await fresh();
    const a = proc.malloc(2000);
    proc.malloc(24);
    proc.free(a);
    const snap = inspectHeap(proc);
    const unsorted = snap.bins.find((b) => b.name === "unsorted")!;
    expect(unsorted.entries.map((e) => e.chunk)).toEqual([chunkOf(a)]);
    expect(unsorted.entries[0].fd).toBe(snap.addrs.mainArena + 56); // bin_at(1), derived from mp_'s place
  });
});

describe("the chunk walk", () => {
  it("is empty before the first malloc", async () => {
    const proc = await fresh();
    expect(inspectHeap(proc).heap).toBeNull();
  });

  it("lists the tcache struct, the blocks and the top chunk in address order", async () => {
    const proc = await fresh();
    const brk0 = proc.sbrk(0);
    const a = proc.malloc(24);
    const b = proc.malloc(100);
    const snap = inspectHeap(proc);
    const chunks = snap.heap!.chunks;
    expect(chunks.map((c) => [c.addr - brk0, c.size, c.state])).toEqual([
      [8, 400, "inuse"],
      [408, 32, "inuse"],
      [440, 112, "inuse"],
      [552, 139264 - 552, "top"],
    ]);
    expect(chunks[1].addr).toBe(chunkOf(a));
    expect(chunks[2].addr).toBe(chunkOf(b));
    expect(chunks[3].addr).toBe(snap.arena.top);
    expect(chunks[2].usableSize).toBe(proc.malloc_usable_size(b));
    expect(chunks.every((c) => c.prevInuse)).toBe(true);
  });

  it("finds a mmapped chunk 8 bytes into its mapping", async () => {
    const proc = await fresh();
    const big = proc.malloc(200000);
    const snap = inspectHeap(proc);
    expect(snap.mmapped.map((c) => [c.addr, c.size, c.prevSize])).toEqual([[chunkOf(big), 200704 - 8, 8]]);
    expect(snap.mmapped[0].usableSize).toBe(proc.malloc_usable_size(big));
    expect(snap.mp.n_mmaps).toBe(1);
  });

  it("stops at a corrupted size instead of running off", async () => {
    const proc = await fresh();
    const a = proc.malloc(24);
    proc.malloc(24);
    proc.write(a - 4, [0x03, 0, 0, 0]); // size 0 with P and M
    const walk = inspectHeap(proc).heap!;
    expect(walk.chunks.length).toBe(2);
    expect(walk.problem).toMatch(/bad size/);
  });
});

describe("the free lists", () => {
  it("tcache: counts, LIFO order, and the safe-linked next", async () => {
    const proc = await fresh();
    const ps = [0, 1, 2].map(() => proc.malloc(24));
    for (const p of ps) proc.free(p);
    const snap = inspectHeap(proc);
    const bin = snap.tcache.find((b) => b.name === "tcache[1]")!;
    expect(bin.count).toBe(3);
    expect(bin.chunkSize).toBe(32);
    expect(bin.entries.map((e) => e.chunk)).toEqual(ps.map(chunkOf).reverse());
    const head = bin.entries[0];
    expect(head.fd).toBe(ps[1]); // tcache links point at user memory
    expect(head.fdStored).toBe(((ps[2] >>> 12) ^ ps[1]) >>> 0);
    expect(revealPtr(ps[2], head.fdStored!)).toBe(ps[1]);
    expect(bin.entries[2].fd).toBe(0);
    expect(snap.binOf.get(chunkOf(ps[0]))).toBe("tcache[1]");
    expect(chunkList(proc).filter((c) => c[3] === "tcache[1]").length).toBe(3);
  });

  it("fastbins take the eighth free of a size, after the tcache bin is full", async () => {
    const proc = await fresh();
    const ps = Array.from({ length: 9 }, () => proc.malloc(24));
    for (const p of ps) proc.free(p);
    const snap = inspectHeap(proc);
    expect(snap.tcache.find((b) => b.name === "tcache[1]")!.count).toBe(7);
    const fb = snap.fastbins.find((b) => b.name === "fastbin[2]")!;
    expect(fb.chunkSize).toBe(32);
    expect(fb.entries.map((e) => e.chunk)).toEqual([chunkOf(ps[8]), chunkOf(ps[7])]);
    expect(fb.entries[0].fd).toBe(chunkOf(ps[7]));
    expect(snap.arena.haveFastchunks).toBe(true);
  });

  it("unsorted, then large bins once malloc sorts them, largest first, with nextsize links", async () => {
    const proc = await fresh();
    const big = proc.malloc(1300); // chunk 1312: largebin_index_32_big → 49 + (1312 >> 6) = 69
    proc.malloc(16);
    const l1 = proc.malloc(3000); // chunk 3008: 91 + (3008 >> 9) = 96
    proc.malloc(16);
    const l2 = proc.malloc(3040); // chunk 3056: bin 96 too
    proc.malloc(16);
    for (const p of [big, l1, l2]) proc.free(p);
    let snap = inspectHeap(proc);
    expect(snap.bins.map((b) => [b.name, b.entries.length])).toEqual([["unsorted", 3]]);
    proc.malloc(5000); // nothing fits: the unsorted chunks are sorted into their bins
    snap = inspectHeap(proc);
    expect(snap.bins.map((b) => [b.name, b.chunkSize])).toEqual([["large[69]", 1312], ["large[96]", 3008]]);
    const [e0, e1] = snap.bins[1].entries;
    expect([e0.chunk, e0.size, e1.chunk, e1.size]).toEqual([chunkOf(l2), 3056, chunkOf(l1), 3008]);
    // two sizes: each chunk heads its own size, the nextsize ring links them both ways
    expect([e0.fdNextsize, e0.bkNextsize, e1.fdNextsize, e1.bkNextsize]).toEqual([e1.chunk, e1.chunk, e0.chunk, e0.chunk]);
    expect(snap.arena.binmap[96 >> 5] & (1 << (96 & 31))).not.toBe(0);
    expect(snap.binOf.get(chunkOf(big))).toBe("large[69]");
  });

  it("a small bin holds one chunk size", async () => {
    const proc = await fresh();
    const ps = Array.from({ length: 8 }, () => [proc.malloc(600), proc.malloc(16)][0]); // 608-byte chunks
    for (const p of ps) proc.free(p); // 7 fill tcache[37], the 8th goes to the unsorted bin
    proc.malloc(2000);
    const bins = inspectHeap(proc).bins;
    expect(bins.map((b) => [b.name, b.chunkSize, b.entries.map((e) => e.chunk)])).toEqual([["small[39]", 608, [chunkOf(ps[7])]]]);
  });

  it("a cycle in a fastbin is reported, not followed forever", async () => {
    const proc = await fresh();
    const ps = Array.from({ length: 8 }, () => proc.malloc(24));
    for (const p of ps) proc.free(p);
    const c = chunkOf(ps[7]);
    const mangled = ((c + 8) >>> 12) ^ c; // the fastbin head points at itself
    proc.write(c + 8, [mangled & 255, (mangled >>> 8) & 255, (mangled >>> 16) & 255, mangled >>> 24]);
    const fb = inspectHeap(proc).fastbins[2];
    expect(fb.entries.length).toBe(1);
    expect(fb.problem).toBe(`cycle back to ${hex(c)}`);
  });
});
