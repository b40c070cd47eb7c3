// The threads oracle's fixtures, replayed: every scenario of oracle/threads/scenarios, run on a
// fresh process with the CPU count and the checkpoint interval its directives give, must print
// exactly what the real glibc 2.36 (i386) printed under real pthreads (test/fixtures/threads),
// byte for byte — each block's arena, heap, offset and chunk size, which stack each thread got,
// mallinfo2 after every op, malloc_stats at the end — on both allocators.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProcess } from "../host/index.js";
import { directive, firstDifference, formatReplay, parseOps, replay } from "../host/trace/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const scenariosDir = join(root, "oracle/threads/scenarios");
const fixturesDir = join(root, "test/fixtures/threads");
const scenarios = readdirSync(scenariosDir)
  .filter((f) => f.endsWith(".ops"))
  .map((f) => f.slice(0, -4))
  .sort();

/** The replay output of scenario `name` on a fresh process with allocator `allocator`. */
async function replayScenario(name: string, allocator: "wasm" | "ts", seed: number): Promise<string> {
  const list = parseOps(readFileSync(join(scenariosDir, `${name}.ops`)));
  const proc = await createProcess({ seed, allocator, nprocs: directive(list, "nprocs", 2) });
  const result = replay(proc, list, { checkpointEvery: directive(list, "checkpoint-every", 1), scenario: name, timings: false });
  return formatReplay(result);
}

describe.each(["wasm", "ts"] as const)("allocator %s: every threads scenario prints what glibc 2.36 printed", (allocator) => {
  it("has a fixture for each scenario", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(21);
  });

  it.each(scenarios)("%s", async (name) => {
    const expected = readFileSync(join(fixturesDir, `${name}.txt`), "utf8");
    const actual = await replayScenario(name, allocator, 7);
    const diff = firstDifference(expected, actual);
    expect(diff, diff === null ? "" : `first difference at line ${diff.line}`).toBeNull();
  });
});

describe("the threaded output does not depend on where ASLR put things", () => {
  it.each(["exit-reuse", "stack-cache", "random-mix-a"])("%s with three seeds", async (name) => {
    const outputs = await Promise.all([1, 2, 3].map((seed) => replayScenario(name, "wasm", seed)));
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  });
});
