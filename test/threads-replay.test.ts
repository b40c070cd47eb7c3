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
import { directive, firstDifference, formatReplay, LateThreadLineError, parseOps, replay, replayStream } from "../host/trace/index.js";

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

describe("streaming replay writes the same threads format", () => {
  const text = (name: string) => readFileSync(join(scenariosDir, `${name}.ops`));

  it.each([undefined, 33])("exit-reuse, ids given: %s", async (ids) => {
    const proc = await createProcess({ seed: 3 });
    const pieces: Uint8Array[] = [];
    const r = await replayStream(proc, [text("exit-reuse")], { checkpointEvery: 1, scenario: "exit-reuse", ids: ids === undefined ? undefined : 11, write: (b) => void pieces.push(b) });
    const body = Buffer.concat(pieces).toString("utf8");
    expect(ids === undefined ? r.header + body : body).toBe(readFileSync(join(fixturesDir, "exit-reuse.txt"), "utf8"));
    expect(r.threads).toEqual({ created: 5, live: 0, arenasSeen: 3 });
  });

  it("a thread line in a later batch: LateThreadLineError naming its line, unless the threads format was chosen", async () => {
    const first = new TextEncoder().encode(Array.from({ length: 3000 }, (_, i) => `m ${i} 10\nf ${i}\n`).join(""));
    const later = new TextEncoder().encode("T 1\nm 3000 10\n");
    const write = () => {};
    const late = replayStream(await createProcess({ seed: 4 }), [first, later], { write });
    await expect(late).rejects.toThrow(LateThreadLineError);
    await expect(late).rejects.toMatchObject({ line: 6001 });
    const pieces: Uint8Array[] = [];
    const r = await replayStream(await createProcess({ seed: 4 }), [first, later], { threads: true, checkpointEvery: 0, write: (b) => void pieces.push(b) });
    expect(r.header).toMatch(/^# replay-threads scenario=- /);
    expect(Buffer.concat(pieces).toString("utf8")).toContain("\n3000 1 0 1552 16\n");
    // without output nothing can be wrong: the threads just run
    const quiet = await replayStream(await createProcess({ seed: 4 }), [first, later]);
    expect(quiet.ops).toBe(6002);
  });

  it("threads: true prints a list without thread lines in the threads format, every block in the main arena", async () => {
    const r = replay(await createProcess({ seed: 5 }), "m 0 10\nm 1 200000\nf 0\n", { threads: true, timings: false });
    expect(formatReplay(r).split("\n").slice(1, 5)).toEqual([
      expect.stringMatching(/^0 0 0 \d+ 16$/),
      expect.stringMatching(/^# op=1 /),
      "1 M 200696", // on i386 CHUNK is the mmap length − 8
      expect.stringMatching(/^# op=2 /),
    ]);
  });
});
