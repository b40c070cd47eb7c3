// tryFree predicts free(): for every free in the corruption cases (run on the real glibc 2.36:
// test/fixtures/alloc/corruption-cases.json) and in a few plain heaps, the prediction made on the
// heap before the call is compared with what the process's own free then does.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createProcess, ProcessAbort, SegmentationFault, type Process } from "../../host/index.js";
import { inspectHeap, type FreeOutcome } from "../../host/inspect/index.js";
import { runCorruptionSteps, type CorruptionCase } from "../../host/trace/index.js";
import * as M from "../../assembly/messages.js";

const fixture = JSON.parse(readFileSync(new URL("../fixtures/alloc/corruption-cases.json", import.meta.url), "utf8")) as {
  cases: CorruptionCase[];
};

/** What free(addr) really did, in tryFree's terms. */
function realFree(proc: Process, addr: number): FreeOutcome {
  try {
    proc.free(addr);
  } catch (e) {
    if (e instanceof ProcessAbort) return { kind: "abort", message: e.message };
    if (e instanceof SegmentationFault) return { kind: "segv", addr: 0 };
    throw e;
  }
  const into = inspectHeap(proc).binOf.get(addr - 8);
  return { kind: "ok", into: into ?? "elsewhere" };
}

const CONSOLIDATE_MESSAGES = [M.CONSOLIDATE_UNALIGNED_FASTBIN, M.CONSOLIDATE_INVALID_CHUNK_SIZE, M.CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS];

function compare(predicted: FreeOutcome, real: FreeOutcome, where: string): void {
  if (predicted.kind === "ok" && predicted.consolidates && real.kind === "abort" && CONSOLIDATE_MESSAGES.includes(real.message)) return;
  if (predicted.kind === "ok" && real.kind === "ok") {
    // tcache and fastbin puts keep the chunk where it is; unsorted and top may merge it.
    if (/^(tcache|fastbin)/.test(predicted.into)) expect(real.into, where).toBe(predicted.into);
    else expect(real.into, where).not.toMatch(/^(tcache|fastbin)/);
    return;
  }
  if (predicted.kind === "segv") return void expect(real.kind, where).toBe("segv");
  expect(real, where).toEqual(predicted);
}

describe("tryFree against the corruption cases", () => {
  let frees = 0;
  let aborts = 0;
  for (const c of fixture.cases) {
    it(c.name, async () => {
      for (let k = 0; k < c.steps.length; k++) {
        const s = c.steps[k];
        if (s[0] !== "f") continue;
        if (c.outcome.step !== null && k > c.outcome.step) break;
        const proc = await createProcess({ seed: 1 });
        const run = runCorruptionSteps(proc, c.steps.slice(0, k));
        if (run.step !== null) break;
        const addr = (run.blocks.get(String(s[1]))! + Number(s[2])) >>> 0;
        const predicted = inspectHeap(proc).tryFree(addr).outcome;
        const real = realFree(proc, addr);
        compare(predicted, real, `${c.name} step ${k}`);
        if (k === c.outcome.step && c.outcome.signal === "SIGABRT") {
          expect(predicted, c.name).toEqual({ kind: "abort", message: c.outcome.message });
          aborts++;
        }
        frees++;
      }
    });
  }
  it("covered many frees and glibc's aborts among them", () => {
    expect(frees).toBeGreaterThan(40);
    expect(aborts).toBeGreaterThan(10);
  });
});

describe("tryFree on plain heaps", () => {
  it("a double free in the tcache: the walk finds the chunk", async () => {
    const proc = await createProcess({ seed: 3 });
    const a = proc.malloc(24);
    proc.free(a);
    const r = inspectHeap(proc).tryFree(a);
    expect(r.outcome).toEqual({ kind: "abort", message: "free(): double free detected in tcache 2" });
    expect(r.checks.at(-1)).toEqual({ check: expect.stringMatching(/is not this chunk/), passed: false });
    expect(() => proc.free(a)).toThrow("free(): double free detected in tcache 2");
  });

  it("a pointer that is not 16-aligned is an invalid pointer", async () => {
    const proc = await createProcess({ seed: 3 });
    const a = proc.malloc(24);
    expect(inspectHeap(proc).tryFree(a + 4).outcome).toEqual({ kind: "abort", message: "free(): invalid pointer" });
    expect(() => proc.free(a + 4)).toThrow("free(): invalid pointer");
  });

  it("a pointer into unmapped memory is a SIGSEGV", async () => {
    const proc = await createProcess({ seed: 3 });
    proc.malloc(24);
    expect(inspectHeap(proc).tryFree(0x40000010).outcome.kind).toBe("segv");
    expect(() => proc.free(0x40000010)).toThrow(SegmentationFault);
  });

  it("a fastbin double free at the head: fasttop", async () => {
    const proc = await createProcess({ seed: 3 });
    const ps = Array.from({ length: 9 }, () => proc.malloc(24));
    for (const p of ps.slice(0, 8)) proc.free(p); // 7 fill tcache[1], ps[7] heads fastbin[2]
    const snap = inspectHeap(proc);
    expect(snap.tryFree(ps[8]).outcome).toEqual({ kind: "ok", into: "fastbin[2]" });
    expect(snap.tryFree(ps[6]).outcome).toEqual({ kind: "abort", message: "free(): double free detected in tcache 2" });
    expect(snap.tryFree(ps[7]).outcome).toEqual({ kind: "abort", message: "double free or corruption (fasttop)" });
    expect(() => proc.free(ps[7])).toThrow("double free or corruption (fasttop)");
  });

  it("a free next to the top merges into it; a mmapped chunk is unmapped; NULL does nothing", async () => {
    const proc = await createProcess({ seed: 3 });
    const a = proc.malloc(5000);
    const big = proc.malloc(300000);
    const snap = inspectHeap(proc);
    expect(snap.tryFree(a).outcome).toEqual({ kind: "ok", into: "top" });
    expect(snap.tryFree(big).outcome).toEqual({ kind: "ok", into: "munmap" });
    expect(snap.tryFree(0).outcome).toEqual({ kind: "noop" });
  });
});
