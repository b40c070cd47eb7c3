// The x86_64 build of the allocator wired to its kernel by hand (harness.ts), below the public
// API: the scenario op lists and the recorded traces give the real x86-64 glibc 2.36's output
// line for line (offsets from the initial break, chunk sizes, mmapped or not, mallinfo2 at every
// checkpoint, malloc_stats at the end), addresses are 64-bit VAs in the program's window, and an
// access outside every window is the process's fault.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { SegmentationFault } from "../../host/errors.js";
import { MINSIZE } from "../../host/generated/config-x86_64.js";
import { makeProcess } from "./harness.js";
import { replayOps } from "./replay-ops.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = join(root, "test/fixtures/alloc64");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");

// The RAM of the machine the fixtures were recorded on: calloc.ops maps 4 and 8 GiB blocks, which
// Linux's overcommit heuristic lets through only with more RAM + swap than that.
const process64 = (debug: boolean) => makeProcess({ arch: "x86_64", debug, ramBytes: 24 * 2 ** 30 });

/** The directive `# name: value` of an op list, or its default. */
function directive(ops: string, name: string, otherwise: number): number {
  const m = new RegExp(`^# ${name}[:=] *(\\d+)`, "m").exec(ops);
  return m ? Number(m[1]) : otherwise;
}

/** The oracle's output without its header line. */
const body = (text: string) => text.split("\n").filter((l, i) => l !== "" && !(i === 0 && l.startsWith("# replay")));

function expectSame(actual: string[], expected: string[]) {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) expect(`line ${i + 1}: ${actual[i]}`).toBe(`line ${i + 1}: ${expected[i]}`);
  }
  expect(actual.length).toBe(expected.length);
}

describe("the x86_64 build, wired to its kernel by hand", () => {
  it("returns 64-bit addresses in the program's window, 16-aligned, with x86-64 chunk sizes", async () => {
    const p = await process64(true);
    const a = p.libc.malloc(24);
    const b = p.libc.malloc(25);
    expect(a).toBeGreaterThan(0x555555554000);
    expect(a % 16).toBe(0);
    expect(a - p.brk0).toBe(672); // after the tcache struct's chunk (0x290)
    expect(p.sizeField(a)).toBe(MINSIZE | 1);
    expect(p.sizeField(b)).toBe(48 | 1);
    expect(p.libc.malloc_usable_size(a)).toBe(24);
    expect(p.curBrk() - p.brk0).toBe(135168);
    const big = p.libc.malloc(200000);
    expect(big).toBeGreaterThan(0x7f0000000000);
    expect(p.sizeField(big) & 2).toBe(2);
    p.libc.free(big);
    p.libc.free(a);
    expect(p.libc.malloc(24)).toBe(a); // from the tcache
    expect(p.libc.malloc(-1)).toBe(0);
    expect(p.libc.errno).toBe(12);
  });

  it("ends the process at an access where nothing is mapped, outside every window", async () => {
    const p = await process64(false);
    const a = p.libc.malloc(24);
    const b = p.libc.malloc(24);
    p.libc.free(a);
    p.libc.free(b);
    // b's tcache next (safe-linked with b's own address >> 12) made to point far away
    const far = 0x100000000000;
    const mangled = BigInt(far) ^ BigInt(Math.floor(b / 4096));
    const w = new BigUint64Array(p.memory.buffer, p.kernel.vaToOffset(b), 1);
    w[0] = mangled;
    expect(p.libc.malloc(24)).toBe(b); // the bin's head is now `far`
    let fault: unknown;
    try {
      p.libc.malloc(24);
    } catch (err) {
      fault = err;
    }
    expect(fault).toBeInstanceOf(SegmentationFault);
    expect((fault as SegmentationFault).code).toBe("SEGV_MAPERR");
    expect((fault as SegmentationFault).addr).toBe(far);
  });

  const scenarios = readdirSync(fixtures)
    .filter((f) => f.endsWith(".replay64.txt"))
    .map((f) => f.slice(0, -".replay64.txt".length))
    .sort();
  for (const name of scenarios) {
    it(`replays ${name}.ops as glibc 2.36 x86-64 does`, async () => {
      const ops = readFileSync(join(scenariosDir, `${name}.ops`), "utf8");
      const expected = readFileSync(join(fixtures, `${name}.replay64.txt`), "utf8");
      const p = await process64(true);
      const actual = replayOps(p, ops, directive(ops, "checkpoint-every", 1), true, directive(ops, "align-break", 0));
      expectSame(actual, body(expected));
    });
  }

  for (const name of ["python3", "sqlite3", "cmake", "git"]) {
    it(`replays the ${name} trace as glibc 2.36 x86-64 does`, async () => {
      const ops = gunzipSync(readFileSync(join(tracesDir, `${name}.ops.gz`))).toString("utf8");
      const expected = gunzipSync(readFileSync(join(tracesDir, `${name}.replay64.txt.gz`))).toString("utf8");
      const p = await process64(false);
      expectSame(replayOps(p, ops), body(expected));
    }, 120_000);
  }
});
