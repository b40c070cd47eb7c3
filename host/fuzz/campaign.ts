// A campaign: sequences of a seed handed out to K workers (worker threads, each booting its own
// processes; with one worker the main thread runs them), until --ops are done or --seconds have
// passed. On the first violation everything stops; the failing sequence is shrunk and written as
// a repro file.

import { Worker } from "node:worker_threads";
import { checkList, nprocsFor, type Mode } from "./check.js";
import { collectGarbage } from "./gc.js";
import type { ExhaustSetting } from "./limits.js";
import { parseSeq } from "./ops.js";
import { fmtCount, Progress } from "./progress.js";
import { writeRepro } from "./repro.js";
import { shrink } from "./shrink.js";
import { CLASSES } from "./sizes.js";
import { runTask, type Task, type TaskResult, type TaskSettings } from "./task.js";

export interface CampaignOptions {
  seed: number;
  /** Stop after this many ops (null: by time only). */
  ops: number | null;
  /** Stop after this many seconds (null: by ops only). */
  seconds: number | null;
  workers: number;
  mode: Mode;
  /** The walls the sequences run against (limits.ts; "none" with the oracle). */
  exhaust: ExhaustSetting;
  /** Ops per sequence (one fresh process each). */
  sequenceOps: number;
  /** Run the twin on every N-th sequence (0: never; 1: always). */
  twinEvery: number;
  trace: string | null;
  /** Where repro files go. */
  outDir: string;
  shrinkSeconds: number;
  quiet: boolean;
  /** Where progress and the report go (stderr). */
  err: NodeJS.WriteStream;
}

export interface CampaignResult {
  ops: number;
  sequences: number;
  elapsedMs: number;
  cpuMs: number;
  violation: TaskResult | null;
  reproPath: string | null;
  shrunkOps: number;
  classes: number[];
  paths: Set<number>;
  pathTotal: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  /** Requests refused with ENOMEM; sequences the OOM killer ended, and glibc's sysmalloc assert (limits.ts). */
  refusals: number;
  kills: number;
  asserts: number;
  /** Sequences ended by pthread_create's EAGAIN against a wall; threads created in all. */
  pthreadRefusals: number;
  threads: number;
}

type Runner = { run(task: Task): Promise<TaskResult>; gc(): Promise<void>; close(): Promise<void> };

function threadRunner(settings: TaskSettings): Runner {
  const worker = new Worker(new URL("./worker.js", import.meta.url));
  worker.postMessage({ settings });
  // one request at a time: a task, or a garbage collection
  let pending: { resolve: (r: TaskResult | null) => void; reject: (e: Error) => void } | null = null;
  worker.on("message", (msg: { result?: TaskResult; error?: string; gc?: boolean }) => {
    const p = pending!;
    pending = null;
    if (msg.result) p.resolve(msg.result);
    else if (msg.gc) p.resolve(null);
    else p.reject(new Error(msg.error));
  });
  worker.on("error", (err) => pending?.reject(err));
  const request = (msg: object) => new Promise<TaskResult | null>((resolve, reject) => {
    pending = { resolve, reject };
    worker.postMessage(msg);
  });
  return {
    run: async (task) => (await request({ task }))!,
    gc: async () => void (await request({ gc: true })),
    close: async () => void (await worker.terminate()),
  };
}

function inlineRunner(settings: TaskSettings): Runner {
  return { run: (task) => runTask(task, settings), gc: async () => {}, close: async () => {} };
}

const MiB = 1024 * 1024;

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const settings: TaskSettings = { seed: o.seed, mode: o.mode, trace: o.trace, exhaust: o.mode.oracle ? "none" : o.exhaust };
  const runners: Runner[] =
    o.workers <= 1 ? [inlineRunner(settings)] : Array.from({ length: o.workers }, () => threadRunner(settings));
  const progress = new Progress(o.err, o.quiet);
  const start = Date.now();
  const cpu0 = process.cpuUsage();
  const classes = new Array<number>(CLASSES.length).fill(0);
  const paths = new Set<number>();
  let pathTotal = 0;
  let ops = 0, sequences = 0, nextIndex = 0, scheduled = 0, refusals = 0, kills = 0, asserts = 0, pthreadRefusals = 0, threads = 0;
  let violation: TaskResult | null = null;
  // RSS of the whole process (main thread and workers). The start is taken after the first round
  // (every worker has booted and run a sequence), the end after the last one, both with no
  // sequence running and after a full collection in every thread, before the workers stop (which
  // would give their memory back); the maximum is sampled as each sequence ends.
  let rssStart = 0, rssEnd = 0, rssMax = 0;
  const settledRss = async (): Promise<number> => {
    // twice, a moment apart: V8 frees the backing stores of dead buffers (a process's memory)
    // on a background thread after the collection that found them dead
    for (let round = 0; round < 2; round++) {
      await Promise.all(runners.map((r) => r.gc()));
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return process.memoryUsage().rss / MiB;
  };
  const reach = () => (pathTotal > 0 ? `paths ${paths.size}/${pathTotal}` : `classes ${classes.filter((c) => c > 0).length}/${CLASSES.length}`);
  const timeUp = () => o.seconds !== null && Date.now() - start >= o.seconds * 1000;

  const nextTask = (): Task | null => {
    if (violation || timeUp()) return null;
    let count = o.sequenceOps;
    if (o.ops !== null) {
      count = Math.min(count, o.ops - scheduled);
      if (count <= 0) return null;
    }
    scheduled += count;
    const index = nextIndex++;
    return { index, count, twin: o.twinEvery > 0 && index % o.twinEvery === 0 };
  };

  const ticker = setInterval(() => progress.update({ ops, violations: violation ? 1 : 0, reach: reach(), elapsedMs: Date.now() - start }), 250);
  /** Runs up to `limit` tasks on `runner`. */
  const work = async (runner: Runner, limit: number): Promise<void> => {
    for (let n = 0; n < limit; n++) {
      const task = nextTask();
      if (!task) return;
      const r = await runner.run(task);
      ops += r.ops;
      sequences++;
      refusals += r.refusals;
      if (r.ended === "oom") kills++;
      if (r.ended === "assert") asserts++;
      if (r.ended === "pthread") pthreadRefusals++;
      threads += r.threads;
      for (let i = 0; i < r.classes.length; i++) classes[i] += r.classes[i];
      if (r.paths) for (const p of r.paths) paths.add(p);
      pathTotal = Math.max(pathTotal, r.pathTotal);
      rssMax = Math.max(rssMax, process.memoryUsage().rss / MiB);
      if (r.violation && !violation) violation = r;
    }
  };
  try {
    await Promise.all(runners.map((runner) => work(runner, 1)));
    rssStart = await settledRss();
    await Promise.all(runners.map((runner) => work(runner, Infinity)));
    rssEnd = await settledRss();
  } finally {
    clearInterval(ticker);
    await Promise.all(runners.map((r) => r.close()));
  }
  const elapsedMs = Date.now() - start;
  const cpu = process.cpuUsage(cpu0);
  progress.update({ ops, violations: violation ? 1 : 0, reach: reach(), elapsedMs }, true);
  progress.done();
  const result: CampaignResult = {
    ops, sequences, elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000, violation, reproPath: null, shrunkOps: 0,
    classes, paths, pathTotal, rssStartMiB: rssStart, rssEndMiB: rssEnd, rssMaxMiB: Math.max(rssMax, rssEnd), refusals, kills, asserts,
    pthreadRefusals, threads,
  };
  if (violation) await report(o, violation, result);
  return result;
}

/** Prints the failure, shrinks it and writes the repro file. */
async function report(o: CampaignOptions, v: TaskResult, result: CampaignResult): Promise<void> {
  const err = o.err;
  const arch = o.mode.arch ?? "i386";
  err.write(`fuzz: VIOLATION in sequence ${v.index} (campaign seed ${o.seed}, process seed ${v.processSeed}, ${arch === "i386" ? "" : `arch ${arch}, `}profile ${o.mode.profile}${v.twin ? ", with the twin" : ""})\n`);
  err.write(`  at op ${v.violation!.op}: ${v.violation!.what}\n`);
  const { seq } = parseSeq(v.failing!);
  const mode = { ...o.mode, twin: v.twin, exhaust: v.exhaust };
  const first = await checkList(seq, v.processSeed, mode);
  let final = seq;
  let what = v.violation!.what;
  let op = v.violation!.op;
  if (!first) {
    err.write("  (replaying the sequence alone does not fail again: written unshrunk)\n");
  } else {
    err.write(`fuzz: shrinking ${seq.length} ops …\n`);
    const s = await shrink(seq, first, (c) => checkList(c, v.processSeed, mode), o.shrinkSeconds * 1000);
    final = s.seq;
    what = s.violation.what;
    op = s.violation.op;
    err.write(`fuzz: shrunk to ${s.seq.length} ops in ${s.runs} runs${s.truncated ? " (time budget reached)" : ""}: at op ${op}: ${what}\n`);
  }
  const checks = [
    arch === "i386" ? "" : `--arch ${arch}`, o.mode.threads ? `--threads ${o.mode.threads}` : "", o.mode.oracle ? "--oracle" : "", v.twin ? "--twin" : "", o.mode.debug ? "--deep" : "",
    v.exhaust !== "none" ? `--exhaust ${v.exhaust}` : "",
  ].filter(Boolean).join(" ");
  result.reproPath = writeRepro(o.outDir, final, {
    campaignSeed: o.seed, profile: o.mode.profile, index: v.index, processSeed: v.processSeed, what, op, checks, originalOps: seq.length,
    nprocs: nprocsFor(o.mode, v.processSeed), arch,
  });
  result.shrunkOps = final.length;
  err.write(`fuzz: repro written to ${result.reproPath}\n`);
}

export function summary(r: CampaignResult): string {
  const secs = r.elapsedMs / 1000;
  const rate = r.ops / Math.max(secs, 1e-9);
  const perCpu = r.ops / Math.max(r.cpuMs / 1000, 1e-9);
  const reach = r.pathTotal > 0 ? `paths reached ${r.paths.size}/${r.pathTotal}` : `size classes reached ${r.classes.filter((c) => c > 0).length}/${CLASSES.length}`;
  const drift = ((r.rssEndMiB - r.rssStartMiB) / r.rssStartMiB) * 100;
  return (
    `fuzz: ${r.violation ? "FAILED" : "clean"}: ${r.ops} ops in ${r.sequences} sequences, ${secs.toFixed(1)} s: ` +
    `${fmtCount(rate)} ops/s (${fmtCount(perCpu)} per CPU-second), ${reach}, ` +
    `RSS ${r.rssStartMiB.toFixed(0)} → ${r.rssEndMiB.toFixed(0)} MiB (${drift >= 0 ? "+" : ""}${drift.toFixed(1)} %, max ${r.rssMaxMiB.toFixed(0)})` +
    (r.threads ? `, ${r.threads} threads created` : "") +
    (r.refusals || r.kills || r.asserts || r.pthreadRefusals
      ? `; against the walls: ${r.refusals} requests refused with ENOMEM, ${r.kills} sequence${r.kills === 1 ? "" : "s"} ended by the OOM killer, ${r.asserts} by glibc's sysmalloc assertion` +
        (r.pthreadRefusals ? `, ${r.pthreadRefusals} by pthread_create's EAGAIN` : "")
      : "")
  );
}
