// The x86_64 process against the real glibc 2.36 on x86-64, op by op: the scenario op lists and the
// four recorded traces replayed through createProcess({ arch: "x86_64" }) must give the 64-bit
// oracle's output line for line (offsets from the initial break, chunk sizes of SIZE_SZ 8, mmapped
// or not, the break and mallinfo2 at every checkpoint, malloc_stats at the end) — with the Wasm
// allocator and with its TypeScript twin. Fixtures:
// test/fixtures/alloc64 and test/fixtures/traces/*.replay64.txt.gz (oracle/replay/regen.sh, plain gcc).

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createProcess, type ProcessOptions } from "../host/index.js";
import { directive, firstDifference, formatReplay, parseOps, replay, runWalkthrough, type OpList } from "../host/trace/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "test/fixtures/alloc64");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");
const TRACES = ["python3", "sqlite3", "cmake", "git"];
// Every scenario the 64-bit oracle ran (alignment.ops is i386 only: oracle/replay/README.md).
const SCENARIOS = readdirSync(fixtures)
  .filter((f) => f.endsWith(".replay64.txt"))
  .map((f) => f.slice(0, -".replay64.txt".length))
  .sort();

/**
 * The RAM of the machine the fixtures were recorded on. calloc.ops asks for blocks of 4 GiB, 8 GiB,
 * 4 GiB and 4 GiB from op 17 on, which the real process mapped (21 GiB of untouched address
 * space): Linux's overcommit heuristic refuses a single mapping larger than RAM + swap, so with
 * the default ramBytes (1 GiB) they would fail here, as they would on a 1 GiB machine.
 */
const RECORDING_RAM_BYTES = 24 * 2 ** 30;
const ALLOCATORS = ["wasm", "ts"] as const;

async function expectSameAsOracle(
  list: OpList,
  expected: string,
  options: ProcessOptions,
  replayOptions: { checkpointEvery: number; alignBreak?: number },
) {
  const proc = await createProcess({ ...options, arch: "x86_64" });
  const actual = formatReplay(replay(proc, list, { ...replayOptions, timings: false }));
  const diff = firstDifference(expected, actual);
  const where = diff ? `first difference at output line ${diff.line}:\n  glibc:    ${diff.expected}\n  emulator: ${diff.actual}` : "";
  expect(diff, where).toBeNull();
}

describe("the 64-bit oracle's scenarios", () => {
  it("the 64-bit oracle ran every scenario but alignment", () => {
    const all = readdirSync(scenariosDir).filter((f) => f.endsWith(".ops")).map((f) => f.slice(0, -4));
    expect(all.filter((n) => !SCENARIOS.includes(n))).toEqual(["alignment"]);
  });
});

for (const allocator of ALLOCATORS) {
  describe(`scenario op lists replay as on glibc 2.36 x86-64, heap checked after every call (${allocator})`, () => {
    for (const name of SCENARIOS) {
      it(name, async () => {
        const list = parseOps(readFileSync(join(scenariosDir, `${name}.ops`)));
        const expected = readFileSync(join(fixtures, `${name}.replay64.txt`), "utf8");
        await expectSameAsOracle(list, expected, { seed: 7, allocator, debug: true, ramBytes: RECORDING_RAM_BYTES }, {
          checkpointEvery: directive(list, "checkpoint-every", 1),
          alignBreak: directive(list, "align-break", 0),
        });
      });
    }
  });

  describe(`recorded traces replay as on glibc 2.36 x86-64 (${allocator})`, () => {
    for (const [i, name] of TRACES.entries()) {
      it(name, async () => {
        const list = parseOps(gunzipSync(readFileSync(join(tracesDir, `${name}.ops.gz`))));
        const expected = gunzipSync(readFileSync(join(tracesDir, `${name}.replay64.txt.gz`))).toString("utf8");
        await expectSameAsOracle(list, expected, { seed: 200 + i, allocator }, { checkpointEvery: 10000 });
      });
    }
  });

  describe(`x86_64 replay results do not depend on the layout (${allocator})`, () => {
    it("gives the same output with other seeds and without ASLR", async () => {
      const list = parseOps(readFileSync(join(scenariosDir, "thresholds.ops")));
      const expected = readFileSync(join(fixtures, "thresholds.replay64.txt"), "utf8");
      for (const seed of [1, 2]) await expectSameAsOracle(list, expected, { seed, allocator }, { checkpointEvery: 1 });
      await expectSameAsOracle(list, expected, { seed: 9, aslr: 0, allocator }, { checkpointEvery: 1 });
    });
  });

  describe(`the walk-through on x86_64 (${allocator})`, () => {
    it("prints what walkthrough.c prints on the real x86-64 glibc: the first malloc moves the break by 135168", async () => {
      const expected = readFileSync(join(fixtures, "walkthrough64.txt"), "utf8");
      for (const aslr of [0, 2] as const) {
        const proc = await createProcess({ arch: "x86_64", seed: 5, aslr, allocator });
        expect(firstDifference(expected, runWalkthrough(proc))).toBeNull();
      }
    });
  });
}
