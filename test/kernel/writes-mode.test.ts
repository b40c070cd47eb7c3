// createProcess({ writes }): "scan" finds raw writes by itself, "declared" is told of them
// (touch) and never scans. On the same calls, with every raw write declared, both must give the
// same faults, RSS, VmHWM, mincore vectors and contents; and "declared" must see nothing it was
// not told.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createProcess, type Process } from "../../host/index.js";

const PAGE = 4096;
const RW = 3;
const ANON = 0x22;
const MADV_DONTNEED = 4;

type Op =
  | { kind: "malloc"; size: number }
  | { kind: "calloc"; size: number }
  | { kind: "realloc"; pick: number; size: number }
  | { kind: "free"; pick: number }
  | { kind: "write"; pick: number; at: number; byte: number }
  | { kind: "mmap"; pages: number }
  | { kind: "munmap"; pick: number }
  | { kind: "dontneed"; pick: number; page: number; pages: number }
  | { kind: "trim" }
  | { kind: "perturb"; byte: number };

const sizes = fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 4000, max: 70000 }), fc.integer({ min: 120000, max: 600000 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("malloc" as const), size: sizes }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("calloc" as const), size: sizes }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("realloc" as const), pick: fc.nat(), size: sizes }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("write" as const), pick: fc.nat(), at: fc.double({ min: 0, max: 1, noNaN: true }), byte: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("mmap" as const), pages: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("munmap" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dontneed" as const), pick: fc.nat(), page: fc.nat(299), pages: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("trim" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("perturb" as const), byte: fc.integer({ min: 0, max: 255 }) }) },
);

interface Run {
  observations: unknown[];
}

/** Runs the ops on a fresh process; every raw write goes through `memory` and is declared with touch. */
async function run(ops: Op[], writes: "scan" | "declared", allocator: "wasm" | "ts"): Promise<Run> {
  const p = await createProcess({ seed: 7, writes, allocator });
  const blocks: { addr: number; size: number }[] = [];
  const maps: { addr: number; length: number }[] = [];
  const observations: unknown[] = [];
  const observe = () => {
    const s = p.status();
    observations.push([s.VmRSS, s.VmHWM, s.RssAnon, p.faults.minor]);
  };
  for (const o of ops) {
    switch (o.kind) {
      case "malloc":
      case "calloc": {
        const addr = o.kind === "malloc" ? p.malloc(o.size) : p.calloc(1, o.size);
        if (addr !== 0) blocks.push({ addr, size: o.size });
        break;
      }
      case "realloc": {
        if (blocks.length === 0) break;
        const i = o.pick % blocks.length;
        const b = blocks[i]!;
        const addr = p.realloc(b.addr, o.size);
        if (addr !== 0) Object.assign(b, { addr, size: o.size });
        else if (o.size === 0) blocks.splice(i, 1); // realloc(p, 0) frees p
        break;
      }
      case "free": {
        if (blocks.length === 0) break;
        p.free(blocks.splice(o.pick % blocks.length, 1)[0]!.addr);
        break;
      }
      case "write": {
        const targets = [...blocks.map((b) => ({ addr: b.addr, length: b.size })), ...maps];
        const t = targets.length === 0 ? undefined : targets[o.pick % targets.length]!;
        if (t === undefined || t.length === 0) break;
        const at = t.addr + Math.min(t.length - 1, Math.floor(o.at * t.length));
        new Uint8Array(p.memory.buffer)[at] = o.byte;
        p.touch(at, 1);
        break;
      }
      case "mmap": {
        const addr = p.sys.mmap(0, o.pages * PAGE, RW, ANON, -1, 0);
        if (addr > 0) maps.push({ addr, length: o.pages * PAGE });
        break;
      }
      case "munmap": {
        if (maps.length === 0) break;
        const m = maps.splice(o.pick % maps.length, 1)[0]!;
        expect(p.sys.munmap(m.addr, m.length)).toBe(0);
        break;
      }
      case "dontneed": {
        if (maps.length === 0) break;
        const m = maps[o.pick % maps.length]!;
        const pages = m.length / PAGE;
        const first = o.page % pages;
        p.sys.madvise(m.addr + first * PAGE, Math.min(o.pages, pages - first) * PAGE, MADV_DONTNEED);
        break;
      }
      case "trim":
        p.malloc_trim(0);
        break;
      case "perturb":
        p.mallopt(-6, o.byte);
        break;
    }
    observe();
  }
  for (const m of maps) {
    const vec = new Uint8Array(m.length / PAGE);
    p.sys.mincore(m.addr, m.length, vec);
    observations.push(Array.from(vec).join(""), Array.from(p.read(m.addr, m.length)).reduce((h, x) => (h * 31 + x) >>> 0, 0));
  }
  for (const b of blocks) observations.push(Array.from(p.read(b.addr, b.size)).reduce((h, x) => (h * 31 + x) >>> 0, 0));
  observations.push(p.maps());
  return { observations };
}

describe('writes: "scan" and "declared"', () => {
  for (const allocator of ["wasm", "ts"] as const) {
    it(`give the same faults, RSS, VmHWM, residency and contents when every raw write is declared (${allocator})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
          const scan = await run(ops, "scan", allocator);
          const declared = await run(ops, "declared", allocator);
          expect(declared.observations).toEqual(scan.observations);
        }),
        { numRuns: allocator === "wasm" ? 40 : 30 },
      );
    }, 120_000);
  }

  it('"declared" sees nothing it was not told; "scan" finds it', async () => {
    const seen = async (writes: "scan" | "declared") => {
      const p = await createProcess({ seed: 3, writes });
      const a = p.sys.mmap(0, 8 * PAGE, RW, ANON, -1, 0);
      const rss = p.status().VmRSS;
      new Uint8Array(p.memory.buffer)[a + 3 * PAGE + 5] = 0x41; // raw, undeclared
      const vec = new Uint8Array(8);
      p.sys.mincore(a, 8 * PAGE, vec);
      const grown = p.status().VmRSS - rss;
      expect(p.sys.munmap(a, 8 * PAGE)).toBe(0);
      const b = p.sys.mmap(a, 8 * PAGE, RW, ANON | 0x10, -1, 0); // MAP_FIXED: the same pages again
      expect(b).toBe(a);
      return { vec: Array.from(vec).join(""), grown, after: new Uint8Array(p.memory.buffer)[a + 3 * PAGE + 5] };
    };
    expect(await seen("scan")).toEqual({ vec: "00010000", grown: 4, after: 0 });
    // not resident, not counted, and (the broken promise) still there after the unmap
    expect(await seen("declared")).toEqual({ vec: "00000000", grown: 0, after: 0x41 });
  });

  it("a raw store that MADV_DONTNEED drops still gave its VMA an anon_vma, as the store's fault would have", async () => {
    // Linux: the store faults, the VMA gets its anon_vma, and the pieces it is later cut into no
    // longer merge with their neighbours; a grow of the first piece then finds two VMAs (EFAULT).
    // A store the program declares (proc.write) and one the kernel finds (scan) must end alike.
    const run = async (how: "raw" | "declared") => {
      const p = await createProcess({ seed: 4277301551 });
      const a = p.sys.mmap(0, 4 * PAGE, 1, 0x8022, -1, 0); // PROT_READ, MAP_PRIVATE|ANON|NORESERVE
      const b = p.sys.mremap(a, 4 * PAGE, 12 * PAGE, 1);
      expect(p.sys.mprotect(b + PAGE, 4 * PAGE, RW)).toBe(0);
      if (how === "raw") new Uint8Array(p.memory.buffer)[b + 3 * PAGE] = 1;
      else p.write(b + 3 * PAGE, [1]);
      expect(p.sys.madvise(b + 3 * PAGE, 4 * PAGE, MADV_DONTNEED)).toBe(0);
      expect(p.sys.mprotect(b, 7 * PAGE, 0)).toBe(0);
      return p.sys.mremap(b, 2 * PAGE, 8 * PAGE, 1);
    };
    expect(await run("declared")).toBe(-14); // EFAULT, as on Linux
    expect(await run("raw")).toBe(-14);
  });

  it("touch checks the range as a store would, and is harmless with scan", async () => {
    const p: Process = await createProcess({ seed: 4 });
    const a = p.sys.mmap(0, 2 * PAGE, 1, ANON, -1, 0); // read-only
    expect(() => p.touch(a, 1)).toThrow(/SEGV_ACCERR/);
    const b = p.sys.mmap(0, 2 * PAGE, RW, ANON, -1, 0);
    const before = p.status().VmRSS;
    p.touch(b, 2 * PAGE);
    p.touch(b, 0);
    expect(p.status().VmRSS - before).toBe(8);
    expect(Array.from(p.read(b, 2 * PAGE)).every((x) => x === 0)).toBe(true);
    expect(() => p.touch(undefined as unknown as number, 1)).toThrow(TypeError);
  });
});
