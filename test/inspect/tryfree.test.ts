// tryFree predicts free(): for every free in the corruption cases (run on the real glibc 2.36:
// test/fixtures/alloc/corruption-cases.json) and in a few plain heaps, the prediction made on the
// heap before the call is compared with what the process's own free then does.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createProcess, ProcessAbort, SegmentationFault, type Process } from "../../host/index.js";
import { inspectHeap, type FreeOutcome } from "../../host/inspect/index.js";
import { runCorruptionSteps, type CorruptionCase, type CorruptionTarget } from "../../host/trace/index.js";
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
    if (e instanceof SegmentationFault) return { kind: "segv", addr: e.addr };
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
  expect(real, where).toEqual(predicted);
}

/**
 * The process as runCorruptionSteps drives it, except that every free is first predicted by
 * tryFree on the heap as it is, then done for real; each pair is recorded.
 */
function predictingFrees(proc: Process, pairs: [FreeOutcome, FreeOutcome][]): CorruptionTarget {
  return {
    malloc: (n) => proc.malloc(n),
    calloc: (n, s) => proc.calloc(n, s),
    memalign: (a, n) => proc.memalign(a, n),
    realloc: (p, n) => proc.realloc(p, n),
    free: (addr) => {
      const predicted = inspectHeap(proc).tryFree(addr).outcome;
      const real = realFree(proc, addr);
      pairs.push([predicted, real]);
      if (real.kind === "abort") throw new ProcessAbort(real.message);
      if (real.kind === "segv") throw new Error("SIGSEGV");
    },
    read: (a, n) => proc.read(a, n),
    write: (a, b) => proc.write(a, b),
    sbrk: (n) => proc.sbrk(n),
    mallinfo2: () => proc.mallinfo2(),
    malloc_stats: () => proc.malloc_stats(),
    malloc_info: () => proc.malloc_info(),
    malloc_trim: (pad) => proc.malloc_trim(pad),
    sys: proc.sys,
  };
}

describe("tryFree against the corruption cases", () => {
  let frees = 0;
  let aborts = 0;
  for (const c of fixture.cases) {
    it(c.name, async () => {
      const proc = await createProcess({ seed: 1 });
      const pairs: [FreeOutcome, FreeOutcome][] = [];
      // Only the frees matter here: run up to the last free before the step where glibc ends
      // (or hangs: a cycle it walks without a bound).
      const end = c.outcome.step ?? c.steps.length - 1;
      let last = -1;
      for (let k = 0; k <= end && k < c.steps.length; k++) if (c.steps[k][0] === "f" && !(c.outcome.hang && k === end)) last = k;
      const steps = c.steps.slice(0, last + 1);
      const run = runCorruptionSteps(predictingFrees(proc, pairs), steps);
      for (const [k, [predicted, real]] of pairs.entries()) compare(predicted, real, `${c.name}, free ${k + 1}`);
      frees += pairs.length;
      if (c.outcome.signal === "SIGABRT" && run.step === c.outcome.step && c.steps[run.step][0] === "f") {
        expect(pairs.at(-1)![0], c.name).toEqual({ kind: "abort", message: c.outcome.message });
        aborts++;
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

  it("a link into an unmapped page faults where glibc's load through it does", async () => {
    const proc = await createProcess({ seed: 3 });
    const a = proc.malloc(0x500);
    const b = proc.malloc(0x500);
    proc.malloc(24); // keeps b off the top
    proc.free(a); // unsorted: b's backward neighbour, free
    proc.write(a, [0x10, 0, 0, 0x40]); // a->fd = 0x40000010: nothing is mapped there
    const predicted = inspectHeap(proc).tryFree(b).outcome;
    expect(predicted).toEqual({ kind: "segv", addr: 0x4000001c }); // unlink's load of fd->bk
    expect(realFree(proc, b)).toEqual(predicted);
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
