// Every failure a user can cause with an input is one line on stderr naming the file (and the
// line, where there is one), and exit status 1: never a stack trace, never exit 0 with nothing.

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { fails, run, scratch, traces } from "./run.js";

const tmp = scratch("ptmalloc-wasm-cli-");
const file = tmp.file;

/** n malloc/free pairs: m 0 16, f 0, m 1 16, f 1, ... */
const pairs = (n: number) => Array.from({ length: n }, (_, i) => `m ${i} 16\nf ${i}\n`).join("");

describe("files that cannot be read", () => {
  it("a missing file", async () => {
    const path = join(tmp.dir, "nope.ops");
    await fails(["replay", path], new RegExp(`^ptmalloc-wasm: ${path}: no such file$`));
  });
  it("a directory", async () => {
    mkdirSync(join(tmp.dir, "sub"), { recursive: true });
    await fails(["replay", join(tmp.dir, "sub")], /: is a directory/);
  });
  it("a truncated gzip file", async () => {
    const whole = readFileSync(join(traces, "python3.ops.gz"));
    const path = file("cut.ops.gz", whole.subarray(0, whole.length >> 1));
    await fails(["replay", path], new RegExp(`^ptmalloc-wasm: ${path}: gzip data cut short`));
  });
  it("a corrupt gzip file", async () => {
    const bytes = Uint8Array.from(gzipSync("m 0 10\n"));
    bytes.fill(0xff, 10, 16);
    await fails(["replay", file("bad.ops.gz", bytes)], /: corrupt gzip data/);
  });
  it("a truncated gzip on standard input", async () => {
    const whole = gzipSync(pairs(1000));
    await fails(["replay", "-"], /^ptmalloc-wasm: <stdin>: gzip data cut short/, whole.subarray(0, whole.length - 9));
  });
});

describe("op lists that are wrong, with the line and what was expected", () => {
  const cases: [string, string, RegExp][] = [
    ["garbage", "m 0 10\nhello world\n", /:2: unknown op "hello" \(expected one of .*\): "hello world"$/],
    ["a new thread out of order", "m 0 10\nT 2\nm 1 10\n", /:2: thread 2 out of order: the next new thread is 1 .*: "T 2"$/],
    ["a thread named again after its exit", "T 1\nE 1\nT 1\n", /:3: thread 1 has exited: thread numbers are never reused .*: "T 1"$/],
    ["the main thread exiting", "m 0 10\nE 0\n", /:2: E 0: the main thread does not exit .*: "E 0"$/],
    ["an exit of a thread never created", "T 1\nE 2\n", /:2: thread 2 was never created .*: "E 2"$/],
    ["a half-written last line", "m 0 10\nm 1 20\nm 2", /:3: missing SIZE \(expected "m ID SIZE"\): "m 2"$/],
    ["a number past 32 bits", "# header\nm 0 4294967296\n", /:2: SIZE 4294967296 is past 32 bits/],
    ["a negative size", "m 0 -16\n", /:1: SIZE is negative/],
    ["an ID out of order", "m 0 1\nm 5 1\n", /:2: ID 5 out of order: the next ID is 1/],
    ["trailing text", "f 0 0\n", /:1: trailing text \(expected "f ID"\)/],
    ["a region never mapped", "U 3 0 4096\n", /:1: region 3 was never mapped/],
    ["a free of an ID never allocated", "m 0 10\nf 0\nf 7\n", /:3: ID 7 was never allocated .*replay stops here/],
    ["a free of an ID already freed", "m 0 10\nf 0\n# again\nf 0\n", /:4: ID 0 is not live .*replay stops here/],
    ["a realloc of an ID already freed", "m 0 10\nf 0\nr 1 0 20\n", /:3: ID 0 is not live/],
  ];
  for (const [what, text, line] of cases) {
    it(`${what} (file, and standard input)`, async () => {
      const path = file(`${what.replace(/\W+/g, "-")}.ops`, text);
      await fails(["replay", path], new RegExp(`^ptmalloc-wasm: ${path}${line.source.replace(/^:/, ":")}`));
      await fails(["replay", "-"], new RegExp(`^ptmalloc-wasm: <stdin>${line.source}`), text);
    });
  }
  it("the line number is the file's, gzipped or not, whatever the piece boundaries", async () => {
    const text = pairs(200_000) + "m 200000 16\nm 200001 x\n";
    await fails(["replay", file("long.ops.gz", gzipSync(text))], /long\.ops\.gz:400002: SIZE is not a decimal number/);
  });
  it("an input with no op in it", async () => {
    await fails(["replay", file("empty.ops", "")], /: no op in it/);
    await fails(["replay", file("comments.ops", "# only\n# comments\n")], /: no op in it/);
    await fails(["replay", "-"], /<stdin>: no op in it/, "");
  });
});

describe("mtrace logs that are wrong", () => {
  it("a garbage line, with the mtrace line number", async () => {
    const log = "= Start\n@ ./a.out:[0x1149] + 0x5000 0x10\nthis is not mtrace\n";
    await fails(["replay", file("g.mtrace", log)], /g\.mtrace:3: not an mtrace record \(expected .*\): "this is not mtrace"$/);
    await fails(["convert", file("g2.mtrace", log)], /g2\.mtrace:3: not an mtrace record/);
  });
  it("a bad size, with the mtrace line number", async () => {
    const log = "= Start\n@ ./a.out:[0x1149] + 0x5000 0x10\n@ ./a.out:[0x1149] + 0x6000 0xzz\n";
    await fails(["replay", file("s.mtrace", log)], /s\.mtrace:3: SIZE "0xzz" is not %#lx hex/);
  });
  it("a log cut between the two lines of a realloc", async () => {
    const log = "= Start\n@ ./a.out:[0x1149] + 0x5000 0x10\n@ ./a.out:[0x1149] < 0x5000\n";
    await fails(["replay", file("cut.mtrace", log)], /cut\.mtrace:3: realloc `<` line without the `>` line/);
  });
});

describe("convert", () => {
  it("refuses an op list", async () => {
    await fails(["convert", join(traces, "python3.ops.gz")], /python3\.ops\.gz: this is an op list already, not a glibc mtrace log/);
  });
  it("refuses text that is neither, naming the line", async () => {
    await fails(["convert", file("junk.txt", "hello\n")], /junk\.txt:1: not a glibc mtrace log/);
  });
  it("refuses a log with no allocation", async () => {
    await fails(["convert", file("start.mtrace", "= Start\n= End\n")], /start\.mtrace: no allocation in it/);
  });
  it("a missing file", async () => {
    await fails(["convert", join(tmp.dir, "none.mtrace")], /none\.mtrace: no such file$/);
  });
});

describe("maps and stats", () => {
  it("--at past the end of the trace", async () => {
    await fails(["maps", file("three.ops", "m 0 1\nm 1 2\nf 0\n"), "--at", "4"], /three\.ops: '--at 4' is past the end: the trace has 3 ops/);
  });
  it("a bad line before --at is reached", async () => {
    await fails(["stats", file("bad-at.ops", "m 0 1\nx\n"), "--at", "5"], /bad-at\.ops:2: unknown op/);
  });
});

describe("--expect", () => {
  it("a difference is one line naming the line of the oracle output", async () => {
    const expected = "# replay glibc=2.36 sizeof_size_t=4 brk0_page_offset=0 brk_untouched_before_first_op=yes ids=1 malloc_env=none\n0 999 32\n";
    const path = file("expected.txt", expected);
    const r = await run(["replay", "-", "--expect", path], { stdin: "m 0 24\n" });
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual([`ptmalloc-wasm: differs from ${path} at line 2: expected "0 999 32", replay gave "0 416 32"`]);
  });
});
