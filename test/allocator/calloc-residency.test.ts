// calloc's clearing is a memset: on Linux every page it stores into becomes resident, even
// though it stores zeros, while pages glibc knows are fresh from the kernel are not touched.

import { describe, expect, it } from "vitest";
import { createProcess, PAGE_SIZE } from "../../host/index.js";

function residentPages(proc: Awaited<ReturnType<typeof createProcess>>, addr: number, length: number): number[] {
  const start = addr & ~(PAGE_SIZE - 1);
  const pages = Math.ceil((addr + length - start) / PAGE_SIZE);
  const vec = new Uint8Array(pages);
  expect(proc.sys.mincore(start, pages * PAGE_SIZE, vec)).toBe(0);
  return Array.from(vec, (v) => v & 1);
}

for (const allocator of ["wasm", "ts"] as const) {
  describe(`calloc and demand paging (${allocator})`, () => {
    it("a recycled chunk is cleared, so all its pages become resident", async () => {
      const proc = await createProcess({ seed: 5, allocator });
      const size = 5 * PAGE_SIZE;
      const a = proc.malloc(size);
      proc.malloc(16); // keeps `a` from merging back into the top chunk
      expect(residentPages(proc, a, size).filter((r) => r === 0).length).toBeGreaterThan(3); // untouched middle
      proc.free(a);
      const c = proc.calloc(1, size);
      expect(c).toBe(a);
      expect(residentPages(proc, c, size).every((r) => r === 1)).toBe(true);
      expect(proc.read(c, size).every((b) => b === 0)).toBe(true);
    });

    it("a chunk reaching into memory the break just obtained is cleared only up to the old top", async () => {
      const proc = await createProcess({ seed: 5, allocator });
      proc.malloc(16); // the first sysmalloc: about 135 KiB of top chunk
      proc.malloc(100_000); // leaves about 38 KiB of it
      const oldTopSize = proc.mallinfo2().keepcost; // keepcost is the top chunk's size
      const oldTop = proc.sbrk(0) - oldTopSize; // the top chunk ends at the break
      const size = 60_000; // more than the top holds, less than the mmap threshold: the break grows
      const c = proc.calloc(1, size);
      expect(c - 8).toBe(oldTop);
      const resident = residentPages(proc, c, size);
      const pageOf = (addr: number) => Math.floor(addr / PAGE_SIZE) - Math.floor(c / PAGE_SIZE);
      // glibc clears csz − 4 bytes from the pointer, with csz cut to the old top's size: the
      // memset ends 4 bytes past the old top, in the first fresh page.
      const clearEnd = oldTop + oldTopSize + 4;
      expect(resident.slice(0, pageOf(clearEnd - 1) + 1).every((r) => r === 1)).toBe(true);
      // Fresh from the kernel, never stored into: the pages wholly beyond that, except the last,
      // which holds the new top chunk's header.
      expect(resident.slice(pageOf(clearEnd - 1) + 1, -1).every((r) => r === 0)).toBe(true);
      expect(resident.at(-1)).toBe(1);
      expect(proc.read(c, size).every((b) => b === 0)).toBe(true);
    });
  });
}
