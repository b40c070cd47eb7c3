// The command line as a stranger meets it: --version, help, and every way to get the command
// line wrong (one line quoting the argument, then the usage, exit status 2).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root, run, scenarios } from "./run.js";

beforeAll(ensureBuilt);

const ops = join(scenarios, "realloc.ops");

describe("--version and --help", () => {
  it("--version prints the package's version on stdout", async () => {
    const r = await run(["--version"]);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.stderr).toBe("");
  });

  for (const command of ["replay", "maps", "stats", "convert", "record", "demo"]) {
    it(`${command} -h and --help print that command's usage`, async () => {
      for (const flag of ["-h", "--help"]) {
        const r = await run([command, flag]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: ptmalloc-wasm ${command}`));
      }
    });
  }

  it("the general help lists the commands and the exit statuses", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const word of ["replay", "maps", "stats", "convert", "record", "134", "137", "139"]) expect(r.stdout).toContain(word);
  });

  it("the replay help says what each process flag changes", async () => {
    const r = await run(["replay", "--help"]);
    for (const flag of ["--seed", "--aslr", "--allocator", "--debug", "--checkpoint", "--expect", "--summary", "--json"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("no command at all: the usage on stderr, exit status 2", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^usage: ptmalloc-wasm COMMAND/);
  });
});

describe("a wrong command line: one line quoting the argument, then the usage, exit status 2", () => {
  const cases: [string, string[], string][] = [
    ["an unknown command", ["frobnicate"], "'frobnicate'"],
    ["an unknown flag", ["replay", ops, "--bogus"], "'--bogus'"],
    ["an unknown short flag", ["replay", ops, "-x"], "'-x'"],
    ["a missing value at the end", ["replay", ops, "--seed"], "'--seed'"],
    ["a flag where a value should be", ["replay", ops, "--seed", "--json"], "'--seed'"],
    ["a malformed number", ["replay", ops, "--seed=abc"], "'abc'"],
    ["a negative number", ["replay", ops, "--checkpoint", "-5"], "'--checkpoint'"],
    ["a number past 32 bits", ["replay", ops, "--seed", "4294967296"], "'4294967296'"],
    ["an out-of-range choice", ["replay", ops, "--aslr", "3"], "'3'"],
    ["an unknown allocator", ["replay", ops, "--allocator=glibc"], "'glibc'"],
    ["a value given to a boolean flag", ["replay", ops, "--json=yes"], "'--json=yes'"],
    ["a stray argument", ["replay", ops, "extra"], "'extra'"],
    ["a missing trace", ["replay"], "missing the trace file"],
    ["a stray argument to convert", ["convert", "a", "b"], "'b'"],
    ["maps with a bad --at", ["maps", ops, "--at", "x1"], "'x1'"],
  ];
  for (const [what, args, quoted] of cases) {
    it(what, async () => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.errLines[0]).toMatch(/^ptmalloc-wasm: /);
      expect(r.errLines[0]).toContain(quoted);
      expect(r.errLines[1]).toBe("");
      expect(r.errLines[2]).toMatch(/^usage: ptmalloc-wasm/);
    });
  }

  it("--flag value and --flag=value are the same", async () => {
    const a = await run(["replay", ops, "--checkpoint", "7", "--seed", "5"]);
    const b = await run(["replay", ops, "--checkpoint=7", "--seed=5"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain("# op=7 ");
    expect(b.stdout).toBe(a.stdout);
  });
});

describe("fuzz", () => {
  it("is a command (it runs the fuzz harness when the build has it, else says it is missing)", async () => {
    const r = await run(["fuzz", "--help"]);
    if (r.code === 1) {
      expect(r.errLines).toEqual(["ptmalloc-wasm: the fuzz command is not part of this build (no fuzz/main.js next to the CLI)"]);
    } else {
      expect(r.errLines.join("\n")).not.toMatch(/unknown command/);
    }
  });
});
