// The explorer's session on an x86_64 process (?arch=x86_64), in Node: statements compute in
// 64-bit words, variables hold real 64-bit addresses, stores write 8 bytes, and every scenario
// runs in its x86-64 version (session.test.ts checks how each ends, on both).

import { describe, expect, it } from "vitest";
import { createProcess } from "../../host/index.js";
import { Program } from "../../web/src/program.js";
import { SCENARIOS, scenarioStatements } from "../../web/src/scenarios.js";
import { viewAt } from "../../web/src/session.js";
import { evaluate, parseStatement } from "../../web/src/statements.js";
import { archParam, wordsOf } from "../../web/src/words.js";

const W64 = wordsOf("x86_64");

describe("64-bit words", () => {
  it("literals, + - | and unary minus keep 64-bit values; a literal beyond 2^53 is refused", () => {
    const vars = new Map([["p", 0x55555555d2a0]]);
    const ev = (src: string) => {
      const s = parseStatement(`free(${src})`);
      return s.kind === "call" ? evaluate(s.args[0], vars, W64) : Number.NaN;
    };
    expect(ev("p + 8")).toBe(0x55555555d2a8);
    expect(ev("p - 0x10")).toBe(0x55555555d290);
    expect(ev("p | 7")).toBe(0x55555555d2a7);
    expect(ev("-1")).toBe(-1);
    expect(ev("0x7ffff7dd4000")).toBe(0x7ffff7dd4000);
    expect(() => ev("0xffffffffffffffff")).toThrow(/beyond 2\^53/);
    // the i386 words are what they were
    expect(evaluate({ kind: "neg", arg: { kind: "num", value: 1 } }, new Map())).toBe(0xffffffff);
  });

  it("hex: 12 digits, and a negative word as its two's complement", () => {
    expect(W64.hex(0x55555555d2a0)).toBe("0x55555555d2a0");
    expect(W64.hex(0x1000)).toBe("0x000000001000");
    expect(W64.hex(-1)).toBe("0xffffffffffffffff");
    expect(wordsOf("i386").hex(0x1000)).toBe("0x00001000");
    expect([archParam("x86_64"), archParam(null), archParam("arm")]).toEqual(["x86_64", "i386", "i386"]);
  });

  it("a store writes 8 little-endian bytes at a 64-bit address", async () => {
    const program = new Program(["p = malloc(24)", "*(p+8) = -2", "q = malloc(24)"].map(parseStatement), "x86_64");
    const proc = await createProcess({ seed: 5, arch: "x86_64" });
    const slots = program.slots();
    for (let i = 0; i < program.length; i++) program.run(i, proc, slots);
    const p = program.vars(slots).get("p")!;
    expect(p).toBeGreaterThan(2 ** 32);
    expect(Array.from(proc.read(p + 8, 8))).toEqual([0xfe, 255, 255, 255, 255, 255, 255, 255]);
    expect(program.resultText(1)).toBe(`${W64.hex(p + 8)} ← 0xfffffffffffffffe`);
    expect(program.resultText(0)).toBe(W64.hex(p));
  });

  it("an op list's program moves to the other arch with its variables (withArch)", async () => {
    const i386 = new Program(["a = malloc(24)", "b = malloc(5000)", "free(a)"].map(parseStatement));
    const x64 = i386.withArch("x86_64");
    expect(x64.arch).toBe("x86_64");
    expect(i386.withArch("i386")).toBe(i386);
    const view = await viewAt(x64.statements, 2, 7, "x86_64");
    const proc = await createProcess({ seed: 7, arch: "x86_64" });
    expect([view.vars.get("a"), view.vars.get("b")]).toEqual([proc.malloc(24), proc.malloc(5000)]);
    expect(view.maps).toBe(proc.maps());
  });
});

describe("views of an x86_64 process", () => {
  it("the walk-through's first malloc: the break moves by 135168, the block at break + 672", async () => {
    const sc = SCENARIOS.find((s) => s.name === "walkthrough")!;
    const statements = scenarioStatements(sc, "x86_64").map(parseStatement);
    const before = await viewAt(statements, 0, 1, "x86_64");
    const view = await viewAt(statements, 1, 1, "x86_64");
    expect(view.arch).toBe("x86_64");
    expect(view.brk - before.brk).toBe(135168);
    const a = view.vars.get("a")!;
    expect(a - before.brk).toBe(672);
    expect(view.result(0)).toBe(view.hex(a));
    expect(view.hex(a)).toMatch(/^0x[0-9a-f]{12}$/);
    expect(view.heap.heap!.chunks.map((c) => c.size)).toEqual([0x290, 32, 135168 - 0x2b0]);
  });

  it("the consolidate scenario's notes are the x86-64 numbers (a 3360-byte chunk, large[97])", async () => {
    const sc = SCENARIOS.find((s) => s.name === "consolidate")!;
    const statements = scenarioStatements(sc, "x86_64").map(parseStatement);
    const merged = await viewAt(statements, 7, 1, "x86_64");
    expect(merged.heap.bins.map((b) => [b.name, b.entries.map((e) => e.size)])).toEqual([["unsorted", [3360]]]);
    const sorted = await viewAt(statements, statements.length, 1, "x86_64");
    expect(sorted.heap.bins.map((b) => b.name)).toEqual(["large[97]"]);
  });
});
