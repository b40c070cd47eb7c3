// The explorer's time travel, in Node: a step back replays from the nearest checkpoint (a live
// process parked at an earlier step) and lands on the very process a replay from the start gives.

import { describe, expect, it } from "vitest";
import { createProcess, parseOps, type Process } from "../../host/index.js";
import { inspectHeap } from "../../host/inspect/index.js";
import { opsToStatements } from "../../web/src/ops.js";
import { Program } from "../../web/src/program.js";
import { SCENARIOS } from "../../web/src/scenarios.js";
import { parseStatement } from "../../web/src/statements.js";
import { Timeline } from "../../web/src/timeline.js";

/** A churning op list: mallocs of many sizes, frees of random live blocks, some reallocs. */
function churn(count: number, seed = 7): string {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff;
  const live: number[] = [];
  const lines: string[] = [];
  let next = 0;
  while (lines.length < count) {
    const r = rnd();
    if (live.length > 0 && r < 0.4) {
      const k = Math.floor(rnd() * live.length);
      lines.push(`f ${live[k]}`);
      live[k] = live[live.length - 1];
      live.pop();
    } else if (live.length > 0 && r < 0.45) {
      const k = Math.floor(rnd() * live.length);
      lines.push(`r ${next} ${live[k]} ${16 + Math.floor(rnd() * 3000)}`);
      live[k] = next++;
    } else {
      lines.push(`m ${next} ${rnd() < 0.01 ? 200000 : 8 + Math.floor(rnd() * 1200)}`);
      live.push(next++);
    }
  }
  return lines.join("\n") + "\n";
}

/** What a process looks like: maps, the chunks of its heap and its bins. */
function look(proc: Process): string {
  const h = inspectHeap(proc);
  const chunks = h.heap?.chunks.map((c) => `${c.addr}:${c.size}:${c.state}:${c.bin ?? ""}`).join(" ");
  const bins = [...h.tcache, ...h.fastbins, ...h.bins].map((b) => `${b.name}=${b.entries.map((e) => e.chunk).join(",")}`).join(" ");
  return `${proc.maps()}\n${chunks}\n${bins}\n${JSON.stringify(proc.mallinfo2())}`;
}

/** The process after the first `step` statements, replayed from a fresh process. */
async function fromStart(program: Program, step: number, seed: number): Promise<Process> {
  const proc = await createProcess({ seed });
  const slots = program.slots();
  for (let i = 0; i < step; i++) program.run(i, proc, slots);
  return proc;
}

describe("time travel by replay from checkpoints", () => {
  it("a step back lands on the process a replay from the start gives, across checkpoints", async () => {
    // parsed statements here; the op list's own rows (Program.fromOps) in the tests below
    const statements = opsToStatements(churn(3000));
    const t = new Timeline(statements, 5);
    const reference = new Program(statements);
    await t.at(3000);
    await t.settled();
    expect(t.spacing).toBe(150);
    expect(t.checkpoints).toEqual([0, 2400, 2550, 2700, 2850]); // a spare fresh process, and the 4 grid steps below
    for (const step of [2999, 2998, 2851, 2850, 2849, 2700, 1234, 2990]) {
      const run = await t.at(step);
      expect(run.step).toBe(step);
      expect(look(run.proc)).toBe(look(await fromStart(reference, step, 5)));
    }
    t.close();
  });

  it("after the checkpoints are built, a step back replays at most one checkpoint spacing", async () => {
    const statements = Program.fromOps(parseOps(churn(20000, 11)));
    const t = new Timeline(statements, 1);
    await t.at(20000);
    for (const step of [19999, 19998, 19000, 18500]) {
      await t.settled();
      const before = t.replayed;
      await t.at(step);
      expect(t.replayed - before).toBeLessThanOrEqual(t.spacing);
    }
    t.close();
  });

  it("a step back on a 100,000-op trace is instant (timing printed)", async () => {
    const statements = Program.fromOps(parseOps(churn(100000, 3)));
    const t = new Timeline(statements, 1);
    let t0 = performance.now();
    await t.at(100000);
    const forward = performance.now() - t0;
    t0 = performance.now();
    await t.settled();
    const building = performance.now() - t0;
    const times: number[] = [];
    let replayed = 0;
    for (let k = 1; k <= 5; k++) {
      const before = t.replayed;
      t0 = performance.now();
      await t.at(100000 - k);
      times.push(performance.now() - t0);
      replayed = Math.max(replayed, t.replayed - before);
      await t.settled();
    }
    console.log(
      `timeline: 100,000 ops replayed to the end in ${forward.toFixed(0)} ms; checkpoints every ${t.spacing} built in ` +
        `${building.toFixed(0)} ms of idle time; steps back ${times.map((x) => x.toFixed(1)).join(", ")} ms (at most ${replayed} statements replayed)`,
    );
    expect(replayed).toBeLessThanOrEqual(t.spacing);
    expect(t.spacing).toBe(5000);
    t.close();
  });

  it("the step of a death shows the process just before the fatal call; a step back finds it alive", async () => {
    const sc = SCENARIOS.find((s) => s.name === "fastbin-double-free")!;
    const t = new Timeline(sc.statements.map(parseStatement), 1);
    const run = await t.at(sc.statements.length);
    expect(t.death).toMatchObject({ state: "aborted", message: "double free or corruption (fasttop)", at: sc.statements.length - 1 });
    expect(run.step).toBe(sc.statements.length - 1);
    const back = await t.at(sc.statements.length - 2);
    expect(back.proc.mallinfo2().arena).toBeGreaterThan(0); // a living process answers
    expect((await t.at(sc.statements.length)).step).toBe(sc.statements.length - 1);
    t.close();
  });

  it("typing at an earlier step drops what followed it, checkpoints and death included", async () => {
    const sc = SCENARIOS.find((s) => s.name === "tcache-double-free")!;
    const t = new Timeline(sc.statements.map(parseStatement), 1);
    await t.at(3);
    expect(t.death?.at).toBe(2);
    t.replaceFrom(2, [parseStatement("c = malloc(24)")]);
    expect(t.death).toBeNull();
    const run = await t.at(3);
    expect(run.step).toBe(3);
    const vars = t.program.vars(run.slots);
    expect(vars.get("c")).toBe(vars.get("a")); // the freed chunk comes back from the tcache
    t.close();
  });
});
