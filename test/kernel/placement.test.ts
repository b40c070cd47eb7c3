// Top-down placement against a brute-force reference: after any sequence of mmaps and munmaps,
// a new mapping lands at the top of the highest gap below mmap_base that fits it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, PAGE, makeKernel, mapsOf } from "./helpers.js";

const MMAP_BASE = 0xf7ffe000; // aslr 0
const LOW = 0x10000;

function expectedTopdown(maps: Array<[number, number, string, string]>, len: number): number {
  const below = maps.filter(([s]) => s < MMAP_BASE).sort((a, b) => b[0] - a[0]);
  let gapEnd = MMAP_BASE;
  for (const [s, e] of below) {
    const top = Math.min(gapEnd, MMAP_BASE);
    if (top - Math.max(e, LOW) >= len) return top - len;
    gapEnd = Math.min(gapEnd, s);
  }
  return gapEnd - LOW >= len ? gapEnd - len : -1;
}

type Op = { op: "map"; pages: number; prot: number } | { op: "unmap"; pick: number; off: number; pages: number };

describe("placement: top-down, highest gap first", () => {
  it("matches a brute-force search after random maps and unmaps", () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ op: fc.constant("map" as const), pages: fc.integer({ min: 1, max: 24 }), prot: fc.integer({ min: 0, max: 3 }) }) },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant("unmap" as const),
          pick: fc.nat(),
          off: fc.integer({ min: 0, max: 8 }),
          pages: fc.integer({ min: 1, max: 16 }),
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const k = makeKernel({ aslr: 0 });
        const mine: number[] = [];
        for (const o of ops) {
          if (o.op === "map") {
            const want = expectedTopdown(mapsOf(k), o.pages * PAGE);
            expect(k.mmap(0, o.pages * PAGE, o.prot, ANON_PRIVATE, -1, 0)).toBe(want);
            mine.push(want);
          } else if (mine.length > 0) {
            const base = mine[o.pick % mine.length]!;
            expect(k.munmap(base + o.off * PAGE, o.pages * PAGE)).toBe(0);
          }
          k.verify();
        }
      }),
      { numRuns: 60 },
    );
  });
});
