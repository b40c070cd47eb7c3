// record: a real program's allocations on this machine, through glibc's mtrace and the CLI's
// preload library (built with cc on first use), into a log that convert and replay read.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, run } from "./run.js";

const hasCc = spawnSync("cc", ["--version"]).status === 0;
const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
const canRecord = hasCc && glibc !== undefined && process.platform === "linux";
if (!canRecord) console.warn(`record tests skipped: ${hasCc ? "" : "no cc; "}${glibc ? "" : "no glibc"}`);

let dir = "";
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "ptmalloc-wasm-record-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAM = `#include <stdlib.h>
#include <malloc.h>
int main(void) {
  void *a = malloc(100), *b = calloc(3, 40), *c = memalign(64, 200), *d = aligned_alloc(32, 64), *e;
  if (posix_memalign(&e, 128, 50)) return 1;
  void *f = valloc(10), *g = pvalloc(10);
  a = realloc(a, 300);
  free(b); free(c); free(d); free(e); free(f); free(g); free(a);
  return 3;
}
`;

describe.skipIf(!canRecord)("record", () => {
  it("records a C program's calls, tagging calloc and the memalign family, and keeps its exit status", async () => {
    writeFileSync(join(dir, "prog.c"), PROGRAM);
    expect(spawnSync("cc", ["-O0", "-o", join(dir, "prog"), join(dir, "prog.c")]).status).toBe(0);
    const env = { XDG_CACHE_HOME: join(dir, "cache") };
    const log = join(dir, "prog.mtrace");
    const r = await run(["record", "-o", log, "--", join(dir, "prog")], { env });
    expect(r.code).toBe(3);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(/^ptmalloc-wasm: wrote .*prog\.mtrace: \d+ mtrace records/);
    const text = readFileSync(log, "utf8");
    expect(text.startsWith("= Start\n")).toBe(true);
    expect(text).toMatch(/\(mtrx_calloc\+/);

    const converted = await run(["convert", log]);
    expect(converted.code).toBe(0);
    const ops = converted.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    // what glibc 2.36 passes on: pvalloc(10) asks _mid_memalign for ALIGN_UP(10, 4096) + 1
    expect(ops.slice(0, 8)).toEqual(["m 0 100", "c 1 1 120", "a 2 64 200", "a 3 32 64", "a 4 128 50", "a 5 4096 10", "a 6 4096 4097", "r 7 0 300"]);

    const replayed = await run(["replay", log, "--checkpoint", "0"]);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/\n0 416 112\n1 528 128\n/);

    // the library is built once and then reused from the cache
    const cache = join(dir, "cache", "ptmalloc-wasm");
    const lib = readdirSync(cache).find((f) => f.endsWith(".so"))!;
    const built = statSync(join(cache, lib)).mtimeMs;
    const again = await run(["record", "-o", log, "--", join(dir, "prog")], { env });
    expect(again.code).toBe(3);
    expect(statSync(join(cache, lib)).mtimeMs).toBe(built);
  });

  it("records ls, and the log replays", async () => {
    const log = join(dir, "ls.mtrace");
    const r = await run(["record", "-o", log, "ls", "/"], { env: { XDG_CACHE_HOME: join(dir, "cache") } });
    expect(r.code).toBe(0);
    const replayed = await run(["replay", log, "--json"]);
    expect(replayed.code).toBe(0);
    expect((JSON.parse(replayed.stdout) as { ops: number }).ops).toBeGreaterThan(10);
  });

  it("a command that does not exist is one line and exit status 1", async () => {
    const r = await run(["record", "-o", join(dir, "x.mtrace"), "--", "no-such-command-here"], { env: { XDG_CACHE_HOME: join(dir, "cache") } });
    expect(r.code).toBe(1);
    expect(r.errLines).toEqual(["ptmalloc-wasm: no-such-command-here: command not found"]);
  });

  it("no C compiler: one line saying so", async () => {
    const r = await run(["record", "-o", join(dir, "y.mtrace"), "--", "true"], {
      env: { XDG_CACHE_HOME: join(dir, "empty-cache"), CC: "no-such-cc" },
    });
    expect(r.code).toBe(1);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(/^ptmalloc-wasm: record needs a C compiler .*'no-such-cc'/);
  });

  it("record with nothing to run is a usage error", async () => {
    const r = await run(["record", "-o", join(dir, "z.mtrace")]);
    expect(r.code).toBe(2);
    expect(r.errLines[0]).toMatch(/missing the command to record/);
  });
});
