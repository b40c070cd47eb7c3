import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, ANON_SHARED, GiB, MiB, PAGE, makeKernel } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12, EPERM = -1, EFAULT = -14;
const NORESERVE = 0x4000;

describe("getrlimit / setrlimit", () => {
  it("has Linux's defaults", () => {
    const k = makeKernel();
    expect(k.getrlimit("RLIMIT_STACK")).toEqual({ cur: 8 * MiB, max: Infinity });
    expect(k.getrlimit(8)).toEqual({ cur: 8 * MiB, max: 8 * MiB });
    expect(k.getrlimit("RLIMIT_AS")).toEqual({ cur: Infinity, max: Infinity });
    expect(k.getrlimit("RLIMIT_DATA")).toEqual({ cur: Infinity, max: Infinity });
  });
  it("takes the limits it was created with", () => {
    const k = makeKernel({ rlimits: { RLIMIT_AS: { cur: GiB, max: 2 * GiB } } });
    expect(k.getrlimit("RLIMIT_AS")).toEqual({ cur: GiB, max: 2 * GiB });
  });
  it("EINVAL for a bad resource or cur > max; EPERM to raise a hard limit; EFAULT for no struct", () => {
    const k = makeKernel();
    expect(k.setrlimit(99, { cur: 1, max: 1 })).toBe(EINVAL);
    expect(k.setrlimit("RLIMIT_BOGUS", { cur: 1, max: 1 })).toBe(EINVAL);
    expect(k.getrlimit(-1).cur).toBe(EINVAL);
    expect(k.setrlimit("RLIMIT_AS", { cur: 2, max: 1 })).toBe(EINVAL);
    expect(k.setrlimit("RLIMIT_MEMLOCK", { cur: 1, max: 16 * MiB })).toBe(EPERM);
    expect(k.setrlimit("RLIMIT_AS", null as never)).toBe(EFAULT);
    expect(k.setrlimit("RLIMIT_AS", { cur: GiB, max: GiB })).toBe(0);
    expect(k.setrlimit("RLIMIT_AS", { cur: Infinity, max: Infinity })).toBe(EPERM);
    expect(k.setrlimit("RLIMIT_MEMLOCK", { cur: 0, max: 0 })).toBe(0);
    expect(k.getrlimit("RLIMIT_MEMLOCK")).toEqual({ cur: 0, max: 0 });
  });
  it("RLIMIT_AS bounds mmap, brk and mremap", () => {
    const k = makeKernel({ rlimits: { RLIMIT_AS: { cur: 4 * MiB, max: 4 * MiB } } });
    expect(k.mmap(0, 4 * MiB, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    const a = k.mmap(0, MiB, 3, ANON_PRIVATE, -1, 0);
    expect(a).toBeGreaterThan(0);
    expect(k.brk(k.startBrk + 4 * MiB)).toBe(k.startBrk);
    expect(k.mremap(a, MiB, 4 * MiB, 1)).toBe(ENOMEM);
  });
  it("RLIMIT_DATA bounds private writable mappings only", () => {
    const k = makeKernel({ rlimits: { RLIMIT_DATA: { cur: MiB, max: MiB } } });
    expect(k.mmap(0, MiB, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    expect(k.mmap(0, MiB, 1, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
    expect(k.mmap(0, MiB, 3, ANON_SHARED, -1, 0)).toBeGreaterThan(0);
  });
  it("MAP_FIXED over an existing mapping only counts the new pages against RLIMIT_AS", () => {
    const k = makeKernel();
    const a = k.mmap(0, 64 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const size = k.status().VmSize * 1024;
    expect(k.setrlimit("RLIMIT_AS", { cur: size, max: size })).toBe(0);
    expect(k.mmap(a, 64 * PAGE, 1, ANON_PRIVATE | 0x10, -1, 0)).toBe(a);
    expect(k.mmap(a, 65 * PAGE, 1, ANON_PRIVATE | 0x10, -1, 0)).toBe(ENOMEM);
  });
  it("lowering RLIMIT_STACK later moves nothing already placed", () => {
    const k = makeKernel();
    const before = k.maps();
    expect(k.setrlimit("RLIMIT_STACK", { cur: MiB, max: Infinity })).toBe(0);
    expect(k.maps()).toBe(before);
  });
});

describe("overcommit", () => {
  it("mode 0 refuses a single request larger than RAM + swap", () => {
    const k = makeKernel({ overcommit: 0, ramBytes: 256 * MiB, swapBytes: 64 * MiB });
    expect(k.mmap(0, 320 * MiB + PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    expect(k.mmap(0, 320 * MiB, 3, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
    expect(k.mmap(0, 320 * MiB, 3, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
  });
  it("mode 1 always grants", () => {
    const k = makeKernel({ overcommit: 1, ramBytes: 16 * MiB });
    expect(k.mmap(0, GiB, 3, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
  });
  it("mode 2 enforces swap + RAM × ratio, counting private writable non-NORESERVE memory", () => {
    const k = makeKernel({ overcommit: 2, overcommitRatio: 50, ramBytes: 256 * MiB, swapBytes: 0 });
    // CommitLimit 128 MiB, less the admin reserve (8 MiB) and the user reserve (total_vm / 32)
    expect(k.mmap(0, 128 * MiB, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    const a = k.mmap(0, 100 * MiB, 3, ANON_PRIVATE, -1, 0);
    expect(a).toBeGreaterThan(0);
    expect(k.mmap(0, 30 * MiB, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    // read-only private memory is not charged; MAP_NORESERVE is ignored in mode 2
    expect(k.mmap(0, 30 * MiB, 1, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
    expect(k.mmap(0, 30 * MiB, 3, ANON_PRIVATE | NORESERVE, -1, 0)).toBe(ENOMEM);
    k.munmap(a, 100 * MiB);
    expect(k.mmap(0, 30 * MiB, 3, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
  });
  it("mode 2 charges shared memory whatever its protection", () => {
    const k = makeKernel({ overcommit: 2, overcommitRatio: 50, ramBytes: 256 * MiB });
    expect(k.mmap(0, 128 * MiB, 1, ANON_SHARED, -1, 0)).toBe(ENOMEM);
    const before = k.committedBytes;
    const s = k.mmap(0, 16 * MiB, 1, ANON_SHARED, -1, 0);
    expect(k.committedBytes).toBe(before + 16 * MiB);
    k.munmap(s, 8 * MiB);
    expect(k.committedBytes).toBe(before + 16 * MiB); // the object lives while any of it is mapped
    k.munmap(s + 8 * MiB, 8 * MiB);
    expect(k.committedBytes).toBe(before);
  });
});
