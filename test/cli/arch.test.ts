// --arch x86_64 as a user runs it: a trace replayed as the real x86-64 glibc replays it, the
// process's 64-bit maps, and the one combination refused.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root, run, scenarios, traces } from "./run.js";

beforeAll(ensureBuilt);

describe("--arch x86_64", () => {
  it("replays a scenario byte for byte as the real x86-64 glibc", async () => {
    const r = await run(["replay", join(scenarios, "realloc.ops"), "--arch", "x86_64", "--checkpoint", "1"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(root, "test/fixtures/alloc64/realloc.replay64.txt"), "utf8"));
  });

  it("compares a recorded trace with the 64-bit oracle's output (--expect)", async () => {
    const expected = join(traces, "sqlite3.replay64.txt.gz");
    const r = await run(["replay", join(traces, "sqlite3.ops.gz"), "--arch=x86_64", "--expect", expected]);
    expect(r.code).toBe(0);
    expect(r.errLines[0]).toMatch(/^identical to .*sqlite3\.replay64\.txt\.gz \(\d+ ops, replay of /);
  });

  it("maps prints the 64-bit layout: the program at 0x555555554000 without ASLR, 12-digit addresses", async () => {
    const r = await run(["maps", join(scenarios, "realloc.ops"), "--arch", "x86_64", "--aslr", "0"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^555555554000-555555555000 r--p 00000000 /);
    expect(lines.find((l) => l.endsWith("[heap]"))).toMatch(/^5555555[0-9a-f]{5}-5555555[0-9a-f]{5} rw-p /);
    expect(lines.find((l) => l.endsWith("[stack]"))).toMatch(/^7ffffffde000-7ffffffff000 rw-p /);
  });

  it("an i386 replay compared with a 64-bit output differs at the header", async () => {
    const r = await run(["replay", join(scenarios, "realloc.ops"), "--checkpoint", "1", "--expect", join(root, "test/fixtures/alloc64/realloc.replay64.txt")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sizeof_size_t=8/);
  });

  it("replays with the TypeScript twin too (--allocator ts), to the same output", async () => {
    const r = await run(["replay", join(scenarios, "realloc.ops"), "--arch", "x86_64", "--allocator", "ts", "--checkpoint", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(root, "test/fixtures/alloc64/realloc.replay64.txt"), "utf8"));
  });

  it("refuses an unknown arch with exit status 2", async () => {
    const r = await run(["replay", join(scenarios, "realloc.ops"), "--arch", "amd64"]);
    expect(r.code).toBe(2);
    expect(r.errLines[0]).toMatch(/amd64/);
  });

  it("demo --arch x86_64 walks through a 64-bit process", async () => {
    const r = await run(["demo", "--arch", "x86_64"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("emulated x86-64 Linux process");
    expect(r.stdout).toContain("= initial break + 672");
    expect(r.stdout).toContain("(+135168 bytes)");
    const bad = await run(["demo", "--arch", "arm64"]);
    expect(bad.code).toBe(2);
  });
});
