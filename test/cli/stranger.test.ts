// What a new user throws at the command line, beyond the plain mistakes of errors.test.ts: files
// that are not text, byte order marks, a line that never ends, standard input asked for twice,
// an interrupted replay, a process killed for want of memory, and `record` aimed wrong.

import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { cli, fails, root, run, scratch } from "./run.js";

const tmp = scratch("ptmalloc-wasm-stranger-");
const file = tmp.file;

/** Bytes that are no text: a fixed pseudo-random sequence with newlines here and there. */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe("inputs that are not text", () => {
  it("binary garbage, plain or gzipped: the line, and that it is binary", async () => {
    const bytes = noise(3000);
    await fails(["replay", file("noise.bin", bytes)], /noise\.bin:1: binary data, not a text trace \(byte 0x[0-9a-f]{2} at column \d+\): ".{1,110}"$/);
    await fails(["replay", file("noise.gz", gzipSync(bytes))], /noise\.gz:1: binary data, not a text trace/);
    await fails(["convert", file("noise.mtrace", `= Start\n${String.fromCharCode(...bytes.subarray(0, 50))}\n`)], /noise\.mtrace:2: binary data, not a text trace/);
    await fails(["convert", file("noise2.bin", bytes)], /noise2\.bin:1: binary data, not a text trace/);
  });
  it("NUL bytes in the middle of an op list", async () => {
    await fails(["replay", "-"], /^ptmalloc-wasm: <stdin>:2: binary data, not a text trace \(byte 0x00 at column 1\): "\\u0000\\u0000"$/, "m 0 10\n\0\0\nf 0\n");
  });
  it("a line that never ends (2 MiB of zeros): stopped at 1 MiB, not read to the end", async () => {
    await fails(["replay", file("zeros.bin", new Uint8Array(2 << 20))], /zeros\.bin:1: binary data, .*a line longer than 1 MiB without a newline: not a trace: ".{1,110}"$/);
    await fails(["replay", file("digits.ops", `m 0 ${"1".repeat(2 << 20)}`)], /digits\.ops:1: a line longer than 1 MiB/);
  });
});

describe("text the way editors and other systems write it", () => {
  it("a UTF-8 byte order mark, an op list or an mtrace log, plain or gzipped", async () => {
    const bom = "\uFEFF";
    for (const [name, text] of [
      ["bom.ops", `${bom}m 0 10\nf 0\n`],
      ["bom.mtrace", `${bom}= Start\n@ ./a.out:[0x1149] + 0x5000 0x10\n= End\n`],
    ] as const) {
      for (const content of [text, gzipSync(text)]) {
        const r = await run(["replay", file(name, content), "--checkpoint", "0"]);
        expect(r.errLines, r.stderr).toEqual([]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^# replay .* ids=1 .*\n0 416 (16|32)\n/);
      }
    }
  });
  it("CRLF line endings and a last line without a newline replay as the plain list does", async () => {
    const plain = await run(["replay", "-"], { stdin: "m 0 10\nm 1 20\nf 0\n" });
    const crlf = await run(["replay", "-"], { stdin: "m 0 10\r\nm 1 20\r\nf 0" });
    expect(plain.code).toBe(0);
    expect(crlf.code).toBe(0);
    expect(crlf.stdout).toBe(plain.stdout);
  });
});

const hasScript = spawnSync("script", ["--version"]).status === 0;
describe.skipIf(!hasScript || process.platform !== "linux")("standard input that is a terminal", () => {
  it("says that it waits for the trace, then reads what is typed up to Ctrl-D", () => {
    // script(1) runs the command on a pseudo-terminal and types our input into it
    const r = spawnSync("script", ["-q", "-c", `${process.execPath} ${cli} replay - --checkpoint 0 --no-progress`, "/dev/null"], {
      input: "m 0 10\nf 0\n\x04",
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stdout).toContain("reading the trace from the terminal (end it with Ctrl-D; or give a file name)");
    expect(r.stdout).toMatch(/# replay .* ids=1 .*\r?\n0 416 16\r?\n/);
  });
});

describe("the command line", () => {
  it("standard input cannot be both the trace and the expected output", async () => {
    const r = await run(["replay", "-", "--expect", "-"], { stdin: "m 0 10\n" });
    expect(r.code).toBe(2);
    expect(r.errLines[0]).toBe("ptmalloc-wasm: replay: standard input ('-') can be the trace or '--expect', not both");
    expect(r.stdout).toBe("");
  });
  it("a wrong option is told before the file is looked at (exit status 2, not 1)", async () => {
    for (const [flag, value] of [["--aslr", "3"], ["--seed", "abc"], ["--allocator", "foo"]]) {
      const r = await run(["stats", join(tmp.dir, "no-such-file"), flag, value]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.errLines[0]).toContain(`'${flag}': '${value}'`);
    }
  });
  it("--at 0 of an input with no op is still an input with no op", async () => {
    await fails(["stats", file("nothing.ops", "# nothing\n"), "--at", "0"], /nothing\.ops: no op in it/);
    const r = await run(["stats", "-", "--at", "0"], { stdin: "m 0 10\n" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Arena 0:\nsystem bytes {5}= {10}0\n/);
  });
  it("--expect with a binary file: the difference in one short line", async () => {
    const r = await run(["replay", "-", "--expect", file("expect.bin", noise(5000))], { stdin: "m 0 10\n" });
    expect(r.code).toBe(1);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(/^ptmalloc-wasm: differs from .*expect\.bin at line 1: expected ".*…", replay gave "# replay glibc=2\.36 .*…"$/);
    expect(r.errLines[0].length).toBeLessThan(400);
  });
});

describe("output and input the system refuses", () => {
  it.skipIf(!existsSync("/dev/full"))("a full disk: one line, exit status 1, no stack trace", async () => {
    for (const args of [["replay", "-"], ["--version"]]) {
      const r = await new Promise<{ code: number | null; stderr: string }>((ok) => {
        const full = openSync("/dev/full", "w");
        const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ["pipe", full, "pipe"] });
        closeSync(full);
        let stderr = "";
        child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
        child.on("close", (code) => ok({ code, stderr }));
        child.stdin.end("m 0 10\nf 0\n");
      });
      expect(r.stderr).toBe("ptmalloc-wasm: cannot write the output: no space left on device (ENOSPC)\n");
      expect(r.code).toBe(1);
    }
  });
  it.skipIf(process.getuid?.() === 0)("a file without read permission", async () => {
    const path = file("secret.ops", "m 0 10\n");
    chmodSync(path, 0);
    await fails(["replay", path], new RegExp(`^ptmalloc-wasm: ${path}: permission denied$`));
  });
});

describe("a process killed for want of memory", () => {
  it("the OOM killer: exit status 137, nothing on stderr, the output so far on stdout", async () => {
    // mmap off, so each calloc reuses the freed 400 MB block in the heap and must clear it:
    // three of them touch more than the process's 1 GiB of RAM
    let ops = "o M_MMAP_MAX 0\n";
    for (let i = 0; i < 3; i++) ops += `m ${3 * i} 400000000\nm ${3 * i + 1} 16\nf ${3 * i}\nc ${3 * i + 2} 1 400000000\n`;
    const r = await run(["replay", "-"], { stdin: ops });
    expect(r.code).toBe(137);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^# replay .*\n# mallopt M_MMAP_MAX 0 => 1\n0 416 400000016\n1 400000432 32\n2 416 400000016\n/);
    const json = await run(["replay", "-", "--json"], { stdin: ops });
    expect(json.code).toBe(137);
    expect(JSON.parse(json.stdout)).toMatchObject({ died: { signal: "SIGKILL" } });
  });
});

describe("Ctrl-C during a long replay", () => {
  it("ends as SIGINT ends a program, with no progress line and no spool file left behind", async () => {
    const spoolDir = join(tmp.dir, "tmp");
    mkdirSync(spoolDir, { recursive: true });
    const child = spawn(process.execPath, [cli, "replay", "-", "--progress"], {
      cwd: root,
      env: { ...process.env, TMPDIR: spoolDir },
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.stdin.on("error", () => {});
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((ok) => child.on("close", (code, signal) => ok([code, signal])));
    // malloc/free pairs until the held output (32 MiB in memory) has moved to a file
    let id = 0;
    const spilled = () => readdirSync(spoolDir).some((f) => f.startsWith("ptmalloc-wasm-"));
    while (!spilled()) {
      let text = "";
      for (let k = 0; k < 50_000; k++, id++) text += `m ${id} 24\nf ${id}\n`;
      if (!child.stdin.write(text)) await new Promise((ok) => child.stdin.once("drain", ok));
      expect(id, "the spool never moved to a file").toBeLessThan(8_000_000);
    }
    child.kill("SIGINT");
    const [code, signal] = await ended;
    expect(signal ?? code).toBe(code === null ? "SIGINT" : 130);
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(stderr).not.toMatch(/    at |Error/);
    expect(stderr.endsWith("\r\x1b[K")).toBe(true);
  }, 60_000);
});

const hasCc = spawnSync("cc", ["--version"]).status === 0;
describe.skipIf(!hasCc || process.platform !== "linux")("record, aimed wrong", () => {
  const env = () => ({ XDG_CACHE_HOME: join(tmp.dir, "cache") });
  it("a log in a directory that does not exist: said before the command runs", async () => {
    const marker = join(tmp.dir, "ran");
    const r = await run(["record", "-o", join(tmp.dir, "no", "such", "x.mtrace"), "--", "sh", "-c", `touch ${marker}`], { env: env() });
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual([`ptmalloc-wasm: ${join(tmp.dir, "no", "such", "x.mtrace")}: cannot write the log there: no such directory`]);
    expect(existsSync(marker)).toBe(false);
  });
  it("a directory as the command", async () => {
    const r = await run(["record", "-o", join(tmp.dir, "d.mtrace"), "--", tmp.dir], { env: env() });
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual([`ptmalloc-wasm: ${tmp.dir}: is a directory, not a program`]);
  });
  it("a command killed by a signal: 128 + its number, as the shell reports it", async () => {
    const r = await run(["record", "-o", join(tmp.dir, "k.mtrace"), "--", "sh", "-c", "kill -TERM $$"], { env: env() });
    expect(r.code).toBe(143);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(/wrote .*k\.mtrace: \d+ mtrace records? of sh -c/);
  });
  it("a compiler that fails without a word: its exit status", async () => {
    const r = await run(["record", "-o", join(tmp.dir, "c.mtrace"), "--", "true"], { env: { XDG_CACHE_HOME: join(tmp.dir, "cache-none"), CC: "false" } });
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual(["ptmalloc-wasm: cannot build the preload library with 'false': exit status 1, and nothing on stderr"]);
  });
});
