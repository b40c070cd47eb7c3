// Random sequences of memory syscalls against a page-by-page model of a window of the address
// space (and of the heap). After every step: the kernel's own invariants hold (sorted, disjoint,
// maximally merged, page states consistent), maps() shows exactly the model's pages with their
// permissions, every readable page reads what the model says (fresh and DONTNEED'd pages zero),
// and status() agrees on VmSize, VmLck and VmRSS.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SegmentationFault } from "../../host/errors.js";
import type { Kernel } from "../../host/kernel/kernel.js";
import { ANON_PRIVATE, ANON_SHARED, PAGE, makeKernel, mapsOf } from "./helpers.js";

/**
 * The range the random operations work in: 0x40000000 in an i386 process; in an x86_64 one 256 MiB
 * above the break, in the program's window, or across the mmap window's bottom edge, half of it far
 * pages (set per run).
 */
let W = 0x40000000;
const N = 40; // its size in pages
const FIXED = 0x10, POPULATE = 0x8000;
const MAYMOVE = 1, MFIXED = 2, DONTUNMAP = 4;
const ENOMEM = -12, EINVAL = -22, EFAULT = -14;

interface Page {
  prot: number;
  shared: boolean;
  locked: boolean;
  data: number;
  resident: boolean;
}

type Op =
  | { op: "mmap"; off: number; len: number; prot: number; shared: boolean; populate: boolean }
  | { op: "munmap"; off: number; len: number }
  | { op: "mprotect"; off: number; len: number; prot: number }
  | { op: "dontneed"; off: number; len: number }
  | { op: "mlock"; off: number; len: number }
  | { op: "munlock"; off: number; len: number }
  | { op: "fill"; off: number; len: number; byte: number }
  | { op: "raw"; off: number; byte: number }
  | { op: "mremap"; off: number; oldLen: number; newLen: number; to: number; mode: "shrink" | "fixed" | "dontunmap" }
  | { op: "brk"; pages: number };

const range = fc.integer({ min: 0, max: N - 1 }).chain((off) =>
  fc.integer({ min: 1, max: Math.min(8, N - off) }).map((len) => ({ off, len })),
);
const prot = fc.integer({ min: 0, max: 7 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ r: range, prot, shared: fc.integer({ min: 0, max: 9 }), populate: fc.boolean() }).map(({ r, prot, shared, populate }) => ({ op: "mmap" as const, ...r, prot, shared: shared < 3, populate })) },
  { weight: 2, arbitrary: range.map((r) => ({ op: "munmap" as const, ...r })) },
  { weight: 3, arbitrary: fc.record({ r: range, prot }).map(({ r, prot }) => ({ op: "mprotect" as const, ...r, prot })) },
  { weight: 2, arbitrary: range.map((r) => ({ op: "dontneed" as const, ...r })) },
  { weight: 1, arbitrary: range.map((r) => ({ op: "mlock" as const, ...r })) },
  { weight: 1, arbitrary: range.map((r) => ({ op: "munlock" as const, ...r })) },
  { weight: 3, arbitrary: fc.record({ r: range, byte: fc.integer({ min: 1, max: 255 }) }).map(({ r, byte }) => ({ op: "fill" as const, ...r, byte })) },
  { weight: 1, arbitrary: fc.record({ off: fc.integer({ min: 0, max: N - 1 }), byte: fc.integer({ min: 1, max: 255 }) }).map((x) => ({ op: "raw" as const, ...x })) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        off: fc.integer({ min: 0, max: N - 1 }),
        oldLen: fc.integer({ min: 1, max: 6 }),
        newLen: fc.integer({ min: 1, max: 8 }),
        to: fc.integer({ min: 0, max: N - 1 }),
        mode: fc.constantFrom("shrink" as const, "fixed" as const, "dontunmap" as const),
      })
      .map((x) => ({ op: "mremap" as const, ...x })),
  },
  { weight: 2, arbitrary: fc.integer({ min: -6, max: 8 }).map((pages) => ({ op: "brk" as const, pages })) },
);

class Model {
  pages: Array<Page | null> = Array.from({ length: N }, () => null);
  heapPages = 0;
  heapData: number[] = [];

  fresh(prot: number, shared: boolean): Page {
    return { prot, shared, locked: false, data: 0, resident: false };
  }
  /** populate_vma_page_range for one page: write fault for private writable, read otherwise. */
  populate(p: Page): void {
    if (p.prot !== 0 && (p.prot & 2 || p.shared)) p.resident = true;
  }
}

function apply(k: Kernel, m: Model, o: Op): void {
  const addr = (off: number) => W + off * PAGE;
  switch (o.op) {
    case "mmap": {
      const flags = (o.shared ? ANON_SHARED : ANON_PRIVATE) | FIXED | (o.populate ? POPULATE : 0);
      const len = Math.min(o.len, N - o.off);
      expect(k.mmap(addr(o.off), len * PAGE, o.prot, flags, -1, 0)).toBe(addr(o.off));
      for (let i = o.off; i < o.off + len; i++) {
        const p = m.fresh(o.prot, o.shared);
        if (o.populate && p.prot !== 0) m.populate(p);
        m.pages[i] = p;
      }
      return;
    }
    case "munmap":
      expect(k.munmap(addr(o.off), o.len * PAGE)).toBe(0);
      for (let i = o.off; i < o.off + o.len; i++) m.pages[i] = null;
      return;
    case "mprotect": {
      let want = 0;
      for (let i = o.off; i < o.off + o.len; i++) {
        const p = m.pages[i];
        if (!p) {
          want = ENOMEM;
          break;
        }
        const becomesWritable = !(p.prot & 2) && o.prot & 2;
        p.prot = o.prot;
        if (p.locked && !p.shared && becomesWritable) p.resident = true;
      }
      expect(k.mprotect(addr(o.off), o.len * PAGE, o.prot)).toBe(want);
      return;
    }
    case "dontneed": {
      let want = 0;
      for (let i = o.off; i < o.off + o.len; i++) {
        const p = m.pages[i];
        if (!p) {
          want = ENOMEM;
          continue;
        }
        if (p.locked) {
          want = EINVAL;
          break;
        }
        if (!p.shared) {
          p.data = 0;
          p.resident = false;
        }
      }
      expect(k.madvise(addr(o.off), o.len * PAGE, 4)).toBe(want);
      return;
    }
    case "mlock":
    case "munlock": {
      const lock = o.op === "mlock";
      let want = 0;
      let i = o.off;
      for (; i < o.off + o.len; i++) {
        const p = m.pages[i];
        if (!p) {
          want = ENOMEM;
          break;
        }
        p.locked = lock;
      }
      if (lock && want === 0) {
        for (let j = o.off; j < o.off + o.len; j++) {
          const p = m.pages[j]!;
          if (p.prot === 0) {
            want = ENOMEM; // populating PROT_NONE memory fails: EFAULT, reported as ENOMEM
            break;
          }
          m.populate(p);
        }
      }
      expect(lock ? k.mlock(addr(o.off), o.len * PAGE) : k.munlock(addr(o.off), o.len * PAGE)).toBe(want);
      return;
    }
    case "fill": {
      let bad = -1;
      for (let i = o.off; i < o.off + o.len; i++) {
        const p = m.pages[i];
        if (!p || !(p.prot & 2)) {
          bad = i;
          break;
        }
        p.data = o.byte;
        p.resident = true;
      }
      try {
        k.fill(addr(o.off), o.byte, o.len * PAGE);
        expect(bad).toBe(-1);
      } catch (e) {
        expect(e).toBeInstanceOf(SegmentationFault);
        expect((e as SegmentationFault).addr).toBe(addr(bad));
      }
      return;
    }
    case "raw": {
      const p = m.pages[o.off];
      if (!p || !(p.prot & 2)) return;
      const at = k.vaToOffset(addr(o.off));
      if (at < 0) return; // a far page that is not present has no bytes to store into behind the kernel's back
      new Uint8Array(k.mm.memory.buffer).fill(o.byte, at, at + PAGE);
      p.data = o.byte;
      p.resident = true;
      return;
    }
    case "mremap":
      return mremap(k, m, o);
    case "brk": {
      const target = Math.max(0, m.heapPages + o.pages);
      expect(k.brk(k.startBrk + target * PAGE)).toBe(k.startBrk + target * PAGE);
      while (m.heapData.length < target) m.heapData.push(0);
      m.heapData.length = target;
      if (o.pages < 0) for (let i = target; i < m.heapPages; i++) m.heapData[i] = 0;
      m.heapPages = target;
      return;
    }
  }
}

function mremap(k: Kernel, m: Model, o: Extract<Op, { op: "mremap" }>): void {
  const a = W + o.off * PAGE;
  const vma = mapsOf(k).find(([s, e]) => s <= a && a < e);
  if (!vma) {
    // the new range is checked before the old one is looked up (an overlap is EINVAL)
    const clash = o.off < o.to + o.newLen && o.to < o.off + o.oldLen;
    expect(k.mremap(a, o.oldLen * PAGE, o.newLen * PAGE, MAYMOVE | MFIXED, W + o.to * PAGE)).toBe(clash ? EINVAL : EFAULT);
    return;
  }
  // Keep the old range inside its VMA and inside the window.
  const vmaEndPage = Math.min((vma[1] - W) / PAGE, N);
  const oldLen = Math.min(o.oldLen, vmaEndPage - o.off);
  if (oldLen <= 0) return;
  if (o.mode === "shrink") {
    const newLen = Math.max(1, Math.min(o.newLen, oldLen));
    expect(k.mremap(a, oldLen * PAGE, newLen * PAGE, 0)).toBe(a);
    for (let i = o.off + newLen; i < o.off + oldLen; i++) m.pages[i] = null;
    return;
  }
  const dontUnmap = o.mode === "dontunmap";
  const newLen = dontUnmap ? oldLen : Math.min(o.newLen, N - o.to);
  if (newLen <= 0) return;
  const overlaps = o.off < o.to + newLen && o.to < o.off + oldLen;
  if (overlaps) {
    expect(k.mremap(a, oldLen * PAGE, newLen * PAGE, MAYMOVE | MFIXED | (dontUnmap ? DONTUNMAP : 0), W + o.to * PAGE)).toBe(EINVAL);
    return;
  }
  const src = m.pages.slice(o.off, o.off + oldLen).map((p) => ({ ...p! }));
  if (dontUnmap && src.some((p) => p.locked)) return; // the whole old VMA loses its locks: not modelled
  const r = k.mremap(a, oldLen * PAGE, newLen * PAGE, MAYMOVE | MFIXED | (dontUnmap ? DONTUNMAP : 0), W + o.to * PAGE);
  expect(r).toBe(W + o.to * PAGE);
  for (let i = o.to; i < o.to + newLen; i++) m.pages[i] = null;
  // the old range: unmapped, or (DONTUNMAP) left mapped with fresh private pages / shared data
  for (let i = 0; i < oldLen; i++) {
    if (!dontUnmap) m.pages[o.off + i] = null;
    else {
      const p = src[i]!;
      m.pages[o.off + i] = p.shared ? { ...p } : { ...p, data: 0, resident: false };
    }
  }
  for (let i = 0; i < newLen; i++) {
    if (i < oldLen) m.pages[o.to + i] = { ...src[i]! };
    else {
      const last = src[oldLen - 1]!;
      const p = m.fresh(last.prot, last.shared);
      p.locked = last.locked;
      if (p.locked) m.populate(p);
      m.pages[o.to + i] = p;
    }
  }
}

function check(k: Kernel, m: Model, base: { size: number; rss: number }): void {
  k.verify();
  // maps, page by page, inside the window
  const perms: string[] = Array.from({ length: N }, () => "");
  for (const [s, e, p] of mapsOf(k)) {
    for (let a = Math.max(s, W); a < Math.min(e, W + N * PAGE); a += PAGE) perms[(a - W) / PAGE] = p;
  }
  for (let i = 0; i < N; i++) {
    const p = m.pages[i];
    const want = p ? (p.prot & 1 ? "r" : "-") + (p.prot & 2 ? "w" : "-") + (p.prot & 4 ? "x" : "-") + (p.shared ? "s" : "p") : "";
    expect(perms[i], `page ${i}`).toBe(want);
  }
  // residency as mincore sees it: a resident page is present; a page not present is not resident
  for (let i = 0; i < N; i++) {
    const p = m.pages[i];
    const vec = new Uint8Array(1);
    expect(k.mincore(W + i * PAGE, PAGE, vec)).toBe(p ? 0 : -12);
    if (p?.resident) expect(vec[0], `page ${i} resident`).toBe(1);
    if (p && vec[0] === 0) expect(p.resident, `page ${i} absent`).toBe(false);
  }
  // contents
  for (let i = 0; i < N; i++) {
    const p = m.pages[i];
    if (!p || p.prot === 0) continue;
    const bytes = k.read(W + i * PAGE, PAGE);
    expect(bytes[0], `page ${i} first byte`).toBe(p.data);
    expect(bytes[PAGE - 1], `page ${i} last byte`).toBe(p.data);
    if (p.shared) p.resident = true; // a read fault allocates the shmem page
  }
  for (let i = 0; i < m.heapPages; i++) expect(k.read(k.startBrk + i * PAGE, 1)[0]).toBe(m.heapData[i]);
  const s = k.status();
  const mapped = m.pages.filter((p) => p).length;
  expect(s.VmSize).toBe(base.size + (mapped + m.heapPages) * 4);
  expect(s.VmLck).toBe(m.pages.filter((p) => p?.locked).length * 4);
  expect(s.VmRSS).toBe(base.rss + m.pages.filter((p) => p?.resident).length * 4);
}

describe("property: random syscall sequences agree with a page model", () => {
  it.each(["i386", "x86_64", "x86_64 far"] as const)("holds for random sequences (%s)", (variant) => {
    const arch = variant === "i386" ? "i386" : "x86_64";
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 2 ** 31 }), (ops, seed) => {
        const k = makeKernel({ aslr: 2, seed, arch });
        if (variant === "i386") W = 0x40000000;
        else if (variant === "x86_64") W = k.startBrk + 256 * 2 ** 20;
        else W = k.windows[1]!.va - (N / 2) * PAGE;
        const s0 = k.status();
        const m = new Model();
        for (const o of ops) {
          apply(k, m, o);
          check(k, m, { size: s0.VmSize, rss: s0.VmRSS });
        }
      }),
      { numRuns: 80 },
    );
  }, 120_000);
});
