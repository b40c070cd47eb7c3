// The fuzzer as a product: a short campaign from a fixed seed runs clean, a broken target is
// caught and shrunk to a handful of ops whose repro file replays, and bad usage exits 2.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCampaign } from "../../host/fuzz/campaign.js";
import { checkList, type Mode } from "../../host/fuzz/check.js";
import { fuzzMain } from "../../host/fuzz/main.js";
import { parseSeq, K } from "../../host/fuzz/ops.js";
import { reproSeed } from "../../host/fuzz/repro.js";
import { MALLOPT_PARAMS, parseOps } from "../../host/trace/ops.js";
import { capture, overlappingMalloc } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "fuzz-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (over: Partial<Mode> = {}): Mode => ({
  profile: "mixed", twin: false, debug: false, deepEvery: 0, infoEvery: 64, oracle: null, ...over,
});

describe("a campaign", () => {
  it("runs clean from a fixed seed, the twin in lockstep on every other sequence", async () => {
    const err = capture();
    const r = await runCampaign({
      seed: 20261207, ops: 24000, seconds: null, workers: 1, mode: mode(), exhaust: "none", sequenceOps: 6000, twinEvery: 2,
      trace: null, outDir: dir, shrinkSeconds: 30, quiet: true, err: err.stream,
    });
    expect(r.violation, err.text()).toBeNull();
    expect(r.ops).toBe(24000);
    expect(r.sequences).toBe(4);
    expect(r.classes.filter((c) => c > 0).length).toBeGreaterThan(10);
  });

  it("catches a malloc that returns a live block, shrinks it to a handful of ops and writes a repro that fails again", async () => {
    const err = capture();
    const r = await runCampaign({
      seed: 5, ops: 4000, seconds: null, workers: 1, mode: mode({ profile: "tiny", wrap: overlappingMalloc }), exhaust: "none", sequenceOps: 2000,
      twinEvery: 0, trace: null, outDir: dir, shrinkSeconds: 60, quiet: true, err: err.stream,
    });
    expect(r.violation).not.toBeNull();
    // the 3rd block handed out again: it overlaps a live block, or is too small for the request
    const caught = /overlapping live block|gave a block of \d+ usable bytes/;
    expect(r.violation!.violation!.what).toMatch(caught);
    expect(r.reproPath).not.toBeNull();
    const text = readFileSync(r.reproPath!, "utf8");
    const { seq, comments } = parseSeq(text, MALLOPT_PARAMS);
    // twelve mallocs are needed to reach the 12th call; little else should survive
    expect(seq.length).toBeLessThanOrEqual(16);
    let mallocs = 0;
    for (let i = 0; i < seq.length; i++) if (seq.kind[i] === K.MALLOC) mallocs++;
    expect(mallocs).toBe(12);
    expect(comments.some((c) => c.startsWith("failed: ") && caught.test(c))).toBe(true);
    expect(err.text()).toContain(r.reproPath!);
    // and it is an op list the trace parser (hence `ptmalloc-wasm replay`) reads
    expect(parseOps(text).length).toBe(seq.length);
    // the file replays to the same failure, and cleanly on an unbroken process
    const seed = reproSeed(comments)!;
    expect((await checkList(seq, seed, mode({ wrap: overlappingMalloc })))?.what).toMatch(caught);
    expect(await checkList(seq, seed, mode())).toBeNull();
  });
});

describe("the command line", () => {
  it("exits 2 on an unknown option, quoting it, then prints the usage", async () => {
    const err = capture();
    expect(await fuzzMain(["--ops", "10", "--frobnicate"], err.stream)).toBe(2);
    expect(err.text().split("\n")[0]).toMatch(/--frobnicate/);
    expect(err.text()).toContain("usage: ptmalloc-wasm fuzz");
  });

  it("exits 2 on a bad value, quoting it", async () => {
    const err = capture();
    expect(await fuzzMain(["--profile", "huge"], err.stream)).toBe(2);
    expect(err.text().split("\n")[0]).toContain('"huge"');
    expect(await fuzzMain(["--ops", "1k"], capture().stream)).toBe(2);
  });

  it("exits 0 after a clean run and prints ops/s", async () => {
    const err = capture();
    expect(await fuzzMain(["--ops", "3000", "--seed", "9", "--quiet", "--sequence-ops", "1500", "--workers", "1"], err.stream)).toBe(0);
    expect(err.text()).toMatch(/clean: 3000 ops in 2 sequences.* ops\/s/);
  });
});
