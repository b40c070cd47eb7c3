import { describe, expect, it } from "vitest";
import { allPeers, formatAllocReport, runAllocBench } from "../../bench/alloc.bench.js";
import { OP_EXIT, OP_FREE, OP_REALLOC, OP_THREAD, OP_WORDS, encodeOps, programText, type OpsProgram } from "../../bench/ops-program.js";
import { THREADS, threadedWorkload } from "../../bench/workloads.js";
import { runNative } from "../../bench/peers/native.js";
import { ptmallocJsRunner } from "../../bench/peers/ptmalloc.js";
import { parseOps } from "../../host/trace/ops.js";

/** What a threaded program does, replayed in the abstract with the rules of docs/formats.md. */
function walk(program: OpsProgram) {
  const w = program.words;
  let current = 0;
  let created = 0;
  const exited = new Set<number>();
  const owner = new Map<number, number>(); // live block ID → the thread that allocated it
  let nextId = 0;
  let crossFrees = 0;
  let mainFreesWorkers = 0;
  let workersFreeMain = 0;
  let maxLiveWorkers = 0;
  const runs: number[] = []; // allocator ops between two thread ops
  let run = 0;
  for (let i = 0; i < program.length * OP_WORDS; i += OP_WORDS) {
    const kind = w[i]! & 0xff, a = w[i + 1]!;
    if (kind === OP_THREAD || kind === OP_EXIT) {
      if (run > 0) runs.push(run);
      run = 0;
    } else {
      run++;
    }
    if (kind === OP_THREAD) {
      if (a > created + 1) throw new Error(`op ${i / 4}: T ${a} out of order`);
      if (exited.has(a)) throw new Error(`op ${i / 4}: T ${a} after its exit`);
      if (a === created + 1) created = a;
      current = a;
      maxLiveWorkers = Math.max(maxLiveWorkers, created - exited.size);
      continue;
    }
    if (kind === OP_EXIT) {
      if (a === 0 || a > created || exited.has(a)) throw new Error(`op ${i / 4}: E ${a} of a thread not live`);
      exited.add(a);
      current = 0;
      continue;
    }
    const freed = kind === OP_FREE ? a : kind === OP_REALLOC && w[i + 2] !== 0xffffffff ? w[i + 2]! : undefined;
    if (freed !== undefined) {
      const by = owner.get(freed);
      if (by === undefined) throw new Error(`op ${i / 4}: ID ${freed} is not live`);
      if (by !== current) {
        crossFrees++;
        if (current === 0) mainFreesWorkers++;
        if (by === 0) workersFreeMain++;
      }
      owner.delete(freed);
    }
    if (kind !== OP_FREE) {
      if (a !== nextId++) throw new Error(`op ${i / 4}: ID ${a} out of order`);
      owner.set(a, current);
    }
  }
  return { created, exited: exited.size, live: owner.size, ids: nextId, crossFrees, mainFreesWorkers, workersFreeMain, maxLiveWorkers, runs, current };
}

/** The token's handoffs that bench/native/replay.c makes for a program (see its thread section). */
function expectedHandoffs(program: OpsProgram): number {
  const w = program.words;
  let current = 0;
  let created = 0;
  let handoffs = 0;
  for (let i = 0; i < program.length * OP_WORDS; i += OP_WORDS) {
    const kind = w[i]! & 0xff, n = w[i + 1]!;
    if (kind === OP_THREAD && n !== current) {
      // a new thread made from a worker: the token to the main thread (create), then to the new thread
      handoffs += n === created + 1 && current !== 0 ? 2 : 1;
      created = Math.max(created, n);
      current = n;
    } else if (kind === OP_EXIT) {
      handoffs += n === current ? 1 : 2; // the exiting thread hands it to the main thread, which joins
      current = 0;
    }
  }
  return handoffs + (current !== 0 ? 1 : 0); // the last thread tells the main thread the list is done
}

const small = (seed: number) => threadedWorkload(20_000, seed);

describe("the threaded workload", () => {
  const program = threadedWorkload();
  const facts = walk(program);

  it("keeps the op-list rules: threads numbered in order and never reused, every ID freed once, by any thread", () => {
    expect(program.threads).toBe(facts.created);
    expect(program.ids).toBe(facts.ids);
    expect(facts.live).toBe(0); // everything allocated is freed
    expect(facts.exited).toBe(facts.created); // every worker joined
    expect(facts.current).toBe(0);
  });

  it("has the shape it promises: 4 workers at once, replaced as they exit, frees across threads both ways", () => {
    expect(program.length).toBeGreaterThanOrEqual(200_000);
    expect(program.length).toBeLessThan(230_000);
    expect(facts.maxLiveWorkers).toBe(THREADS.workers);
    expect(facts.created).toBeGreaterThan(2 * THREADS.workers); // exits, and new threads in their place
    expect(facts.crossFrees / program.length).toBeGreaterThan(0.05);
    expect(facts.mainFreesWorkers).toBeGreaterThan(1000);
    expect(facts.workersFreeMain).toBeGreaterThan(1000);
    const sorted = [...facts.runs].sort((x, y) => x - y);
    const median = sorted[sorted.length >> 1]!;
    expect(median).toBeGreaterThanOrEqual(THREADS.burstMin);
    expect(median).toBeLessThanOrEqual(THREADS.burstMax);
  });

  it("is the same program for the same seed, and another for another seed", () => {
    expect(small(3).words).toEqual(small(3).words);
    expect(small(4).words).not.toEqual(small(3).words);
  });

  it("is an op list: its text parses, and encodes back to the same program", () => {
    const text = programText(small(1));
    expect(text).toMatch(/^T 1$/m);
    expect(text).toMatch(/^E \d+$/m);
    const again = encodeOps(parseOps(text), { touch: true });
    expect(again.words).toEqual(small(1).words);
    expect(again.ids).toBe(small(1).ids);
    expect(again.threads).toBe(small(1).threads);
  });
});

const native = allPeers().find((p) => p.name === "native glibc 2.36 i386")!;
const noNative = native.unavailable();

describe.skipIf(noNative !== null)("the native replayer: real pthreads, one at a time", () => {
  it("hands the token once per switch (twice to create from a worker or end another thread), as the program says", () => {
    for (const seed of [1, 2]) {
      const program = small(seed);
      const [round] = runNative("i386", program, 1);
      expect(round!.nulls).toBe(0);
      expect(round!.handoffs).toBe(expectedHandoffs(program));
      expect(round!.handoffNs).toBeGreaterThan(0);
      expect(round!.handoffNs).toBeLessThan(round!.ns);
      expect(round!.cpu).toBeGreaterThanOrEqual(0); // pinned to one CPU: one thread runs at a time
    }
  });

  it("hands the token as the program says when the main thread ends another thread, and when the list ends in a worker", () => {
    // T 1, m, T 2 (a worker creates: two handoffs), m, T 0, E 1 (main ends thread 1: two), T 2 (one), f, end in thread 2 (one)
    const words = [OP_THREAD, 1, 0, 0, 0, 0, 16, 0, OP_THREAD, 2, 0, 0, 0, 1, 32, 0, OP_THREAD, 0, 0, 0, OP_EXIT, 1, 0, 0, OP_THREAD, 2, 0, 0, OP_FREE, 0, 0, 0];
    const program: OpsProgram = { words: Uint32Array.from(words), length: words.length / 4, ids: 2, threads: 2 };
    expect(expectedHandoffs(program)).toBe(1 + 2 + 1 + 2 + 1 + 1);
    expect(runNative("i386", program, 1)[0]!.handoffs).toBe(expectedHandoffs(program));
  });

  it("gets the peak heap and mmapped bytes that ptmalloc-wasm gets through Process and Thread objects", async () => {
    for (const seed of [1, 2]) {
      const program = small(seed);
      const rounds = runNative("i386", program, 2);
      expect(rounds[1]!.peakBytes).toBe(rounds[0]!.peakBytes); // the same every run: nothing raced
      const ours = ptmallocJsRunner(program, { seed: 1, aslr: 0, nprocs: rounds[0]!.nprocs });
      await ours.prepare();
      ours.run();
      expect(ours.memory!().peakBytes).toBe(rounds[0]!.peakBytes);
    }
  });

  it("refuses a thread op in a program that says it creates no threads", () => {
    const words = [OP_THREAD, 1, 0, 0];
    expect(() => runNative("i386", { words: Uint32Array.from(words), length: 1, ids: 0, threads: 0 }, 1)).toThrow(
      /a thread op in a program that creates no threads/,
    );
  });
});

describe("the bench on the threaded workload", () => {
  it("skips the peers that run one thread, saying why, and never hands them the program", async () => {
    const program = small(1);
    const result = await runAllocBench({ quick: true, only: ["threads"], peers: ["AS TLSF", "in-Wasm loop", "in-allocator loop", "floor"], rounds: 1, log: () => {} });
    expect(result.rows).toEqual([]);
    const skipped = result.skipped.filter((s) => s.workload === "threads").map((s) => s.peer);
    expect(skipped).toContain("ptmalloc-wasm, in-Wasm loop");
    expect(skipped).toContain("pure-TS baseline, in-allocator loop");
    expect(formatAllocReport(result)).toMatch(/- ptmalloc-wasm, in-Wasm loop on threads: the replay loop inside the allocator runs one thread/);
    for (const peer of allPeers()) {
      if (peer.unavailable() !== null || (peer.threads && (await peer.threads()) === null)) continue;
      expect(() => peer.runner(program), peer.name).toThrow(/one thread/);
    }
  });

  it("runs ours through the public API and the native glibc on real threads, with the same peak bytes", async () => {
    const result = await runAllocBench({ quick: true, only: ["threads"], peers: ["ptmalloc-wasm, JS-driven", "native glibc 2.36 i386"], rounds: 1, log: () => {} });
    const ours = result.rows.find((r) => r.peer === "ptmalloc-wasm, JS-driven")!;
    expect(ours.peakBytes).toBeGreaterThan(1 << 20);
    if (noNative !== null) return;
    const nat = result.rows.find((r) => r.peer === "native glibc 2.36 i386")!;
    expect(ours.peakBytes).toBe(nat.peakBytes);
    expect(nat.handoffs).toBeGreaterThan(0);
    expect(formatAllocReport(result)).toMatch(/native glibc 2\.36 i386, threads: \d+ handoffs/);
  });
});
