// The threads oracle's x86-64 fixtures (test/fixtures/threads64: oracle/threads/replay-threads.c
// built without -m32, real pthreads on the real x86-64 glibc 2.36), replayed: every scenario of
// oracle/threads/scenarios on a fresh createProcess({ arch: "x86_64" }) with the CPU count and the
// checkpoint interval its directives give must print what the real process printed, byte for
// byte — each block's arena (8 × nprocs of them), heap (64 MiB, 48-byte heap_info), offset and
// chunk size, which stack each thread got, mallinfo2 after every op, malloc_stats at the end.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProcess } from "../host/index.js";
import { directive, firstDifference, formatReplay, parseOps, replay } from "../host/trace/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const scenariosDir = join(root, "oracle/threads/scenarios");
const fixturesDir = join(root, "test/fixtures/threads64");
const scenarios = readdirSync(fixturesDir)
  .filter((f) => f.endsWith(".txt"))
  .map((f) => f.slice(0, -4))
  .sort();

/**
 * The RAM of the machine the fixtures were recorded on: first-call-free's malloc(4294967295) is
 * mmapped by the real process (4 GiB + 4 KiB), which Linux's overcommit heuristic allows only
 * with more RAM + swap than that (the default ramBytes, 1 GiB, refuses it as a 1 GiB machine would).
 */
const RECORDING_RAM_BYTES = 24 * 2 ** 30;

/** The fixture of `name`. */
function expectedOutput(name: string): string {
  return readFileSync(join(fixturesDir, `${name}.txt`), "utf8");
}

/** The replay output of scenario `name` on a fresh x86_64 process. */
async function replayScenario(name: string, seed: number): Promise<string> {
  const list = parseOps(readFileSync(join(scenariosDir, `${name}.ops`)));
  const proc = await createProcess({ arch: "x86_64", seed, nprocs: directive(list, "nprocs", 2), ramBytes: RECORDING_RAM_BYTES });
  const result = replay(proc, list, { checkpointEvery: directive(list, "checkpoint-every", 1), scenario: name, timings: false });
  return formatReplay(result);
}

describe("x86_64: every threads scenario prints what glibc 2.36 printed", () => {
  it("has a fixture for each scenario", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(21);
  });

  it.each(scenarios)("%s", async (name) => {
    const expected = expectedOutput(name);
    const actual = await replayScenario(name, 7);
    const diff = firstDifference(expected, actual);
    expect(diff, diff === null ? "" : `first difference at line ${diff.line}`).toBeNull();
  });
});

describe("x86_64: the threaded output does not depend on where ASLR put things", () => {
  it.each(["exit-reuse", "stack-cache", "limit-nprocs4"])("%s with three seeds", async (name) => {
    const outputs = await Promise.all([1, 2, 3].map((seed) => replayScenario(name, seed)));
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  });
});
