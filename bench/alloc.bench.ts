// The allocators side by side: every workload (bench/workloads.ts and the four real-program traces)
// replayed by every peer in the same process — ptmalloc-wasm (JS-driven and in-Wasm loop), its
// pure-TypeScript twin, AssemblyScript's TLSF, wasi-libc's dlmalloc, @thi.ng/malloc, the two
// floors, and the native glibc as the reference: i386 for the i386 build, x86-64 for the x86_64
// build (the same modes in an x86_64 process), each listed after the rows it is the reference of.
//
// A workload with threads (bench/workloads.ts, threads) is replayed by the peers that run threads
// (Peer.threads): ptmalloc-wasm and its twin from JS through Process and Thread objects, and the
// native glibc on real pthreads serialized by a token; the others are skipped there, with why.
//
// Rounds are interleaved: each round runs every peer once, in an order rotated from round to
// round, so a slow spell of the machine lands on all peers alike; the report gives the median of
// the rounds and their min–max. Each run starts from a fresh allocator (new process, new
// instance), made before the timer starts. Timing is tinybench's (one iteration per task per
// round); the native replayer times itself in a process of its own and reports its duration.
//
//   node dist/bench/alloc.bench.js [--quick] [--only NAME ...]

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { Bench } from "tinybench";
import { parseOps } from "../host/trace/ops.js";
import { OP_WORDS, encodeOps, type OpsProgram } from "./ops-program.js";
import { syntheticWorkloads } from "./workloads.js";
import { repoPath } from "./peers/paths.js";
import type { Peer, PeerMemory, Runner } from "./peers/peer.js";
import { OURS64_JS, OURS64_JS_DECLARED, OURS64_WASM, OURS_JS_DECLARED, ptmalloc64Peers, ptmallocPeers } from "./peers/ptmalloc.js";
import { tlsfPeers } from "./peers/tlsf.js";
import { dlmallocPeers } from "./peers/dlmalloc.js";
import { thingPeers } from "./peers/thing.js";
import { floorPeers } from "./peers/floor.js";
import { nativePeers } from "./peers/native.js";
import { atLeast, atMost, formatGoals, type Goal } from "./goals.js";

export const TRACES = ["python3", "sqlite3", "cmake", "git"] as const;

/** Peer names the report refers to. */
export const NATIVE_I386 = "native glibc 2.36 i386";
export const NATIVE_X86_64 = "native glibc 2.36 x86-64";
export const FLOOR_JS = "floor: empty JS→Wasm call";
export const OURS_JS = "ptmalloc-wasm, JS-driven";
export const OURS_WASM = "ptmalloc-wasm, in-Wasm loop";
export const DLMALLOC_JS = "wasi-libc dlmalloc, JS-driven";
export const TWIN_LOOP = "pure-TS baseline, in-allocator loop";

export interface AllocBenchRow {
  workload: string;
  peer: string;
  mode: Peer["mode"];
  ops: number;
  nsPerOpMedian: number;
  nsPerOpMin: number;
  nsPerOpMax: number;
  runs: number;
  /** What the peer obtained: the median over the rounds (a deterministic peer reports the same every round). */
  peakBytes?: number;
  rssPeakKiB?: number;
  /**
   * A threaded workload on a peer whose threads hand a token (the native replayer): the handoffs
   * per run, and the median over the rounds of their time per op of the workload (part of nsPerOp).
   */
  handoffs?: number;
  handoffNsPerOp?: number;
}

export interface AllocBenchResult {
  rows: AllocBenchRow[];
  /**
   * The embedding path in its steady state: the simple workloads (which free all they allocate)
   * replayed again and again on one long-lived instance per JS-driven peer, as an application
   * holds one allocator. Fresh instances per run (the main rows) make V8's call sites see a new
   * Wasm function each time, which costs every Wasm peer alike several ns per call. Our two
   * JS-driven peers keep one process each for all the workloads of the section (Peer.steadyRunner).
   * Our in-Wasm loop runs here too, on a long-lived process, as the JS-driven path's reference.
   */
  embedding: AllocBenchRow[];
  /** Peers that could not run here (or could not run one workload: `workload`), with why. */
  skipped: { peer: string; reason: string; workload?: string }[];
}

export function loadTraceProgram(name: string): OpsProgram {
  const text = gunzipSync(readFileSync(repoPath("test", "fixtures", "traces", `${name}.ops.gz`)));
  return encodeOps(parseOps(text));
}

/**
 * Every peer of the suite, in the order of the report: the i386 build and its twin, then native
 * i386 glibc; the x86_64 build, then native x86-64 glibc (each reference beside its rows); the others.
 */
export function allPeers(): Peer[] {
  const native = nativePeers();
  const nativeOf = (name: string) => native.filter((p) => p.name === name);
  return [
    ...ptmallocPeers(),
    ...nativeOf(NATIVE_I386),
    ...ptmalloc64Peers(),
    ...nativeOf(NATIVE_X86_64),
    ...tlsfPeers(),
    ...dlmallocPeers(),
    ...thingPeers(),
    ...floorPeers(),
    ...native.filter((p) => p.name !== NATIVE_I386 && p.name !== NATIVE_X86_64),
  ];
}

/** The x86_64 build's peers and their i386 twins in the same mode (goals and the arch table). */
export const ARCH_PAIRS: readonly [x86_64: string, i386: string][] = [
  [OURS64_WASM, OURS_WASM],
  [OURS64_JS, OURS_JS],
  [OURS64_JS_DECLARED, OURS_JS_DECLARED],
];

/** The bound on the x86_64 build's time over the i386 build's, every workload, same run. */
export const X86_64_OVER_I386_LIMIT = 1.3;

/** Whether a row is the x86_64 build's or its reference's. */
const isX86_64Row = (r: AllocBenchRow) => r.peer.startsWith("ptmalloc-wasm x86_64") || r.peer === NATIVE_X86_64;

export interface AllocBenchOptions {
  quick?: boolean;
  /** Workload names to run (synthetic ones of bench/workloads.ts, or trace names); default: all. */
  only?: readonly string[];
  /** Peer names (or parts of names) to run; default: all. */
  peers?: readonly string[];
  /** Rounds per workload (default 7; quick: 3), after one warm-up round that is not counted. */
  rounds?: number;
  /**
   * A peer whose warm-up run of a workload took longer than this (ms) is timed in one round
   * only there (default 3000; quick: 500): @thi.ng/malloc needs ~15 s per run of mixed, cmake
   * and git, which would otherwise make the suite last many minutes.
   */
  slowRunMs?: number;
  /** Progress and notes (default: stderr). */
  log?: (s: string) => void;
  /** A progress line that is rewritten in place (default: stderr when it is a terminal). */
  progress?: (s: string) => void;
}

/** Quick runs replay the traces' first ops only (a prefix of a trace is a valid trace). */
export const QUICK_TRACE_OPS = 100_000;

/** The first `ops` ops of a program. */
export function prefixOf(program: OpsProgram, ops: number): OpsProgram {
  if (ops >= program.length) return program;
  return { words: program.words.subarray(0, ops * OP_WORDS), length: ops, ids: program.ids, threads: program.threads };
}

/** The workloads: the synthetic ones, then the real-program traces. */
function workloads(quick: boolean, only: readonly string[] | undefined): [string, () => OpsProgram][] {
  const synthetic = syntheticWorkloads(quick);
  const trace = (name: string) => (quick ? prefixOf(loadTraceProgram(name), QUICK_TRACE_OPS) : loadTraceProgram(name));
  const all: [string, () => OpsProgram][] = [
    ...synthetic.map(([name, program]): [string, () => OpsProgram] => [name, () => program]),
    ...TRACES.map((name): [string, () => OpsProgram] => [name, () => trace(name)]),
  ];
  if (!only || only.length === 0) return all;
  const unknown = only.filter((name) => !all.some(([w]) => w === name));
  if (unknown.length > 0) {
    throw new Error(`bench: no workload named ${unknown.join(", ")} (there are: ${all.map(([w]) => w).join(", ")})`);
  }
  return all.filter(([name]) => only.includes(name));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function defaultProgress(): (s: string) => void {
  if (!process.stderr.isTTY) return () => {};
  return (s) => process.stderr.write(`\r\x1b[K${s}`);
}

export async function runAllocBench(options: AllocBenchOptions = {}): Promise<AllocBenchResult> {
  const log = options.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const progress = options.progress ?? defaultProgress();
  const quick = options.quick === true;
  const rounds = options.rounds ?? (quick ? 3 : 7);
  const slowRunMs = options.slowRunMs ?? (quick ? 500 : 3000);

  const skipped: AllocBenchResult["skipped"] = [];
  const wanted = options.peers ?? [];
  const every = allPeers();
  const unmatched = wanted.filter((p) => !every.some((peer) => peer.name.includes(p)));
  if (unmatched.length > 0) {
    throw new Error(
      `bench: no peer name contains ${unmatched.map((p) => `"${p}"`).join(", ")} ` +
        `(there are: ${every.map((peer) => peer.name).join("; ")})`,
    );
  }
  const list = workloads(quick, options.only);
  const peers = every.filter((peer) => {
    if (wanted.length > 0 && !wanted.some((p) => peer.name.includes(p))) return false;
    const reason = peer.unavailable();
    if (reason !== null) {
      skipped.push({ peer: peer.name, reason });
      log(`bench: skipping ${peer.name}: ${reason}`);
      return false;
    }
    return true;
  });

  // First, while the call sites of the JS loops and of Process have seen one instance each (the
  // i386 one: the x86_64 peers stay out of this section, see ptmalloc64Peers).
  const embedding = await runEmbedding(
    peers.filter(
      (p) => (p.mode === "js" || p.mode === "floor-js" || p.name === OURS_WASM) && !ARCH_PAIRS.some(([x64]) => x64 === p.name),
    ),
    syntheticWorkloads(quick).filter(
      ([name]) => EMBEDDING_WORKLOADS.includes(name) && list.some(([w]) => w === name),
    ),
    rounds,
    log,
    progress,
  );

  // Which peers replay programs with threads, and why the others do not (asked once).
  const threadReasons = new Map<string, string | null>();
  const threadReason = async (peer: Peer): Promise<string | null> => {
    if (!threadReasons.has(peer.name)) {
      threadReasons.set(peer.name, peer.threads ? await peer.threads() : "runs one thread: the peer has no threads");
    }
    return threadReasons.get(peer.name)!;
  };

  const rows: AllocBenchRow[] = [];
  for (const [w, [name, load]] of list.entries()) {
    const program = load();
    const runs: Peer[] = [];
    for (const peer of peers) {
      const reason = program.threads > 0 ? await threadReason(peer) : null;
      if (reason === null) {
        runs.push(peer);
      } else {
        skipped.push({ peer: peer.name, reason, workload: name });
        log(`bench: skipping ${peer.name} on ${name}: ${reason}`);
      }
    }
    const runners = runs.map((peer): [Peer, Runner] => [peer, peer.runner(program)]);
    const times = new Map<string, number[]>(runs.map((p) => [p.name, []]));
    const memory = new Map<string, PeerMemory[]>(runs.map((p) => [p.name, []]));
    const handoffs = new Map<string, { count: number; ns: number }[]>(runs.map((p) => [p.name, []]));
    const started = performance.now();
    const slow = new Set<string>();
    for (let round = 0; round <= rounds; round++) {
      const warmup = round === 0;
      progress(
        `bench: [${w + 1}/${list.length}] ${name} (${program.length} ops) — ` +
          `${warmup ? "warm-up" : `round ${round}/${rounds}`} — ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      const bench = new Bench({ iterations: 1, time: 0, warmup: false, throws: true });
      // Rotate the order: round r starts with peer r mod n.
      const order = runners.map((_, i) => runners[(i + round) % runners.length]!);
      for (const [peer, runner] of order) {
        if (round > 1 && slow.has(peer.name)) continue;
        bench.add(peer.name, () => runner.run(), {
          beforeEach: () => runner.prepare(),
          afterEach: () => {
            if (warmup) return;
            if (runner.memory) memory.get(peer.name)!.push(runner.memory());
            if (runner.handoffs && program.threads > 0) handoffs.get(peer.name)!.push(runner.handoffs());
          },
        });
      }
      await bench.run();
      if (warmup) {
        for (const task of bench.tasks) if ((task.result?.latency.max ?? 0) > slowRunMs) slow.add(task.name);
        continue;
      }
      for (const task of bench.tasks) {
        const r = task.result;
        if (!r || r.error) throw r?.error ?? new Error(`bench: ${task.name} produced no result`);
        times.get(task.name)!.push(...r.latency.samples);
      }
    }
    progress("");
    log(`bench: ${name} (${program.length} ops): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const peer of runs) {
      rows.push(summarize(name, peer, program, times.get(peer.name)!, memory.get(peer.name)!, handoffs.get(peer.name)!));
    }
  }
  return { rows, embedding, skipped };
}

/** A row of the report from a peer's run times (ms) and memory figures on one workload. */
function summarize(
  workload: string,
  peer: Peer,
  program: OpsProgram,
  ms: number[],
  mem: PeerMemory[],
  handoffs: { count: number; ns: number }[] = [],
): AllocBenchRow {
  const perOp = (t: number) => (t * 1e6) / program.length;
  return {
    workload,
    peer: peer.name,
    mode: peer.mode,
    ops: program.length,
    nsPerOpMedian: perOp(median(ms)),
    nsPerOpMin: perOp(Math.min(...ms)),
    nsPerOpMax: perOp(Math.max(...ms)),
    runs: ms.length,
    ...(mem.length > 0 ? { peakBytes: median(mem.map((m) => m.peakBytes)) } : {}),
    ...(mem.length > 0 && mem[0]!.rssPeakKiB !== undefined ? { rssPeakKiB: median(mem.map((m) => m.rssPeakKiB!)) } : {}),
    ...(handoffs.length > 0
      ? { handoffs: median(handoffs.map((h) => h.count)), handoffNsPerOp: median(handoffs.map((h) => h.ns / program.length)) }
      : {}),
  };
}

/** The synthetic workloads with threads (bench/workloads.ts): only the peers that run threads replay them. */
export const THREADED_WORKLOADS = ["threads"];

/** The small phases of simple, where the JS→Wasm call is most of the cost. */
export const EMBEDDING_WORKLOADS = ["simple-16", "simple-64", "simple-256", "simple-1024"];

/**
 * Runs of each peer per round in the steady state: a run of a simple workload lasts a few ms (one
 * fifth of that in a quick run), short enough for one GC pause or timer tick to double it, and the
 * goals (allocGoals) are read from these medians.
 */
const EMBEDDING_RUNS_PER_ROUND = 5;

async function runEmbedding(
  peers: Peer[],
  list: [string, OpsProgram][],
  rounds: number,
  log: (s: string) => void,
  progress: (s: string) => void,
): Promise<AllocBenchRow[]> {
  const rows: AllocBenchRow[] = [];
  for (const [name, program] of list) {
    const runners: [Peer, Runner][] = [];
    for (const peer of peers) {
      const runner = peer.steadyRunner ? peer.steadyRunner(program) : peer.runner(program);
      await runner.prepare(); // once: every later run starts from the state the last one left
      runners.push([peer, runner]);
    }
    const times = new Map<string, number[]>(peers.map((p) => [p.name, []]));
    for (let round = 0; round <= rounds; round++) {
      progress(`bench: embedding, ${name} — ${round === 0 ? "warm-up" : `round ${round}/${rounds}`}`);
      const bench = new Bench({ iterations: EMBEDDING_RUNS_PER_ROUND, time: 0, warmup: false, throws: true });
      for (let i = 0; i < runners.length; i++) {
        const [peer, runner] = runners[(i + round) % runners.length]!;
        bench.add(peer.name, () => runner.run());
      }
      await bench.run();
      if (round === 0) continue;
      for (const task of bench.tasks) times.get(task.name)!.push(...task.result!.latency.samples);
    }
    progress("");
    log(`bench: embedding, ${name}: done`);
    for (const peer of peers) rows.push(summarize(name, peer, program, times.get(peer.name)!, []));
  }
  return rows;
}

// ── the report ───────────────────────────────────────────────────────────────

type Cell = (r: AllocBenchRow) => string;

/** One Markdown table: a row per peer, a column per workload. */
function table(rows: AllocBenchRow[], cell: Cell, keep: (r: AllocBenchRow) => boolean = () => true): string {
  const peers = [...new Set(rows.filter(keep).map((r) => r.peer))];
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const at = (w: string, p: string) => rows.find((x) => x.workload === w && x.peer === p);
  return [
    `| peer | ${workloads.join(" | ")} |`,
    `|---|${workloads.map(() => "---:").join("|")}|`,
    ...peers.map((p) => `| ${p} | ${workloads.map((w) => (at(w, p) ? cell(at(w, p)!) : "–")).join(" | ")} |`),
  ].join("\n");
}

function ns(x: number): string {
  return x >= 10_000 ? `${(x / 1000).toFixed(1)} µs` : x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function ratioTo(rows: AllocBenchRow[], reference: string): Cell {
  return (r) => {
    const ref = rows.find((x) => x.workload === r.workload && x.peer === reference);
    return ref ? `${(r.nsPerOpMedian / ref.nsPerOpMedian).toFixed(2)}×` : "–";
  };
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 2 : 1);
}

/** The goals of the suite, checked against the numbers of this run. */
export function checkGoals(
  rows: AllocBenchRow[],
  embedding: AllocBenchRow[] = [],
): { goal: string; met: boolean | null; detail: string }[] {
  const get = (w: string, p: string) => rows.find((r) => r.workload === w && r.peer === p);
  const steady = (w: string, p: string) => embedding.find((r) => r.workload === w && r.peer === p);
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const out: { goal: string; met: boolean | null; detail: string }[] = [];
  const each = (goal: string, test: (w: string) => [boolean, string] | null) => {
    const results = workloads.map((w) => [w, test(w)] as const).filter(([, t]) => t !== null);
    if (results.length === 0) return out.push({ goal, met: null, detail: "not measured in this run" });
    const missed = results.filter(([, t]) => !t![0]);
    out.push({
      goal,
      met: missed.length === 0,
      detail: missed.length === 0 ? `all ${results.length} workloads` : `missed: ${missed.map(([w, t]) => `${w} (${t![1]})`).join(", ")}`,
    });
  };
  const faster = (other: string) => (w: string): [boolean, string] | null => {
    const a = get(w, OURS_WASM), b = get(w, other);
    return a && b ? [a.nsPerOpMedian < b.nsPerOpMedian, `${ns(a.nsPerOpMedian)} vs ${ns(b.nsPerOpMedian)} ns`] : null;
  };
  each("in Wasm, faster than AS TLSF", faster("AS TLSF, in-Wasm loop"));
  each("in Wasm, faster than wasi-libc dlmalloc", faster("wasi-libc dlmalloc, in-Wasm loop"));
  each("mixed: in Wasm within 1.5× of native i386 glibc", (w) => {
    if (w !== "mixed") return null;
    const a = get(w, OURS_WASM), n = get(w, NATIVE_I386);
    return a && n ? [a.nsPerOpMedian <= 1.5 * n.nsPerOpMedian, `${(a.nsPerOpMedian / n.nsPerOpMedian).toFixed(2)}×`] : null;
  });
  each("simple 16–1024 B, embedding steady state: JS-driven ≤ 1.5× the empty JS→Wasm call", (w) => {
    if (!EMBEDDING_WORKLOADS.includes(w)) return null;
    const a = steady(w, OURS_JS), f = steady(w, FLOOR_JS);
    return a && f ? [a.nsPerOpMedian <= 1.5 * f.nsPerOpMedian, `${(a.nsPerOpMedian / f.nsPerOpMedian).toFixed(2)}×`] : null;
  });
  for (const [mode, ours, twin] of [
    ["JS-driven", OURS_JS, "pure-TS baseline, JS-driven"],
    ["in-allocator loop", OURS_WASM, TWIN_LOOP],
  ] as const) {
    each(`≥ 2× faster than the pure-TS baseline (${mode})`, (w) => {
      const a = get(w, ours), b = get(w, twin);
      return a && b ? [b.nsPerOpMedian >= 2 * a.nsPerOpMedian, `${(b.nsPerOpMedian / a.nsPerOpMedian).toFixed(2)}×`] : null;
    });
  }
  each(`x86_64 build within ${X86_64_OVER_I386_LIMIT}× of the i386 build (in-Wasm loop)`, (w) => {
    const a = get(w, OURS64_WASM), b = get(w, OURS_WASM);
    if (!a || !b) return null;
    const r = a.nsPerOpMedian / b.nsPerOpMedian;
    return [r <= X86_64_OVER_I386_LIMIT, `${r.toFixed(2)}×`];
  });
  const samePeak = (on: readonly string[], ours: string, native: string) => (w: string): [boolean, string] | null => {
    if (!on.includes(w)) return null;
    const a = get(w, ours), n = get(w, native);
    return a?.peakBytes !== undefined && n?.peakBytes !== undefined
      ? [a.peakBytes === n.peakBytes, `${a.peakBytes} vs ${n.peakBytes}`]
      : null;
  };
  each(
    "threads: peak heap+mmapped bytes through the public API equal native i386 glibc's on real threads",
    samePeak(THREADED_WORKLOADS, OURS_JS, NATIVE_I386),
  );
  each("traces: peak heap+mmapped bytes equal native i386 glibc's", samePeak(TRACES, OURS_WASM, NATIVE_I386));
  each("traces: x86_64 build's peak heap+mmapped bytes equal native x86-64 glibc's", samePeak(TRACES, OURS64_WASM, NATIVE_X86_64));
  return out;
}

/** The simple workloads whose malloc+free pair from JS has a bound (issue 11). */
export const PAIR_GOAL_WORKLOADS = ["simple-16", "simple-1024"];

/**
 * The goals of the JS→Wasm boundary, as numbers of this run (bench/goals.ts):
 *  - simple-16 and simple-1024 in the steady state (one long-lived process each): a malloc+free
 *    pair through the public API costs at most the in-Wasm loop's pair plus 1.3 × two empty
 *    JS→Wasm calls (the floor's JS loop: the same loop, an export that does nothing). A pair is
 *    two ops of the workload, so each side is 2 × its ns per op.
 *  - mixed (fresh processes, the main rows): the public API at most 1.25 × the in-Wasm loop.
 *  - large, through the public API: with writes declared (every touch through Process.touch) at
 *    most 0.5 × the native i386 glibc and 10 × wasi dlmalloc (which never gives memory back); with
 *    writes scanned (the default) at most 2 × the native i386 glibc.
 *  - every workload: the in-Wasm loop at least 3 × as fast as the twin's in-allocator loop (the
 *    same algorithm in TypeScript), 2 × on large.
 *  - every workload both builds ran: the x86_64 build's in-Wasm loop at most 1.3 × the i386
 *    build's (the cost of the 64-bit words and the window translation).
 * A goal whose rows this run lacks (--only, --peer) is left out.
 */
export function allocGoals(result: Pick<AllocBenchResult, "rows" | "embedding">): Goal[] {
  const goals: Goal[] = [];
  const steady = (w: string, p: string) => result.embedding.find((r) => r.workload === w && r.peer === p)?.nsPerOpMedian;
  for (const w of PAIR_GOAL_WORKLOADS) {
    const js = steady(w, OURS_JS), wasm = steady(w, OURS_WASM), empty = steady(w, FLOOR_JS);
    if (js === undefined || wasm === undefined || empty === undefined) continue;
    goals.push(atMost(`JS malloc+free pair <= in-Wasm pair + 1.3 x two empty calls (${w})`, 2 * js, 2 * wasm + 1.3 * 2 * empty, "ns"));
  }
  const row = (w: string, p: string) => result.rows.find((r) => r.workload === w && r.peer === p)?.nsPerOpMedian;
  const js = row("mixed", OURS_JS), wasm = row("mixed", OURS_WASM);
  if (js !== undefined && wasm !== undefined) goals.push(atMost("public API / in-Wasm loop (mixed)", js / wasm, 1.25, "×"));
  // large (128 KiB – 4 MiB blocks, mostly mmapped): what the emulated kernel costs around them.
  const native = row("large", NATIVE_I386), dl = row("large", DLMALLOC_JS);
  const declared = row("large", OURS_JS_DECLARED), scan = row("large", OURS_JS);
  if (declared !== undefined && native !== undefined) goals.push(atMost("large: public API, writes declared / native i386", declared / native, 0.5, "×"));
  if (declared !== undefined && dl !== undefined) goals.push(atMost("large: public API, writes declared / wasi dlmalloc", declared / dl, 10, "×"));
  if (scan !== undefined && native !== undefined) goals.push(atMost("large: public API, writes scanned / native i386", scan / native, 2, "×"));
  // Wasm worth its name: the in-Wasm loop against the twin's in-allocator loop, same algorithm.
  for (const w of [...new Set(result.rows.map((r) => r.workload))]) {
    const twin = row(w, TWIN_LOOP), ours = row(w, OURS_WASM);
    if (twin === undefined || ours === undefined) continue;
    const bound = w === "large" ? 2 : 3;
    goals.push(atLeast(`twin's in-allocator loop / in-Wasm loop (${w})`, twin / ours, bound, "×"));
  }
  for (const w of [...new Set(result.rows.map((r) => r.workload))]) {
    const x64 = row(w, OURS64_WASM), i386 = row(w, OURS_WASM);
    if (x64 === undefined || i386 === undefined) continue;
    goals.push(atMost(`x86_64 in-Wasm loop / i386 in-Wasm loop (${w})`, x64 / i386, X86_64_OVER_I386_LIMIT, "×"));
  }
  return goals;
}

/** Where the rounds of a threaded workload spent time handing the token between real threads. */
function handoffNotes(rows: AllocBenchRow[]): string[] {
  const withHandoffs = rows.filter((r) => r.handoffNsPerOp !== undefined && (r.handoffs ?? 0) > 0);
  if (withHandoffs.length === 0) return [];
  return [
    "\n### threads: what the native replayer's token handoffs cost (part of its ns per op)\n",
    ...withHandoffs.map((r) => {
      const h = r.handoffNsPerOp!;
      const perHandoff = (h * r.ops) / r.handoffs! / 1000;
      return (
        `- ${r.peer}, ${r.workload}: ${r.handoffs} handoffs, ${perHandoff.toFixed(1)} µs each: ` +
        `${ns(h)} of its ${ns(r.nsPerOpMedian)} ns per op (${((100 * h) / r.nsPerOpMedian).toFixed(0)} %); ` +
        `without them ${ns(r.nsPerOpMedian - h)}`
      );
    }),
  ];
}

/**
 * One pseudo-row per mode and workload that both builds ran, its "ns per op" the ratio x86_64 ÷
 * i386 (for table()); the native pair too, as what the hardware's own 64-bit malloc costs more.
 */
function archRatioRows(rows: AllocBenchRow[]): AllocBenchRow[] {
  const pairs: [string, string, string][] = [
    ...ARCH_PAIRS.map(([x64, i386]): [string, string, string] => [i386.replace("ptmalloc-wasm, ", "ptmalloc-wasm: "), x64, i386]),
    ["native glibc 2.36: x86-64 ÷ i386", NATIVE_X86_64, NATIVE_I386],
  ];
  const out: AllocBenchRow[] = [];
  for (const [label, x64, i386] of pairs) {
    for (const a of rows.filter((r) => r.peer === x64)) {
      const b = rows.find((r) => r.peer === i386 && r.workload === a.workload);
      if (b === undefined) continue;
      const ratio = a.nsPerOpMedian / b.nsPerOpMedian;
      out.push({ ...a, peer: label, nsPerOpMedian: ratio, nsPerOpMin: ratio, nsPerOpMax: ratio });
    }
  }
  return out;
}

export function formatAllocReport(result: AllocBenchResult): string {
  const { rows, embedding, skipped } = result;
  const hasNative = rows.some((r) => r.peer === NATIVE_I386);
  const hasFloor = rows.some((r) => r.peer === FLOOR_JS);
  const parts = [
    "### ns per op (median of the rounds)\n",
    table(rows, (r) => ns(r.nsPerOpMedian)),
    "\n### ns per op, min–max over the rounds\n",
    table(rows, (r) => `${ns(r.nsPerOpMin)}–${ns(r.nsPerOpMax)}`),
  ];
  if (hasNative) {
    parts.push(
      `\n### time relative to ${NATIVE_I386} (median ÷ median; the x86_64 rows in the next table)\n`,
      table(rows, ratioTo(rows, NATIVE_I386), (r) => !isX86_64Row(r)),
    );
  }
  if (rows.some((r) => r.peer === NATIVE_X86_64) && rows.some((r) => isX86_64Row(r) && r.peer !== NATIVE_X86_64)) {
    parts.push(
      `\n### the x86_64 build: time relative to ${NATIVE_X86_64}, its reference (median ÷ median)\n`,
      table(rows, ratioTo(rows, NATIVE_X86_64), isX86_64Row),
    );
  }
  const archRows = archRatioRows(rows);
  if (archRows.length > 0) {
    parts.push(
      `\n### x86_64 build ÷ i386 build, same mode, same run (median ÷ median; goal for the in-Wasm loop: ≤ ${X86_64_OVER_I386_LIMIT}×)\n`,
      table(archRows, (r) => `${r.nsPerOpMedian.toFixed(2)}×`),
    );
  }
  if (hasFloor) {
    parts.push(`\n### time relative to the ${FLOOR_JS} (median ÷ median)\n`, table(rows, ratioTo(rows, FLOOR_JS), (r) => !r.mode.startsWith("floor")));
  }
  if (embedding.length > 0) {
    parts.push(
      "\n### the embedding path, steady state: one long-lived instance per JS-driven peer (ns per op, median (min–max))\n",
      table(embedding, (r) => `${ns(r.nsPerOpMedian)} (${ns(r.nsPerOpMin)}–${ns(r.nsPerOpMax)})`),
      `\nrelative to the ${FLOOR_JS} on one instance:\n`,
      table(embedding, ratioTo(embedding, FLOOR_JS), (r) => r.mode !== "floor-js"),
    );
  }
  parts.push(
    "\n### peak memory obtained, MiB (glibc: max system + max mmap bytes; others: heap growth)\n",
    table(rows, (r) => (r.peakBytes !== undefined ? mib(r.peakBytes) : "–"), (r) => r.peakBytes !== undefined),
    "\n### peak resident set (VmHWM), MiB: the emulated process's and the native process's\n",
    table(rows, (r) => (r.rssPeakKiB !== undefined ? mib(r.rssPeakKiB * 1024) : "–"), (r) => r.rssPeakKiB !== undefined),
    ...handoffNotes(rows),
    "\n### goals\n",
    ...checkGoals(rows, embedding).map((g) => `- ${g.met === null ? "·" : g.met ? "✓" : "✗"} ${g.goal}: ${g.detail}`),
  );
  if (skipped.length > 0) {
    parts.push("\n### skipped\n", ...skipped.map((s) => `- ${s.peer}${s.workload ? ` on ${s.workload}` : ""}: ${s.reason}`));
  }
  return parts.join("\n");
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const valuesOf = (flag: string) => args.filter((_, i) => args[i - 1] === flag);
  try {
    const result = await runAllocBench({
      quick: args.includes("--quick"),
      only: [...valuesOf("--only"), ...valuesOf("--trace")],
      peers: valuesOf("--peer"),
    });
    console.log(formatAllocReport(result));
    console.log(`\n${formatGoals(allocGoals(result))}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
  }
}
