// The baseline against the real glibc 2.36 (i386), op by op, as test/trace-replay.test.ts checks
// the Wasm build: the four recorded traces and the scenario op lists must give the oracle's output
// line for line (offsets from the initial break, chunk sizes, mmapped or not, the break and
// mallinfo2 at every checkpoint, malloc_stats at the end).

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { firstDifference, formatReplay, parseOps, replay, type OpList } from "../../host/trace/index.js";
import { bootBaseline } from "./harness.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const fixtures = join(root, "test/fixtures/alloc");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");
const TRACES = ["python3", "sqlite3", "cmake", "git"];
const SCENARIOS = readdirSync(scenariosDir)
  .filter((f) => f.endsWith(".ops"))
  .map((f) => f.slice(0, -4))
  .sort();

function expectSameAsOracle(list: OpList, expected: string, checkpointEvery: number, seed: number, alignBreak = 0) {
  const { process } = bootBaseline({ seed });
  const actual = formatReplay(replay(process, list, { checkpointEvery, timings: false, alignBreak }));
  const diff = firstDifference(expected, actual);
  const where = diff ? `first difference at output line ${diff.line}:\n  glibc:    ${diff.expected}\n  baseline: ${diff.actual}` : "";
  expect(diff, where).toBeNull();
}

/** A scenario's directive comment ("# checkpoint-every: N", "# align-break: A"), or the default. */
function directive(list: OpList, name: string, fallback: number): number {
  for (const c of list.comments) {
    const m = new RegExp(`^${name}: *(\\d+)`).exec(c);
    if (m) return Number(m[1]);
  }
  return fallback;
}

describe("the baseline replays the scenario op lists as glibc 2.36 i386", () => {
  for (const name of SCENARIOS) {
    it(name, () => {
      const list = parseOps(readFileSync(join(scenariosDir, `${name}.ops`)));
      const expected = readFileSync(join(fixtures, `${name}.replay32.txt`), "utf8");
      expectSameAsOracle(list, expected, directive(list, "checkpoint-every", 1), 7, directive(list, "align-break", 0));
    });
  }
});

describe("the baseline replays the recorded traces as glibc 2.36 i386", () => {
  for (const [i, name] of TRACES.entries()) {
    it(name, () => {
      const list = parseOps(gunzipSync(readFileSync(join(tracesDir, `${name}.ops.gz`))));
      const expected = gunzipSync(readFileSync(join(tracesDir, `${name}.replay32.txt.gz`))).toString("utf8");
      expectSameAsOracle(list, expected, 10000, 100 + i);
    });
  }
});

describe("baseline replay results do not depend on the layout", () => {
  it("gives the same output with other seeds and without ASLR", () => {
    const list = parseOps(readFileSync(join(scenariosDir, "thresholds.ops")));
    const expected = readFileSync(join(fixtures, "thresholds.replay32.txt"), "utf8");
    for (const seed of [1, 2, 3]) expectSameAsOracle(list, expected, 1, seed);
    const { process } = bootBaseline({ seed: 9, aslr: 0 });
    expect(firstDifference(expected, formatReplay(replay(process, list, { checkpointEvery: 1 })))).toBeNull();
  });
});
