import { describe, expect, it } from "vitest";
import { createProcess, M_MMAP_MAX, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_NONE } from "../../host/index.js";
import type { Process } from "../../host/process.js";

// When the break cannot grow, glibc 2.36's sysmalloc maps the memory instead
// (sysmalloc_mmap_fallback). 2.36 passes the page size and MMAP_AS_MORECORE_SIZE to it in the
// order opposite to its parameters, so: while the arena is still contiguous the size (plus the
// old top) is rounded UP to a multiple of 1 MiB; once it is not, only to a page (4 KiB at least).
//
// Expectations: oracle/replay/mmap-fallback.c built with gcc -m32 and run on the real i386
// glibc 2.36 (Debian 12). It blocks the break with a PROT_NONE MAP_FIXED page right above it,
// then prints, per malloc, the pointer's offset in the (merged) mapping that holds it, that
// mapping's length, and mallinfo2's arena, ordblks, uordblks and keepcost (the top's size).

interface Row { off: number; maplen: number; arena: number; ordblks: number; uord: number; keep: number }

/** The real program's `where`: the mapping holding p, found in /proc/self/maps. */
function where(proc: Process, p: number): Row {
  let s = 0, e = 0;
  for (const line of proc.maps().split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const x = parseInt(m[1], 16), y = parseInt(m[2], 16);
    if (p >= x && p < y) { s = x; e = y; }
  }
  const mi = proc.mallinfo2();
  return { off: p ? p - s : 0, maplen: e - s, arena: mi.arena, ordblks: mi.ordblks, uord: mi.uordblks, keep: mi.keepcost };
}

/** mode bit 0: malloc(8) before the break is blocked; bit 1: mallopt(M_MMAP_MAX, 0) first. */
async function run(allocator: "wasm" | "ts", mode: number, sizes: number[]): Promise<Row[]> {
  const proc = await createProcess({ seed: 11, allocator });
  const rows: Row[] = [];
  if (mode & 1) rows.push(where(proc, proc.malloc(8)));
  if (mode & 2) proc.mallopt(M_MMAP_MAX, 0);
  const blk = (proc.sbrk(0) + 4095) & ~4095;
  expect(proc.sys.mmap(blk, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)).toBe(blk);
  for (const n of sizes) rows.push(where(proc, proc.malloc(n)));
  return rows;
}

const row = (off: number, maplen: number, arena: number, ordblks: number, uord: number, keep: number): Row =>
  ({ off, maplen, arena, ordblks, uord, keep });

describe.each(["wasm", "ts"] as const)("malloc when the break is blocked (%s allocator)", (allocator) => {
  it("a contiguous arena's fallback is rounded up to 1 MiB with the old top counted in (./mmap-fallback 3 1100000 200 500000)", async () => {
    expect(await run(allocator, 3, [1100000, 200, 500000])).toEqual([
      row(416, 139264, 139264, 1, 424, 138840),
      row(16, 2097152, 2236416, 2, 1100472, 997128),
      row(432, 139264, 2236416, 2, 1100680, 997128),
      row(1100032, 2097152, 2236416, 2, 1600696, 497112),
    ]);
  });

  it("the first fallback maps 1 MiB; a later one, the arena no longer contiguous, only whole pages (./mmap-fallback 0 8 1000000 100000 200)", async () => {
    expect(await run(allocator, 0, [8, 1000000, 100000, 200])).toEqual([
      row(416, 1048576, 1048576, 1, 424, 1048152),
      row(432, 1048576, 1048576, 1, 1000440, 48136),
      row(16, 1282048, 1282048, 2, 1100488, 133448),
      row(1233920, 1282048, 1282048, 2, 1100696, 133448),
    ]);
  });

  it("requests above 1 MiB in a non-contiguous arena are page-rounded, not 1 MiB-rounded (./mmap-fallback 2 8 1100000 3000000)", async () => {
    expect(await run(allocator, 2, [8, 1100000, 3000000])).toEqual([
      row(416, 1048576, 1048576, 1, 424, 1048152),
      row(16, 2281472, 2281472, 2, 1100472, 132872),
      row(16, 5414912, 5414912, 3, 4100520, 133416),
    ]);
  });
});
