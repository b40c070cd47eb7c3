// The spool that holds the replay output until its header is known: in memory up to a limit, then
// in a temporary file; a temporary directory it cannot use is one line for the user.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../host/cli/args.js";
import { Spool } from "../../host/cli/output.js";

const saved = process.env.TMPDIR;
afterEach(() => {
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
});

const text = (s: string) => new TextEncoder().encode(s);

describe("Spool", () => {
  it("moves to a temporary file past its memory limit, gives the lines back in order, and leaves nothing behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ptmalloc-wasm-spool-"));
    try {
      process.env.TMPDIR = dir;
      const spool = new Spool(16);
      spool.add(text("one\ntwo\n"));
      expect(readdirSync(dir)).toEqual([]);
      spool.add(text("three\nfour\nfive\n")); // past 16 bytes: to a file
      expect(readdirSync(dir)).toHaveLength(1);
      spool.add(text("six\n"));
      const lines: string[] = [];
      for await (const line of spool.lines()) lines.push(line);
      expect(lines).toEqual(["one", "two", "three", "four", "five", "six"]);
      spool.dispose();
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a temporary directory that does not exist: a UserError that says what to do", () => {
    process.env.TMPDIR = join(tmpdir(), "ptmalloc-wasm-no-such-dir", "below");
    const spool = new Spool(8);
    spool.add(text("1234\n"));
    expect(() => spool.add(text("56789\n"))).toThrow(UserError);
    expect(() => spool.add(text("56789\n"))).toThrow(/^cannot keep the replay output in the temporary directory .*ptmalloc-wasm-no-such-dir\/below \(no such directory\): set TMPDIR, or use --summary/);
  });
});
