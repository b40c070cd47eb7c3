import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, MiB, PAGE, makeKernel, mapsOf, vmaAt } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12, EPERM = -1, EAGAIN = -11;

describe("mlock / munlock", () => {
  it("locks and populates; VmLck counts locked pages", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const rss = k.status().VmRSS;
    expect(k.mlock(a + 1, PAGE)).toBe(0); // rounds out to two pages
    expect(k.status().VmLck).toBe(8);
    expect(k.status().VmRSS).toBe(rss + 8);
    expect(mapsOf(k).filter((m) => m[0] >= a && m[1] <= a + 4 * PAGE).length).toBe(2);
    expect(k.munlock(a, 4 * PAGE)).toBe(0);
    expect(k.status().VmLck).toBe(0);
    expect(vmaAt(k, a)).toEqual([a, a + 4 * PAGE, "rw-p"]);
    k.verify();
  });
  it("ENOMEM beyond RLIMIT_MEMLOCK (already locked pages not counted twice), EPERM with a zero limit", () => {
    const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 4 * PAGE, max: 4 * PAGE } } });
    const a = k.mmap(0, 8 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mlock(a, 3 * PAGE)).toBe(0);
    expect(k.mlock(a, 4 * PAGE)).toBe(0);
    expect(k.mlock(a, 5 * PAGE)).toBe(ENOMEM);
    const z = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 0, max: 0 } } });
    expect(z.mlock(0x40000000, PAGE)).toBe(EPERM);
  });
  it("a privileged process (CAP_IPC_LOCK) ignores the limit", () => {
    const k = makeKernel({ privileged: true, rlimits: { RLIMIT_MEMLOCK: { cur: 0, max: 0 } } });
    const a = k.mmap(0, 16 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mlock(a, 16 * PAGE)).toBe(0);
  });
  it("ENOMEM for unmapped ranges (after locking what came before the hole)", () => {
    const k = makeKernel();
    const a = k.mmap(0, 3 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.munmap(a + PAGE, PAGE);
    expect(k.mlock(a, 3 * PAGE)).toBe(ENOMEM);
    expect(k.status().VmLck).toBe(4);
    expect(k.mlock(0x40000000, PAGE)).toBe(ENOMEM);
  });
  it("locking PROT_NONE memory locks it but fails to populate: ENOMEM", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 0, ANON_PRIVATE, -1, 0);
    expect(k.mlock(a, 2 * PAGE)).toBe(ENOMEM);
    expect(k.status().VmLck).toBe(8);
  });
  it("mlock2: MLOCK_ONFAULT locks without populating; other flags EINVAL", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const rss = k.status().VmRSS;
    expect(k.mlock2(a, 2 * PAGE, 2)).toBe(EINVAL);
    expect(k.mlock2(a, 2 * PAGE, 1)).toBe(0);
    expect(k.status().VmLck).toBe(8);
    expect(k.status().VmRSS).toBe(rss);
  });
});

describe("locked_vm", () => {
  it("is a counter: MREMAP_DONTUNMAP of a locked mapping leaves the old pages counted", () => {
    const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 4 * PAGE, max: 4 * PAGE } } });
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mlock(a, 2 * PAGE)).toBe(0);
    const b = k.mremap(a, 2 * PAGE, 2 * PAGE, 1 | 4); // MAYMOVE | DONTUNMAP
    expect(b).toBeGreaterThan(0);
    expect(k.status().VmLck).toBe(16);
    expect(k.munmap(b, 2 * PAGE)).toBe(0);
    expect(k.status().VmLck).toBe(8); // nothing is locked, yet two pages stay counted
    const c = k.mmap(0, 3 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mlock(c, 3 * PAGE)).toBe(ENOMEM);
    expect(k.mlock(c, 2 * PAGE)).toBe(0);
    k.verify();
  });
  it("follows growth and moves of locked mappings, and munmap", () => {
    const k = makeKernel({ privileged: true });
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE | 0x2000, -1, 0); // MAP_LOCKED
    expect(k.status().VmLck).toBe(8);
    const b = k.mremap(a, 2 * PAGE, 5 * PAGE, 1);
    expect(k.status().VmLck).toBe(20);
    expect(k.mremap(b, 5 * PAGE, 3 * PAGE, 0)).toBe(b);
    expect(k.status().VmLck).toBe(12);
    expect(k.munlock(b + PAGE, PAGE)).toBe(0);
    expect(k.status().VmLck).toBe(8);
    expect(k.munmap(b, 3 * PAGE)).toBe(0);
    expect(k.status().VmLck).toBe(0);
    k.verify();
  });
});

describe("mlockall / munlockall", () => {
  it("validates flags", () => {
    const k = makeKernel();
    expect(k.mlockall(0)).toBe(EINVAL);
    expect(k.mlockall(4)).toBe(EINVAL);
    expect(k.mlockall(8)).toBe(EINVAL);
  });
  it("MCL_CURRENT locks everything now, ENOMEM if it all exceeds the limit", () => {
    const k = makeKernel();
    expect(k.mlockall(1)).toBe(0);
    const s = k.status();
    expect(s.VmLck).toBe(s.VmSize);
    expect(k.munlockall()).toBe(0);
    expect(k.status().VmLck).toBe(0);
    const small = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 16 * PAGE, max: 16 * PAGE } } });
    expect(small.mlockall(1)).toBe(ENOMEM);
  });
  it("MCL_FUTURE locks later mappings and the heap, and refuses those beyond the limit (EAGAIN)", () => {
    const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 4 * PAGE, max: 4 * PAGE } } });
    expect(k.mlockall(2)).toBe(0);
    expect(k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0)).toBeGreaterThan(0);
    expect(k.status().VmLck).toBe(8);
    expect(k.mmap(0, 3 * PAGE, 3, ANON_PRIVATE, -1, 0)).toBe(EAGAIN);
    expect(k.brk(k.startBrk + 3 * PAGE)).toBe(k.startBrk);
    expect(k.brk(k.startBrk + PAGE)).toBe(k.startBrk + PAGE);
    expect(k.status().VmLck).toBe(12);
  });
  it("mlockall needs a non-zero limit unless privileged", () => {
    const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 0, max: 0 } } });
    expect(k.mlockall(1)).toBe(EPERM);
    expect(makeKernel({ privileged: true, rlimits: { RLIMIT_MEMLOCK: { cur: 0, max: MiB } } }).mlockall(3)).toBe(0);
  });
});
