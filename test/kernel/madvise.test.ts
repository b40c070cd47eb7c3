import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, ANON_SHARED, PAGE, makeKernel, mapsOf } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12;
const DONTNEED = 4, FREE = 8, REMOVE = 9, DONTFORK = 10, DOFORK = 11, POPULATE_READ = 22, POPULATE_WRITE = 23;

describe("madvise", () => {
  it("rejects unknown advice, an unaligned address; a zero length succeeds", () => {
    const k = makeKernel();
    const a = k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.madvise(a, PAGE, 7)).toBe(EINVAL);
    expect(k.madvise(a, PAGE, 100)).toBe(EINVAL);
    expect(k.madvise(a + 1, PAGE, DONTNEED)).toBe(EINVAL);
    expect(k.madvise(a, 0, DONTNEED)).toBe(0);
  });
  it("MADV_DONTNEED zeroes private pages and drops their residency", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.fill(a, 0x55, 4 * PAGE);
    const rss = k.status().VmRSS;
    expect(k.madvise(a, 2 * PAGE, DONTNEED)).toBe(0);
    expect(k.status().VmRSS).toBe(rss - 8);
    expect(k.read(a, 2 * PAGE).every((x) => x === 0)).toBe(true);
    expect(k.read(a + 2 * PAGE, 1)[0]).toBe(0x55);
  });
  it("MADV_DONTNEED keeps shared memory's data", () => {
    const k = makeKernel();
    const a = k.mmap(0, PAGE, 3, ANON_SHARED, -1, 0);
    k.write(a, [7]);
    expect(k.madvise(a, PAGE, DONTNEED)).toBe(0);
    expect(k.read(a, 1)[0]).toBe(7);
  });
  it("refuses DONTNEED and FREE on locked memory", () => {
    const k = makeKernel();
    const a = k.mmap(0, PAGE, 3, ANON_PRIVATE | 0x2000, -1, 0);
    expect(k.madvise(a, PAGE, DONTNEED)).toBe(EINVAL);
    expect(k.madvise(a, PAGE, FREE)).toBe(EINVAL);
    expect(k.madvise(a, PAGE, 24)).toBe(0); // MADV_DONTNEED_LOCKED
  });
  it("applies to the mapped parts and then reports ENOMEM for the holes", () => {
    const k = makeKernel();
    const a = k.mmap(0, 3 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.fill(a, 1, 3 * PAGE);
    k.munmap(a + PAGE, PAGE);
    expect(k.madvise(a, 3 * PAGE, DONTNEED)).toBe(ENOMEM);
    expect(k.read(a, 1)[0]).toBe(0);
    expect(k.read(a + 2 * PAGE, 1)[0]).toBe(0);
    expect(k.madvise(a + 3 * PAGE, 0x10000000, DONTNEED)).toBe(ENOMEM);
  });
  it("MADV_FREE is accepted on private anonymous memory only; REMOVE on shared writable only", () => {
    const k = makeKernel();
    const a = k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    const s = k.mmap(0, PAGE, 3, ANON_SHARED, -1, 0);
    expect(k.madvise(a, PAGE, FREE)).toBe(0);
    expect(k.madvise(s, PAGE, FREE)).toBe(EINVAL);
    expect(k.madvise(a, PAGE, REMOVE)).toBe(EINVAL);
    k.write(s, [3]);
    expect(k.madvise(s, PAGE, REMOVE)).toBe(0);
    expect(k.read(s, 1)[0]).toBe(0);
  });
  it("flag-setting advice splits and merges VMAs", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const count = mapsOf(k).length;
    expect(k.madvise(a + PAGE, PAGE, DONTFORK)).toBe(0);
    expect(mapsOf(k).length).toBe(count + 2);
    expect(k.madvise(a + PAGE, PAGE, DOFORK)).toBe(0);
    expect(mapsOf(k).length).toBe(count);
    k.verify();
  });
  it("MADV_POPULATE_READ maps the zero page, POPULATE_WRITE makes pages resident", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const rss = k.status().VmRSS;
    expect(k.madvise(a, 2 * PAGE, POPULATE_READ)).toBe(0);
    expect(k.status().VmRSS).toBe(rss);
    expect(k.madvise(a + 2 * PAGE, 2 * PAGE, POPULATE_WRITE)).toBe(0);
    expect(k.status().VmRSS).toBe(rss + 8);
    const vec = new Uint8Array(4);
    k.mincore(a, 4 * PAGE, vec);
    expect([...vec]).toEqual([1, 1, 1, 1]);
    const r = k.mmap(0, PAGE, 1, ANON_PRIVATE, -1, 0);
    expect(k.madvise(r, PAGE, POPULATE_WRITE)).toBe(EINVAL);
  });
});
