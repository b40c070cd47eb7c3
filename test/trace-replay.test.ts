// The emulator against the real glibc 2.36 (i386), op by op: the four recorded traces and the
// scenario op lists replayed through createProcess() must give the oracle's output line for line
// (block offsets from the initial break, chunk sizes, mmapped or not, the break and mallinfo2 at
// every checkpoint, malloc_stats at the end) — with the Wasm allocator and with its TypeScript
// twin. Fixtures: test/fixtures/alloc (oracle/replay/regen.sh) and test/fixtures/traces.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createProcess, type ProcessOptions } from "../host/index.js";
import { directive, firstDifference, formatReplay, parseOps, replay, type OpList } from "../host/trace/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "test/fixtures/alloc");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");
const TRACES = ["python3", "sqlite3", "cmake", "git"];
const SCENARIOS = readdirSync(scenariosDir)
  .filter((f) => f.endsWith(".ops"))
  .map((f) => f.slice(0, -4))
  .sort();
const ALLOCATORS = ["wasm", "ts"] as const;

/** Which op created the ID printed on an output line, for the failure message. */
function opOfLine(list: OpList, line: string | undefined): string {
  const id = line === undefined ? NaN : Number(line.split(" ")[0]);
  if (!Number.isInteger(id)) return "";
  let seen = 0;
  for (let i = 0; i < list.length; i++) {
    if (list.kind[i] <= 3) {
      if (seen === id) return ` (op #${i + 1}: ${["m", "c", "a", "r"][list.kind[i]]} ${list.a[i]} ${list.b[i]} ${list.c[i]})`;
      seen++;
    }
  }
  return "";
}

async function expectSameAsOracle(
  list: OpList,
  expected: string,
  options: ProcessOptions,
  replayOptions: { checkpointEvery: number; alignBreak?: number },
) {
  const proc = await createProcess(options);
  const actual = formatReplay(replay(proc, list, { ...replayOptions, timings: false }));
  const diff = firstDifference(expected, actual);
  const where = diff
    ? `first difference at output line ${diff.line}${opOfLine(list, diff.expected ?? diff.actual)}:\n` +
      `  glibc:    ${diff.expected}\n  emulator: ${diff.actual}`
    : "";
  expect(diff, where).toBeNull();
}

for (const allocator of ALLOCATORS) {
  describe(`scenario op lists replay as on glibc 2.36 i386, heap checked after every call (${allocator})`, () => {
    for (const name of SCENARIOS) {
      it(name, async () => {
        const list = parseOps(readFileSync(join(scenariosDir, `${name}.ops`)));
        const expected = readFileSync(join(fixtures, `${name}.replay32.txt`), "utf8");
        await expectSameAsOracle(list, expected, { seed: 7, allocator, debug: true }, {
          checkpointEvery: directive(list, "checkpoint-every", 1),
          alignBreak: directive(list, "align-break", 0),
        });
      });
    }
  });

  describe(`recorded traces replay as on glibc 2.36 i386 (${allocator})`, () => {
    for (const [i, name] of TRACES.entries()) {
      it(name, async () => {
        const list = parseOps(gunzipSync(readFileSync(join(tracesDir, `${name}.ops.gz`))));
        const expected = gunzipSync(readFileSync(join(tracesDir, `${name}.replay32.txt.gz`))).toString("utf8");
        await expectSameAsOracle(list, expected, { seed: 100 + i, allocator }, { checkpointEvery: 10000 });
      });
    }
  });

  describe(`replay results do not depend on the layout (${allocator})`, () => {
    it("gives the same output with other seeds and without ASLR", async () => {
      const list = parseOps(readFileSync(join(scenariosDir, "thresholds.ops")));
      const expected = readFileSync(join(fixtures, "thresholds.replay32.txt"), "utf8");
      for (const seed of [1, 2, 3]) await expectSameAsOracle(list, expected, { seed, allocator }, { checkpointEvery: 1 });
      await expectSameAsOracle(list, expected, { seed: 9, aslr: 0, allocator }, { checkpointEvery: 1 });
    });
  });
}

describe("an mtrace log replays as the op list converted from it", () => {
  it("python3.mtrace.gz gives python3.replay32.txt.gz", async () => {
    const proc = await createProcess({ seed: 11 });
    const log = gunzipSync(readFileSync(join(tracesDir, "python3.mtrace.gz")));
    const expected = gunzipSync(readFileSync(join(tracesDir, "python3.replay32.txt.gz"))).toString("utf8");
    expect(firstDifference(expected, formatReplay(replay(proc, log, { timings: false })))).toBeNull();
  });
});
