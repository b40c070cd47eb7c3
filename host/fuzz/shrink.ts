// Delta debugging on a failing op list (Zeller's ddmin, on ops): remove chunks of ops, halving the
// chunk size when no chunk can go, down to single ops; keep any removal after which a fresh
// process still fails. A removal takes with it every op that used what the removed ops made, and
// IDs are renumbered (ops.without), so every candidate is a valid op list. After each success the
// list is cut after the op that failed.

import type { Violation } from "./blocks.js";
import { without, type OpSeq } from "./ops.js";

export interface ShrinkResult {
  seq: OpSeq;
  violation: Violation;
  runs: number;
  /** The time budget ran out before single ops were tried. */
  truncated: boolean;
}

/** A violation's kind, numbers and addresses aside: shrinking keeps to the same kind of failure. */
export function kindOf(what: string): string {
  return what.replace(/0x[0-9a-f]+|-?\d+/g, "#").slice(0, 48);
}

export async function shrink(
  seq: OpSeq,
  first: Violation,
  fails: (candidate: OpSeq) => Promise<Violation | null>,
  budgetMs = 120_000,
): Promise<ShrinkResult> {
  const deadline = Date.now() + budgetMs;
  let cur = seq.prefix(first.op + 1);
  let violation = first;
  let runs = 0;
  const kind = kindOf(first.what);
  let n = 2;
  while (cur.length >= 2) {
    if (Date.now() > deadline) return { seq: cur, violation, runs, truncated: true };
    const chunk = Math.ceil(cur.length / n);
    let reduced = false;
    for (let start = 0; start < cur.length; start += chunk) {
      if (Date.now() > deadline) return { seq: cur, violation, runs, truncated: true };
      const candidate = without(cur, (i) => i >= start && i < start + chunk);
      if (candidate.length === 0 || candidate.length >= cur.length) continue;
      runs++;
      const v = await fails(candidate);
      if (v && kindOf(v.what) === kind) {
        cur = candidate.prefix(v.op + 1);
        violation = v;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  return { seq: cur, violation, runs, truncated: false };
}
