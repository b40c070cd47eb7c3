// Trace formats: op lists (ops v1) and glibc mtrace logs, and the replay output writer.
// Fixtures: test/fixtures/traces (the four recorded traces, their mtrace logs and the
// i386 glibc 2.36 replay outputs) and oracle/scenarios.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  convertMtrace,
  firstDifference,
  formatOps,
  formatReplay,
  NO_ID,
  Op,
  OpsParser,
  OpsSyntaxError,
  isMtrace,
  parseMtrace,
  parseOps,
  parseTrace,
  replay,
  type ReplayTarget,
} from "../host/trace/index.js";
import type { Mallinfo2 } from "../host/libc.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");
const TRACES = ["python3", "sqlite3", "cmake", "git"];

const gz = (file: string) => gunzipSync(readFileSync(join(tracesDir, file)));
const withoutComments = (text: string) =>
  text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n");

describe("mtrace logs convert to the recorded op lists", () => {
  for (const name of TRACES) {
    it(`${name}: byte for byte, comment lines aside`, () => {
      const converted = convertMtrace(gz(`${name}.mtrace.gz`));
      const expected = gz(`${name}.ops.gz`).toString("utf8");
      const diff = firstDifference(withoutComments(expected), withoutComments(converted.ops));
      expect(diff, diff ? `first difference at op line ${diff.line}: ${JSON.stringify(diff)}` : "").toBeNull();
      expect(converted.counts.unrecognized).toBe(0);
      expect(converted.counts.implicitFreeReusedAddr).toBe(0);
    });
  }

  it("counts what it drops or rewrites", () => {
    const log = [
      "= Start",
      "@ ./a.out:[0x1149] + 0x5000 0x10",
      "@ ./a.out:[0x1150] - 0x9000", // never allocated while tracing: dropped
      "@ ./a.out:[0x1151] < 0x8000", // realloc of an unknown block: written as malloc
      "@ ./a.out:[0x1151] > 0x6000 0x20",
      "@ ./pre.so:(mtrx_calloc+12)[0x4fa2] + 0x7000 0x30",
      "@ ./pre.so:(mtrx_al_6+12)[0x4fb2] + 0x7040 0x100",
      "+ (nil) 0xffffffff", // failed allocation, no caller: dropped
      "@ ./a.out:[0x1152] ! 0x5000 0x40000000", // failed realloc: dropped, 0x5000 stays live
      "@ ./a.out:[0x1153] < 0x5000",
      "@ ./a.out:[0x1153] > 0x5000 0x18",
      "[0x1234] + 0x7000 0x8", // same address as a live block (threads): free it first
      "@ ./a.out:[0x1154] - 0x6000",
      "= End",
    ].join("\n");
    const { ops, counts } = convertMtrace(log, { source: "test" });
    expect(ops).toBe(
      [
        "# ops v1 (format: FORMAT.md)",
        "# source: test",
        "m 0 16",
        "m 1 32",
        "c 2 1 48",
        "a 3 64 256",
        "r 4 0 24",
        "f 2",
        "m 5 8",
        "f 1",
        "",
      ].join("\n"),
    );
    expect(counts).toMatchObject({
      skippedFreeUnknown: 1,
      reallocUnknownAsMalloc: 1,
      nullAllocations: 1,
      failedReallocs: 1,
      implicitFreeReusedAddr: 1,
    });
    expect(parseMtrace(log).ids).toBe(6);
  });
});

describe("either format is recognised", () => {
  it("tells an mtrace log from an op list", () => {
    expect(isMtrace("= Start\n@ ./a.out:[0x1149] + 0x5000 0x10\n")).toBe(true);
    expect(isMtrace("+ 0x5000 0x10\n- 0x5000\n")).toBe(true);
    expect(isMtrace("# ops v1 (format: FORMAT.md)\nm 0 16\n")).toBe(false);
    expect(isMtrace("m 0 16\nf 0\n")).toBe(false);
    expect(formatOps(parseTrace("= Start\n@ [0x1] + 0x5000 0x10\n@ [0x1] - 0x5000\n"), { comments: false })).toBe("m 0 16\nf 0\n");
    expect(formatOps(parseTrace("m 0 16\nf 0\n"))).toBe("m 0 16\nf 0\n");
  });
});

describe("op lists parse into compact arrays", () => {
  it("reads every op and the extension ops", () => {
    const list = parseOps("# ops v1\nm 0 10\nc 1 3 4\na 2 64 100\nr 3 0 20\nr 4 - 7\nf 3\no M_MMAP_THRESHOLD -5\no -1 65536\nt 128\ni\n");
    expect(list.length).toBe(10);
    expect(list.ids).toBe(5);
    expect(Array.from(list.kind)).toEqual([Op.MALLOC, Op.CALLOC, Op.MEMALIGN, Op.REALLOC, Op.REALLOC, Op.FREE, Op.MALLOPT, Op.MALLOPT, Op.TRIM, Op.INFO]);
    expect(list.b[4]).toBe(NO_ID);
    expect(list.a[6] | 0).toBe(-3);
    expect(list.b[6] | 0).toBe(-5);
    expect(list.paramText.get(6)).toBe("M_MMAP_THRESHOLD");
    expect(list.a[7] | 0).toBe(-1);
    expect(list.b[8]).toBe(128);
    expect(list.comments).toEqual(["ops v1"]);
    expect(formatOps(list)).toBe("# ops v1\nm 0 10\nc 1 3 4\na 2 64 100\nr 3 0 20\nr 4 - 7\nf 3\no M_MMAP_THRESHOLD -5\no -1 65536\nt 128\ni\n");
  });

  it("gives the same list whatever the pieces it is fed in", () => {
    const text = readFileSync(join(scenariosDir, "realloc.ops"), "utf8");
    const whole = parseOps(text);
    const bytes = new TextEncoder().encode(text);
    for (const step of [1, 7, 64, 1000]) {
      const parser = new OpsParser();
      for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step));
      const list = parser.end();
      expect(list.length).toBe(whole.length);
      expect(formatOps(list)).toBe(formatOps(whole));
    }
  });

  it("refuses malformed lines with their line number", () => {
    for (const [text, line] of [
      ["m 0 10\nm 2 10\n", 2], // IDs must be 0, 1, 2, ...
      ["m 0\n", 1],
      ["m 0 10 x\n", 1],
      ["q 0 10\n", 1],
      ["# c\nm 0 4294967296\n", 2],
      ["o M_NOPE 1\n", 1],
      ["mm 0 1\n", 1],
    ] as const) {
      expect(() => parseOps(text), text).toThrowError(OpsSyntaxError);
      try {
        parseOps(text);
      } catch (e) {
        expect((e as OpsSyntaxError).line).toBe(line);
      }
    }
  });

  for (const name of TRACES) {
    it(`${name}: every op, written back byte for byte`, () => {
      const text = gz(`${name}.ops.gz`).toString("utf8");
      const list = parseOps(text);
      expect(formatOps(list)).toBe(text);
    });
  }

  it("parses every scenario", () => {
    for (const file of readdirSync(scenariosDir).filter((f) => f.endsWith(".ops"))) {
      const list = parseOps(readFileSync(join(scenariosDir, file)));
      expect(list.length, file).toBeGreaterThan(0);
    }
  });
});

/** A stand-in process: a bump allocator that writes glibc-like size fields, for the writer only. */
function bumpProcess(): ReplayTarget {
  const memory = new WebAssembly.Memory({ initial: 16 });
  const view = () => new DataView(memory.buffer);
  const brk0 = 0x10000;
  let top = brk0 + 8;
  const zero: Mallinfo2 = { arena: 0, ordblks: 0, smblks: 0, hblks: 0, hblkhd: 0, usmblks: 0, fsmblks: 0, uordblks: 0, fordblks: 0, keepcost: 0 };
  const alloc = (size: number) => {
    if (size > 0x10000) return 0;
    const chunk = Math.max(16, (size + 4 + 15) & ~15);
    const p = top + 8;
    view().setUint32(p - 4, chunk | (size >= 4096 ? 2 : 1), true);
    top += chunk;
    return p;
  };
  return {
    memory,
    malloc: alloc,
    calloc: (n, s) => alloc(n * s),
    memalign: (_a, s) => alloc(s),
    realloc: (_p, s) => alloc(s),
    free: () => {},
    mallopt: () => 1,
    malloc_trim: () => 0,
    mallinfo2: () => ({ ...zero, arena: top - brk0 }),
    malloc_stats: () => "Arena 0:\nsystem bytes     =          0\n",
    malloc_info: () => '<malloc version="1">\n</malloc>\n',
    sbrk: () => brk0,
    maps: () => "",
  };
}

describe("the replay writer", () => {
  it("writes ID lines, checkpoints and extension results in op order, as the C oracle does", () => {
    const list = parseOps("m 0 24\nf 0\nm 1 5000\no M_TOP_PAD 0\nm 2 100000\nf 9\nr 3 0 10\nt 0\ni\n");
    const result = replay(bumpProcess(), list, { checkpointEvery: 3 });
    expect(result.errors).toBe(2); // f 9 (unknown) and r of the freed ID 0
    const text = formatReplay(result);
    expect(text).toBe(
      [
        "# replay glibc=2.36 sizeof_size_t=4 brk0_page_offset=0 brk_untouched_before_first_op=yes ids=4 malloc_env=none",
        "0 16 32",
        "1 M 5008",
        "# op=3 brk=0 arena=5048 ordblks=0 smblks=0 hblks=0 hblkhd=0 usmblks=0 fsmblks=0 uordblks=0 fordblks=0 keepcost=0",
        "# mallopt M_TOP_PAD 0 => 1",
        "2 N",
        "# op=6 brk=0 arena=5048 ordblks=0 smblks=0 hblks=0 hblkhd=0 usmblks=0 fsmblks=0 uordblks=0 fordblks=0 keepcost=0",
        "# malloc_trim 0 => 0",
        "# malloc_info:",
        '# <malloc version="1">',
        "# </malloc>",
        "# op=9 brk=0 arena=5048 ordblks=0 smblks=0 hblks=0 hblkhd=0 usmblks=0 fsmblks=0 uordblks=0 fordblks=0 keepcost=0",
        "# end ops=9 allocs=4 frees=2 mmapped_allocs=1 errors=2",
        "# brk_delta=0 max_brk_delta=0",
        "# mallinfo2 arena=5048 ordblks=0 smblks=0 hblks=0 hblkhd=0 usmblks=0 fsmblks=0 uordblks=0 fordblks=0 keepcost=0",
        "# malloc_stats:",
        "# Arena 0:",
        "# system bytes     =          0",
        "",
      ].join("\n"),
    );
    expect(result.opNanos?.length).toBe(9);
  });

  it("finds the first differing line", () => {
    expect(firstDifference("a\nb\nc\n", "a\nb\nc\n")).toBeNull();
    expect(firstDifference("a\nb\nc\n", "a\nx\nc\n")).toEqual({ line: 2, expected: "b", actual: "x" });
    expect(firstDifference("a\n", "a\nb\n")).toEqual({ line: 2, expected: "", actual: "b" });
  });
});
