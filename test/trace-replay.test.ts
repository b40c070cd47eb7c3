// The emulator against the real glibc 2.36 (i386), op by op: the four recorded traces and the
// scenario op lists replayed through createProcess() must give the oracle's output line for line
// (block offsets from the initial break, chunk sizes, mmapped or not, the break and mallinfo2 at
// every checkpoint, malloc_stats at the end). Fixtures: test/fixtures/alloc (oracle/replay/regen.sh).

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { firstDifference, formatReplay, parseOps, replay, type OpList, type ReplayTarget } from "../host/trace/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "test/fixtures/alloc");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");
const TRACES = ["python3", "sqlite3", "cmake", "git"];
const SCENARIOS = readdirSync(scenariosDir)
  .filter((f) => f.endsWith(".ops"))
  .map((f) => f.slice(0, -4))
  .sort();

type CreateProcess = (options?: { seed?: number; debug?: boolean }) => Promise<ReplayTarget>;
let createProcess: CreateProcess | null = null;
let loadError: unknown = null;

beforeAll(async () => {
  try {
    const api = (await import("../host/index.js")) as { createProcess?: CreateProcess };
    if (typeof api.createProcess !== "function") throw new Error("host/index.ts does not export createProcess");
    createProcess = api.createProcess;
  } catch (e) {
    loadError = e;
  }
});

/** `debug`: the allocator's debug build, which checks the whole heap after every call. */
async function freshProcess(seed: number, debug = false): Promise<ReplayTarget> {
  if (createProcess === null) {
    throw new Error(`createProcess() from host/index.js is not available yet: ${String((loadError as Error)?.message ?? loadError)}`);
  }
  return createProcess({ seed, debug });
}

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
  checkpointEvery: number,
  seed: number,
  alignBreak = 0,
  debug = false,
) {
  const proc = await freshProcess(seed, debug);
  const result = replay(proc, list, { checkpointEvery, timings: false, alignBreak });
  const actual = formatReplay(result);
  const diff = firstDifference(expected, actual);
  const where = diff
    ? `first difference at output line ${diff.line}${opOfLine(list, diff.expected ?? diff.actual)}:\n` +
      `  glibc:    ${diff.expected}\n  emulator: ${diff.actual}`
    : "";
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

describe("scenario op lists replay as on glibc 2.36 i386, heap checked after every call", () => {
  for (const name of SCENARIOS) {
    it(name, async () => {
      const list = parseOps(readFileSync(join(scenariosDir, `${name}.ops`)));
      const expected = readFileSync(join(fixtures, `${name}.replay32.txt`), "utf8");
      const every = directive(list, "checkpoint-every", 1);
      await expectSameAsOracle(list, expected, every, 7, directive(list, "align-break", 0), true);
    });
  }
});

describe("recorded traces replay as on glibc 2.36 i386", () => {
  for (const [i, name] of TRACES.entries()) {
    it(name, async () => {
      const list = parseOps(gunzipSync(readFileSync(join(tracesDir, `${name}.ops.gz`))));
      const expected = gunzipSync(readFileSync(join(tracesDir, `${name}.replay32.txt.gz`))).toString("utf8");
      await expectSameAsOracle(list, expected, 10000, 100 + i);
    });
  }
});

describe("an mtrace log replays as the op list converted from it", () => {
  it("python3.mtrace.gz gives python3.replay32.txt.gz", async () => {
    const proc = await freshProcess(11);
    const log = gunzipSync(readFileSync(join(tracesDir, "python3.mtrace.gz")));
    const expected = gunzipSync(readFileSync(join(tracesDir, "python3.replay32.txt.gz"))).toString("utf8");
    expect(firstDifference(expected, formatReplay(replay(proc, log, { timings: false })))).toBeNull();
  });
});

describe("replay results do not depend on the layout", () => {
  it("gives the same output with other seeds and without ASLR", async () => {
    const list = parseOps(readFileSync(join(scenariosDir, "thresholds.ops")));
    const expected = readFileSync(join(fixtures, "thresholds.replay32.txt"), "utf8");
    for (const seed of [1, 2, 3]) await expectSameAsOracle(list, expected, 1, seed);
    if (createProcess) {
      const proc = await (createProcess as (o: object) => Promise<ReplayTarget>)({ seed: 9, aslr: 0 });
      expect(firstDifference(expected, formatReplay(replay(proc, list, { checkpointEvery: 1 })))).toBeNull();
    }
  });
});
