// What one sequence is checked against, as a mode: the executor's own checks (always), the
// pure-TypeScript twin in lockstep, the debug build's whole-heap checker, and the real glibc
// (the oracle). One function runs a generated sequence, another replays a list (the shrinker's
// and `--replay`'s), both returning the first violation.

import { Violation } from "./blocks.js";
import type { Target } from "./executor.js";
import type { OpSeq } from "./ops.js";
import { compareLines, ORACLE_ALIGN_BREAK, realMachine, runOracle } from "./oracle.js";
import type { Process } from "../process.js";
import { runGenerated, runList, type SequenceConfig, type SequenceResult } from "./sequence.js";
import type { Profile } from "./sizes.js";
import type { Exhaust } from "./limits.js";

export interface Mode {
  profile: Profile;
  twin: boolean;
  debug: boolean;
  deepEvery: number;
  infoEvery: number;
  /** The oracle replayer's path, or null. */
  oracle: string | null;
  /** Tests: wrap the process in a deliberately broken target. */
  wrap?: (proc: Process) => Target;
  /** The wall the processes run against (limits.ts; never with the oracle). */
  exhaust?: Exhaust;
}

function sequenceConfig(mode: Mode): SequenceConfig {
  const base: SequenceConfig = {
    profile: mode.profile, twin: mode.twin, debug: mode.debug, deepEvery: mode.deepEvery, infoEvery: mode.infoEvery, wrap: mode.wrap,
    exhaust: mode.oracle ? "none" : mode.exhaust,
  };
  if (!mode.oracle) return base;
  return { ...base, ...realMachine(), xlines: true, oracleSafe: true, alignBreak: ORACLE_ALIGN_BREAK };
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

/** Generates `count` ops from `seed` and runs them in `mode`. */
export async function checkGenerated(seed: number, count: number, mode: Mode): Promise<SequenceResult> {
  const result = await runGenerated(seed, count, sequenceConfig(mode));
  if (mode.oracle) result.violation = againstOracle(mode.oracle, result.seq, result.lines, result.endInfo, result.violation);
  return result;
}

/** Replays `seq` (made from process seed `seed`) in `mode`: the first violation, or null. */
export async function checkList(seq: OpSeq, seed: number, mode: Mode): Promise<Violation | null> {
  const r = await runList(seq, seed, sequenceConfig(mode));
  if (r.invalid) return null;
  if (mode.oracle) return againstOracle(mode.oracle, seq, r.lines, r.endInfo, r.violation);
  return r.violation;
}
