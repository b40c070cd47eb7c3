// The baseline behind the public API: createProcess({ allocator: "ts" }) is a process like any
// other, whose C library is the pure-TypeScript allocator.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bootProcess, type BootedProcess } from "../../host/boot.js";
import { firstDifference, formatReplay, parseOps, replay } from "../../host/trace/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** The baseline process, or null while host/process.ts does not offer it yet. */
async function bootTs(seed: number): Promise<BootedProcess | null> {
  try {
    return await bootProcess({ seed, allocator: "ts" });
  } catch (e) {
    if (/not built yet/.test((e as Error).message)) return null;
    throw e;
  }
}

describe('createProcess({ allocator: "ts" })', () => {
  it("replays a scenario as glibc 2.36 does", async (ctx) => {
    const ts = await bootTs(7);
    if (ts === null) return ctx.skip();
    const list = parseOps(readFileSync(join(root, "oracle/scenarios/thresholds.ops")));
    const expected = readFileSync(join(root, "test/fixtures/alloc/thresholds.replay32.txt"), "utf8");
    expect(firstDifference(expected, formatReplay(replay(ts.process, list, { checkpointEvery: 1, timings: false })))).toBeNull();
  });

  it("dies on heap corruption with glibc's message, and stays dead", async (ctx) => {
    const ts = await bootTs(1);
    if (ts === null) return ctx.skip();
    const p = ts.process.malloc(40);
    ts.process.free(p);
    expect(() => ts.process.free(p)).toThrow("free(): double free detected in tcache 2");
    expect(() => ts.process.malloc(1)).toThrow("free(): double free detected in tcache 2");
  });
});
