import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, MiB, PAGE, makeKernel, mapsOf, vmaAt } from "./helpers.js";

describe("brk: raw semantics", () => {
  it("brk(0) and any address below start_brk return the current break", () => {
    const k = makeKernel();
    expect(k.brk(0)).toBe(k.startBrk);
    expect(k.brk(k.startBrk - 1)).toBe(k.startBrk);
    expect(k.brk(-1 as number)).toBe(k.startBrk); // 0xffffffff: refused, the old break comes back
  });
  it("growing maps a [heap] VMA of zero pages; the break itself may be unaligned", () => {
    const k = makeKernel();
    const b = k.startBrk;
    expect(k.brk(b + 10)).toBe(b + 10);
    expect(vmaAt(k, b)).toEqual([b, b + PAGE, "rw-p"]);
    expect(k.read(b, 16).every((x) => x === 0)).toBe(true);
    expect(k.brk(b + 3 * PAGE)).toBe(b + 3 * PAGE);
    const heap = mapsOf(k).filter((m) => m[3] === "[heap]");
    expect(heap).toEqual([[b, b + 3 * PAGE, "rw-p", "[heap]"]]);
    k.verify();
  });
  it("shrinking unmaps whole pages, and pages taken again read zero", () => {
    const k = makeKernel();
    const b = k.startBrk;
    k.brk(b + 4 * PAGE);
    k.fill(b, 0xaa, 4 * PAGE);
    expect(k.brk(b + PAGE + 1)).toBe(b + PAGE + 1);
    expect(vmaAt(k, b)).toEqual([b, b + 2 * PAGE, "rw-p"]);
    expect(k.read(b + PAGE, 1)[0]).toBe(0xaa); // the page that stayed keeps its bytes
    k.brk(b + 4 * PAGE);
    expect(k.read(b + 2 * PAGE, 2 * PAGE).every((x) => x === 0)).toBe(true);
    k.verify();
  });
  it("a raw write the kernel never saw is still zeroed when the page goes", () => {
    const k = makeKernel();
    const b = k.startBrk;
    k.brk(b + 2 * PAGE);
    new Uint8Array(k.mm.memory.buffer)[b + PAGE + 5] = 9;
    k.brk(b);
    k.brk(b + 2 * PAGE);
    expect(k.read(b + PAGE + 5, 1)[0]).toBe(0);
  });
  it("refuses to come within a page of the next mapping", () => {
    const k = makeKernel();
    const b = k.startBrk;
    const m = k.mmap(b + 8 * PAGE, PAGE, 3, ANON_PRIVATE | 0x10, -1, 0);
    expect(m).toBe(b + 8 * PAGE);
    expect(k.brk(b + 8 * PAGE)).toBe(b);
    expect(k.brk(b + 7 * PAGE + 1)).toBe(b);
    expect(k.brk(b + 7 * PAGE)).toBe(b + 7 * PAGE);
  });
  it("keeps the stack guard gap below a VM_GROWSDOWN mapping", () => {
    const k = makeKernel();
    const b = k.startBrk;
    k.mmap(b + 2 * MiB, PAGE, 3, ANON_PRIVATE | 0x10 | 0x100, -1, 0);
    expect(k.brk(b + MiB)).toBe(b); // within 1 MiB + 1 page of the stack-like VMA
    expect(k.brk(b + MiB - PAGE)).toBe(b + MiB - PAGE);
  });
  it("counts the program's data against RLIMIT_DATA", () => {
    // 16 pages of limit: the 3 data pages plus 13 heap pages fit, one more byte does not.
    const k = makeKernel({ rlimits: { RLIMIT_DATA: { cur: 64 * 1024, max: Infinity } } });
    const b = k.startBrk;
    expect(k.brk(b + 13 * PAGE + 1)).toBe(b);
    expect(k.brk(b + 13 * PAGE)).toBe(b + 13 * PAGE);
    // check_data_rlimit counts the break itself (unaligned) plus the data segment's bytes
    const tight = makeKernel({ rlimits: { RLIMIT_DATA: { cur: 0x2a40 + 100, max: Infinity } } });
    expect(tight.brk(tight.startBrk + 101)).toBe(tight.startBrk);
    expect(tight.brk(tight.startBrk + 100)).toBe(tight.startBrk);
  });
  it("fails when the commit limit is exhausted (overcommit 2)", () => {
    const k = makeKernel({ overcommit: 2, overcommitRatio: 0, swapBytes: 0 });
    expect(k.brk(k.startBrk + PAGE)).toBe(k.startBrk);
  });
  it("is charged like mmap: the overcommit 0 heuristic refuses more than RAM + swap at once", () => {
    const k = makeKernel({ overcommit: 0, ramBytes: 16 * MiB, swapBytes: 4 * MiB });
    const b = k.startBrk;
    const c = k.committedBytes;
    expect(k.brk(b + 20 * MiB + PAGE)).toBe(b);
    expect(k.committedBytes).toBe(c);
    expect(k.mmap(0, 20 * MiB + PAGE, 3, 0x22, -1, 0)).toBe(-12);
    expect(k.brk(b + 20 * MiB)).toBe(b + 20 * MiB);
    expect(k.committedBytes).toBe(c + 20 * MiB);
    expect(k.brk(b + 40 * MiB)).toBe(b + 40 * MiB); // each call is judged alone, as Linux does
    expect(k.brk(b)).toBe(b);
    expect(k.committedBytes).toBe(c);
    k.verify();
  });
  it("is charged like mmap: overcommit 2 counts what the heap already holds", () => {
    const k = makeKernel({ overcommit: 2, overcommitRatio: 100, ramBytes: 16 * MiB, swapBytes: 0 });
    const b = k.startBrk;
    const room = 16 * MiB - k.committedBytes;
    expect(k.brk(b + room)).toBe(b); // the admin and user reserves are kept back
    const ok = k.brk(b + room / 2);
    expect(ok).toBe(b + room / 2);
    expect(k.mmap(0, room / 2, 3, 0x22, -1, 0)).toBe(-12);
    expect(k.brk(b)).toBe(b);
    expect(k.mmap(0, room / 2, 3, 0x22, -1, 0)).toBeGreaterThan(0);
    k.verify();
  });
  it("merges with nothing but its own heap", () => {
    const k = makeKernel();
    const b = k.startBrk;
    k.brk(b + PAGE);
    k.brk(b + 2 * PAGE);
    expect(mapsOf(k).filter((m) => m[3] === "[heap]").length).toBe(1);
  });
  it("shrinking fails when nothing is mapped there any more", () => {
    const k = makeKernel();
    const b = k.startBrk;
    k.brk(b + 2 * PAGE);
    k.munmap(b, 2 * PAGE);
    expect(k.brk(b)).toBe(b + 2 * PAGE);
  });
});
