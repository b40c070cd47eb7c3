import { describe, expect, it } from "vitest";
import { allocGoals, FLOOR_JS, OURS_JS, OURS_WASM, TWIN_LOOP, type AllocBenchRow } from "../../bench/alloc.bench.js";
import { OURS64_JS, OURS64_WASM } from "../../bench/peers/ptmalloc.js";
import { atLeast, atMost, formatGoals } from "../../bench/goals.js";

const row = (workload: string, peer: string, ns: number): AllocBenchRow => ({
  workload, peer, mode: "js", ops: 1, nsPerOpMedian: ns, nsPerOpMin: ns, nsPerOpMax: ns, runs: 1,
});

describe("the measured goals of a bench run", () => {
  it("bound the JS pair of simple-16 and simple-1024 by the in-Wasm pair plus 1.3 × two empty calls, steady state", () => {
    const embedding = [
      row("simple-16", OURS_JS, 30), row("simple-16", OURS_WASM, 20), row("simple-16", FLOOR_JS, 10),
      row("simple-1024", OURS_JS, 40), row("simple-1024", OURS_WASM, 20), row("simple-1024", FLOOR_JS, 10),
      row("simple-64", OURS_JS, 99), row("simple-64", OURS_WASM, 1), row("simple-64", FLOOR_JS, 1),
    ];
    const goals = allocGoals({ rows: [], embedding });
    expect(goals).toEqual([
      { name: "JS malloc+free pair <= in-Wasm pair + 1.3 x two empty calls (simple-16)", measured: 60, limit: 66, ok: true, unit: "ns" },
      { name: "JS malloc+free pair <= in-Wasm pair + 1.3 x two empty calls (simple-1024)", measured: 80, limit: 66, ok: false, unit: "ns" },
    ]);
  });

  it("bound the public API on mixed by 1.25 × the in-Wasm loop, from the main rows", () => {
    const ok = allocGoals({ rows: [row("mixed", OURS_JS, 125), row("mixed", OURS_WASM, 100)], embedding: [] });
    expect(ok).toEqual([{ name: "public API / in-Wasm loop (mixed)", measured: 1.25, limit: 1.25, ok: true, unit: "×" }]);
    const miss = allocGoals({ rows: [row("mixed", OURS_JS, 130), row("mixed", OURS_WASM, 100)], embedding: [] });
    expect(miss[0]!.ok).toBe(false);
  });

  it("leave out what this run did not measure", () => {
    expect(allocGoals({ rows: [row("mixed", OURS_JS, 1)], embedding: [row("simple-16", OURS_JS, 1)] })).toEqual([]);
  });

  it("print one line each, with a check mark or a cross", () => {
    expect(formatGoals([atMost("a pair (simple-16)", 60.04, 66.2, "ns"), atMost("a ratio (mixed)", 1.3, 1.25, "×")])).toBe(
      "goal: a pair (simple-16): 60.0 ns <= 66.2 ns ✓\ngoal: a ratio (mixed): 1.30× <= 1.25× ✗",
    );
    expect(formatGoals([])).toBe("(no goal was measured in this run)");
    expect(formatGoals([atLeast("a speed-up (git)", 2.5, 3, "×")])).toBe("goal: a speed-up (git): 2.50× >= 3.00× ✗");
  });

  it("hold the in-Wasm loop to 3 × the twin's loop, 2 × on large", () => {
    const rows = [row("git", OURS_WASM, 100), row("git", TWIN_LOOP, 310), row("large", OURS_WASM, 100), row("large", TWIN_LOOP, 190)];
    expect(allocGoals({ rows, embedding: [] }).map((g) => [g.name, g.limit, g.ok])).toEqual([
      ["twin's in-allocator loop / in-Wasm loop (git)", 3, true],
      ["twin's in-allocator loop / in-Wasm loop (large)", 2, false],
    ]);
  });

  it("hold the x86_64 build's in-Wasm loop to 1.3 × the i386 build's on every workload both ran", () => {
    const rows = [
      row("mixed", OURS_WASM, 100), row("mixed", OURS64_WASM, 130),
      row("git", OURS_WASM, 100), row("git", OURS64_WASM, 131),
      row("threads", OURS_JS, 100), row("threads", OURS64_JS, 500), // the JS-driven rows have no goal
    ];
    expect(allocGoals({ rows, embedding: [] }).map((g) => [g.name, g.measured, g.ok])).toEqual([
      ["x86_64 in-Wasm loop / i386 in-Wasm loop (mixed)", 1.3, true],
      ["x86_64 in-Wasm loop / i386 in-Wasm loop (git)", 1.31, false],
    ]);
  });
});
