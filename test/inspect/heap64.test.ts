// The inspector on an x86_64 process: the same walkers read 8-byte words at real 64-bit addresses
// (through proc.offsetOf), with glibc's x86-64 numbers (16-byte headers, MINSIZE 32, fastbins
// 16 bytes apart up to 160, the 64-bit large-bin spacing). The heaps are small enough to know by
// heart; test/fixtures/alloc64 (the real x86-64 glibc) has the same first block at break + 672.

import { describe, expect, it } from "vitest";
import { createProcess, M_MXFAST, type Process } from "../../host/index.js";
import { bootProcess } from "../../host/boot.js";
import { ABI_I386, inspectHeap, protectPtr, revealPtr } from "../../host/inspect/index.js";
import * as B from "../../host/baseline/layout.js";

const fresh = (seed = 1) => createProcess({ seed, arch: "x86_64" });
const chunkOf = (p: number) => p - 16;
/** An 8-byte little-endian word (below 2^53). */
const le64 = (v: number) => Array.from({ length: 8 }, (_, i) => Math.floor(v / 2 ** (8 * i)) % 256);

function chunkList(proc: Process) {
  return inspectHeap(proc).heap!.chunks.map((c) => [c.addr, c.size, c.state, c.bin ?? ""]);
}

describe("where glibc's state is, in an x86_64 process", () => {
  it("finds mp_ at the VA of the module's static data (loadBase + 0x4000 onwards)", async () => {
    const booted = await bootProcess({ seed: 1, arch: "x86_64" });
    const proc = booted.process;
    const exports = (booted.allocator as { exports?: { mp_addr(): number } }).exports!;
    const snap = inspectHeap(proc);
    expect(snap.addrs.mp).toBeGreaterThan(2 ** 32); // a real 64-bit VA, not an offset
    expect(proc.offsetOf(snap.addrs.mp)).toBe(Number(exports.mp_addr()));
    const program = snap.vmas.filter((v) => v.kind === "program");
    expect(snap.addrs.mainArena).toBe(program[0].startAddr + 0x4000);
    expect(snap.mp.tcache_bins).toBe(64);
    expect(snap.mp.tcache_max_bytes).toBe(1032);
    expect(snap.mp.mmap_threshold).toBe(128 * 1024);
    expect(snap.view.abi.wordBytes).toBe(8);
    proc.malloc(1); // ptmalloc_init sets global_max_fast
    expect(inspectHeap(proc).mp.global_max_fast).toBe(128);
  });

  it("mp_'s i386 offsets are the TypeScript twin's (one layout table for both word sizes)", () => {
    const off = (n: string) => ABI_I386.mp.get(n)!.offset;
    expect([off("sbrk_base"), off("tcache_bins"), off("tcache_key"), off("tcache"), off("nprocs"), off("cur_tls")])
      .toEqual([B.MP_SBRK_BASE, B.MP_TCACHE_BINS, B.MP_TCACHE_KEY, B.MP_TCACHE, B.MP_NPROCS, B.MP_CUR_TLS]);
  });

  it("an unsorted chunk links to bin_at(1) inside main_arena (8-byte bins)", async () => {
    const proc = await fresh();
    const a = proc.malloc(2000);
    proc.malloc(24);
    proc.free(a);
    const snap = inspectHeap(proc);
    const unsorted = snap.bins.find((b) => b.name === "unsorted")!;
    expect(unsorted.entries.map((e) => e.chunk)).toEqual([chunkOf(a)]);
    // bin_at(1) = &bins[0] - 16: after fastbinsY[10], top and last_remainder
    expect(unsorted.entries[0].fd).toBe(snap.addrs.mainArena + 16 + 10 * 8 + 16 - 16);
  });
});

describe("the chunk walk, x86_64", () => {
  it("the first malloc: the tcache struct (0x290 bytes) at sbrk_base, the block at break + 672", async () => {
    const proc = await fresh();
    const brk0 = proc.sbrk(0);
    const a = proc.malloc(24);
    const b = proc.malloc(100);
    expect(a - brk0).toBe(672);
    const snap = inspectHeap(proc);
    const chunks = snap.heap!.chunks;
    expect(chunks.map((c) => [c.addr - brk0, c.size, c.state])).toEqual([
      [0, 0x290, "inuse"],
      [0x290, 32, "inuse"],
      [0x2b0, 112, "inuse"],
      [0x320, 135168 - 0x320, "top"],
    ]);
    expect(chunks[1].addr).toBe(chunkOf(a));
    expect(chunks[3].addr).toBe(snap.arena.top);
    expect(chunks[2].usableSize).toBe(proc.malloc_usable_size(b));
    expect(snap.mp.sbrk_base).toBe(brk0);
    expect(snap.mp.tcache).toBe(brk0 + 16);
  });

  it("finds a mmapped chunk at the start of its mapping (MALLOC_ALIGNMENT = CHUNK_HDR_SZ), at a 0x7f… address", async () => {
    const proc = await fresh();
    const big = proc.malloc(200000);
    const snap = inspectHeap(proc);
    // the whole mapping, prev_size 0 (i386 starts it 8 bytes in)
    expect(snap.mmapped.map((c) => [c.addr, c.size, c.prevSize])).toEqual([[chunkOf(big), 200704, 0]]);
    expect(snap.vmas.some((v) => v.startAddr === chunkOf(big))).toBe(true);
    expect(Math.floor(big / 2 ** 40)).toBe(0x7f);
    expect(snap.mmapped[0].usableSize).toBe(proc.malloc_usable_size(big));
  });

  it("stops at a corrupted 8-byte size instead of running off", async () => {
    const proc = await fresh();
    const a = proc.malloc(24);
    proc.malloc(24);
    proc.write(a - 8, le64(3)); // size 0 with P and M
    const walk = inspectHeap(proc).heap!;
    expect(walk.chunks.length).toBe(2);
    expect(walk.problem).toMatch(/bad size 0x0 at 0x[0-9a-f]{12}$/);
  });

  it("reads a size with its top bits set (house of force) without 32-bit truncation", async () => {
    const proc = await fresh();
    const a = proc.malloc(24);
    proc.write(a + 24, le64(2 ** 40 + 1)); // the top's size: 2^40 | PREV_INUSE
    const top = inspectHeap(proc).heap!.chunks.at(-1)!;
    expect([top.state, top.size, top.prevInuse]).toEqual(["top", 2 ** 40, true]);
  });
});

describe("the free lists, x86_64", () => {
  it("tcache: 64-bit safe-linked next pointers", async () => {
    const proc = await fresh();
    const ps = [0, 1, 2].map(() => proc.malloc(24));
    for (const p of ps) proc.free(p);
    const snap = inspectHeap(proc);
    const bin = snap.tcache.find((b) => b.name === "tcache[0]")!; // a 32-byte chunk is tcache[0] here
    expect([bin.count, bin.chunkSize]).toEqual([3, 32]);
    expect(bin.entries.map((e) => e.chunk)).toEqual(ps.map(chunkOf).reverse());
    const head = bin.entries[0];
    expect(head.fd).toBe(ps[1]);
    expect(head.fdStored).toBe(protectPtr(ps[2], ps[1]));
    expect(head.fdStored).toBe(Number((BigInt(ps[2]) >> 12n) ^ BigInt(ps[1])));
    expect(revealPtr(ps[2], head.fdStored!)).toBe(ps[1]);
    // the tcache key: the word after next, equal to mp_.tcache_key
    const key = new DataView(proc.read(ps[0] + 8, 8).buffer);
    expect(key.getUint32(4, true) * 2 ** 32 + key.getUint32(0, true)).toBe(snap.mp.tcache_key);
    expect(chunkList(proc).filter((c) => c[3] === "tcache[0]").length).toBe(3);
  });

  it("fastbins are 16 bytes apart: the eighth free of a 24-byte block goes to fastbin[0]", async () => {
    const proc = await fresh();
    const ps = Array.from({ length: 9 }, () => proc.malloc(24));
    for (const p of ps) proc.free(p);
    const snap = inspectHeap(proc);
    expect(snap.fastbins.length).toBe(10);
    expect(snap.fastbins.map((f) => f.chunkSize)).toEqual([32, 48, 64, 80, 96, 112, 128, 144, 160, 176]);
    const fb = snap.fastbins[0];
    expect(fb.name).toBe("fastbin[0]");
    expect(fb.entries.map((e) => e.chunk)).toEqual([chunkOf(ps[8]), chunkOf(ps[7])]);
    expect(fb.entries[0].fd).toBe(chunkOf(ps[7]));
    expect(snap.arena.haveFastchunks).toBe(true);
  });

  it("fastbins up to 160 bytes with M_MXFAST at its largest (fastbin[8])", async () => {
    const proc = await fresh();
    expect(proc.mallopt(M_MXFAST, 160)).toBe(1);
    const ps = Array.from({ length: 9 }, () => proc.malloc(150)); // chunk 160
    for (const p of ps) proc.free(p);
    const snap = inspectHeap(proc);
    expect(snap.mp.global_max_fast).toBe(160);
    const fb = snap.fastbins.find((f) => f.entries.length > 0)!;
    expect([fb.name, fb.chunkSize, fb.entries.length]).toEqual(["fastbin[8]", 160, 2]);
    expect(snap.binOf.get(chunkOf(ps[8]))).toBe("fastbin[8]");
    expect(snap.tryFree(proc.malloc(150)).outcome).toEqual({ kind: "ok", into: "tcache[8]" });
  });

  it("large bins with the 64-bit spacing: a 1312-byte chunk is large[68] (large[69] on i386)", async () => {
    const proc = await fresh();
    const big = proc.malloc(1300); // chunk 1312: largebin_index_64 → 48 + (1312 >> 6) = 68
    proc.malloc(16);
    const l1 = proc.malloc(3000); // chunk 3008: 48 + (3008 >> 6) = 95 (96 on i386)
    proc.malloc(16);
    const l2 = proc.malloc(3040); // chunk 3056: bin 95 too
    proc.malloc(16);
    for (const p of [big, l1, l2]) proc.free(p);
    proc.malloc(5000); // nothing fits: the unsorted chunks are sorted into their bins
    const snap = inspectHeap(proc);
    expect(snap.bins.map((b) => [b.name, b.chunkSize])).toEqual([["large[68]", 1312], ["large[95]", 3008]]);
    const [e0, e1] = snap.bins[1].entries;
    expect([e0.chunk, e0.size, e1.chunk, e1.size]).toEqual([chunkOf(l2), 3056, chunkOf(l1), 3008]);
    expect([e0.fdNextsize, e0.bkNextsize, e1.fdNextsize, e1.bkNextsize]).toEqual([e1.chunk, e1.chunk, e0.chunk, e0.chunk]);
    expect(snap.arena.binmap[95 >> 5] & (1 << (95 & 31))).not.toBe(0);
  });

  it("a small bin holds one chunk size (small[38] for 608 bytes: no SMALLBIN_CORRECTION)", async () => {
    const proc = await fresh();
    const ps = Array.from({ length: 8 }, () => [proc.malloc(600), proc.malloc(16)][0]); // 608-byte chunks
    for (const p of ps) proc.free(p);
    proc.malloc(2000);
    const bins = inspectHeap(proc).bins;
    expect(bins.map((b) => [b.name, b.chunkSize, b.entries.map((e) => e.chunk)])).toEqual([["small[38]", 608, [chunkOf(ps[7])]]]);
  });
});

describe("tryFree, x86_64", () => {
  it("a double free in the tcache, fasttop, and an invalid pointer: as the process then ends", async () => {
    const proc = await fresh();
    const a = proc.malloc(24);
    proc.free(a);
    expect(inspectHeap(proc).tryFree(a).outcome).toEqual({ kind: "abort", message: "free(): double free detected in tcache 2" });
    const q = await fresh(3);
    const b = q.malloc(24);
    expect(inspectHeap(q).tryFree(b + 8).outcome).toEqual({ kind: "abort", message: "free(): invalid pointer" });
    expect(() => q.free(b + 8)).toThrow("free(): invalid pointer");
    const r = await fresh(4);
    const ps = Array.from({ length: 9 }, () => r.malloc(24));
    for (const p of ps.slice(0, 8)) r.free(p);
    expect(inspectHeap(r).tryFree(ps[8]).outcome).toEqual({ kind: "ok", into: "fastbin[0]" });
    r.free(ps[8]);
    expect(inspectHeap(r).tryFree(ps[8]).outcome).toEqual({ kind: "abort", message: "double free or corruption (fasttop)" });
    expect(() => r.free(ps[8])).toThrow("double free or corruption (fasttop)");
  });

  it("an address no window holds is a SIGSEGV", async () => {
    const proc = await fresh();
    proc.malloc(24);
    const r = inspectHeap(proc).tryFree(0x100000000010);
    expect(r.outcome).toEqual({ kind: "segv", addr: 0x100000000008 });
  });
});
