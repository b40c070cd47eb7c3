import { describe, expect, it } from "vitest";
import { GiB, MiB, PAGE, makeKernel, mapsOf } from "./helpers.js";

describe("layout without ASLR (randomize_va_space 0)", () => {
  const k = makeKernel({ aslr: 0 });
  it("maps the program text and data at their link addresses, as a file mapping", () => {
    const lines = k.maps().split("\n");
    expect(lines[0]).toBe(
      "00010000-00011000 r-xp 00000000 08:01 1316977                            /usr/bin/ptmalloc-wasm",
    );
    expect(lines[1]).toBe(
      "00011000-00014000 rw-p 00001000 08:01 1316977                            /usr/bin/ptmalloc-wasm",
    );
  });
  it("starts the break at the page-aligned end of the data", () => {
    expect(k.startBrk).toBe(0x14000);
    expect(k.brk(0)).toBe(0x14000);
  });
  it("puts a 132 KiB [stack] just below TASK_SIZE", () => {
    const last = k.maps().trimEnd().split("\n").at(-1)!;
    expect(last).toBe("fffdd000-ffffe000 rw-p 00000000 00:00 0                                  [stack]");
  });
  it("places the first mapping just below mmap_base 0xf7ffe000", () => {
    expect(k.mmap(0, PAGE, 3, 0x22, -1, 0)).toBe(0xf7ffe000 - PAGE);
  });
  it("never maps the null guard", () => {
    expect(mapsOf(k)[0]![0]).toBeGreaterThanOrEqual(0x10000);
  });
});

describe("layout with ASLR", () => {
  const starts = (seed: number, aslr: 0 | 1 | 2) => {
    const k = makeKernel({ seed, aslr });
    const m = mapsOf(k);
    return { brk: k.startBrk, first: k.mmap(0, PAGE, 3, 0x22, -1, 0), stack: m.at(-1)! };
  };
  it("is reproducible from the seed", () => {
    expect(starts(42, 2)).toEqual(starts(42, 2));
    expect(starts(42, 2)).not.toEqual(starts(43, 2));
  });
  it("randomizes the mmap base by up to 255 pages and the stack top by up to 0x7ff pages", () => {
    for (let seed = 0; seed < 20; seed++) {
      const s = starts(seed, 2);
      const base = s.first + PAGE;
      expect(base).toBeLessThanOrEqual(0xf7ffe000);
      expect(base).toBeGreaterThanOrEqual(0xf7ffe000 - 255 * PAGE);
      expect(s.stack[3]).toBe("[stack]");
      expect(s.stack[1] - s.stack[0]).toBe(0x21000);
      expect(s.stack[1]).toBeLessThanOrEqual(0xffffe000);
      expect(s.stack[1]).toBeGreaterThanOrEqual(0xffffe000 - 0x800 * PAGE);
    }
  });
  it("randomizes the break by up to 32 MiB in mode 2 only", () => {
    const brks = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const b = starts(seed, 2).brk;
      expect(b % PAGE).toBe(0);
      expect(b).toBeGreaterThanOrEqual(0x14000);
      expect(b).toBeLessThan(0x14000 + 32 * MiB);
      brks.add(b);
      expect(starts(seed, 1).brk).toBe(0x14000);
    }
    expect(brks.size).toBeGreaterThan(15);
  });
  it("keeps mmap_base at least 128 MiB below TASK_SIZE, more with a larger stack rlimit", () => {
    const k = makeKernel({ aslr: 0, rlimits: { RLIMIT_STACK: { cur: 512 * MiB, max: Infinity } } });
    // gap = 512 MiB + 1 MiB guard
    expect(k.mmap(0, PAGE, 3, 0x22, -1, 0)).toBe(0xffffe000 - 513 * MiB - PAGE);
    const huge = makeKernel({ aslr: 0, rlimits: { RLIMIT_STACK: { cur: 3.5 * GiB, max: Infinity } } });
    // clamped to 5/6 of TASK_SIZE
    const gapMax = Math.floor(0xffffe000 / 6) * 5;
    expect(huge.mmap(0, PAGE, 3, 0x22, -1, 0)).toBe(Math.ceil((0xffffe000 - gapMax) / PAGE) * PAGE - PAGE);
  });
  it("with an unlimited RLIMIT_STACK keeps the top-down layout, its base clamped to 1/6 of the space", () => {
    const k = makeKernel({ aslr: 0, rlimits: { RLIMIT_STACK: { cur: Infinity, max: Infinity } } });
    expect(k.mmap(0, PAGE, 3, 0x22, -1, 0)).toBe(0x2aaab000 - PAGE);
    expect(k.mmap(0, PAGE, 3, 0x22, -1, 0)).toBe(0x2aaab000 - 2 * PAGE);
    // what does not fit below goes bottom-up from TASK_UNMAPPED_BASE (TASK_SIZE / 3)
    expect(k.mmap(0, 0x40000000, 0, 0x4022, -1, 0)).toBe(0x55555000);
  });
});

describe("a fresh process", () => {
  it("is as small as a real one", () => {
    const k = makeKernel();
    const s = k.status();
    expect(s.VmSize).toBe(4 + 12 + 132);
    expect(s.VmExe).toBe(4);
    expect(s.VmStk).toBe(132);
    expect(s.VmData).toBe(12);
    expect(s.VmRSS).toBeGreaterThan(0);
    expect(s.VmLck).toBe(0);
    k.verify();
  });
  it("grows the Wasm memory to cover the highest mapping only", () => {
    const k = makeKernel({ aslr: 2, seed: 5 });
    const top = mapsOf(k).at(-1)![1];
    expect(k.mm.memory.buffer.byteLength).toBe(Math.ceil(top / 65536) * 65536);
  });
});
