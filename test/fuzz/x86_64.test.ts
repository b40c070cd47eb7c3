// The fuzzer on x86_64 processes (--arch x86_64): the generator draws x86-64 glibc's sizes (its
// bin edges, 64-bit values near SIZE_MAX, products past 2^64) and writes them as 64-bit op lists;
// campaigns run clean with the twin, threads, walls, the debug build and a mutated trace; a
// planted 64-bit bug is found, shrunk and replayed from a repro file that names its arch; the real
// x86-64 glibc agrees op by op where gcc exists; a bad --arch is exit 2.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { X86_64_INFO } from "../../host/fuzz/arch.js";
import { runCampaign } from "../../host/fuzz/campaign.js";
import { checkGenerated, checkList, type Mode } from "../../host/fuzz/check.js";
import { Executor } from "../../host/fuzz/executor.js";
import { fuzzMain } from "../../host/fuzz/main.js";
import { fitsTraceFormat, K, OpSeq, type OpSeq as Seq, parseSeq } from "../../host/fuzz/ops.js";
import { oracleBinary, oracleUnavailable, realNprocs, runOracle, threadsOracleBinary } from "../../host/fuzz/oracle.js";
import { reproArch, reproSeed } from "../../host/fuzz/repro.js";
import { runGenerated } from "../../host/fuzz/sequence.js";
import { CLASSES, SIZES_X86_64 } from "../../host/fuzz/sizes.js";
import * as X86_64 from "../../host/generated/config-x86_64.js";
import { MALLOPT_PARAMS } from "../../host/trace/ops.js";
import { capture, truncatingMalloc } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "fuzz-x86_64-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (over: Partial<Mode> = {}): Mode => ({
  profile: "mixed", arch: "x86_64", twin: false, debug: false, deepEvery: 0, infoEvery: 64, oracle: null, ...over,
});
const U = X86_64_INFO.unsigned;
const SEED = 20261207;

function ops(seq: Seq, kind: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < seq.length; i++) if (seq.kind[i] === kind) out.push(i);
  return out;
}

describe("x86_64 sizes", () => {
  const T = SIZES_X86_64;

  it("has x86-64 glibc's edges: MINSIZE 32, fast chunks to 128 (160 with M_MXFAST), the tcache to 1032, largebin_index_64, the threshold's 32 MiB", () => {
    expect(T.chunkFor(0)).toBe(32);
    expect(T.chunkFor(24)).toBe(32);
    expect(T.chunkFor(25)).toBe(48);
    expect(T.fastMaxChunk).toBe(160);
    // 64-byte bins up to 3135 (48 << 6 is the last), then 512-byte ones from 3136 (49 << 6)
    expect(T.largeBinStarts.slice(0, 3)).toEqual([X86_64.MIN_LARGE_SIZE, 1088, 1152]);
    expect(X86_64.MIN_LARGE_SIZE).toBe(1024);
    expect(T.largeBinStarts).toContain(49 << 6);
    expect(T.largeBinStarts.at(-1)).toBe(2 << 18);
    expect(T.largebinIndex(1024)).toBe(64);
    for (const c of T.largeBinStarts.slice(1)) expect(T.largebinIndex(c)).toBeGreaterThan(T.largebinIndex(c - 16));
    const b = T.boundaryRequests;
    for (const r of [24, 25, 40, 41, 120, 121, 152, 153, 1032, 1033, 32 * 2 ** 20 - 1, 32 * 2 ** 20 + 1, 2 ** 32, 2 ** 32 + 16, -(2 ** 63)]) expect(b, String(r)).toContain(r);
    // what glibc refuses on any machine: SIZE_MAX and its neighbours (spelt as negatives), PTRDIFF_MAX + 1, beyond 2^47
    expect(T.failingSizes).toEqual(expect.arrayContaining([-1, -2, -16, -(2 ** 63), 2 ** 47 + 16]));
    expect(T.classOf(-1)).toBe(CLASSES.indexOf("overflow"));
    expect(T.classOf(2 ** 32 + 16)).toBe(CLASSES.indexOf("huge"));
    expect(T.classOf(40 * 2 ** 20)).toBe(CLASSES.indexOf("mmap-above-max"));
  });

  it("reaches every class over the four profiles, and all but those above the threshold's ceiling (32 MiB) with the default one", async () => {
    const reached = new Map<string, number>();
    for (const profile of ["tiny", "mixed", "large", "adversarial"] as const) {
      const r = await runGenerated(SEED, profile === "adversarial" ? 6000 : 12000, { profile, arch: "x86_64" });
      expect(r.violation?.what ?? null, profile).toBeNull();
      for (const [i, c] of CLASSES.entries()) reached.set(`${profile}:${c}`, r.classes[i]);
    }
    for (const c of CLASSES) expect(["tiny", "mixed", "large", "adversarial"].some((p) => reached.get(`${p}:${c}`)! > 0), c).toBe(true);
    for (const c of CLASSES) if (c !== "huge" && c !== "mmap-above-max") expect(reached.get(`mixed:${c}`), `mixed:${c}`).toBeGreaterThan(0);
  });

  it("asks for chunks on both sides of every x86-64 large-bin boundary", async () => {
    const r = await runGenerated(SEED, 30000, { profile: "mixed", arch: "x86_64" });
    const chunks = new Set<number>();
    for (const i of ops(r.seq, K.MALLOC)) chunks.add(T.chunkFor(r.seq.b[i]));
    for (const start of T.largeBinStarts.slice(1)) {
      expect(chunks.has(start), `chunk ${start}`).toBe(true);
      expect(chunks.has(start - 16), `chunk ${start - 16}`).toBe(true);
    }
  });
});

describe("x86_64 op lists", () => {
  it("carry 64-bit values: SIZE_MAX and its neighbours, calloc and reallocarray products past 2^64, sbrk by 2^46", async () => {
    const r = await runGenerated(4, 4000, { profile: "adversarial", arch: "x86_64" });
    expect(r.violation?.what ?? null).toBeNull();
    const seq = r.seq;
    const mallocs = ops(seq, K.MALLOC).map((i) => seq.b[i]);
    expect(mallocs).toContain(-1);
    expect(mallocs.some((s) => U(s) >= 2 ** 63)).toBe(true);
    const products = [...ops(seq, K.CALLOC).map((i) => U(seq.b[i]) * U(seq.c[i])), ...ops(seq, K.REALLOCARRAY).map((i) => U(seq.c[i]) * U(seq.d[i]))];
    expect(products.some((p) => p >= 2 ** 64)).toBe(true);
    expect(ops(seq, K.SBRK).some((i) => Math.abs(seq.a[i]) === 2 ** 46)).toBe(true);
    // written unsigned, read back as the same numbers; not a list ops v1 (32-bit sizes) can hold
    const text = seq.format();
    expect(text).toContain(" 18446744073709551615\n");
    expect(parseSeq(text).seq.format()).toBe(text);
    const back = parseSeq(text).seq;
    for (let i = 0; i < seq.length; i++) expect([back.a[i], back.b[i], back.c[i], back.d[i]]).toEqual([seq.a[i], seq.b[i], seq.c[i], seq.d[i]]);
    expect(fitsTraceFormat(seq)).toBe(false);
    expect(parseSeq("m 0 9223372036854774784\n").seq.b[0]).toBe(2 ** 63 - 1024);
    expect(parseSeq("m 0 9223372036854775808\n").seq.b[0]).toBe(-(2 ** 63));
    expect(() => parseSeq("m 0 9223372036854775807\n")).toThrow(/no double holds exactly/);
    expect(() => parseSeq("m 0 18446744073709551616\n")).toThrow(/not a number/);
  });

  it("keep sizes below 2^32 for the threads oracle, whose op lists are ops v1", async () => {
    const r = await runGenerated(32, 3000, { profile: "adversarial", arch: "x86_64", threads: 3, oracleSafe: true, alignBreak: 1 << 20 });
    expect(r.violation?.what ?? null).toBeNull();
    expect(fitsTraceFormat(r.seq)).toBe(true);
    // and the overflowing products are there, made of 32-bit factors
    expect(ops(r.seq, K.CALLOC).some((i) => r.seq.b[i] * r.seq.c[i] > 2 ** 63)).toBe(true);
  });

  it("take glibc's sbrk as it is: a shrink below the break's start is refused by Linux and reported as a success", async () => {
    const ex = await Executor.create({ seed: 3, arch: "x86_64", xlines: true });
    const seq = new OpSeq();
    seq.push(K.MALLOC, 0, 100);
    seq.push(K.SBRK, -(2 ** 46));
    seq.push(K.SBRK, 2 ** 46);
    for (let i = 0; i < seq.length; i++) ex.step(seq, i);
    expect(ex.lines.slice(1)).toEqual([`s ${ex.proc.sbrk(0) - ex.brk0}`, "s -1 12"]);
  });
});

describe("an x86_64 campaign", () => {
  it("runs clean with threads and the twin in lockstep on every sequence", async () => {
    const err = capture();
    const r = await runCampaign({
      seed: 20261209, ops: 12000, seconds: null, workers: 1, mode: mode({ threads: 4 }), exhaust: "none", sequenceOps: 3000, twinEvery: 1,
      trace: null, outDir: dir, shrinkSeconds: 30, quiet: true, err: err.stream,
    });
    expect(r.violation, err.text()).toBeNull();
    expect(r.ops).toBe(12000);
    expect(r.threads).toBeGreaterThan(10);
    expect(r.classes.filter((c) => c > 0).length).toBeGreaterThan(10);
  });

  it("runs against the walls: requests refused with ENOMEM, the process within its limits", async () => {
    for (const exhaust of ["data", "as", "space"] as const) {
      const r = await checkGenerated(1, 1500, mode({ profile: "adversarial", exhaust }));
      expect(r.violation?.what ?? null, exhaust).toBeNull();
      expect(r.refusals, exhaust).toBeGreaterThan(0);
    }
  });

  it("runs the debug build (--deep), and a mutated trace of a 64-bit program (--trace)", async () => {
    const deep = await runGenerated(42, 1500, { profile: "mixed", arch: "x86_64", debug: true, deepEvery: 64, threads: 2 });
    expect(deep.violation?.what ?? null).toBeNull();
    expect(deep.paths!.length).toBeGreaterThan(30);
    const err = capture();
    const r = await runCampaign({
      seed: 3, ops: 6000, seconds: null, workers: 1, mode: mode(), exhaust: "none", sequenceOps: 3000, twinEvery: 2,
      trace: join("test", "fixtures", "traces", "python3.mtrace.gz"), outDir: dir, shrinkSeconds: 30, quiet: true, err: err.stream,
    });
    expect(r.violation, err.text()).toBeNull();
    expect(r.ops).toBeGreaterThan(5000);
  });

  it("catches a malloc that truncates its size to 32 bits, shrinks it and writes a repro that replays on x86_64", async () => {
    const err = capture();
    const r = await runCampaign({
      seed: 7, ops: 6000, seconds: null, workers: 1, mode: mode({ profile: "adversarial", wrap: truncatingMalloc }), exhaust: "none", sequenceOps: 3000,
      twinEvery: 0, trace: null, outDir: dir, shrinkSeconds: 60, quiet: true, err: err.stream,
    });
    expect(r.violation).not.toBeNull();
    const caught = /^m\(\d+\) gave a block of \d+ usable bytes$/;
    expect(r.violation!.violation!.what).toMatch(caught);
    expect(err.text()).toMatch(/VIOLATION in sequence \d+ \(campaign seed 7, process seed \d+, arch x86_64, profile adversarial\)/);
    const text = readFileSync(r.reproPath!, "utf8");
    const { seq, comments } = parseSeq(text, MALLOPT_PARAMS);
    // one malloc of 2^32 or more is all it takes
    expect(seq.length).toBeLessThanOrEqual(3);
    const m = ops(seq, K.MALLOC).at(-1)!;
    expect(U(seq.b[m])).toBeGreaterThanOrEqual(2 ** 32);
    expect(comments).toContain("arch: x86_64");
    expect(comments.some((c) => /^source: .* --arch x86_64/.test(c))).toBe(true);
    expect(comments.some((c) => /^reproduce: ptmalloc-wasm fuzz --replay FILE \(ptmalloc-wasm replay reads sizes of 32 bits only/.test(c))).toBe(true);
    expect(reproArch(comments)).toBe("x86_64");
    // replayed with the file's arch: it fails again with the bug, and runs clean without it
    const seed = reproSeed(comments)!;
    expect((await checkList(seq, seed, mode({ arch: reproArch(comments)!, wrap: truncatingMalloc })))?.what).toMatch(caught);
    expect(await checkList(seq, seed, mode({ arch: reproArch(comments)! }))).toBeNull();
    const out = capture();
    expect(await fuzzMain(["--replay", r.reproPath!], out.stream)).toBe(0);
    expect(out.text()).toMatch(/ops, clean \(process seed \d+, x86_64\)/);
    // --arch wins over the file's line, with a note
    const other = capture();
    expect(await fuzzMain(["--replay", r.reproPath!, "--arch", "i386"], other.stream)).toBe(0);
    expect(other.text()).toMatch(/was made on x86_64; replaying it on i386, as --arch says/);
  });
});

describe("the command line with --arch", () => {
  it("exits 2 on a bad --arch, quoting it", async () => {
    const err = capture();
    expect(await fuzzMain(["--arch", "arm64", "--ops", "10"], err.stream)).toBe(2);
    expect(err.text().split("\n")[0]).toBe('ptmalloc-wasm fuzz: --arch must be one of i386, x86_64, not "arm64"');
    expect(await fuzzMain(["--arch"], capture().stream)).toBe(2);
  });

  it("exits 0 after a clean x86_64 run, saying the arch", async () => {
    const err = capture();
    expect(await fuzzMain(["--arch", "x86_64", "--ops", "3000", "--seed", "9", "--quiet", "--sequence-ops", "1500", "--workers", "1"], err.stream)).toBe(0);
    expect(err.text()).toMatch(/^fuzz: seed 9, arch x86_64, profile mixed/);
    expect(err.text()).toMatch(/clean: 3000 ops in 2 sequences/);
  });
});

const bin = oracleBinary("x86_64");
const threadsBin = bin && threadsOracleBinary("x86_64");

describe.skipIf(!bin || !threadsBin)(`the fuzzer against the real x86-64 glibc${bin && threadsBin ? "" : ` (skipped: ${oracleUnavailable})`}`, () => {
  const oracleMode = (over: Partial<Mode> = {}): Mode => mode({ oracle: bin, threadsOracle: threadsBin, nprocs: realNprocs() ?? 2, ...over });

  it("builds the replayers without -m32, and the replayer reads 64-bit sizes", () => {
    expect(bin).toMatch(/fuzz-replay64$/);
    expect(threadsBin).toMatch(/fuzz-replay-threads64$/);
    const seq = parseSeq("m 0 18446744073709551615\nc 1 4294967296 4294967296\nm 2 24\ns 70368744177664\n").seq;
    expect(runOracle(bin!, seq).lines).toEqual(["m 0 N 12", "c 1 N 12", expect.stringMatching(/^m 2 H \d+ 32 24$/), "s -1 12"]);
  });

  it("agrees on every op of a short campaign: the default and adversarial mixes, and threads", async () => {
    for (const [profile, seed, count, threads] of [["mixed", 101, 2500, 0], ["adversarial", 303, 1500, 0], ["mixed", 31, 2000, 4]] as const) {
      const r = await checkGenerated(seed, count, oracleMode({ profile, threads }));
      expect(r.violation?.what ?? null, `${profile} seed ${seed}`).toBeNull();
      expect(r.ops).toBe(count);
    }
  });

  it("refuses to replay a threaded list with 64-bit values against the threads oracle (exit 2)", async () => {
    const file = join(dir, "wide-threads.ops");
    writeFileSync(file, "# arch: x86_64\nT 1\nm 0 18446744073709551615\n");
    const err = capture();
    expect(await fuzzMain(["--replay", file, "--oracle"], err.stream)).toBe(2);
    expect(err.text()).toMatch(/thread lines and numbers past 32 bits, which the threads oracle cannot replay/);
    expect(await fuzzMain(["--replay", file], capture().stream)).toBe(0);
  });

  it("runs as fuzz --oracle --arch x86_64", async () => {
    const err = capture();
    expect(await fuzzMain(["--oracle", "--arch", "x86_64", "--ops", "3000", "--seed", "11", "--quiet", "--workers", "1", "--sequence-ops", "1500"], err.stream)).toBe(0);
    expect(err.text()).toMatch(/arch x86_64, .*against the real glibc/);
  });
});
