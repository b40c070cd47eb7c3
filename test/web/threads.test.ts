// The explorer with threads: `thread(N)` / `thread_exit(N)` statements (an op list's T and E lines)
// route the calls that follow to thread N, and the inspector shows the thread arenas it made.

import { describe, expect, it } from "vitest";
import { createProcess, parseOps } from "../../host/index.js";
import { inspectHeap } from "../../host/inspect/index.js";
import { opsToStatements, statementsToOps } from "../../web/src/ops.js";
import { Program } from "../../web/src/program.js";
import { parseStatement, StatementError } from "../../web/src/statements.js";

const OPS = "m 0 100\nT 1\nm 1 100\nm 2 5000\nf 0\nT 0\nf 1\nT 2\nm 3 24\nE 2\nE 1\n";

async function run(program: Program, steps = program.length) {
  const proc = await createProcess({ seed: 1 });
  const slots = program.slots();
  for (let i = 0; i < steps; i++) program.run(i, proc, slots);
  return { proc, slots, vars: program.vars(slots) };
}

describe("the explorer's thread statements", () => {
  it("read and write the op lists' T and E lines", () => {
    const statements = opsToStatements(OPS);
    expect(statements[1].text).toBe("thread(1)");
    expect(statements[9].text).toBe("thread_exit(2)");
    expect(statementsToOps(statements)).toBe(OPS);
    expect(statementsToOps([parseStatement("thread(3)"), parseStatement("thread_exit(3)")])).toBe("T 3\nE 3\n");
  });

  it("route the calls to the current thread: its own arena, as replay() gives", async () => {
    const fromOps = await run(Program.fromOps(parseOps(OPS)), 4); // up to m 2 5000, in thread 1
    const b1 = fromOps.vars.get("b1")!;
    expect(b1 % 0x100000).toBe(1552); // thread 1's first block, after its arena and tcache
    const h = inspectHeap(fromOps.proc);
    expect(h.arenas).toHaveLength(1);
    const arena = h.arenas[0];
    expect(arena.index).toBe(1);
    expect(arena.heaps).toHaveLength(1);
    expect(arena.heaps[0].addr).toBe(b1 - 1552);
    const chunks = arena.heaps[0].walk.chunks.map((c) => [c.addr - arena.heaps[0].addr, c.size, c.state]);
    expect(chunks).toEqual([
      [1144, 400, "inuse"], // thread 1's tcache
      [1544, 112, "inuse"],
      [1656, 5008, "inuse"],
      [6664, 135168 - 6664, "top"],
    ]);
    expect(arena.heaps[0].walk.problem).toBeUndefined();
  });

  it("run a whole threaded list: the malloc_stats of the real glibc's replay of it", async () => {
    const { proc } = await run(Program.fromOps(parseOps(OPS)));
    const stats = proc.malloc_stats();
    expect(stats).toContain("Arena 1:");
    expect(stats).toContain("Arena 2:");
    // both threads exited: their arenas on the free list, their tcaches freed into them
    const h = inspectHeap(proc);
    expect(h.arenas.map((a) => a.index)).toEqual([1, 2]);
    for (const a of h.arenas) expect(a.heaps[0].walk.problem).toBeUndefined();
  });

  it("refuse what the op lists refuse, naming it", async () => {
    const bad = async (lines: string[], message: RegExp) => {
      const program = new Program(lines.map(parseStatement));
      await expect(run(program)).rejects.toThrow(message);
      await expect(run(program)).rejects.toBeInstanceOf(StatementError);
    };
    await bad(["thread(2)"], /the next new thread is 1, not 2/);
    await bad(["thread(1)", "thread_exit(1)", "thread(1)"], /thread 1 has exited/);
    await bad(["thread_exit(1)"], /thread 1 is not running/);
    await bad(["thread_exit(0)"], /main thread/);
  });
});
