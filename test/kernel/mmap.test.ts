import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, ANON_SHARED, GiB, MiB, PAGE, makeKernel, mapsOf, vmaAt } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12, EBADF = -9, EEXIST = -17, EPERM = -1, EAGAIN = -11;
const FIXED = 0x10, NOREPLACE = 0x100000, GROWSDOWN = 0x100, LOCKED = 0x2000, NORESERVE = 0x4000, POPULATE = 0x8000;

describe("mmap: argument rules", () => {
  const k = makeKernel();
  it("rejects a zero length", () => expect(k.mmap(0, 0, 3, ANON_PRIVATE, -1, 0)).toBe(EINVAL));
  it("needs MAP_ANONYMOUS (no files exist): EBADF, checked before the length", () => {
    expect(k.mmap(0, PAGE, 3, 0x02, -1, 0)).toBe(EBADF);
    expect(k.mmap(0, 0, 3, 0x02, 3, 0)).toBe(EBADF);
  });
  it("ignores the fd of an anonymous mapping, as Linux does", () => {
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE, 5, 0)).toBeGreaterThan(0);
  });
  it("rejects an unaligned, negative or ≥ 2^44 offset (glibc's mmap64)", () => {
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 1)).toBe(EINVAL);
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, -PAGE)).toBe(EINVAL);
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 2 ** 44)).toBe(EINVAL);
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, PAGE)).toBeGreaterThan(0);
  });
  it("needs exactly one of MAP_SHARED / MAP_PRIVATE (MAP_SHARED_VALIDATE is for files)", () => {
    expect(k.mmap(0, PAGE, 3, 0x20, -1, 0)).toBe(EINVAL);
    expect(k.mmap(0, PAGE, 3, 0x23, -1, 0)).toBe(EINVAL);
    expect(k.mmap(0, PAGE, 3, 0x2f, -1, 0)).toBe(EINVAL);
  });
  it("refuses MAP_GROWSDOWN on shared memory", () => {
    expect(k.mmap(0, PAGE, 3, ANON_SHARED | GROWSDOWN, -1, 0)).toBe(EINVAL);
  });
  it("fails lengths beyond the address space with ENOMEM (64-bit arithmetic: no wrap to 0)", () => {
    expect(k.mmap(0, 0xfffff001, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    expect(k.mmap(0, -1, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
    expect(k.mmap(0, 0xc0000000, 3, ANON_PRIVATE, -1, 0)).toBe(ENOMEM);
  });
  it("MAP_FIXED: unaligned address EINVAL, past TASK_SIZE ENOMEM, below vm.mmap_min_addr EPERM", () => {
    expect(k.mmap(0x40000001, PAGE, 3, ANON_PRIVATE | FIXED, -1, 0)).toBe(EINVAL);
    expect(k.mmap(0xffffe000, PAGE, 3, ANON_PRIVATE | FIXED, -1, 0)).toBe(ENOMEM);
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE | FIXED, -1, 0)).toBe(EPERM);
  });
  it("MAP_HUGETLB: no huge pages are reserved", () => {
    expect(k.mmap(0, 2 * MiB, 3, ANON_PRIVATE | 0x40000, -1, 0)).toBe(ENOMEM);
  });
  it("ignores unknown prot bits and unknown flags", () => {
    expect(k.mmap(0, PAGE, 0x13, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE | 0x40000000, -1, 0)).toBeGreaterThan(0);
  });
  it("never throws on garbage arguments", () => {
    const junk: unknown[] = [NaN, Infinity, -Infinity, -1, 1.5, 2 ** 40, "x", null, undefined, {}, 10n];
    for (const a of junk) {
      for (const pos of [0, 1, 2, 3, 4, 5]) {
        const args = [0, PAGE, 3, ANON_PRIVATE, -1, 0] as unknown[];
        args[pos] = a;
        const r = (k.mmap as (...x: unknown[]) => number)(...args);
        expect(Number.isInteger(r)).toBe(true);
        expect(r >= -4095).toBe(true);
      }
    }
    k.verify();
  });
});

describe("mmap: placement", () => {
  it("goes top-down below mmap_base, each mapping just below the previous, merging", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const b = k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(a).toBe(0xf7ffe000 - 2 * PAGE);
    expect(b).toBe(a - PAGE);
    expect(vmaAt(k, b)).toEqual([b, a + 2 * PAGE, "rw-p"]);
  });
  it("reuses the highest hole that fits", () => {
    const k = makeKernel();
    const a = k.mmap(0, 8 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.munmap(a + 2 * PAGE, 2 * PAGE);
    k.munmap(a + 5 * PAGE, PAGE);
    expect(k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(a + 5 * PAGE);
    expect(k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(a + 2 * PAGE);
  });
  it("honours a free hint, rounded down to a page; ignores a taken one", () => {
    const k = makeKernel();
    expect(k.mmap(0x40000123, PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(0x40000000);
    expect(k.mmap(0x40000000, PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(0xf7ffe000 - PAGE);
  });
  it("raises a hint below mmap_min_addr to it", () => {
    const k = makeKernel();
    k.munmap(0x10000, 0x4000); // make room where the program was
    expect(k.mmap(0x2000, PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(0x10000);
  });
  it("keeps the stack guard gap when placing below a stack", () => {
    const k = makeKernel();
    const s = k.mmap(0x80000000, PAGE, 3, ANON_PRIVATE | GROWSDOWN, -1, 0);
    expect(s).toBe(0x80000000);
    // a hint right below the stack-like VMA is inside its guard gap: not honoured
    expect(k.mmap(0x80000000 - PAGE, PAGE, 3, ANON_PRIVATE, -1, 0)).not.toBe(0x80000000 - PAGE);
    expect(k.mmap(0x80000000 - MiB - PAGE, PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(0x80000000 - MiB - PAGE);
  });
  it("falls back to bottom-up from TASK_UNMAPPED_BASE when the top-down area is full", () => {
    const k = makeKernel();
    // fill everything below mmap_base except the zone above the legacy base
    expect(k.mmap(0x10000000, 0xf7ffe000 - 0x10000000, 0, ANON_PRIVATE | FIXED | NORESERVE, -1, 0)).toBe(0x10000000);
    expect(k.mmap(0x14000, 0x10000000 - 0x14000, 0, ANON_PRIVATE | FIXED | NORESERVE, -1, 0)).toBe(0x14000);
    const r = k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(r).toBe(0xf7ffe000); // the first hole above the legacy base 0x55555000 is above mmap_base
    k.verify();
  });
});

describe("mmap: MAP_FIXED and MAP_FIXED_NOREPLACE", () => {
  it("MAP_FIXED replaces what was there, and the new pages read zero", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.fill(a, 1, 4 * PAGE);
    expect(k.mmap(a + PAGE, 2 * PAGE, 1, ANON_PRIVATE | FIXED, -1, 0)).toBe(a + PAGE);
    expect(mapsOf(k).filter((m) => m[0] >= a && m[1] <= a + 4 * PAGE).map((m) => m[2])).toEqual(["rw-p", "r--p", "rw-p"]);
    expect(k.read(a + PAGE, 2 * PAGE).every((x) => x === 0)).toBe(true);
    expect(k.read(a, 1)[0]).toBe(1);
    k.verify();
  });
  it("MAP_FIXED_NOREPLACE refuses an occupied range with EEXIST", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mmap(a + 3 * PAGE, 2 * PAGE, 3, ANON_PRIVATE | NOREPLACE, -1, 0)).toBe(EEXIST);
    expect(k.mmap(a - 2 * PAGE, 2 * PAGE, 3, ANON_PRIVATE | NOREPLACE, -1, 0)).toBe(a - 2 * PAGE);
  });
});

describe("mmap: flags", () => {
  it("MAP_POPULATE makes writable private pages resident, read-only ones zero-page mapped", () => {
    const k = makeKernel();
    const before = k.status().VmRSS;
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE | POPULATE, -1, 0);
    expect(k.status().VmRSS - before).toBe(16);
    const b = k.mmap(0, 4 * PAGE, 1, ANON_PRIVATE | POPULATE, -1, 0);
    expect(k.status().VmRSS - before).toBe(16);
    const vec = new Uint8Array(4);
    expect(k.mincore(b, 4 * PAGE, vec)).toBe(0);
    expect([...vec]).toEqual([1, 1, 1, 1]);
    expect(a).toBeGreaterThan(0);
  });
  it("MAP_LOCKED locks and populates, against RLIMIT_MEMLOCK (EAGAIN), EPERM with a zero limit", () => {
    const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 8 * PAGE, max: 8 * PAGE } } });
    expect(k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE | LOCKED, -1, 0)).toBeGreaterThan(0);
    expect(k.status().VmLck).toBe(16);
    expect(k.mmap(0, 5 * PAGE, 3, ANON_PRIVATE | LOCKED, -1, 0)).toBe(EAGAIN);
    const z = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 0, max: 0 } } });
    expect(z.mmap(0, PAGE, 3, ANON_PRIVATE | LOCKED, -1, 0)).toBe(EPERM);
    const p = makeKernel({ privileged: true, rlimits: { RLIMIT_MEMLOCK: { cur: 0, max: 0 } } });
    expect(p.mmap(0, 64 * PAGE, 3, ANON_PRIVATE | LOCKED, -1, 0)).toBeGreaterThan(0);
  });
  it("MAP_NORESERVE mappings are not charged and do not merge with charged ones", () => {
    const k = makeKernel();
    const before = k.committedBytes;
    const a = k.mmap(0, PAGE, 3, ANON_PRIVATE | NORESERVE, -1, 0);
    expect(k.committedBytes).toBe(before);
    const b = k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.committedBytes).toBe(before + PAGE);
    expect(vmaAt(k, b)![1]).toBe(a);
  });
  it("MAP_SHARED anonymous memory is a /dev/zero (deleted) shmem object of its own", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_SHARED, -1, 0);
    const b = k.mmap(0, 2 * PAGE, 3, ANON_SHARED, -1, 0);
    const lines = k.maps().split("\n").filter((l) => l.includes("/dev/zero"));
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8} rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)$/);
    k.write(a, [1]);
    expect(k.status().RssShmem).toBe(4);
    expect(b).toBe(a - 2 * PAGE);
  });
  it("stops at vm.max_map_count", () => {
    const k = makeKernel();
    const n = 65530;
    const base = 0x20000000;
    // one big mapping, then alternate protections: every mprotect splits off a VMA
    expect(k.mmap(base, n * PAGE, 0, ANON_PRIVATE | FIXED | NORESERVE, -1, 0)).toBe(base);
    let r = 0;
    let i = 0;
    for (; i < n; i += 2) {
      r = k.mprotect(base + i * PAGE, PAGE, 1);
      if (r !== 0) break;
    }
    expect(r).toBe(ENOMEM);
    // The split that succeeded before the one that failed is merged back (Linux leaves it).
    expect(k.mm.vmas.count).toBe(65529);
    k.verify();
  }, 60_000);
});

describe("munmap", () => {
  const k = makeKernel();
  it("checks alignment, bounds and length", () => {
    expect(k.munmap(0x40000001, PAGE)).toBe(EINVAL);
    expect(k.munmap(0x40000000, 0)).toBe(EINVAL);
    expect(k.munmap(0xfffff000, 2 * PAGE)).toBe(EINVAL);
    expect(k.munmap(0x40000000, -1)).toBe(EINVAL);
  });
  it("succeeds over holes and unmapped ranges", () => {
    expect(k.munmap(0x40000000, GiB)).toBe(0);
  });
  it("splits a VMA when punching a hole and rounds the length up", () => {
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.munmap(a + PAGE, 1)).toBe(0);
    expect(vmaAt(k, a)).toEqual([a, a + PAGE, "rw-p"]);
    expect(vmaAt(k, a + PAGE)).toBeUndefined();
    expect(vmaAt(k, a + 2 * PAGE)).toEqual([a + 2 * PAGE, a + 4 * PAGE, "rw-p"]);
    k.verify();
  });
  it("gives the commit charge and the RSS back", () => {
    const k2 = makeKernel();
    const c = k2.committedBytes;
    const rss = k2.status().VmRSS;
    const a = k2.mmap(0, 8 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k2.fill(a, 7, 8 * PAGE);
    expect(k2.status().VmRSS).toBe(rss + 32);
    k2.munmap(a, 8 * PAGE);
    expect(k2.committedBytes).toBe(c);
    expect(k2.status().VmRSS).toBe(rss);
    expect(k2.status().VmHWM).toBe(rss + 32);
  });
});
