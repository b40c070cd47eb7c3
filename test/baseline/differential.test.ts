// The baseline is the Wasm build's twin: any sequence of calls, made on a Wasm process and on a
// baseline process booted with the same seed (and the same program data end, so the same initial
// break), gives the same results — every returned address, errno, mallinfo2, the statistics texts —
// and leaves the same bytes in the heap, in the allocator's statics and in every mapping. Misuse
// (bad frees, user writes over headers and links) ends alike too: the same abort at the same call.

import fc from "fast-check";
import { M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD, M_TRIM_THRESHOLD } from "../../assembly/config.js";
import { describe, expect, it } from "vitest";
import { MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../host/constants.js";
import type { Process } from "../../host/process.js";
import { BASELINE_DATA_END, MAIN_ARENA, MAIN_TLS, MP } from "../../host/baseline/index.js";
import { bootTwins } from "./harness.js";


type Op =
  | { kind: "malloc" | "calloc" | "valloc" | "pvalloc"; size: number }
  | { kind: "memalign" | "posix_memalign"; align: number; size: number }
  | { kind: "realloc"; pick: number; size: number }
  | { kind: "reallocarray"; pick: number; n: number; size: number }
  | { kind: "free"; pick: number }
  | { kind: "trim"; pad: number }
  | { kind: "mallopt"; param: number; value: number }
  | { kind: "sbrk"; increment: number }
  | { kind: "block"; pages: number }
  | { kind: "stats" }
  | { kind: "badfree"; pick: number; offset: number }
  | { kind: "scribble"; pick: number; offset: number; value: number };

const sizeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1100 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1000, max: 70000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100000, max: 130000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 130000, max: 600000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0x7fffffff, 0x80000000, 0xfffffff0) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: sizeArb.map((size) => ({ kind: "malloc" as const, size })) },
  { weight: 2, arbitrary: sizeArb.map((size) => ({ kind: "calloc" as const, size })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constantFrom("valloc" as const, "pvalloc" as const), size: sizeArb })
      .map((r) => ({ kind: r.kind, size: r.size })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ align: fc.constantFrom(0, 3, 8, 24, 32, 64, 100, 256, 4096, 65536), size: sizeArb, posix: fc.boolean() })
      .map((r) => ({ kind: r.posix ? ("posix_memalign" as const) : ("memalign" as const), align: r.align, size: r.size })),
  },
  { weight: 4, arbitrary: fc.record({ pick: fc.nat(), size: sizeArb }).map((r) => ({ kind: "realloc" as const, ...r })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ pick: fc.nat(), n: fc.integer({ min: 0, max: 70000 }), size: fc.integer({ min: 0, max: 70000 }) })
      .map((r) => ({ kind: "reallocarray" as const, ...r })),
  },
  { weight: 10, arbitrary: fc.nat().map((pick) => ({ kind: "free" as const, pick })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 4096, 131072).map((pad) => ({ kind: "trim" as const, pad })) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer({ min: -1, max: 90 }).map((value) => ({ kind: "mallopt" as const, param: M_MXFAST, value })),
      fc
        .record({
          param: fc.constantFrom(M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD),
          value: fc.constantFrom(0, 4096, 65536, 262144, 1 << 20),
        })
        .map((r) => ({ kind: "mallopt" as const, ...r })),
      fc.integer({ min: -1, max: 4 }).map((value) => ({ kind: "mallopt" as const, param: M_MMAP_MAX, value })),
      fc.integer({ min: 0, max: 255 }).map((value) => ({ kind: "mallopt" as const, param: M_PERTURB, value })),
    ),
  },
  // a foreign sbrk: the next growth finds a gap (or, below the top, glibc's "break adjusted")
  { weight: 2, arbitrary: fc.constantFrom(-8192, 8, 4096, 20000).map((increment) => ({ kind: "sbrk" as const, increment })) },
  // a mapping of the user's just above the break: brk fails, sysmalloc falls back to mmap
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((pages) => ({ kind: "block" as const, pages })) },
  { weight: 1, arbitrary: fc.constant({ kind: "stats" as const }) },
);
// Misuse: frees of pointers malloc never returned, and user writes over chunk headers and links.
const misuseArb: fc.Arbitrary<Op> = fc.oneof(
  fc
    .record({ pick: fc.nat(), offset: fc.constantFrom(-16, -8, -4, 1, 4, 8, 16, 0x1000, -0x1000) })
    .map((r) => ({ kind: "badfree" as const, ...r })),
  // mostly over blocks freed since (the pick may name a stale address): links and sizes of free chunks
  ...Array.from({ length: 4 }, () =>
    fc
      .record({
        pick: fc.nat(),
        offset: fc.constantFrom(-8, -4, 0, 4, 8, 12),
        value: fc.oneof(fc.constantFrom(0, 1, 0x11, 0x21, 0x411, 0x20000, 0xffffffff), fc.nat()),
      })
      .map((r) => ({ kind: "scribble" as const, ...r })),
  ),
  fc
    .record({
      pick: fc.nat(),
      offset: fc.constantFrom(-8, -4, 0, 4, 8, 12),
      value: fc.oneof(fc.constantFrom(0, 1, 0x11, 0x21, 0x411, 0x20000, 0xffffffff), fc.nat()),
    })
    .map((r) => ({ kind: "scribble" as const, ...r })),
);

/** Runs one op on a process; returns what the caller sees (numbers, texts), live blocks updated. */
function run(proc: Process, op: Op, live: number[], freed: number[], tag: number): unknown {
  const pick = (n: number) => (live.length === 0 ? -1 : n % live.length);
  const stamp = (p: number, size: number) => {
    if (p !== 0 && size > 0 && size < 0x1000000) proc.fill(p, tag & 0xff, Math.min(size, 200));
  };
  switch (op.kind) {
    case "malloc": case "calloc": case "valloc": case "pvalloc": {
      const p = op.kind === "calloc" ? proc.calloc(1, op.size) : proc[op.kind](op.size);
      if (p !== 0) live.push(p);
      stamp(p, op.size);
      return [p, proc.errno, p !== 0 ? proc.malloc_usable_size(p) : 0];
    }
    case "memalign": case "posix_memalign": {
      const r = op.kind === "memalign" ? { err: 0, ptr: proc.memalign(op.align, op.size) } : proc.posix_memalign(op.align, op.size);
      if (r.ptr !== 0) live.push(r.ptr);
      stamp(r.ptr, op.size);
      return [r, proc.errno];
    }
    case "realloc": case "reallocarray": {
      const i = pick(op.pick);
      const old = i < 0 ? 0 : live[i];
      const size = op.kind === "realloc" ? op.size : op.n * op.size;
      const p = op.kind === "realloc" ? proc.realloc(old, op.size) : proc.reallocarray(old, op.n, op.size);
      if (p !== 0 || size === 0) {
        if (i >= 0) live.splice(i, 1);
        if (p !== 0) live.push(p);
      }
      stamp(p, size);
      return [p, proc.errno];
    }
    case "free": {
      const i = pick(op.pick);
      if (i >= 0) {
        const p = live.splice(i, 1)[0];
        proc.free(p);
        freed.push(p);
      }
      return null;
    }
    case "trim":
      return proc.malloc_trim(op.pad);
    case "mallopt":
      return proc.mallopt(op.param, op.value);
    case "sbrk":
      return [proc.sbrk(op.increment), proc.errno];
    case "block": {
      const brk = proc.sbrk(0);
      const at = Math.ceil(brk / 4096) * 4096 + op.pages * 4096;
      return proc.sys.mmap(at, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    }
    case "stats":
      return [proc.malloc_stats(), proc.malloc_info()];
    case "badfree": {
      const i = pick(op.pick);
      const p = (i < 0 ? 0x1000 : live[i]) + op.offset;
      proc.free(p >>> 0);
      return null;
    }
    case "scribble": {
      const all = live.concat(freed);
      if (all.length === 0) return null;
      const v = op.value >>> 0;
      proc.write(all[op.pick % all.length] + op.offset, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
      return null;
    }
  }
}

/** How a call ended badly (ProcessAbort, ProcessKilled), for comparison. */
class Died {
  constructor(readonly name: string, readonly message: string) {}
}
function attempt(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    return new Died((e as Error).name, (e as Error).message);
  }
}

/** The two memories agree on [start, end). */
function expectSameBytes(a: WebAssembly.Memory, b: WebAssembly.Memory, start: number, end: number, what: string) {
  const x = new Uint8Array(a.buffer, start, end - start);
  const y = new Uint8Array(b.buffer, start, end - start);
  if (Buffer.compare(x, y) === 0) return;
  let i = 0;
  while (x[i] === y[i]) i++;
  expect.fail(`${what}: first different byte at 0x${(start + i).toString(16)}: wasm ${x[i]}, baseline ${y[i]}`);
}

/** Every mapping of the process, from /proc/self/maps, as [start, end). */
function mappings(maps: string): Array<[number, number]> {
  return maps
    .trim()
    .split("\n")
    .map((line) => line.split(" ")[0].split("-").map((h) => parseInt(h, 16)) as [number, number]);
}

/** The misuse property's fast-check seed in CI (see below). */
const MISUSE_SEED = 20261122;

describe("the baseline and the Wasm build, side by side", () => {
  it("put their statics at the same addresses", async () => {
    const { wasm, wasmExports } = await bootTwins(1);
    expect(wasmExports.mp_addr() >>> 0).toBe(MP);
    // the main thread's TLS block (its arena, tcache and errno while another thread runs)
    expect(wasmExports.main_tls_addr() >>> 0).toBe(MAIN_TLS);
    expect(wasm.allocator.heapBase).toBeGreaterThanOrEqual(BASELINE_DATA_END);
  });

  it("give the same results, statistics and memory for any sequence of calls", async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 120 }), fc.nat(), sameOnBoth), { numRuns: 150 });
  }, 600_000);

  // Misuse can close a free list into a cycle, and glibc then loops forever — both builds too,
  // inside one synchronous call that no test timeout interrupts. So this property runs from a
  // fixed seed whose cases are known to end; FUZZ_SEED=<n> or FUZZ_SEED=random explores further
  // (by hand, watching for a hang).
  it("fail alike on misuse: bad frees and overwritten chunk headers", async () => {
    const withMisuse = fc.oneof({ weight: 12, arbitrary: opArb }, { weight: 1, arbitrary: misuseArb });
    const seed = process.env.FUZZ_SEED === "random" ? undefined : Number(process.env.FUZZ_SEED ?? MISUSE_SEED);
    await fc.assert(fc.asyncProperty(fc.array(withMisuse, { minLength: 1, maxLength: 80 }), fc.nat(), sameOnBoth), {
      numRuns: 200,
      seed,
    });
  }, 600_000);
});

/**
 * Runs the ops on twins: every result and the heap bytes agree after every op, and so do mallinfo2
 * and the statistics texts while the heap is sound (their walks would loop forever on some
 * corrupted lists, on the real glibc as on both builds).
 */
async function sameOnBoth(ops: Op[], seed: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve)); // let the test runner's messages through
  const { wasm, ts } = await bootTwins(seed);
  const a = wasm.process;
  const b = ts.process;
  const liveA: number[] = [];
  const liveB: number[] = [];
  const freedA: number[] = [];
  const freedB: number[] = [];
  let sound = true;
  for (const [n, op] of ops.entries()) {
    if (op.kind === "scribble" || op.kind === "badfree") sound = false;
    const ra = attempt(() => run(a, op, liveA, freedA, n + 1));
    const rb = attempt(() => run(b, op, liveB, freedB, n + 1));
    expect(rb, `op #${n} ${JSON.stringify(op)}`).toEqual(ra);
    if (ra instanceof Died) return; // both died alike: nothing more to compare
    if (sound) {
      // mallinfo2 reads the top chunk's size: after a foreign sbrk below it, a SIGSEGV on both
      const ma = attempt(() => a.mallinfo2());
      expect(attempt(() => b.mallinfo2()), `mallinfo2 after op #${n}`).toEqual(ma);
      if (ma instanceof Died) return;
    }
    const brk = a.sbrk(0);
    expect(b.sbrk(0)).toBe(brk);
    expectSameBytes(a.memory, b.memory, wasm.kernel.startBrk, brk, `heap after op #${n} ${JSON.stringify(op)}`);
  }
  // main_arena and mp_: bins, binmap, top, thresholds, counters
  expectSameBytes(a.memory, b.memory, MAIN_ARENA, BASELINE_DATA_END - 8, "main_arena and mp_");
  const maps = a.maps();
  expect(b.maps()).toBe(maps);
  for (const [start, end] of mappings(maps)) {
    if (start >= wasm.kernel.startBrk) expectSameBytes(a.memory, b.memory, start, end, `mapping ${start.toString(16)}`);
  }
  if (sound) {
    expect(attempt(() => b.malloc_stats())).toEqual(attempt(() => a.malloc_stats()));
    expect(attempt(() => b.malloc_info())).toEqual(attempt(() => a.malloc_info()));
  }
}
