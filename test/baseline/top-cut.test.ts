// A foreign sbrk that gives back the pages holding the top chunk's header: glibc's next read of
// the top's size faults, in the Wasm build and in the twin alike (found by the differential
// property: realloc(NULL, 100000), malloc_trim(0), sbrk(-8192), then mallinfo2).
import { describe, expect, it } from "vitest";
import { createProcess } from "../../host/index.js";

const calls: Array<[string, (p: Awaited<ReturnType<typeof createProcess>>) => unknown]> = [
  ["mallinfo2", (p) => p.mallinfo2()],
  ["malloc_info", (p) => p.malloc_info()],
  ["malloc_stats", (p) => p.malloc_stats()],
  ["malloc_trim", (p) => p.malloc_trim(0)],
  ["malloc", (p) => p.malloc(200000)],
];

describe("the top chunk's header given back by a foreign sbrk", () => {
  for (const [name, call] of calls) {
    it(`${name} dies of the same SIGSEGV in both builds`, async () => {
      const ends: string[] = [];
      for (const allocator of ["wasm", "ts"] as const) {
        const p = await createProcess({ seed: 3, allocator });
        p.realloc(0, 100000);
        p.malloc_trim(0);
        p.sbrk(-8192);
        try {
          call(p);
          ends.push("returned");
        } catch (e) {
          ends.push(`${(e as Error).name}: ${(e as Error).message}`);
        }
      }
      expect(ends[0]).toMatch(/^SegmentationFault: Segmentation fault \(SEGV_MAPERR\) at 0x/);
      expect(ends[1]).toBe(ends[0]);
    });
  }
});
