import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, ANON_SHARED, PAGE, makeKernel, vmaAt } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12, EFAULT = -14, EAGAIN = -11;
const MAYMOVE = 1, FIXED = 2, DONTUNMAP = 4;

describe("mremap: argument rules", () => {
  const k = makeKernel();
  const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
  it("rejects unknown flags, FIXED without MAYMOVE, DONTUNMAP that resizes or may not move", () => {
    expect(k.mremap(a, PAGE, 2 * PAGE, 8)).toBe(EINVAL);
    expect(k.mremap(a, PAGE, 2 * PAGE, FIXED, a - 10 * PAGE)).toBe(EINVAL);
    expect(k.mremap(a, PAGE, 2 * PAGE, DONTUNMAP | MAYMOVE)).toBe(EINVAL);
    expect(k.mremap(a, PAGE, PAGE, DONTUNMAP)).toBe(EINVAL);
  });
  it("rejects an unaligned address and a zero new length", () => {
    expect(k.mremap(a + 1, PAGE, 2 * PAGE, MAYMOVE)).toBe(EINVAL);
    expect(k.mremap(a, PAGE, 0, MAYMOVE)).toBe(EINVAL);
  });
  it("EFAULT when the address is unmapped or the old range crosses the VMA's end", () => {
    expect(k.mremap(a - 100 * PAGE, PAGE, 2 * PAGE, MAYMOVE)).toBe(EFAULT);
    expect(k.mremap(a, 8 * PAGE, 16 * PAGE, MAYMOVE)).toBe(EFAULT);
  });
  it("a zero old length duplicates only shared mappings", () => {
    expect(k.mremap(a, 0, 2 * PAGE, MAYMOVE)).toBe(EINVAL);
  });
  it("MREMAP_FIXED: unaligned or overlapping target is EINVAL", () => {
    expect(k.mremap(a, PAGE, PAGE, MAYMOVE | FIXED, 0x40000001)).toBe(EINVAL);
    expect(k.mremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, a + PAGE)).toBe(EINVAL);
  });
});

describe("mremap: resizing", () => {
  it("shrinks in place by unmapping the tail", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mremap(a, 4 * PAGE, PAGE, 0)).toBe(a);
    expect(vmaAt(k, a)).toEqual([a, a + PAGE, "rw-p"]);
  });
  it("grows in place when the pages after it are free, charging the difference", () => {
    const k = makeKernel();
    const a = k.mmap(0x40000000, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const c = k.committedBytes;
    expect(k.mremap(a, 2 * PAGE, 6 * PAGE, 0)).toBe(a);
    expect(vmaAt(k, a)).toEqual([a, a + 6 * PAGE, "rw-p"]);
    expect(k.committedBytes).toBe(c + 4 * PAGE);
    k.verify();
  });
  it("without MREMAP_MAYMOVE, a blocked growth is ENOMEM", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mremap(a - PAGE, PAGE, 2 * PAGE, 0)).toBe(ENOMEM);
  });
  it("moves when it must, keeping the contents, and the old range is gone", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0); // a - PAGE, merged into one VMA with a
    k.fill(a - PAGE, 0x11, PAGE);
    const rss = k.status().VmRSS;
    const c = k.committedBytes;
    const n = k.mremap(a - PAGE, PAGE, 3 * PAGE, MAYMOVE);
    expect(n).toBeGreaterThan(0);
    expect(n).not.toBe(a - PAGE);
    expect(k.read(n, PAGE).every((x) => x === 0x11)).toBe(true);
    expect(k.read(n + PAGE, 2 * PAGE).every((x) => x === 0)).toBe(true);
    expect(vmaAt(k, a - PAGE)).toBeUndefined();
    expect(k.status().VmRSS).toBe(rss);
    expect(k.committedBytes).toBe(c + 2 * PAGE);
    k.verify();
  });
  it("does not count the transient double mapping of a move in VmPeak", () => {
    const k = makeKernel();
    const a = k.mmap(0, 8 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    const peak = k.status().VmPeak;
    const n = k.mremap(a - PAGE, PAGE, PAGE, MAYMOVE | FIXED, 0x40000000);
    expect(n).toBe(0x40000000);
    expect(k.status().VmPeak).toBe(peak);
  });
  it("MREMAP_FIXED replaces the target range", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const t = k.mmap(0x40000000, 4 * PAGE, 1, ANON_PRIVATE, -1, 0);
    k.fill(a, 5, 2 * PAGE);
    expect(k.mremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | FIXED, t + PAGE)).toBe(t + PAGE);
    expect(vmaAt(k, t)).toEqual([t, t + PAGE, "r--p"]);
    expect(vmaAt(k, t + PAGE)).toEqual([t + PAGE, t + 3 * PAGE, "rw-p"]);
    expect(k.read(t + PAGE, 1)[0]).toBe(5);
    k.verify();
  });
  it("MREMAP_DONTUNMAP leaves the old range mapped and empty", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.fill(a, 9, 2 * PAGE);
    const n = k.mremap(a, 2 * PAGE, 2 * PAGE, MAYMOVE | DONTUNMAP);
    expect(n).toBe(a - 2 * PAGE);
    expect(k.read(n, 1)[0]).toBe(9);
    expect(k.read(a, 2 * PAGE).every((x) => x === 0)).toBe(true);
    expect(vmaAt(k, a)).toEqual([a, a + 2 * PAGE, "rw-p"]);
    k.verify();
  });
  it("duplicates a shared mapping when old_length is 0", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_SHARED, -1, 0);
    k.fill(a, 0x3c, 2 * PAGE);
    const n = k.mremap(a, 0, 2 * PAGE, MAYMOVE);
    expect(n).toBe(a - 2 * PAGE);
    expect(k.read(n, 2 * PAGE).every((x) => x === 0x3c)).toBe(true);
  });
  it("growing a locked mapping past RLIMIT_MEMLOCK is EAGAIN", () => {
    const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 4 * PAGE, max: 4 * PAGE } } });
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE | 0x2000, -1, 0);
    expect(k.mremap(a, 2 * PAGE, 8 * PAGE, MAYMOVE)).toBe(EAGAIN);
  });
});
