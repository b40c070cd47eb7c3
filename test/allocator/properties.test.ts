// Properties of any sequence of calls (fast-check), run on the debug build, which walks the
// whole heap after every call: blocks never overlap, keep their contents across realloc,
// are aligned to 16 (or to what memalign asked), and calloc's blocks read as zero.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeProcess } from "./harness.js";

type Op =
  | { kind: "malloc"; size: number }
  | { kind: "calloc"; size: number }
  | { kind: "memalign"; align: number; size: number }
  | { kind: "realloc"; pick: number; size: number }
  | { kind: "free"; pick: number };

const sizeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1100 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1000, max: 70000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100000, max: 600000 }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: sizeArb.map((size) => ({ kind: "malloc" as const, size })) },
  { weight: 1, arbitrary: sizeArb.map((size) => ({ kind: "calloc" as const, size })) },
  { weight: 1, arbitrary: fc.record({ align: fc.constantFrom(32, 64, 256, 4096, 65536), size: sizeArb }).map((r) => ({ kind: "memalign" as const, ...r })) },
  { weight: 2, arbitrary: fc.record({ pick: fc.nat(), size: sizeArb }).map((r) => ({ kind: "realloc" as const, ...r })) },
  { weight: 5, arbitrary: fc.nat().map((pick) => ({ kind: "free" as const, pick })) },
);

describe("any sequence of calls", () => {
  it("keeps blocks disjoint, aligned and intact, and the heap consistent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 150 }), async (ops) => {
        const { libc, memory } = await makeProcess({ debug: true });
        const live: Array<{ ptr: number; size: number; tag: number }> = [];
        let tag = 1;
        const bytes = () => new Uint8Array(memory.buffer);
        const stamp = (b: { ptr: number; size: number; tag: number }) => {
          const n = Math.min(b.size, 64);
          bytes().fill(b.tag & 0xff, b.ptr, b.ptr + n);
        };
        const intact = (b: { ptr: number; size: number; tag: number }, upTo = b.size) => {
          const n = Math.min(upTo, 64);
          const view = bytes().subarray(b.ptr, b.ptr + n);
          return view.every((v) => v === (b.tag & 0xff));
        };
        for (const op of ops) {
          if (op.kind === "free" || op.kind === "realloc") {
            if (live.length === 0) continue;
            const i = op.pick % live.length;
            const b = live[i];
            expect(intact(b)).toBe(true);
            if (op.kind === "free") {
              libc.free(b.ptr);
              live.splice(i, 1);
            } else {
              const p = libc.realloc(b.ptr, op.size);
              if (op.size === 0) {
                live.splice(i, 1);
                continue;
              }
              expect(p).not.toBe(0);
              const moved = { ptr: p, size: op.size, tag: b.tag };
              expect(intact(moved, Math.min(b.size, op.size))).toBe(true);
              moved.tag = tag++;
              stamp(moved);
              live[i] = moved;
            }
            continue;
          }
          const p =
            op.kind === "malloc" ? libc.malloc(op.size)
            : op.kind === "calloc" ? libc.calloc(1, op.size)
            : libc.memalign(op.align, op.size);
          expect(p).not.toBe(0);
          expect(p % (op.kind === "memalign" ? op.align : 16)).toBe(0);
          expect(libc.malloc_usable_size(p)).toBeGreaterThanOrEqual(op.size);
          if (op.kind === "calloc") expect(bytes().subarray(p, p + op.size).every((v) => v === 0)).toBe(true);
          for (const other of live) {
            expect(p + op.size <= other.ptr || other.ptr + other.size <= p).toBe(true);
          }
          const b = { ptr: p, size: op.size, tag: tag++ };
          stamp(b);
          live.push(b);
        }
        for (const b of live) expect(intact(b)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
