// The x86-64 oracle's fixtures (oracle/replay, oracle/threads and oracle/kernel built without -m32
// and run on the machine's x86-64 glibc 2.36 and kernel) against the op lists and scenarios they
// came from: test/fixtures/alloc64, test/fixtures/traces/*.replay64.txt.gz, test/fixtures/threads64
// and test/fixtures/kernel64. This suite checks that the fixtures are complete, well formed and say
// what x86-64 glibc's constants make them say (SIZE_SZ 8: 32-byte minimum chunks, a 64 MiB
// HEAP_MAX_SIZE, mmapped chunks of whole pages); the emulator's x86_64 process is compared with
// them by trace-replay64, threads-oracle64, trace-integrity64 and kernel/x86_64-oracle.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixture = (...parts: string[]) => join(root, "test/fixtures", ...parts);

/** Scenarios of oracle/scenarios left out on x86-64 (oracle/replay/regen.sh's i386_only). */
const I386_ONLY_SCENARIOS = ["alignment"];
const TRACES = ["python3", "sqlite3", "cmake", "git"];
const ALLOCATING = new Set(["m", "c", "a", "r", "R", "A", "P", "v", "V"]);
const ALIGNING = new Set(["a", "A", "P", "v", "V"]);

interface Op {
  kind: string;
  args: string[];
}

function parseOps(text: string): { ops: Op[]; directives: Map<string, number> } {
  const ops: Op[] = [];
  const directives = new Map<string, number>();
  for (const line of text.split("\n")) {
    const directive = /^# (nprocs|checkpoint-every|align-break): *(\d+)/.exec(line);
    if (directive) directives.set(directive[1], Number(directive[2]));
    if (line.startsWith("#") || line.trim() === "") continue;
    const [kind, ...args] = line.trim().split(/\s+/);
    ops.push({ kind, args });
  }
  return { ops, directives };
}

const linesOf = (text: string) => {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
};

/** The checks every single-thread replay output must pass: one ID line per allocating op, in
 * order, with x86-64 chunk sizes; checkpoints every `every` ops; the end lines. */
function checkReplay(lines: string[], ops: Op[], every: number) {
  const allocating = ops.filter((op) => ALLOCATING.has(op.kind));
  expect(lines[0]).toMatch(/^# replay glibc=2\.36 sizeof_size_t=8 brk0_page_offset=0 brk_untouched_before_first_op=yes /);
  expect(lines[0]).toContain(` ids=${allocating.length} malloc_env=none`);
  const blocks = lines.filter((l) => /^\d/.test(l));
  expect(blocks.length).toBe(allocating.length);
  let mmapped = 0;
  for (const [id, line] of blocks.entries()) {
    const f = line.split(" ");
    if (Number(f[0]) !== id) expect(line, "IDs in op order").toBe(`${id} ...`);
    if (f[1] === "N") continue;
    const chunk = Number(f.at(-1));
    if (f[1] === "M") {
      mmapped++;
      // on x86-64 an mmapped chunk is the whole mapping (no 8-byte correction as on i386)
      if (!ALIGNING.has(allocating[id].kind) && chunk % 4096 !== 0) expect(line, "whole pages").toBe("");
      continue;
    }
    const offset = Number(f[1]);
    if (chunk % 16 !== 0 || chunk < 32 || offset % 16 !== 0) expect(line, "MINSIZE 32, 16-byte alignment").toBe("");
  }
  const checkpoints = lines.filter((l) => l.startsWith("# op=")).map((l) => Number(/^# op=(\d+)/.exec(l)?.[1]));
  const count = every === 0 ? 0 : Math.floor(ops.length / every);
  expect(checkpoints).toEqual(Array.from({ length: count }, (_, k) => (k + 1) * every));
  const end = lines.findIndex((l) => l.startsWith("# end "));
  expect(lines[end]).toMatch(new RegExp(`^# end ops=${ops.length} allocs=${allocating.length} frees=\\d+ mmapped_allocs=${mmapped} errors=0$`));
  expect(lines[end + 1]).toMatch(/^# brk_delta=-?\d+ max_brk_delta=\d+$/);
  expect(lines[end + 2]).toMatch(/^# mallinfo2 arena=\d+ /);
  expect(lines[end + 3]).toBe("# malloc_stats:");
  expect(lines[end + 4]).toBe("# Arena 0:");
}

describe("x86-64 replay fixtures (test/fixtures/alloc64)", () => {
  const scenarioDir = join(root, "oracle/scenarios");
  const scenarios = readdirSync(scenarioDir)
    .filter((f) => f.endsWith(".ops"))
    .map((f) => f.slice(0, -4))
    .sort();

  it("one fixture per scenario, except the i386-only ones", () => {
    const fixtures = readdirSync(fixture("alloc64"))
      .filter((f) => f.endsWith(".replay64.txt"))
      .map((f) => f.slice(0, -".replay64.txt".length))
      .sort();
    expect(fixtures).toEqual(scenarios.filter((s) => !I386_ONLY_SCENARIOS.includes(s)));
    expect(scenarios).toEqual(expect.arrayContaining(I386_ONLY_SCENARIOS));
  });

  for (const name of scenarios.filter((s) => !I386_ONLY_SCENARIOS.includes(s))) {
    it(`${name}: one line per allocating op, x86-64 chunk sizes, a checkpoint per op list directive`, () => {
      const { ops, directives } = parseOps(readFileSync(join(scenarioDir, `${name}.ops`), "utf8"));
      const lines = linesOf(readFileSync(fixture("alloc64", `${name}.replay64.txt`), "utf8"));
      checkReplay(lines, ops, directives.get("checkpoint-every") ?? 1);
      const align = directives.get("align-break");
      if (align) expect(lines[0]).toMatch(new RegExp(` align_break=${align}$`));
    });
  }

  it("walkthrough64: the first malloc moves the break by 135168 and gives a 32-byte chunk", () => {
    const lines = linesOf(readFileSync(fixture("alloc64", "walkthrough64.txt"), "utf8"));
    expect(lines[0]).toBe("# walkthrough glibc=2.36 sizeof_size_t=8");
    const calls = lines.filter((l) => l.startsWith("malloc("));
    expect(calls[0]).toMatch(/^malloc\(8\) = brk0\+\d+ size_field=0x21 brk_delta=135168$/);
    expect(calls.map((l) => /^malloc\((\d+)\)/.exec(l)?.[1])).toEqual(["8", "4083", "3", "136168", "1048576"]);
    // 136168 bytes and 1 MiB are above the 128 KiB mmap threshold: whole pages, IS_MMAPPED set
    for (const call of calls.slice(3)) expect(call).toMatch(/= mmapped size_field=0x[0-9a-f]*002 /);
  });
});

describe("x86-64 replays of the recorded traces (test/fixtures/traces/*.replay64.txt.gz)", () => {
  for (const name of TRACES) {
    it(`${name}: one line per allocating op of ${name}.ops.gz, checkpoints every 10000 ops`, () => {
      const { ops } = parseOps(gunzipSync(readFileSync(fixture("traces", `${name}.ops.gz`))).toString("utf8"));
      const lines = linesOf(gunzipSync(readFileSync(fixture("traces", `${name}.replay64.txt.gz`))).toString("utf8"));
      checkReplay(lines, ops, 10000);
    });
  }
});

describe("x86-64 threads fixtures (test/fixtures/threads64)", () => {
  const scenarioDir = join(root, "oracle/threads/scenarios");
  const scenarios = readdirSync(scenarioDir)
    .filter((f) => f.endsWith(".ops"))
    .map((f) => f.slice(0, -4))
    .sort();
  const HEAP_MAX_SIZE = 64 << 20;

  it("one fixture per scenario", () => {
    const fixtures = readdirSync(fixture("threads64"))
      .filter((f) => f.endsWith(".txt"))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(fixtures).toEqual(scenarios);
  });

  for (const name of scenarios) {
    it(`${name}: header, block lines in op order inside 64 MiB heaps, threads, checkpoints`, () => {
      const { ops, directives } = parseOps(readFileSync(join(scenarioDir, `${name}.ops`), "utf8"));
      const lines = linesOf(readFileSync(fixture("threads64", `${name}.txt`), "utf8"));
      const allocating = ops.filter((op) => ALLOCATING.has(op.kind));
      expect(lines[0]).toMatch(/^# replay-threads scenario=\S+ glibc=2\.36 sizeof_size_t=8 nprocs=\d+ stack_rlimit=8388608 brk0_page_offset=0 /);
      expect(lines[0]).toContain(`scenario=${name} `);
      expect(lines[0]).toContain(` nprocs=${directives.get("nprocs") ?? 2} `);
      expect(lines[0]).toContain(` ids=${allocating.length} malloc_env=none`);
      const blocks = lines.filter((l) => /^\d/.test(l));
      expect(blocks.length).toBe(allocating.length);
      const heapsOf = new Map<number, number>([[0, 1]]);
      for (const [id, line] of blocks.entries()) {
        const f = line.split(" ");
        expect(Number(f[0]), line).toBe(id);
        if (f[1] === "N") continue;
        if (f[1] === "M") {
          if (!ALIGNING.has(allocating[id].kind)) expect(Number(f[2]) % 4096, line).toBe(0);
          continue;
        }
        const [arena, heap, offset, chunk] = f.slice(1).map(Number);
        expect(chunk % 16 === 0 && chunk >= 32 && offset % 16 === 0, line).toBe(true);
        if (arena === 0) continue;
        expect(arena, `${line}: arenas numbered as they appear`).toBeLessThanOrEqual(heapsOf.size);
        const heaps = heapsOf.get(arena) ?? 0;
        expect(heap, `${line}: heaps numbered as they appear`).toBeLessThanOrEqual(heaps);
        heapsOf.set(arena, Math.max(heaps, heap + 1));
        expect(offset + chunk, `${line}: inside its heap`).toBeLessThanOrEqual(HEAP_MAX_SIZE);
        // heap_info (48 bytes) and, in an arena's first heap, its malloc_state (2200) come first
        expect(offset, line).toBeGreaterThanOrEqual(heap === 0 ? 2272 : 64);
      }
      const threadLines = lines.filter((l) => /^# thread \d+ (created|exited)/.test(l)).length;
      expect(threadLines).toBe(ops.filter((op) => op.kind === "E").length + new Set(ops.filter((op) => op.kind === "T").map((op) => op.args[0]).filter((t) => t !== "0")).size);
      const every = directives.get("checkpoint-every") ?? 1;
      expect(lines.filter((l) => l.startsWith("# op=")).length).toBe(Math.floor(ops.length / every));
      const end = lines.find((l) => l.startsWith("# end ")) ?? "";
      expect(end).toMatch(new RegExp(`^# end ops=${ops.length} allocs=${allocating.length} .* errors=0 .* arenas_seen=${heapsOf.size}$`));
    });
  }
});

describe("x86-64 kernel fixtures (test/fixtures/kernel64)", () => {
  const scenarioDir = join(root, "oracle/kernel/scenarios");
  const files = readdirSync(scenarioDir)
    .filter((f) => f.endsWith(".txt"))
    .map((f) => f.slice(0, -4))
    .sort();

  /** The scenarios of a file, and which of them say "# i386 only". */
  function scenariosOf(name: string): { all: string[]; i386Only: Set<string> } {
    const all: string[] = [];
    const i386Only = new Set<string>();
    for (const line of readFileSync(join(scenarioDir, `${name}.txt`), "utf8").split("\n")) {
      const start = /^scenario (\S+)/.exec(line);
      if (start) all.push(start[1]);
      else if (line.startsWith("# i386 only: ") && all.length) i386Only.add(all[all.length - 1]);
    }
    return { all, i386Only };
  }

  it("one fixture per scenario file, as for i386", () => {
    const fixtures = readdirSync(fixture("kernel64")).filter((f) => f.endsWith(".out")).map((f) => f.slice(0, -4)).sort();
    expect(fixtures).toEqual(files);
  });

  for (const name of files) {
    it(`${name}: every scenario not marked i386 only, in order, each command with its result`, () => {
      const { all, i386Only } = scenariosOf(name);
      const lines = linesOf(readFileSync(fixture("kernel64", `${name}.out`), "utf8"));
      const heads = lines.filter((l) => l.startsWith("== ")).map((l) => l.slice(3));
      expect(heads).toEqual(all.filter((s) => !i386Only.has(s)));
      for (const line of lines) {
        if (line.startsWith("== ") || line === "maps =>" || line.startsWith("  ")) continue;
        expect(line, "no child died and no command was refused by the interpreter").toMatch(/^[a-z0-9]+( .*)? => (?!!!)/);
      }
      // the i386 fixture of a scenario that runs on both has the same commands in the same order
      const i386 = linesOf(readFileSync(fixture("kernel", `${name}.out`), "utf8"));
      const commands = (ls: string[]) => ls.filter((l) => l.includes(" => ")).map((l) => l.split(" => ")[0]);
      const keep = (ls: string[]) => {
        let on = true;
        return ls.filter((l) => {
          if (l.startsWith("== ")) on = !i386Only.has(l.slice(3));
          return on;
        });
      };
      expect(commands(lines)).toEqual(commands(keep(i386)));
    });
  }
});
