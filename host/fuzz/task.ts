// One unit of a campaign: sequence `index` of the campaign's seed, `count` ops, run in a worker
// thread or in the main thread alike. What comes back is plain data (it crosses postMessage).

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parseTrace } from "../trace/mtrace.js";
import { formatOps, MALLOPT_PARAMS } from "../trace/ops.js";
import type { Ending } from "./blocks.js";
import { checkGenerated, checkList, type Mode } from "./check.js";
import { traceWindow, mutate } from "./mutate.js";
import { parseSeq, type OpSeq } from "./ops.js";
import { type Exhaust, type ExhaustSetting, exhaustFor } from "./limits.js";
import { Prng, sequenceSeed } from "./prng.js";
import { CLASSES } from "./sizes.js";

export interface TaskSettings {
  seed: number;
  mode: Mode;
  /** An op list or mtrace log to mutate instead of generating (path), or null. */
  trace: string | null;
  /** The walls the sequences run against (limits.ts). */
  exhaust: ExhaustSetting;
}

export interface Task {
  index: number;
  count: number;
  twin: boolean;
}

export interface TaskResult {
  index: number;
  processSeed: number;
  ops: number;
  classes: number[];
  /** Allocator paths hit (debug build with coverage), and how many there are. */
  paths: number[] | null;
  pathTotal: number;
  violation: { op: number; what: string } | null;
  /** The ops up to the failing one, as op-list text (when there is a violation). */
  failing: string | null;
  twin: boolean;
  exhaust: Exhaust;
  /** Requests refused with ENOMEM; how the process died against a wall, if it did. */
  refusals: number;
  ended: Ending | null;
  /** Threads the sequence created. */
  threads: number;
}

/** A trace file (op list or mtrace, gzipped or not) as a sequence. */
export function loadTrace(path: string): OpSeq {
  const raw = readFileSync(path);
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  return parseSeq(formatOps(parseTrace(bytes)), MALLOPT_PARAMS).seq;
}

let traceCache: { path: string; seq: OpSeq } | null = null;

export async function runTask(task: Task, settings: TaskSettings): Promise<TaskResult> {
  const processSeed = sequenceSeed(settings.seed, task.index);
  const exhaust = exhaustFor(settings.exhaust, task.index);
  const mode = { ...settings.mode, twin: task.twin, exhaust };
  const base = { index: task.index, processSeed, twin: task.twin, exhaust, refusals: 0, ended: null, threads: 0 };
  if (settings.trace) {
    if (traceCache?.path !== settings.trace) traceCache = { path: settings.trace, seq: loadTrace(settings.trace) };
    const seq = mutate(traceWindow(traceCache.seq, new Prng(processSeed ^ 0x5eed), task.count), processSeed);
    const v = await checkList(seq, processSeed, mode);
    return {
      ...base, ops: v ? v.op + 1 : seq.length, classes: new Array(CLASSES.length).fill(0), paths: null, pathTotal: 0,
      violation: v ? { op: v.op, what: v.what } : null, failing: v ? seq.prefix(v.op + 1).format() : null,
    };
  }
  const r = await checkGenerated(processSeed, task.count, mode);
  const v = r.violation;
  return {
    ...base, ops: r.ops, classes: Array.from(r.classes), paths: r.paths, pathTotal: r.pathNames?.length ?? 0, refusals: r.refusals, ended: r.ended, threads: r.threads,
    violation: v ? { op: v.op, what: v.what } : null, failing: v ? r.seq.prefix(v.op + 1).format() : null,
  };
}
