// Every corruption below aborts the real i386 glibc 2.36 with exactly this message (each scenario
// was run under gcc -m32 in a forked child, stderr captured). The same steps here must throw a
// ProcessAbort carrying the same text. Then: where glibc loops forever on a cyclic list, the
// process ends with ProcessHang and the host goes on; and docs/attacks.md shows every case of
// oracle/replay/corruption.cases with the real outcome and ours, as measured here.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as H from "../../assembly/hangs.js";
import * as M from "../../assembly/messages.js";
import { ProcessAbort, ProcessHang, SegmentationFault } from "../../host/errors.js";
import type { Process } from "../../host/process.js";
import { createProcess } from "../../host/boot.js";
import { runCorruptionSteps, type CorruptionCase } from "../../host/trace/corruption.js";
import { attacksTable, attacksTableIn, glibcOutcomeText, KNOWN_DIFFERENCES, runOutcomeText } from "../helpers/corruption-outcome.js";
import { makeProcess, type TestProcess } from "./harness.js";

type Scenario = (p: TestProcess, word: (addr: number, value?: number) => number) => void;

async function expectAbort(message: string, scenario: Scenario, debug = false): Promise<void> {
  const p = await makeProcess({ debug });
  const word = (addr: number, value?: number) => {
    const view = new Uint32Array(p.memory.buffer, addr, 1);
    if (value !== undefined) view[0] = value;
    return view[0];
  };
  let thrown: unknown = null;
  try {
    scenario(p, word);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ProcessAbort);
  expect((thrown as ProcessAbort).message).toBe(message);
  expect((thrown as ProcessAbort).signal).toBe("SIGABRT");
}

describe("double frees", () => {
  it("a second free of a chunk in the tcache is found by its key", () =>
    expectAbort(M.FREE_TCACHE_DOUBLE_FREE, ({ libc }) => {
      const a = libc.malloc(16);
      libc.free(a);
      libc.free(a);
    }));

  it("a second free of the chunk at the top of a fastbin (tcache bin full)", () =>
    expectAbort(M.DOUBLE_FREE_FASTTOP, ({ libc }) => {
      const v = Array.from({ length: 8 }, () => libc.malloc(16));
      for (let i = 0; i < 7; i++) libc.free(v[i]);
      libc.free(v[7]);
      libc.free(v[7]);
    }));

  it("a second free of a chunk in the unsorted bin: its successor's PREV_INUSE is clear", () =>
    expectAbort(M.DOUBLE_FREE_PREV, ({ libc }) => {
      const a = libc.malloc(2000);
      libc.malloc(16);
      libc.free(a);
      libc.free(a);
    }));

  it("a second free of a chunk merged into the top: its size is now the top's, not a multiple of 16", () =>
    expectAbort(M.FREE_INVALID_SIZE, ({ libc }) => {
      const a = libc.malloc(2000);
      libc.free(a);
      libc.free(a);
    }));
});

describe("bad pointers and sizes given to free and realloc", () => {
  it("a pointer that is not 16-aligned", () =>
    expectAbort(M.FREE_INVALID_POINTER, ({ libc }) => libc.free(libc.malloc(16) + 4)));

  it("a size below MINSIZE", () =>
    expectAbort(M.FREE_INVALID_SIZE, ({ libc }, word) => {
      const p = libc.malloc(16);
      word(p - 4, 8 | 1);
      libc.free(p);
    }));

  it("a size that runs past the chunk's real successor", () =>
    expectAbort(M.DOUBLE_FREE_PREV, ({ libc }, word) => {
      const p = libc.malloc(16);
      word(p - 4, 0x3000 | 1);
      libc.free(p);
    }));

  it("an mmapped chunk whose prev_size does not lead back to a page", () =>
    expectAbort(M.MUNMAP_CHUNK_INVALID_POINTER, ({ libc }, word) => {
      const p = libc.malloc(200000);
      word(p - 8, 4);
      libc.free(p);
    }));

  it("realloc of a misaligned pointer", () =>
    expectAbort(M.REALLOC_INVALID_POINTER, ({ libc }) => libc.realloc(libc.malloc(16) + 4, 100)));
});

describe("corrupted heap metadata found by malloc", () => {
  it("a top chunk larger than the arena's system memory", () =>
    expectAbort(M.MALLOC_CORRUPTED_TOP_SIZE, ({ libc }, word) => {
      const p = libc.malloc(12);
      word(p + 12, 0xfffffff1);
      libc.malloc(2000);
    }));

  it("a fastbin chunk whose size belongs to another fastbin, at consolidation", () =>
    expectAbort(M.CONSOLIDATE_INVALID_CHUNK_SIZE, ({ libc }, word) => {
      const v = Array.from({ length: 9 }, () => libc.malloc(24));
      libc.malloc(16);
      for (let i = 0; i < 8; i++) libc.free(v[i]);
      word(v[7] - 4, 0x41);
      libc.malloc(2000);
    }));

  it("an unsorted chunk whose fd was overwritten", () =>
    expectAbort(M.MALLOC_UNSORTED_CORRUPTED, ({ libc }, word) => {
      const a = libc.malloc(2000);
      libc.malloc(16);
      libc.free(a);
      word(a, 0x1234560);
      libc.malloc(3000);
    }));

  it("an unsorted chunk whose size points past the heap", () =>
    expectAbort(M.MALLOC_INVALID_NEXT_SIZE_UNSORTED, ({ libc }, word) => {
      const a = libc.malloc(2000);
      libc.malloc(16);
      libc.free(a);
      word(a - 4, 0x20000 | 1);
      libc.malloc(3000);
    }));

  it("a prev_size that disagrees with the previous chunk's size, when coalescing", () =>
    expectAbort(M.CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING, ({ libc }, word) => {
      const a = libc.malloc(2000);
      const b = libc.malloc(2000);
      libc.malloc(16);
      libc.free(a);
      word(b - 8, 999);
      libc.free(b);
    }));
});

describe("glibc's assert()s, active in its release build", () => {
  it("a large-bin chunk flagged NON_MAIN_ARENA, met while sorting another chunk into its bin", () =>
    expectAbort(M.ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA, ({ libc }, word) => {
      const a = libc.malloc(2000);
      libc.malloc(16);
      const b = libc.malloc(2010);
      libc.malloc(16);
      libc.free(a);
      libc.malloc(3000);
      libc.free(b);
      word(a - 4, word(a - 4) | 4);
      libc.malloc(3000);
    }));

  it("a binned chunk whose size shrank below the request, found through the binmap", () =>
    expectAbort(M.ASSERT_INT_MALLOC_SIZE, ({ libc }, word) => {
      const a = libc.malloc(2000);
      libc.malloc(16);
      libc.free(a);
      libc.malloc(3000);
      word(a - 4, 0x101);
      libc.malloc(1500);
    }));
});

describe("the debug build's whole-heap checker", () => {
  it("stays quiet on a healthy heap", async () => {
    const p = await makeProcess({ debug: true });
    const v: number[] = [];
    for (let i = 0; i < 500; i++) v.push(p.libc.malloc((i * 37) % 3000));
    for (let i = 0; i < 500; i += 2) p.libc.free(v[i]);
    for (let i = 0; i < 200; i++) v.push(p.libc.malloc((i * 53) % 1500));
    expect(() => p.exports.check_malloc_state()).not.toThrow();
  });

  it("reports a free chunk whose foot disagrees with its size", async () => {
    const p = await makeProcess({ debug: true });
    const a = p.libc.malloc(2000);
    const b = p.libc.malloc(2000);
    p.libc.malloc(16);
    p.libc.free(a);
    new Uint32Array(p.memory.buffer, b - 8, 1)[0] = 1000;
    expect(() => p.exports.check_malloc_state()).toThrow(M.CHECK_MALLOC_STATE_FAILED);
    expect(p.exports.check_failure()).toBe(7);
  });
});

// ── hangs ─────────────────────────────────────────────────────────────────────────────────────

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const corruption = JSON.parse(readFileSync(join(root, "test/fixtures/alloc/corruption-cases.json"), "utf8")) as { cases: CorruptionCase[] };

/** Fills the tcache bin of 32-byte chunks, then frees a, b, a into the fastbin: a cycle a -> b -> a. */
function cyclicFastbin(p: Process): void {
  const t = Array.from({ length: 7 }, () => p.malloc(24));
  const a = p.malloc(24);
  const b = p.malloc(24);
  p.malloc(24);
  for (const x of t) p.free(x);
  p.free(a);
  p.free(b);
  p.free(a);
}

describe("where glibc loops forever, the process hangs and the host does not", () => {
  for (const allocator of ["wasm", "ts"] as const) {
    for (const [call, run, message] of [
      ["mallinfo2", (p: Process) => p.mallinfo2(), H.MALLINFO2_CYCLIC_FASTBIN],
      ["malloc_stats", (p: Process) => p.malloc_stats(), H.MALLOC_STATS_CYCLIC_FASTBIN],
      ["malloc_info", (p: Process) => p.malloc_info(), H.MALLOC_INFO_CYCLIC_FASTBIN],
    ] as const) {
      it(`${allocator}: ${call} on a cyclic fastbin ends in ProcessHang, with no signal, and the process stays dead`, async () => {
        const p = await createProcess({ seed: 3, allocator });
        cyclicFastbin(p);
        const started = performance.now();
        let thrown: unknown = null;
        try {
          run(p);
        } catch (e) {
          thrown = e;
        }
        expect(performance.now() - started).toBeLessThan(1000);
        expect(thrown).toBeInstanceOf(ProcessHang);
        expect((thrown as ProcessHang).message).toBe(message);
        expect((thrown as ProcessHang).signal).toBeNull();
        expect(() => p.malloc(16)).toThrow(thrown as Error);
        expect(() => p.free(0)).toThrow(thrown as Error);
      });
    }

    it(`${allocator}: long lists without a cycle are walked to their end (no false hang)`, async () => {
      const p = await createProcess({ seed: 3, allocator });
      // 7 chunks fill the tcache bin; 1000 more go to one fastbin, kept apart by guards
      const t = Array.from({ length: 7 }, () => p.malloc(24));
      const fast: number[] = [];
      for (let i = 0; i < 1000; i++) {
        fast.push(p.malloc(24));
        p.malloc(40);
      }
      // 700 chunks beyond the tcache's sizes wait in the unsorted bin (the 4 of 40 bytes keep them apart)
      const big: number[] = [];
      for (let i = 0; i < 700; i++) {
        big.push(p.malloc(1100 + 16 * (i % 60)));
        p.malloc(40);
      }
      for (const x of t) p.free(x);
      for (const x of fast) p.free(x);
      for (const x of big) p.free(x);
      const mi = p.mallinfo2();
      expect(mi.smblks).toBe(1000);
      expect(mi.ordblks).toBe(701); // the unsorted chunks and top
      expect(p.malloc_info()).toContain('<size from="17" to="32" total="32000" count="1000"/>');
      // sorting them into large bins and searching those bins' nextsize lists: no false hang either
      expect(p.malloc(5000)).not.toBe(0);
      for (let i = 0; i < 60; i++) expect(p.malloc(1100 + 16 * i)).not.toBe(0);
    });
  }
});

// ── docs/attacks.md ───────────────────────────────────────────────────────────────────────────

describe("docs/attacks.md", () => {
  it("lists every corruption case with the real glibc's outcome and ours, as measured (UPDATE_ATTACKS_DOC=1 rewrites it)", async () => {
    const classes = { ProcessAbort, SegmentationFault, ProcessHang };
    const ours = new Map<string, { wasm: string; ts: string }>();
    for (const c of corruption.cases) {
      const texts: string[] = [];
      for (const allocator of ["wasm", "ts"] as const) {
        const run = runCorruptionSteps(await createProcess({ seed: 5, allocator }), c.steps);
        const text = runOutcomeText(c, run, classes);
        const same = text === glibcOutcomeText(c) && JSON.stringify(run.seen) === JSON.stringify(c.outcome.seen ?? []);
        const known = KNOWN_DIFFERENCES[c.name];
        texts.push(same ? "same" : `differs${known ? ` (${known.split(":")[0]})` : ""}: ${text}`);
      }
      ours.set(c.name, { wasm: texts[0], ts: texts[1] });
    }
    const table = attacksTable(corruption.cases, (c) => ours.get(c.name)!);
    const path = join(root, "docs/attacks.md");
    const doc = readFileSync(path, "utf8");
    const current = attacksTableIn(doc);
    expect(current, "docs/attacks.md has the table's markers").not.toBeNull();
    if (process.env.UPDATE_ATTACKS_DOC === "1" && current !== table) writeFileSync(path, doc.replace(current!, table));
    else expect(current).toBe(table);
    // and only the documented cases differ
    const differing = [...ours].filter(([, o]) => o.wasm !== "same" || o.ts !== "same").map(([n]) => n);
    expect(differing.sort()).toEqual(Object.keys(KNOWN_DIFFERENCES).sort());
  }, 60_000);
});
