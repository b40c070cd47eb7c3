// One sequence: a fresh process (and its twin), ops generated from a seed or replayed from a
// list, checked as they run. Every sequence starts from a fresh process, so nothing a sequence
// did outlives it and the Node process's memory stays flat over a campaign.

import { type Ending, InvalidOp, Killed, Violation } from "./blocks.js";
import { Executor, type ExecConfig } from "./executor.js";
import { Generator } from "./generator.js";
import { OpSeq } from "./ops.js";
import type { Profile } from "./sizes.js";

export interface SequenceConfig extends Omit<ExecConfig, "seed"> {
  profile: Profile;
  /** Up to this many live threads besides the main one (0: none). */
  threads?: number;
}

export interface SequenceResult {
  /** The ops that ran (the generated ones; up to and including the failing one). */
  seq: OpSeq;
  ops: number;
  violation: Violation | null;
  /** Per size class (sizes.CLASSES): how many requests fell in it. */
  classes: Uint32Array;
  /** The allocator paths hit (debug build with coverage), as ids. */
  paths: number[] | null;
  pathNames: readonly string[] | null;
  /** The executor's -x lines (with config.xlines). */
  lines: string[];
  brk0: number;
  /** mallinfo2 at the end, formatted as the oracle prints it. */
  endInfo: string | null;
  /** Requests refused with ENOMEM; how the process died against a wall, if it did (limits.ts). */
  refusals: number;
  ended: Ending | null;
  /** Threads the sequence created. */
  threads: number;
  /** Per ID, the address it got (0: NULL, or not made). */
  addrs: Float64Array;
}

function pathsOf(ex: Executor): number[] | null {
  const cov = ex.coverage;
  if (!cov) return null;
  const hit: number[] = [];
  for (let id = 0; id < cov.names.length; id++) if (cov.hit(id)) hit.push(id);
  return hit;
}

function fmtInfo(m: Record<string, number>): string {
  return (
    `arena=${m.arena} ordblks=${m.ordblks} smblks=${m.smblks} hblks=${m.hblks} hblkhd=${m.hblkhd} ` +
    `usmblks=${m.usmblks} fsmblks=${m.fsmblks} uordblks=${m.uordblks} fordblks=${m.fordblks} keepcost=${m.keepcost}`
  );
}

/** Generates and runs `count` ops from `seed` on a fresh process. */
export async function runGenerated(seed: number, count: number, config: SequenceConfig): Promise<SequenceResult> {
  const ex = await Executor.create({ ...config, seed });
  const gen = new Generator(seed, {
    profile: config.profile, oracleSafe: config.oracleSafe === true, exhaust: config.exhaust ?? "none", threads: config.threads ?? 0, arch: ex.arch,
  });
  const seq = new OpSeq(Math.min(count, 1 << 16));
  let violation: Violation | null = null;
  let endInfo: string | null = null;
  let ended: Ending | null = null;
  try {
    for (let n = 0; n < count; n++) ex.step(seq, gen.next(seq, ex));
    endInfo = fmtInfo(ex.finish(seq.length - 1) as unknown as Record<string, number>);
  } catch (err) {
    if (err instanceof Killed) ended = err.how;
    else if (err instanceof Violation) violation = err;
    else throw err;
  }
  return {
    seq, ops: seq.length, violation, classes: gen.classes, paths: pathsOf(ex), pathNames: ex.coverage?.names ?? null, lines: ex.lines, brk0: ex.brk0, endInfo,
    refusals: ex.refusals, ended, threads: ex.threadsCreated, addrs: ex.blocks.addr.slice(0, ex.blocks.ids),
  };
}

/** Replays `seq` on a fresh process with the same checks. */
export async function runList(
  seq: OpSeq, seed: number, config: Omit<SequenceConfig, "profile">,
): Promise<Pick<SequenceResult, "violation" | "lines" | "endInfo" | "ops" | "addrs"> & { invalid: boolean }> {
  const ex = await Executor.create({ ...config, seed });
  let violation: Violation | null = null;
  let endInfo: string | null = null;
  const addrs = () => ex.blocks.addr.slice(0, ex.blocks.ids);
  try {
    for (let i = 0; i < seq.length; i++) ex.step(seq, i);
    endInfo = fmtInfo(ex.finish(seq.length - 1) as unknown as Record<string, number>);
  } catch (err) {
    if (err instanceof InvalidOp) return { violation: null, lines: ex.lines, endInfo: null, ops: ex.ops, invalid: true, addrs: addrs() };
    if (err instanceof Killed) return { violation: null, lines: ex.lines, endInfo: null, ops: ex.ops, invalid: false, addrs: addrs() };
    if (!(err instanceof Violation)) throw err;
    violation = err;
  }
  return { violation, lines: ex.lines, endInfo, ops: ex.ops, invalid: false, addrs: addrs() };
}
