// Chunks the allocator reaches by its own walk — the chunk after a block (realloc,
// malloc_usable_size), the aligned chunk inside memalign's block, the top after a trim, the
// mapping's start of an mmapped chunk, the heap walked by the checker — sit on pages a foreign
// munmap or mprotect may have taken away. glibc's access there faults; the Wasm build checks
// every such load and store against the kernel's page map, and the twin must die of the same
// SIGSEGV at the same address, not read zeros or write into a hole.
import { describe, expect, it } from "vitest";
import { M_TRIM_THRESHOLD } from "../../assembly/config.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../host/constants.js";
import { createProcess } from "../../host/index.js";
import type { Process } from "../../host/process.js";
import { bootTwins } from "./harness.js";

const PAGE = 4096;
const pageOf = (a: number): number => a - (a % PAGE);

/** How a call ended: its result, or the error's name and message. */
function ending(call: () => unknown): string {
  try {
    return `returned ${JSON.stringify(call())}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const SEGV = (code: string, addr: number): string =>
  `SegmentationFault: Segmentation fault (${code}) at 0x${addr.toString(16).padStart(8, "0")}`;

interface Scenario {
  name: string;
  /** Sets the heap up, takes pages away; returns the call that meets them and the address it faults at. */
  setup(p: Process): { call: () => unknown; code: string; addr: number };
}

/** Two neighbouring blocks of 5000 bytes whose headers lie on different pages; the second's page unmapped. */
function neighboursWithHole(p: Process): { a: number; b: number } {
  p.malloc(1); // the tcache and the heap
  for (;;) {
    const a = p.malloc(5000);
    const b = p.malloc(5000);
    p.malloc(5000); // keeps the top away from b
    if (pageOf(a - 4) !== pageOf(b - 4) && pageOf(b - 4) !== pageOf(b + 5000)) {
      expect(p.sys.munmap(pageOf(b - 4), PAGE)).toBe(0);
      return { a, b };
    }
  }
}

const scenarios: Scenario[] = [
  {
    name: "realloc reads the next chunk's size on an unmapped page",
    setup(p) {
      const { a, b } = neighboursWithHole(p);
      return { call: () => p.realloc(a, 6000), code: "SEGV_MAPERR", addr: b - 4 };
    },
  },
  {
    name: "malloc_usable_size reads the next chunk's PREV_INUSE on an unmapped page",
    setup(p) {
      const { a, b } = neighboursWithHole(p);
      return { call: () => p.malloc_usable_size(a), code: "SEGV_MAPERR", addr: b - 4 };
    },
  },
  {
    name: "memalign writes the aligned chunk's header on a read-only page",
    setup(p) {
      p.malloc(1);
      // the top chunk at an 8192-aligned address: memalign(8192) then puts the aligned chunk's
      // header in the last bytes of the page after the top's
      const probe = p.malloc(16);
      const top = probe - 8 + 32;
      const pad = (8192 - (top % 8192)) % 8192;
      if (pad >= 32) p.malloc(pad - 8);
      else if (pad !== 0) p.malloc(pad + 8192 - 8);
      const chunk = top + (pad >= 32 || pad === 0 ? pad : pad + 8192);
      expect(chunk % 8192).toBe(0);
      expect(p.sys.mprotect(chunk + PAGE, PAGE, PROT_READ)).toBe(0);
      return { call: () => p.memalign(8192, 100), code: "SEGV_ACCERR", addr: chunk + 8192 - 4 };
    },
  },
  {
    name: "malloc_trim writes the trimmed top's header on a read-only page",
    setup(p) {
      p.mallopt(M_TRIM_THRESHOLD, 1 << 30);
      p.malloc(1);
      const a = p.malloc(100000);
      p.free(a); // into the top, which now starts at a's chunk
      const top = a - 8;
      expect(p.sys.mprotect(pageOf(top + 4), PAGE, PROT_READ)).toBe(0);
      return { call: () => p.malloc_trim(0), code: "SEGV_ACCERR", addr: top + 4 };
    },
  },
  {
    name: "free of a fake mmapped chunk reads its mapping offset on the unmapped page below",
    setup(p) {
      const at = p.sys.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      expect(p.sys.munmap(at, PAGE)).toBe(0);
      p.write(at + PAGE, [0x02, 0x10, 0, 0]); // size 4096 | IS_MMAPPED, at the page's start
      return { call: () => p.free(at + PAGE + 4), code: "SEGV_MAPERR", addr: at + PAGE - 4 };
    },
  },
];

describe("a chunk the allocator walks to, on a page taken away", () => {
  for (const s of scenarios) {
    it(`${s.name}: the same SIGSEGV in both builds`, async () => {
      const ends: string[] = [];
      let expected = "";
      for (const allocator of ["wasm", "ts"] as const) {
        const p = await createProcess({ seed: 11, allocator });
        const { call, code, addr } = s.setup(p);
        expected = SEGV(code, addr);
        ends.push(ending(call));
      }
      expect(ends[0]).toBe(expected);
      expect(ends[1]).toBe(ends[0]);
    });
  }

  it("the whole-heap checker reads a chunk header on an unmapped page: the same SIGSEGV in both builds", async () => {
    const { wasm, ts, wasmExports } = await bootTwins(11);
    const ends: string[] = [];
    for (const [proc, check] of [
      [wasm.process, () => wasmExports.check_malloc_state()],
      [ts.process, () => ts.allocator.exports.check_malloc_state()],
    ] as const) {
      const { b } = neighboursWithHole(proc);
      expect(ending(check)).toBe(SEGV("SEGV_MAPERR", b - 4));
      ends.push(ending(check));
    }
    expect(ends[1]).toBe(ends[0]);
  });
});
