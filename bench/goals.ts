// The measured goals of `npm run bench`: each a number from this run against its limit, printed
// at the end of the run with ✓ or ✗ and saved in bench/results.json under "goals". A suite adds
// its own with a function from its results to Goal[] (allocGoals in alloc.bench.ts); run.ts
// gathers them in one list.

export interface Goal {
  /** What is measured and how it is bounded, e.g. "JS malloc+free pair ≤ in-Wasm pair + 1.3 × two empty calls (simple-16)". */
  name: string;
  /** The figure of this run. */
  measured: number;
  /** The bound it must stay within (measured ≤ limit). */
  limit: number;
  ok: boolean;
  /** How measured and limit read: "ns", "×", … */
  unit: string;
  /** ">=" for a goal "measured ≥ limit" (atLeast); absent: "measured ≤ limit". */
  relation?: ">=";
}

/** A goal "measured ≤ limit". */
export function atMost(name: string, measured: number, limit: number, unit: string): Goal {
  return { name, measured, limit, ok: measured <= limit, unit };
}

/** A goal "measured ≥ limit". */
export function atLeast(name: string, measured: number, limit: number, unit: string): Goal {
  return { name, measured, limit, ok: measured >= limit, unit, relation: ">=" };
}

function figure(x: number, unit: string): string {
  const digits = unit === "×" ? 2 : Math.abs(x) >= 100 ? 0 : 1;
  return unit === "×" ? `${x.toFixed(digits)}×` : `${x.toFixed(digits)} ${unit}`;
}

/** One line per goal: "goal: NAME: X ns <= Y ns ✓". */
export function formatGoals(goals: readonly Goal[]): string {
  if (goals.length === 0) return "(no goal was measured in this run)";
  return goals
    .map((g) => `goal: ${g.name}: ${figure(g.measured, g.unit)} ${g.relation ?? "<="} ${figure(g.limit, g.unit)} ${g.ok ? "✓" : "✗"}`)
    .join("\n");
}
