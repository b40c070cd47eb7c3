// What one sequence is checked against, as a mode: the executor's own checks (always), the
// pure-TypeScript twin in lockstep, the debug build's whole-heap checker, and the real glibc
// (the oracle). One function runs a generated sequence, another replays a list (the shrinker's
// and `--replay`'s), both returning the first violation.
//
// A sequence with threads goes to the threads oracle (oracle.ts): the real replayer's output and
// the emulator's replay of the same list in the threads format (host/trace, what `ptmalloc-wasm
// replay` prints) must be the same, line by line; the replay runs on a fresh process with the
// sequence's seed, so its addresses must also be the ones the checked run got.

import { bootProcess } from "../boot.js";
import type { Process } from "../process.js";
import type { Thread } from "../threads.js";
import { firstDifference, formatReplay, replay } from "../trace/replay.js";
import { Violation } from "./blocks.js";
import type { Arch } from "./arch.js";
import type { Caller, Target } from "./executor.js";
import type { Exhaust } from "./limits.js";
import { isThreadOp, type OpSeq } from "./ops.js";
import { compareLines, ORACLE_ALIGN_BREAK, realMachine, runOracle, runThreadsOracle } from "./oracle.js";
import { runGenerated, runList, type SequenceConfig, type SequenceResult } from "./sequence.js";
import type { Profile } from "./sizes.js";

export interface Mode {
  profile: Profile;
  /** The processes' ABI (default i386); the oracles must be the matching builds. */
  arch?: Arch;
  twin: boolean;
  debug: boolean;
  deepEvery: number;
  infoEvery: number;
  /** The oracle replayer's path, or null. */
  oracle: string | null;
  /** The threads oracle's replayer (for sequences with threads when `oracle` is set), or null. */
  threadsOracle?: string | null;
  /** Up to this many live threads besides the main one in generated sequences (0: none). */
  threads?: number;
  /**
   * What get_nprocs() returns in the processes. Default: with the oracle, this machine's (the
   * caller sets it); else 2, or with threads 1, 2 or 4 by the process seed (nprocsFor).
   */
  nprocs?: number;
  /** Tests: wrap the process in a deliberately broken target. */
  wrap?: (proc: Process) => Target;
  /** Tests: wrap each thread in a deliberately broken one. */
  wrapThread?: (thread: Thread) => Caller;
  /** The wall the processes run against (limits.ts; never with the oracle). */
  exhaust?: Exhaust;
}

/** The nprocs of a sequence of process seed `seed`: the mode's, else with threads 1, 2 or 4 (the arena limit 3, 4 or 8). */
export function nprocsFor(mode: Mode, seed: number): number {
  return mode.nprocs ?? ((mode.threads ?? 0) > 0 ? [1, 2, 4][seed % 3] : 2);
}

function hasThreads(seq: OpSeq): boolean {
  for (let i = 0; i < seq.length; i++) if (isThreadOp(seq.kind[i])) return true;
  return false;
}

function sequenceConfig(mode: Mode, seed: number, threaded: boolean): SequenceConfig {
  const base: SequenceConfig = {
    profile: mode.profile, arch: mode.arch, twin: mode.twin, debug: mode.debug, deepEvery: mode.deepEvery, infoEvery: mode.infoEvery, wrap: mode.wrap,
    wrapThread: mode.wrapThread, exhaust: mode.oracle ? "none" : mode.exhaust, threads: mode.threads ?? 0, nprocs: nprocsFor(mode, seed),
  };
  if (!mode.oracle) return base;
  // the threads oracle reads the whole output, not the -x lines
  return { ...base, ...realMachine(), xlines: !threaded, oracleSafe: true, alignBreak: ORACLE_ALIGN_BREAK };
}

/** The oracle's verdict on a sequence our checks passed: a Violation at the first difference. */
function againstOracle(bin: string, seq: OpSeq, lines: string[], endInfo: string | null, ourViolation: Violation | null): Violation | null {
  const real = runOracle(bin, seq);
  if (ourViolation) {
    // both died: the same message at the same op is the real glibc's behaviour too
    const ours = /^the process died: abort: (.*)$/.exec(ourViolation.what)?.[1];
    if (ours && real.died === "SIGABRT" && real.lines.length === ourViolation.op && real.stderr.includes(ours)) {
      return new Violation(ourViolation.op, `${ourViolation.what} (the real glibc aborts alike)`);
    }
    return ourViolation;
  }
  const diff = compareLines(seq, lines, real.lines);
  if (diff) return new Violation(diff.op, `differs from the real glibc at op ${diff.op} (${seq.line(diff.op)}): ours "${diff.ours}", glibc "${diff.theirs}"`);
  if (real.died) return new Violation(seq.length - 1, `the real glibc died of ${real.died} (${real.stderr}) where we did not`);
  if (endInfo !== null && real.endInfo !== null && endInfo !== real.endInfo) {
    return new Violation(seq.length - 1, `mallinfo2 at the end differs from the real glibc: ours ${endInfo}, glibc ${real.endInfo}`);
  }
  return null;
}

/**
 * The op whose output holds line `line` (1-based) of a threads-format text with a checkpoint after
 * every op: a block, thread or mallopt line, or the checkpoint that closes the op, is op `done`
 * (0-based) when `done` checkpoints come before it; the end lines are the last op's.
 */
function opOfLine(text: string, line: number, ops: number): number {
  const lines = text.split("\n");
  let done = 0;
  for (let n = 0; n < line - 1 && n < lines.length; n++) if (lines[n].startsWith("# op=")) done++;
  return Math.max(0, Math.min(ops - 1, done));
}

/** `nprocs=N` of a threads-format header line. */
function headerNprocs(text: string): string {
  return /^# replay-threads .* nprocs=(-?\d+) /.exec(text)?.[1] ?? "?";
}

/**
 * The threads oracle's verdict on a sequence: its output against the emulator's replay of the
 * same list (a fresh process, the same seed and options), and that replay's addresses against
 * the ones the checked run got (`addrs`, per ID). `invalid`: the real replayer refused the list
 * (a shrunk candidate it cannot run), which is no verdict.
 */
async function againstThreadsOracle(
  bin: string, seq: OpSeq, seed: number, config: SequenceConfig, addrs: Float64Array, ourViolation: Violation | null,
): Promise<{ violation: Violation | null; invalid: boolean }> {
  const text = seq.format();
  const real = runThreadsOracle(bin, text);
  const realOps = (real.text.match(/^# op=/gm) ?? []).length;
  if (ourViolation) {
    const ours = /^the process died: abort: (.*)$/.exec(ourViolation.what)?.[1];
    if (ours && real.signal === "SIGABRT" && realOps === ourViolation.op && real.stderr.includes(ours)) {
      return { violation: new Violation(ourViolation.op, `${ourViolation.what} (the real glibc aborts alike)`), invalid: false };
    }
    return { violation: ourViolation, invalid: false };
  }
  if (real.signal) {
    const op = Math.min(realOps, seq.length - 1);
    return { violation: new Violation(op, `the real glibc died of ${real.signal} at op ${op} (${real.stderr}) where we did not`), invalid: false };
  }
  if (real.status !== 0) return { violation: null, invalid: true };
  const booted = await bootProcess({
    seed, arch: config.arch, nprocs: config.nprocs, debug: config.debug, ramBytes: config.ramBytes, swapBytes: config.swapBytes, overcommit: config.overcommit,
  });
  const result = replay(booted.process, text, { threads: true, scenario: "fuzz", checkpointEvery: 1, alignBreak: ORACLE_ALIGN_BREAK, timings: false });
  for (let id = 0; id < result.ids && id < addrs.length; id++) {
    if (result.made[id] && result.addr[id] !== addrs[id]) {
      throw new Error(`fuzz: the threads-format replay put ID ${id} at 0x${result.addr[id].toString(16)}, the checked run at 0x${addrs[id].toString(16)} (the same seed and calls must give the same addresses)`);
    }
  }
  const ours = formatReplay(result);
  if (headerNprocs(ours) !== headerNprocs(real.text)) {
    throw new Error(`fuzz: get_nprocs() answered ${headerNprocs(real.text)} in the real replayer, the emulated process has ${headerNprocs(ours)}`);
  }
  const diff = firstDifference(real.text, ours);
  if (!diff) return { violation: null, invalid: false };
  const op = opOfLine(real.text, diff.line, seq.length);
  return {
    violation: new Violation(op, `differs from the real glibc at op ${op} (${seq.line(op)}), line ${diff.line} of the threads format: ours "${diff.actual ?? "(nothing)"}", glibc "${diff.expected ?? "(nothing)"}"`),
    invalid: false,
  };
}

/** Generates `count` ops from `seed` and runs them in `mode`. */
export async function checkGenerated(seed: number, count: number, mode: Mode): Promise<SequenceResult> {
  const threaded = (mode.threads ?? 0) > 0;
  const config = sequenceConfig(mode, seed, threaded);
  const result = await runGenerated(seed, count, config);
  if (mode.oracle && threaded) {
    const bin = mode.threadsOracle;
    if (!bin) throw new Error("fuzz: --oracle with threads needs the threads oracle's replayer");
    const v = await againstThreadsOracle(bin, result.seq, seed, config, result.addrs, result.violation);
    if (v.invalid) throw new Error("fuzz: the threads oracle refused a generated sequence");
    result.violation = v.violation;
  } else if (mode.oracle) {
    result.violation = againstOracle(mode.oracle, result.seq, result.lines, result.endInfo, result.violation);
  }
  return result;
}

/** Replays `seq` (made from process seed `seed`) in `mode`: the first violation, or null. */
export async function checkList(seq: OpSeq, seed: number, mode: Mode): Promise<Violation | null> {
  const threaded = (mode.threads ?? 0) > 0 || hasThreads(seq);
  const config = sequenceConfig(mode, seed, threaded);
  const r = await runList(seq, seed, config);
  if (r.invalid) return null;
  if (mode.oracle && threaded) {
    const bin = mode.threadsOracle;
    if (!bin) throw new Error("fuzz: --oracle with threads needs the threads oracle's replayer");
    const v = await againstThreadsOracle(bin, seq, seed, config, r.addrs, r.violation);
    return v.invalid ? null : v.violation;
  }
  if (mode.oracle) return againstOracle(mode.oracle, seq, r.lines, r.endInfo, r.violation);
  return r.violation;
}
