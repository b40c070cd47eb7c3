// The emulated kernel's system calls, timed with tinybench, next to the same operations on the
// real kernel (oracle/kernel/bench.c, a 32-bit native probe built by oracle/kernel/regen.sh).
//
//   npm run build:ts && node dist/bench/kernel.bench.js [--ops 100000] [--no-native]
//
// runKernelBench() is the same thing as a function, for a suite runner: it returns the rows.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Bench } from "tinybench";
import { atMost, type Goal } from "./goals.js";
import { Kernel } from "../host/kernel/kernel.js";
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from "../host/constants.js";

export interface KernelBenchOptions {
  /** Operations per batch for the mmap/munmap and brk rows (default 100 000). */
  ops?: number;
  /** Run the native probe when it is built (default true). */
  native?: boolean;
  /** Print the table (default true). */
  print?: boolean;
  /** tinybench time budget per row, in ms (default 500). */
  timeMs?: number;
}

export interface KernelBenchRow {
  op: string;
  /** How the kernel learns of raw writes in this row (KernelOptions.writes). */
  writes: "scan" | "declared";
  /** What one operation is. */
  unit: string;
  emulatedNsPerOp: number;
  /** null when the native probe is not built (or was not asked for). */
  nativeNsPerOp: number | null;
  /** emulated / native; null without a native number. */
  ratio: number | null;
}

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const MiB = 1 << 20;

/** The seeded generator bench.c uses too (mulberry32), so both sides see the same sizes. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function freshKernel(writes: "scan" | "declared"): Kernel {
  return new Kernel({
    writes,
    memory: new WebAssembly.Memory({ initial: 2, maximum: 65536 }),
    seed: 1,
    aslr: 2,
    overcommit: 0,
    overcommitRatio: 50,
    ramBytes: 1024 * MiB,
    swapBytes: 0,
    privileged: false,
    rlimits: {},
    program: { textStart: 0x10000, dataStart: 0x11000, dataEnd: 0x12000 },
  });
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`kernel bench: ${what} failed`);
}

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** The native probe's numbers (ns/op by key), or null when it is not built or fails. */
function runNative(ops: number): Record<string, number> | null {
  const probe = join(findRoot(), "oracle", "bin", "kernel-bench");
  if (!existsSync(probe)) return null;
  try {
    return JSON.parse(execFileSync(probe, [String(ops)], { encoding: "utf8", timeout: 300_000 }));
  } catch {
    return null;
  }
}

interface Case {
  op: string;
  /** Whether the row is also run with writes: "declared" (where nothing is scanned). */
  declared: boolean;
  unit: string;
  nativeKey: string;
  /** Operations per call of run(). */
  batch: number;
  setup(): void;
  run(): void;
  teardown?(): void;
}

function cases(ops: number, writes: "scan" | "declared"): Case[] {
  const freshKernelOf = () => freshKernel(writes);
  let k: Kernel;
  const one = new Uint8Array([1]);

  const mmapSizes: number[] = [];
  const rngA = mulberry32(42);
  for (let i = 0; i < ops; i++) mmapSizes.push(((rngA() % 16) + 1) * PAGE_SIZE);
  const brkSizes: number[] = [];
  const rngB = mulberry32(43);
  for (let i = 0; i < ops; i++) brkSizes.push(((rngB() % 16) + 1) * PAGE_SIZE);

  const sparse: number[] = [];
  let brkBase = 0;
  const touchOps = Math.max(1, Math.floor(ops / 10));

  return [
    {
      op: "mmap + munmap (1–16 pages, seeded)",
      declared: false,
      unit: "pair",
      nativeKey: "mmap_munmap",
      batch: ops,
      setup: () => (k = freshKernelOf()),
      run: () => {
        for (let i = 0; i < ops; i++) {
          const len = mmapSizes[i];
          const p = k.mmap(0, len, RW, ANON, -1, 0);
          if (p < 0) check(false, "mmap");
          k.munmap(p, len);
        }
      },
    },
    {
      op: "brk grow / shrink (1–16 pages, seeded)",
      declared: false,
      unit: "brk call",
      nativeKey: "brk_step",
      batch: ops,
      setup: () => {
        k = freshKernelOf();
        brkBase = k.brk(0);
      },
      run: () => {
        for (let i = 0; i < ops; i += 2) {
          k.brk(brkBase + brkSizes[i]);
          k.brk(brkBase);
        }
      },
    },
    {
      op: "mincore over 1 GiB (256 × 4 MiB, 4 touched pages each)",
      declared: true,
      unit: "sweep of 1 GiB",
      nativeKey: "mincore_1g",
      batch: 1,
      setup: () => {
        k = freshKernelOf();
        sparse.length = 0;
        const rng = mulberry32(44);
        for (let i = 0; i < 256; i++) {
          const p = k.mmap(0, 4 * MiB, RW, ANON | MAP_NORESERVE, -1, 0);
          check(p >= 0, "mmap 4 MiB");
          for (let t = 0; t < 4; t++) k.write(p + (rng() % 1024) * PAGE_SIZE, one);
          sparse.push(p);
        }
      },
      run: () => {
        const vec = new Uint8Array(1024);
        for (const p of sparse) k.mincore(p, 4 * MiB, vec);
      },
    },
    {
      op: "mmap 1 MiB + touch 2 pages + munmap",
      declared: true,
      unit: "round",
      nativeKey: "mmap1m_touch2_munmap",
      batch: touchOps,
      setup: () => (k = freshKernelOf()),
      run: () => {
        for (let i = 0; i < touchOps; i++) {
          const p = k.mmap(0, MiB, RW, ANON, -1, 0);
          if (p < 0) check(false, "mmap 1 MiB");
          k.write(p, one);
          k.write(p + PAGE_SIZE, one);
          k.munmap(p, MiB);
        }
      },
    },
    {
      op: "brk +128 KiB + touch 2 pages + brk −128 KiB",
      declared: true,
      unit: "round",
      nativeKey: "brk128k_touch2_shrink",
      batch: touchOps,
      setup: () => {
        k = freshKernelOf();
        brkBase = k.brk(0);
      },
      run: () => {
        for (let i = 0; i < touchOps; i++) {
          k.brk(brkBase + 128 * 1024);
          k.write(brkBase, one);
          k.write(brkBase + PAGE_SIZE, one);
          k.brk(brkBase);
        }
      },
    },
  ];
}

function formatNs(ns: number | null): string {
  if (ns === null) return "—";
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** A Markdown table of the rows. */
export function formatKernelBench(rows: KernelBenchRow[], nativeNote: string): string {
  const lines = [
    "| op | writes | per | emulated | native | emulated / native |",
    "|---|---|---|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.op} | ${r.writes} | ${r.unit} | ${formatNs(r.emulatedNsPerOp)} | ${formatNs(r.nativeNsPerOp)} | ` +
        `${r.ratio === null ? "—" : `${r.ratio.toFixed(2)}×`} |`,
    ),
  ];
  return `${lines.join("\n")}\n\n${nativeNote}\n`;
}

export async function runKernelBench(opts: KernelBenchOptions = {}): Promise<KernelBenchRow[]> {
  const ops = Math.max(2, Math.floor(opts.ops ?? 100_000));
  const native = opts.native === false ? null : runNative(ops);
  const rows: KernelBenchRow[] = [];
  const all: { c: Case; writes: "scan" | "declared" }[] = cases(ops, "scan").map((c) => ({ c, writes: "scan" }));
  for (const c of cases(ops, "declared")) if (c.declared) all.push({ c, writes: "declared" });
  for (const { c, writes } of all) {
    const bench = new Bench({ time: opts.timeMs ?? 500, iterations: 3, warmupIterations: 1, warmupTime: 0 });
    bench.add(c.op, c.run, { beforeAll: c.setup, afterAll: c.teardown });
    await bench.run();
    const result = bench.tasks[0].result;
    const failure = (result as { error?: unknown } | undefined)?.error;
    if (!result || failure !== undefined) throw new Error(`kernel bench: ${c.op}: ${String(failure ?? "no result")}`);
    const emulatedNsPerOp = (result.latency.mean * 1e6) / c.batch;
    const nativeNsPerOp = native && typeof native[c.nativeKey] === "number" ? native[c.nativeKey] : null;
    rows.push({
      op: c.op,
      writes,
      unit: c.unit,
      emulatedNsPerOp,
      nativeNsPerOp,
      ratio: nativeNsPerOp ? emulatedNsPerOp / nativeNsPerOp : null,
    });
  }
  if (opts.print !== false) {
    const note =
      opts.native === false
        ? "native: not asked for"
        : native
          ? "native: oracle/bin/kernel-bench (gcc -m32 -O2), same seeded sizes"
          : "native: not built (run oracle/kernel/regen.sh where gcc -m32 exists)";
    console.log(formatKernelBench(rows, note));
  }
  return rows;
}

/**
 * The kernel's goals (issue: page tracking that costs what was touched): with every write
 * declared, mmap 1 MiB + 2 touches + munmap in at most half the real system calls' time, and
 * mincore over 1 GiB no slower than the real one. Rows without a native number give no goal.
 */
export function kernelGoals(rows: readonly KernelBenchRow[]): Goal[] {
  const goals: Goal[] = [];
  const ratio = (op: string) => rows.find((r) => r.writes === "declared" && r.op.startsWith(op))?.ratio ?? null;
  const touch = ratio("mmap 1 MiB + touch 2 pages");
  if (touch !== null) goals.push(atMost("kernel: mmap 1 MiB + 2 touches + munmap, declared / native", touch, 0.5, "×"));
  const mincore = ratio("mincore over 1 GiB");
  if (mincore !== null) goals.push(atMost("kernel: mincore over 1 GiB, declared / native", mincore, 1, "×"));
  return goals;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const opsAt = args.indexOf("--ops");
  await runKernelBench({
    ops: opsAt >= 0 ? Number(args[opsAt + 1]) : undefined,
    native: !args.includes("--no-native"),
  });
}
