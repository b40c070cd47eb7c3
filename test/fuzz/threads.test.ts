// The fuzzer with threads (--threads K): fixed-seed threaded slices run clean on the Wasm build
// with the TypeScript twin in lockstep and against the real glibc's threads oracle where gcc -m32
// exists; a broken thread and a planted difference in the real output are caught, shrunk and
// written as repro files whose T/E lines replay; edited lists keep their thread lines valid.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCampaign } from "../../host/fuzz/campaign.js";
import { checkGenerated, checkList, type Mode } from "../../host/fuzz/check.js";
import { type Caller, Executor } from "../../host/fuzz/executor.js";
import { BASELINE_DATA_END, MAIN_ARENA } from "../../host/baseline/layout.js";
import { fuzzMain } from "../../host/fuzz/main.js";
import { K, type OpSeq, parseSeq, without } from "../../host/fuzz/ops.js";
import { oracleBinary, oracleUnavailable, realNprocs, threadsOracleBinary } from "../../host/fuzz/oracle.js";
import { reproNprocs, reproSeed } from "../../host/fuzz/repro.js";
import { runGenerated } from "../../host/fuzz/sequence.js";
import type { Thread } from "../../host/threads.js";
import { MALLOPT_PARAMS, parseOps } from "../../host/trace/ops.js";
import { capture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "fuzz-threads-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (over: Partial<Mode> = {}): Mode => ({
  profile: "mixed", twin: false, debug: false, deepEvery: 0, infoEvery: 64, oracle: null, threads: 4, ...over,
});

function count(seq: OpSeq, kind: number): number {
  let n = 0;
  for (let i = 0; i < seq.length; i++) if (seq.kind[i] === kind) n++;
  return n;
}

/**
 * A thread whose malloc, on the thread's 4th call, returns the block of its 2nd (the real call
 * still happens): a block overlapping a live one, found only with threads.
 */
function overlappingThreadMalloc(thread: Thread): Caller {
  let calls = 0;
  let second = 0;
  const t: Partial<Caller> = {
    malloc(size: number): number {
      const p = thread.malloc(size);
      calls++;
      if (calls === 2) second = p;
      return calls === 4 && second !== 0 ? second : p;
    },
  };
  for (const key of ["calloc", "realloc", "reallocarray", "free", "memalign", "aligned_alloc", "posix_memalign", "valloc", "pvalloc", "malloc_usable_size"] as const) {
    (t as Record<string, unknown>)[key] = (thread[key] as (...a: unknown[]) => unknown).bind(thread);
  }
  Object.defineProperty(t, "errno", { get: () => thread.errno, set: (v: number) => (thread.errno = v) });
  return t as Caller;
}

describe("threaded sequences", () => {
  it("create, switch and exit threads, free across threads and set the arena limits", async () => {
    const r = await runGenerated(11, 6000, { profile: "mixed", threads: 4, nprocs: 2 });
    expect(r.violation?.what ?? null).toBeNull();
    const seq = r.seq;
    expect(r.threads).toBeGreaterThan(5);
    expect(count(seq, K.EXIT)).toBeGreaterThan(2);
    expect(count(seq, K.THREAD)).toBeGreaterThan(r.threads);
    let arenaOpts = 0;
    for (let i = 0; i < seq.length; i++) if (seq.kind[i] === K.MALLOPT && (seq.a[i] === -8 || seq.a[i] === -7)) arenaOpts++;
    expect(arenaOpts).toBeGreaterThan(0);
    // a block freed by a thread other than the one that made it
    const madeBy = new Map<number, number>();
    let current = 0, cross = 0;
    for (let i = 0; i < seq.length; i++) {
      const k = seq.kind[i];
      if (k === K.THREAD) current = seq.a[i];
      else if (k === K.EXIT) current = 0;
      else if (k <= K.PVALLOC) madeBy.set(seq.a[i], current);
      else if (k === K.FREE && madeBy.get(seq.a[i]) !== current) cross++;
    }
    expect(cross).toBeGreaterThan(50);
    // the list is what the trace parser (ptmalloc-wasm replay) reads, thread lines included
    expect(parseOps(seq.format()).length).toBe(seq.length);
  });

  it("draw exactly the same ops as before threads existed when --threads is 0", async () => {
    const a = await runGenerated(11, 3000, { profile: "mixed" });
    const b = await runGenerated(11, 3000, { profile: "mixed", threads: 0 });
    expect(b.seq.format()).toBe(a.seq.format());
    expect(count(a.seq, K.THREAD) + count(a.seq, K.EXIT)).toBe(0);
  });

  it("run clean in a campaign, the twin in lockstep on every sequence (nprocs 1, 2, 4 by sequence)", async () => {
    const err = capture();
    const r = await runCampaign({
      seed: 20261208, ops: 12000, seconds: null, workers: 1, mode: mode({ threads: 6 }), exhaust: "none", sequenceOps: 4000, twinEvery: 1,
      trace: null, outDir: dir, shrinkSeconds: 30, quiet: true, err: err.stream,
    });
    expect(r.violation, err.text()).toBeNull();
    expect(r.ops).toBe(12000);
    expect(r.threads).toBeGreaterThan(20);
  });

  it("run against the walls, the twin in lockstep: pthread_create's EAGAIN ends a sequence, never a finding", async () => {
    // (fuzz --seed 77 --profile adversarial --threads 8 --twin found the twin booted without the
    // overcommit mode: under vm.overcommit_memory 2 its heaps shrank another way and the twin parted)
    const err = capture();
    const r = await runCampaign({
      seed: 77, ops: 8000, seconds: null, workers: 1, mode: mode({ threads: 8, profile: "adversarial" }), exhaust: "mix", sequenceOps: 1000, twinEvery: 1,
      trace: null, outDir: dir, shrinkSeconds: 30, quiet: true, err: err.stream,
    });
    expect(r.violation, err.text()).toBeNull();
    expect(r.pthreadRefusals).toBeGreaterThan(0);
    expect(r.refusals).toBeGreaterThan(0);
  });

  it("catch a thread's malloc that returns a live block, shrink it and write a repro whose T lines replay", async () => {
    const err = capture();
    const r = await runCampaign({
      seed: 5, ops: 4000, seconds: null, workers: 1, mode: mode({ profile: "tiny", wrapThread: overlappingThreadMalloc }), exhaust: "none", sequenceOps: 2000,
      twinEvery: 0, trace: null, outDir: dir, shrinkSeconds: 60, quiet: true, err: err.stream,
    });
    expect(r.violation).not.toBeNull();
    const caught = /overlapping live block|gave a block of \d+ usable bytes/;
    expect(r.violation!.violation!.what).toMatch(caught);
    const text = readFileSync(r.reproPath!, "utf8");
    const { seq, comments } = parseSeq(text, MALLOPT_PARAMS);
    // a thread, its four mallocs (the 2nd still live) and little else
    expect(count(seq, K.THREAD)).toBeGreaterThanOrEqual(1);
    expect(seq.length).toBeLessThanOrEqual(10);
    expect(comments.some((c) => /^reproduce: .*--nprocs \d|^reproduce: .*replay FILE --seed \d+\)$/.test(c))).toBe(true);
    expect(parseOps(text).length).toBe(seq.length);
    const seed = reproSeed(comments)!;
    const m = mode({ threads: 0, nprocs: reproNprocs(comments)! });
    expect((await checkList(seq, seed, { ...m, wrapThread: overlappingThreadMalloc }))?.what).toMatch(caught);
    expect(await checkList(seq, seed, m)).toBeNull();
    // and `fuzz --replay` takes the file
    const out = capture();
    expect(await fuzzMain(["--replay", r.reproPath!], out.stream)).toBe(0);
    expect(out.text()).toMatch(/clean/);
  });
});

describe("the twin", () => {
  it("boots knowing what the Wasm build was told: its static data (get_nprocs(), the overcommit mode) are the same bytes", async () => {
    const ex = await Executor.create({ seed: 5, twin: true, exhaust: "commit", nprocs: 3 });
    const ours = new Uint8Array(ex.proc.memory.buffer, MAIN_ARENA, BASELINE_DATA_END - MAIN_ARENA);
    const twins = new Uint8Array(ex.twin!.memory.buffer, MAIN_ARENA, BASELINE_DATA_END - MAIN_ARENA);
    expect(Buffer.from(twins).equals(Buffer.from(ours))).toBe(true);
  });
});

describe("edited lists keep their thread lines valid", () => {
  it("drop a thread's later lines with the T that created it, renumber the threads that remain", () => {
    const { seq } = parseSeq(["T 1", "m 0 10", "T 2", "m 1 20", "T 1", "f 0", "E 1", "T 3", "f 1", "E 2", "E 3", ""].join("\n"));
    const cut = without(seq, (i) => i === 0);
    expect(cut.format()).toBe(["m 0 10", "T 1", "m 1 20", "f 0", "T 2", "f 1", "E 1", "E 2", ""].join("\n"));
    expect(() => parseSeq(cut.format())).not.toThrow();
    expect(without(seq, (i) => i === 6).format()).toContain("T 1\nf 0\nT 3");
    expect(() => parseSeq("T 2\n")).toThrow(/the next new thread is 1/);
    expect(() => parseSeq("T 1\nE 1\nT 1\n")).toThrow(/thread 1 has exited/);
    expect(() => parseSeq("E 0\n")).toThrow(/main thread/);
  });
});

const bin = oracleBinary() && threadsOracleBinary();

describe.skipIf(!bin)(`threaded sequences against the real glibc${bin ? "" : ` (skipped: ${oracleUnavailable})`}`, () => {
  const nprocs = realNprocs() ?? 2;
  const oracleMode = (over: Partial<Mode> = {}) => mode({ oracle: oracleBinary(), threadsOracle: threadsOracleBinary(), nprocs, ...over });

  it("agree on every line of the threads format: arenas, heaps, offsets, thread lines, mallinfo2 after every op, malloc_stats", async () => {
    for (const seed of [31, 32]) {
      const r = await checkGenerated(seed, 2500, oracleMode());
      expect(r.violation?.what ?? null, `seed ${seed}`).toBeNull();
      expect(r.threads, `seed ${seed}`).toBeGreaterThan(3);
      expect(count(r.seq, K.SBRK) + count(r.seq, K.MMAP), "no system calls: the threads replayer runs the C library only").toBe(0);
    }
  });

  it("catch a planted difference in the real output, naming the op, and shrink it", async () => {
    // the real replayer, with one block's chunk size changed on its way out
    const liar = join(dir, "lying-replay-threads");
    writeFileSync(liar, `#!/bin/sh\n"${threadsOracleBinary()}" "$@" | awk '!done && /^[0-9]+ [1-9][0-9]* [0-9]+ [0-9]+ [0-9]+$/ { $5 = $5 + 16; done = 1 } { print }'\n`);
    chmodSync(liar, 0o755);
    const m = oracleMode({ threadsOracle: liar });
    const r = await checkGenerated(31, 1500, m);
    expect(r.violation?.what).toMatch(/^differs from the real glibc at op \d+ \(\w .*\), line \d+ of the threads format: ours "\d+ 1 0 \d+ \d+", glibc/);
    const err = capture();
    const c = await runCampaign({
      seed: 31, ops: 1500, seconds: null, workers: 1, mode: m, exhaust: "none", sequenceOps: 1500, twinEvery: 0,
      trace: null, outDir: dir, shrinkSeconds: 60, quiet: true, err: err.stream,
    });
    expect(c.violation).not.toBeNull();
    const { seq } = parseSeq(readFileSync(c.reproPath!, "utf8"), MALLOPT_PARAMS);
    // a thread and its first block in its arena: a handful of ops
    expect(seq.length).toBeLessThanOrEqual(6);
    expect(count(seq, K.THREAD)).toBe(1);
  });

  it("refuse a process whose get_nprocs() is not the real one", async () => {
    await expect(checkGenerated(31, 200, oracleMode({ nprocs: nprocs + 1 }))).rejects.toThrow(/get_nprocs\(\) answered \d+ in the real replayer, the emulated process has \d+/);
  });
});
