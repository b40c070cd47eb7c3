// replay, maps, stats and convert as a user runs them: the output of the real glibc's replayer,
// from a file or standard input, gzipped or not; summaries for people and JSON for machines; and
// a process that dies ending the command as the real process would.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { createProcess } from "../../host/index.js";
import { formatReplay, replay } from "../../host/trace/index.js";
import { ensureBuilt, run, scenarios, traces } from "./run.js";

beforeAll(ensureBuilt);

const fixture = (name: string) => readFileSync(join(root(), name));
const root = () => join(traces, "../../..");
const realloc = join(scenarios, "realloc.ops");
const reallocExpected = readFileSync(join(root(), "test/fixtures/alloc/realloc.replay32.txt"), "utf8");

describe("replay prints what the real glibc's replayer prints", () => {
  it("a scenario, byte for byte, from a file", async () => {
    const r = await run(["replay", realloc, "--checkpoint", "1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(reallocExpected);
  });

  it("the same from standard input, plain or gzipped", async () => {
    const text = readFileSync(realloc);
    for (const stdin of [text, gzipSync(text)]) {
      const r = await run(["replay", "-", "--checkpoint=1"], { stdin });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(reallocExpected);
    }
  });

  it("a recorded mtrace log, streamed, compared with --expect", async () => {
    const r = await run(["replay", join(traces, "python3.mtrace.gz"), "--expect", join(traces, "python3.replay32.txt.gz")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.errLines).toEqual([`identical to ${join(traces, "python3.replay32.txt.gz")} (163853 ops, replay of ${join(traces, "python3.mtrace.gz")})`]);
  });

  it("a generated trace of 300000 ops streams to the same output as the whole-input API", async () => {
    // malloc/free pairs of varied sizes with some blocks kept, some mmapped, some realloc'd
    const lines: string[] = [];
    let id = 0;
    const kept: number[] = [];
    for (let i = 0; lines.length < 300_000; i++) {
      const size = (i * 7919) % 4000 + 1 + (i % 997 === 0 ? 200_000 : 0);
      lines.push(`m ${id} ${size}`);
      if (i % 5 === 0) kept.push(id);
      else if (i % 13 === 0) {
        lines.push(`r ${id + 1} ${id} ${size * 2}`);
        lines.push(`f ${id + 1}`);
        id++;
      } else lines.push(`f ${id}`);
      id++;
      if (kept.length > 500) lines.push(`f ${kept.shift()}`);
    }
    const text = lines.join("\n") + "\n";
    const r = await run(["replay", "-", "--checkpoint", "5000"], { stdin: gzipSync(text) });
    expect(r.code).toBe(0);
    const proc = await createProcess({ seed: 1 });
    expect(r.stdout).toBe(formatReplay(replay(proc, text, { checkpointEvery: 5000, timings: false })));
  });
});

describe("--summary and --json", () => {
  it("--json is one JSON object with counts, speed, peaks, fragmentation and malloc_stats", async () => {
    const r = await run(["replay", join(traces, "sqlite3.ops.gz"), "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s.ops).toBe(317144);
    expect(s.format).toBe("ops");
    // the i386 oracle's figures for this trace (test/fixtures/traces/README.md)
    expect(s.peakHeapBytes).toBe(4612096);
    expect(s.peakMmappedBytes).toBe(2052096);
    expect(s.brkDelta).toBe(2584576);
    expect(s.mmappedAllocs).toBe(15);
    expect(s.peakRssKiB).toBeGreaterThan(0);
    expect(s.opsPerSecond).toBeGreaterThan(0);
    expect(s.fragmentation).toBeGreaterThan(0);
    expect(s.fragmentation).toBeLessThan(1);
    expect(s.mallocStats).toMatch(/^Arena 0:\nsystem bytes     =    2584576\n/);
  });

  it("--timings adds op latency percentiles", async () => {
    const r = await run(["replay", realloc, "--json", "--timings"]);
    const s = JSON.parse(r.stdout) as { latencyNs: { p50: number; p99: number } };
    expect(s.latencyNs.p50).toBeGreaterThan(0);
    expect(s.latencyNs.p99).toBeGreaterThanOrEqual(s.latencyNs.p50);
  });

  it("--summary is text for people", async () => {
    const r = await run(["replay", realloc, "--summary"]);
    expect(r.code).toBe(0);
    for (const label of ["wall time", "ops/s", "peak heap", "peak mmapped", "peak RSS", "fragmentation", "malloc_stats:"]) {
      expect(r.stdout).toContain(label);
    }
  });
});

describe("maps and stats after N ops", () => {
  it("maps --at shows the heap as it was then", async () => {
    const text = "m 0 24\nm 1 300000\nf 1\nf 0\n";
    const at1 = await run(["maps", "-", "--at", "1", "--aslr", "0"], { stdin: text });
    const at2 = await run(["maps", "-", "--at=2", "--aslr", "0"], { stdin: text });
    expect(at1.code).toBe(0);
    expect(at1.stdout).toMatch(/ \[heap\]\n/);
    // the 300000-byte block is mmapped: one more mapping after op 2
    expect(at2.stdout.split("\n").length).toBe(at1.stdout.split("\n").length + 1);
    const json = await run(["maps", "-", "--at", "2", "--aslr", "0", "--json"], { stdin: text });
    const body = JSON.parse(json.stdout) as { at: number; maps: { start: string; end: string; path: string }[] };
    expect(body.at).toBe(2);
    expect(body.maps.map((m) => `${m.start}-${m.end}`)).toEqual(at2.stdout.trimEnd().split("\n").map((l) => l.split(" ")[0]));
  });

  it("stats --at gives glibc's malloc_stats then, and --json adds mallinfo2 and the status", async () => {
    const text = "m 0 24\nm 1 100\nf 0\n";
    // in use: 408 bytes before the first block (the real glibc's walk-through: 424 after a
    // 16-byte chunk), then chunks of 32 and 112; a chunk in tcache still counts as in use
    const r = await run(["stats", "-", "--at", "2"], { stdin: text });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "Arena 0:\nsystem bytes     =     139264\nin use bytes     =        552\nTotal (incl. mmap):\nsystem bytes     =     139264\nin use bytes     =        552\nmax mmap regions =          0\nmax mmap bytes   =          0\n",
    );
    const j = JSON.parse((await run(["stats", "-", "--json"], { stdin: text })).stdout) as { at: number; mallinfo2: { uordblks: number }; status: { VmHWM: number } };
    expect(j.at).toBe(3);
    expect(j.mallinfo2.uordblks).toBe(552);
    expect(j.status.VmHWM).toBeGreaterThan(0);
  });
});

describe("a process that dies ends the command as the real process would", () => {
  it("glibc's abort: its message on stderr as glibc prints it, exit status 134, the output so far on stdout", async () => {
    // the break is given back and taken again: the block's header now reads as zero
    const r = await run(["replay", "-"], { stdin: "m 0 24\ns -139264\ns 139264\nf 0\n" });
    expect(r.code).toBe(134);
    expect(r.errLines).toEqual(["free(): invalid pointer"]);
    expect(r.stdout).toMatch(/^# replay .* ids=1 malloc_env=none\n0 416 32\n$/);
  });

  it("a SIGSEGV: exit status 139", async () => {
    const r = await run(["replay", "-"], { stdin: "m 0 24\ns -139264\nf 0\n" });
    expect(r.code).toBe(139);
    expect(r.stderr).toBe("");
  });

  it("--json still reports the death", async () => {
    const r = await run(["replay", "-", "--json"], { stdin: "m 0 24\ns -139264\ns 139264\nf 0\n" });
    expect(r.code).toBe(134);
    expect(JSON.parse(r.stdout)).toMatchObject({ ops: 3, died: { signal: "SIGABRT", message: "free(): invalid pointer" } });
  });

  it("maps of a process that died: exit status 139", async () => {
    const r = await run(["maps", "-"], { stdin: "m 0 24\ns -139264\nf 0\n" });
    expect(r.code).toBe(139);
  });
});

describe("convert", () => {
  it("streams an mtrace log into the recorded op list", async () => {
    const r = await run(["convert", join(traces, "python3.mtrace.gz")]);
    expect(r.code).toBe(0);
    const expected = gunzipSync(fixture("test/fixtures/traces/python3.ops.gz")).toString("utf8");
    const body = (t: string) => t.split("\n").filter((l) => !l.startsWith("#")).join("\n");
    expect(body(r.stdout)).toBe(body(expected));
    expect(r.stdout.startsWith("# ops v1 (format: FORMAT.md)\n")).toBe(true);
  });
});
