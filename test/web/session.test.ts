// The explorer's statement language, its op-list mapping and its replayed views, in Node.

import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createProcess, parseOps, type Process, replay } from "../../host/index.js";
import { programOfFile } from "../../web/src/files.js";
import { opsToStatements, statementsToOps } from "../../web/src/ops.js";
import { Program } from "../../web/src/program.js";
import { SCENARIOS, scenarioStatements } from "../../web/src/scenarios.js";
import { viewAt } from "../../web/src/session.js";
import { evaluate, parseStatement } from "../../web/src/statements.js";

describe("statements", () => {
  it("parses calls, assignments, stores, constants and comments", () => {
    const s = parseStatement("a = mmap(0, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) // a mapping");
    expect(s).toMatchObject({ kind: "call", target: "a", fn: "mmap", note: "a mapping" });
    if (s.kind !== "call") throw new Error("call expected");
    expect(s.args.map((e) => evaluate(e, new Map()))).toEqual([0, 8192, 3, 0x22, 0xffffffff, 0]);
    const w = parseStatement("*(p+8) = 0x41");
    expect(w.kind).toBe("store");
    if (w.kind === "store") expect(evaluate(w.addr, new Map([["p", 0x1000]]))).toBe(0x1008);
  });

  it("says what is wrong with a bad statement", () => {
    expect(() => parseStatement("p = mallok(3)")).toThrow(/unknown function "mallok"/);
    expect(() => parseStatement("malloc(1, 2)")).toThrow("malloc takes 1 argument, not 2");
    expect(() => parseStatement("free(p")).toThrow(/expected "\)"/);
    expect(() => parseStatement("malloc = malloc(3)")).toThrow(/cannot assign/);
    expect(() => evaluate({ kind: "name", name: "q" }, new Map())).toThrow('"q" is not defined');
  });
});

describe("op lists", () => {
  it("become statements on blocks b0, b1, … and back", () => {
    const text = "m 0 24\nc 1 4 8\nr 2 0 100\nf 1\no M_MMAP_THRESHOLD 65536\nt 0\n";
    const statements = opsToStatements(text);
    expect(statements.map((s) => s.text)).toEqual([
      "b0 = malloc(24)", "b1 = calloc(4, 8)", "b2 = realloc(b0, 100)", "free(b1)",
      "mallopt(M_MMAP_THRESHOLD, 65536)", "malloc_trim(0)",
    ]);
    expect(statementsToOps(statements)).toBe(text);
  });

  it("a session with an mmap or a store has no op list", () => {
    expect(statementsToOps([parseStatement("b0 = malloc(1)"), parseStatement("*(b0) = 1")])).toBeNull();
    expect(statementsToOps([parseStatement("p = malloc(1)")])).toBeNull(); // not named b0
  });
});

describe("trace files", () => {
  const ops = "# a comment\nm 0 24\nc 1 4 8\nr 2 0 100\nf 1\no M_MMAP_THRESHOLD 65536\nt 0\nM 0 8192 3 34\nU 0 4096 4096\n";
  const texts = [
    "b0 = malloc(24)", "b1 = calloc(4, 8)", "b2 = realloc(b0, 100)", "free(b1)", "mallopt(M_MMAP_THRESHOLD, 65536)",
    "malloc_trim(0)", "r0 = mmap(0, 8192, 3, 34, -1, 0)", "munmap(r0 + 4096, 4096)",
  ];

  it("an op list, plain or gzipped, becomes the same program, its statements written as C", async () => {
    const plain = await programOfFile(new Blob([ops]));
    const gzipped = await programOfFile(new Blob([gzipSync(ops)]));
    expect(plain.statements.map((s) => s.text)).toEqual(texts);
    expect(gzipped.statements.map((s) => s.text)).toEqual(texts);
  });

  it("an mtrace log is converted to the same calls", async () => {
    const log = "= Start\n@ ./a.out:[0x1234] + 0x5581e2a0 0x18\n@ ./a.out:[0x1240] + 0x5581e2c0 0x20\n@ ./a.out:[0x1250] - 0x5581e2a0\n= End\n";
    const program = await programOfFile(new Blob([gzipSync(log)]));
    expect(program.statements.map((s) => s.text)).toEqual(["b0 = malloc(24)", "b1 = malloc(32)", "free(b0)"]);
  });

  it("a program made from an op list runs as its parsed statements do", async () => {
    const direct = await programOfFile(new Blob([ops]));
    const parsed = new Program(texts.map(parseStatement));
    const results: string[][] = [];
    for (const program of [direct, parsed]) {
      const proc = await createProcess({ seed: 3 });
      const slots = program.slots();
      for (let i = 0; i < program.length; i++) program.run(i, proc, slots);
      results.push([...Array(program.length).keys()].map((i) => program.resultText(i)).concat(proc.maps()));
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0][6]).toMatch(/^0x/); // the mapping's address
  });

  it("a file that is no trace is refused with the parser's reason", async () => {
    await expect(programOfFile(new Blob(["hello world\n"]))).rejects.toThrow(/line 1/);
  });
});

describe("posix_memalign and mremap (ops P and Y)", () => {
  // P: a block, an EINVAL (alignment 3), a block of its own mapping, an ENOMEM; Y: a move
  // (MREMAP_MAYMOVE), a growth that fails (ENOMEM) and bad flags (EINVAL), then munmaps at the
  // regions' addresses, which miss their mappings unless each region's address is right.
  const ops = "m 0 24\nP 1 64 100\nP 2 3 100\nP 3 4096 200000\nf 2\nM 0 8192 3 34\nM 1 4096 3 34\n" +
    "Y 0 8192 65536 1\nY 1 4096 1048576 0\nY 1 4096 8192 2\nU 1 0 4096\nP 4 16 4000000000\nm 5 40\nU 0 0 65536\nf 1\n";

  /** The process with its system calls logged (name, arguments, result), as replay() and the page make them. */
  function logged(proc: Process): { target: Process; log: string[] } {
    const log: string[] = [];
    const sys = new Proxy(proc.sys, {
      get: (t, k) => {
        const f = t[k as keyof typeof t] as unknown;
        if (typeof f !== "function") return f;
        return (...args: unknown[]) => {
          const r = (f as (...a: unknown[]) => unknown).apply(t, args);
          if (k !== "brk") log.push(`${String(k)}(${args.join(", ")}) = ${r}`); // replay() reads the break with brk(0)
          return r;
        };
      },
    });
    const target = new Proxy(proc, {
      get: (t, k) => {
        if (k === "sys") return sys;
        const v = t[k as keyof Process] as unknown;
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    return { target, log };
  }

  it("become C statements, and the session keeps them as statements (no op list holds them)", () => {
    const statements = opsToStatements("P 0 64 100\nM 0 8192 3 34\nY 0 8192 16384 1\n");
    expect(statements.map((s) => s.text)).toEqual([
      "posix_memalign(&b0, 64, 100)", "r0 = mmap(0, 8192, 3, 34, -1, 0)", "r0 = mremap(r0, 8192, 16384, 1)",
    ]);
    expect(statements.map((s) => parseStatement(s.text))).toEqual(statements);
    expect(statementsToOps(statements.slice(0, 1))).toBeNull();
    expect(parseStatement("err = posix_memalign(&p, 64, 100)")).toMatchObject({ target: "err", args: [{ kind: "addr", name: "p" }, { kind: "num", value: 64 }, { kind: "num", value: 100 }] });
    expect(() => parseStatement("posix_memalign(p, 64, 100)")).toThrow(/first argument is where it stores the block/);
    expect(() => parseStatement("q = malloc(&p)")).toThrow("&p is only posix_memalign's first argument");
    expect(() => parseStatement("p = posix_memalign(&p, 64, 100)")).toThrow(/both the block and the error number/);
    expect(() => parseStatement("posix_memalign(&M_ARENA_MAX, 64, 100)")).toThrow(/cannot take the address/);
  });

  it("run to the addresses, region addresses and system calls replay() gives, typed or from the op list", async () => {
    const seed = 11;
    const direct = logged(await createProcess({ seed }));
    const result = replay(direct.target, ops);
    expect(result.errors).toBe(0);
    const texts = Program.fromOps(parseOps(ops)).statements.map((s) => s.text);
    for (const program of [Program.fromOps(parseOps(ops)), new Program(texts.map(parseStatement))]) {
      const page = logged(await createProcess({ seed }));
      const slots = program.slots();
      for (let i = 0; i < program.length; i++) program.run(i, page.target, slots);
      const vars = program.vars(slots);
      expect([...Array(result.ids).keys()].map((k) => vars.get(`b${k}`))).toEqual([...result.addr]);
      expect(page.log).toEqual(direct.log);
      expect(page.target.maps()).toBe(direct.target.maps());
      // r0 moved, r1 kept its address through two failing mremaps (MAP_FAILED did not overwrite it).
      const mmaps = direct.log.filter((l) => l.startsWith("mmap(0,")).map((l) => Number(l.split(" = ")[1]));
      const moved = Number(direct.log.find((l) => l.startsWith("mremap(") && !l.endsWith("-12") && !l.endsWith("-22"))!.split(" = ")[1]);
      expect(moved).not.toBe(mmaps[0]);
      expect([vars.get("r0"), vars.get("r1")]).toEqual([moved, mmaps[1]]);
      expect([3, 8, 9, 11].map((i) => program.resultText(i))).toEqual([
        `0 (b3 = 0x${result.addr[3].toString(16).padStart(8, "0")})`, "-ENOMEM (MAP_FAILED: the mapping stays)",
        "-EINVAL (MAP_FAILED: the mapping stays)", "ENOMEM (b4 = NULL)",
      ]);
      expect(result.addr[2]).toBe(0); // the EINVAL one
      expect(result.addr[3] & 4095).toBe(0);
    }
    // `err = posix_memalign(…)` keeps the error number; the block's variable is NULL on an error.
    const typed = new Program(["p = malloc(8)", "err = posix_memalign(&p, 3, 8)", "e2 = posix_memalign(&q, 8, 8)"].map(parseStatement));
    const slots = typed.slots();
    const proc = await createProcess({ seed });
    for (let i = 0; i < typed.length; i++) typed.run(i, proc, slots);
    const vars = typed.vars(slots);
    expect([vars.get("err"), vars.get("p"), vars.get("e2")]).toEqual([22, 0, 0]);
    expect(vars.get("q")).toBeGreaterThan(0);
  });

  it("a failed mmap leaves its region at 0, as replay() does, so later ops on it aim at the same place", async () => {
    // M 1 fails (EINVAL: length 0); U 1 4096 4096 is then munmap(0x1000, 4096) in both, M 2 (ENOMEM)
    const failing = "M 0 8192 3 34\nM 1 0 3 34\nU 1 4096 4096\nM 2 4000000000 3 34\nD 2 0 4096 4\nU 0 0 8192\n";
    const seed = 5;
    const direct = logged(await createProcess({ seed }));
    expect(replay(direct.target, failing).errors).toBe(0);
    const program = Program.fromOps(parseOps(failing));
    const page = logged(await createProcess({ seed }));
    const slots = program.slots();
    for (let i = 0; i < program.length; i++) program.run(i, page.target, slots);
    expect(page.log).toEqual(direct.log);
    expect(page.log[2]).toBe("munmap(4096, 4096) = 0");
    expect([program.vars(slots).get("r1"), program.vars(slots).get("r2")]).toEqual([0, 0]);
    expect(program.resultText(1)).toBe("-EINVAL (MAP_FAILED: the variable is 0)");
  });
});

describe("views by replay", () => {
  it.each(["i386", "x86_64"] as const)("every scenario runs on %s (in its version for it), and ends as glibc ends it", async (arch) => {
    const ends: Record<string, string> = {};
    for (const sc of SCENARIOS) {
      const statements = scenarioStatements(sc, arch).map(parseStatement);
      const view = await viewAt(statements, statements.length, 1, arch);
      ends[sc.name] = view.death ? `${view.death.state}: ${view.death.message}` : "alive";
    }
    expect(ends).toEqual({
      walkthrough: "alive", "first-fit": "alive", "tcache-fastbins": "alive", consolidate: "alive", trim: "alive",
      "mmap-threshold": "alive",
      "tcache-double-free": "aborted: free(): double free detected in tcache 2",
      "fastbin-double-free": "aborted: double free or corruption (fasttop)",
      "house-of-force": "aborted: malloc(): corrupted top size",
    });
  });

  it("the same seed gives the same addresses as the process driven directly", async () => {
    const statements = ["a = malloc(24)", "b = malloc(5000)", "free(a)"].map(parseStatement);
    const view = await viewAt(statements, 2, 7);
    const proc = await createProcess({ seed: 7 });
    expect([view.vars.get("a"), view.vars.get("b")]).toEqual([proc.malloc(24), proc.malloc(5000)]);
    expect(view.maps).toBe(proc.maps());
    expect(view.step).toBe(2);
  });

  it("first-fit: the freed chunk is handed out again", async () => {
    const sc = SCENARIOS.find((s) => s.name === "first-fit")!;
    const view = await viewAt(sc.statements.map(parseStatement), sc.statements.length, 1);
    expect(view.vars.get("c")).toBe(view.vars.get("a"));
  });

  it("a store to unmapped memory kills the process with SIGSEGV", async () => {
    const view = await viewAt(["p = malloc(8)", "*(0x40000000) = 1"].map(parseStatement), 2, 1);
    expect(view.death).toMatchObject({ state: "killed", signal: "SIGSEGV", at: 1 });
  });

  it("a step where the process died shows it just before the fatal call", async () => {
    const sc = SCENARIOS.find((s) => s.name === "tcache-double-free")!;
    const view = await viewAt(sc.statements.map(parseStatement), 3, 1);
    expect(view.death).toMatchObject({ state: "aborted", signal: "SIGABRT", at: 2 });
    expect(view.heap.tcache.map((b) => b.name)).toEqual(["tcache[1]"]);
    expect([view.result(0), view.result(1)]).toEqual([expect.stringMatching(/^0x/), "done"]);
  });
});
