// The threads oracle's fixtures (test/fixtures/threads, from oracle/threads/regen.sh on the real
// glibc 2.36, i386) against their op lists (oracle/threads/scenarios): each fixture names its
// scenario and the CPU count it was made with, has one block line per allocating op in op order,
// one thread line per thread created or exited, a checkpoint per op, and numbers arenas and heaps
// in order of first appearance. The emulator's side of these scenarios comes with thread support;
// this suite checks only that the fixtures say what the format promises.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const scenariosDir = join(root, "oracle/threads/scenarios");
const fixturesDir = join(root, "test/fixtures/threads");
const scenarios = readdirSync(scenariosDir)
  .filter((f) => f.endsWith(".ops"))
  .map((f) => f.slice(0, -4))
  .sort();

const ALLOCATING = new Set(["m", "c", "a", "r", "R", "A", "P", "v", "V"]);
const ALIGNING = new Set(["a", "A", "P", "v", "V"]);

interface Op {
  kind: string;
  args: string[];
}

function readOps(name: string): { ops: Op[]; directives: Map<string, number> } {
  const text = readFileSync(join(scenariosDir, `${name}.ops`), "utf8");
  const ops: Op[] = [];
  const directives = new Map<string, number>();
  for (const line of text.split("\n")) {
    const directive = /^# (nprocs|checkpoint-every): *(\d+)/.exec(line);
    if (directive) directives.set(directive[1], Number(directive[2]));
    if (line.startsWith("#") || line.trim() === "") continue;
    const [kind, ...args] = line.trim().split(/\s+/);
    ops.push({ kind, args });
  }
  return { ops, directives };
}

/** What the thread lines of a fixture must be, from the op list's T and E lines and the rules of
 * docs/formats.md (new threads numbered in order, never reused; E makes the main thread current). */
function expectedThreadEvents(ops: Op[]): string[] {
  const events: string[] = [];
  const live = new Set([0]);
  let created = 0;
  for (const op of ops) {
    const n = Number(op.args[0]);
    if (op.kind === "T" && !live.has(n)) {
      expect(n, "a new thread takes the next number").toBe(created + 1);
      created = n;
      live.add(n);
      events.push(`created ${n}`);
    } else if (op.kind === "E") {
      expect(live.has(n) && n !== 0, `E ${n} of a live thread`).toBe(true);
      live.delete(n);
      events.push(`exited ${n}`);
    }
  }
  return events;
}

describe("threads oracle fixtures", () => {
  it("there are at least 15 scenarios, each with a fixture and no fixture without a scenario", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(15);
    const fixtures = readdirSync(fixturesDir)
      .filter((f) => f.endsWith(".txt"))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(fixtures).toEqual(scenarios);
  });

  describe.each(scenarios)("%s", (name) => {
    const { ops, directives } = readOps(name);
    const lines = readFileSync(join(fixturesDir, `${name}.txt`), "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();

    it("the header names the scenario, glibc 2.36 on i386, the faked CPU count and a clean environment", () => {
      const header = lines[0];
      expect(header).toMatch(/^# replay-threads scenario=\S+ glibc=2\.36 sizeof_size_t=4 nprocs=\d+ /);
      expect(header).toContain(`scenario=${name} `);
      expect(header).toContain(` nprocs=${directives.get("nprocs") ?? 2} `);
      expect(header).toContain(" stack_rlimit=8388608 ");
      expect(header).toContain(" brk0_page_offset=0 ");
      expect(header).toMatch(/ malloc_env=none$/);
      const ids = ops.filter((op) => ALLOCATING.has(op.kind)).length;
      expect(header).toContain(` ids=${ids} `);
    });

    it("one block line per allocating op, in op order, with arenas and heaps numbered as they appear", () => {
      const blocks = lines.filter((l) => /^\d/.test(l));
      const allocating = ops.filter((op) => ALLOCATING.has(op.kind));
      expect(blocks.length).toBe(allocating.length);
      const heapsOf = new Map<number, number>([[0, 1]]);
      for (const [id, line] of blocks.entries()) {
        const f = line.split(" ");
        expect(Number(f[0]), line).toBe(id);
        expect(Number(allocating[id].args[0]), "the op list numbers IDs in order").toBe(id);
        if (f[1] === "N") {
          expect(f.length).toBe(2);
          continue;
        }
        if (f[1] === "M") {
          expect(f.length).toBe(3);
          // an mmapped chunk is whole pages less the 8 bytes before the chunk on i386 (an aligned
          // one gives its front to the alignment, so only unaligned requests are checked)
          if (!ALIGNING.has(allocating[id].kind)) expect((Number(f[2]) + 8) % 4096, line).toBe(0);
          continue;
        }
        expect(f.length, line).toBe(5);
        const [arena, heap, offset, chunk] = f.slice(1).map(Number);
        expect(chunk % 16, line).toBe(0);
        expect(chunk).toBeGreaterThanOrEqual(16);
        expect(offset % 16, "user pointers are 16-byte aligned").toBe(0);
        if (arena === 0) {
          expect(heap, line).toBe(0);
          continue;
        }
        expect(arena, `${line}: arenas numbered as they appear`).toBeLessThanOrEqual(heapsOf.size);
        const heaps = heapsOf.get(arena) ?? 0;
        expect(heap, `${line}: heaps numbered as they appear`).toBeLessThanOrEqual(heaps);
        heapsOf.set(arena, Math.max(heaps, heap + 1));
        expect(offset + chunk, `${line}: inside its 1 MiB heap`).toBeLessThanOrEqual(1 << 20);
        expect(offset).toBeGreaterThanOrEqual(heap === 0 ? 1152 : 32);
      }
      const end = lines.find((l) => l.startsWith("# end "));
      expect(end).toContain(` arenas_seen=${heapsOf.size} `.trimEnd());
    });

    it("a thread line for every thread the op list creates or ends, in order", () => {
      const events = lines
        .map((l) => /^# thread (\d+) (created|exited)/.exec(l))
        .filter((m) => m !== null)
        .map((m) => `${m[2]} ${m[1]}`);
      expect(events).toEqual(expectedThreadEvents(ops));
      for (const l of lines.filter((x) => x.startsWith("# thread ") && x.includes("created"))) {
        expect(l).toMatch(/^# thread \d+ created, stack (new|cached from thread \d+)$/);
      }
    });

    it("checkpoints count every op, T and E included, and the end lines and malloc_stats follow", () => {
      const every = directives.get("checkpoint-every") ?? 1;
      const checkpoints = lines.filter((l) => l.startsWith("# op=")).map((l) => Number(/^# op=(\d+)/.exec(l)?.[1]));
      expect(checkpoints).toEqual(Array.from({ length: Math.floor(ops.length / every) }, (_, k) => (k + 1) * every));
      const end = lines.findIndex((l) => l.startsWith("# end "));
      expect(lines[end]).toMatch(new RegExp(`^# end ops=${ops.length} allocs=\\d+ frees=\\d+ mmapped_allocs=\\d+ errors=0 threads=\\d+ live_threads=\\d+ arenas_seen=\\d+$`));
      expect(lines[end + 1]).toMatch(/^# brk_delta=-?\d+$/);
      expect(lines[end + 2]).toMatch(/^# mallinfo2 arena=\d+ /);
      expect(lines[end + 3]).toBe("# malloc_stats:");
      const stats = lines.slice(end + 4);
      expect(stats[0]).toBe("# Arena 0:");
      expect(stats.at(-1)).toMatch(/^# max mmap bytes += +\d+$/);
    });
  });
});
