// ptmalloc-wasm against AssemblyScript's TLSF allocator and against its own pure-TypeScript twin
// on the real-program traces: each driven from JS (one call per op) and by a replay loop inside
// the allocator. Prints ns per op (median of the runs; min–max) and returns the rows.
//
//   node dist/bench/alloc.bench.js [--quick] [--only NAME ...]

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { Bench } from "tinybench";
import { parseOps } from "../host/trace/ops.js";
import { encodeOps, type OpsProgram } from "./ops-program.js";
import { syntheticWorkloads } from "./workloads.js";
import { repoPath } from "./peers/paths.js";
import { ptmallocJsRunner, ptmallocLoopRunner } from "./peers/ptmalloc.js";
import { tlsfJsRunner, tlsfWasmRunner } from "./peers/tlsf.js";

export const TRACES = ["python3", "sqlite3", "cmake", "git"] as const;

/** The pure-TypeScript twin: the same algorithm, the same process, run as JavaScript. */
const BASELINE = { seed: 1, aslr: 0, allocator: "ts" } as const;

export interface AllocBenchRow {
  workload: string;
  peer: string;
  ops: number;
  nsPerOpMedian: number;
  nsPerOpMin: number;
  nsPerOpMax: number;
  runs: number;
}

export function loadTraceProgram(name: string): OpsProgram {
  const text = gunzipSync(readFileSync(repoPath("test", "fixtures", "traces", `${name}.ops.gz`)));
  return encodeOps(parseOps(text));
}

interface Runner {
  prepare(): void | Promise<void>;
  run(): void;
}

export interface AllocBenchOptions {
  quick?: boolean;
  /** Workload names to run (synthetic ones of bench/workloads.ts, or trace names); default: all. */
  only?: readonly string[];
  log?: (s: string) => void;
}

/** The workloads: the synthetic ones, then the real-program traces. */
function workloads(quick: boolean, only: readonly string[] | undefined): [string, () => OpsProgram][] {
  const all: [string, () => OpsProgram][] = [
    ...syntheticWorkloads(quick).map(([name, program]): [string, () => OpsProgram] => [name, () => program]),
    ...TRACES.map((name): [string, () => OpsProgram] => [name, () => loadTraceProgram(name)]),
  ];
  return only && only.length > 0 ? all.filter(([name]) => only.includes(name)) : all;
}

export async function runAllocBench(options: AllocBenchOptions = {}): Promise<AllocBenchRow[]> {
  const log = options.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const rows: AllocBenchRow[] = [];
  for (const [name, load] of workloads(options.quick === true, options.only)) {
    const program = load();
    const peers: [string, Runner][] = [
      ["ptmalloc-wasm, JS-driven", ptmallocJsRunner(program)],
      ["ptmalloc-wasm, in-Wasm loop", ptmallocLoopRunner(program)],
      ["pure-TS baseline, JS-driven", ptmallocJsRunner(program, { ...BASELINE })],
      ["pure-TS baseline, in-allocator loop", ptmallocLoopRunner(program, { ...BASELINE })],
      ["AS TLSF, JS-driven", tlsfJsRunner(program)],
      ["AS TLSF, in-Wasm loop", tlsfWasmRunner(program)],
    ];
    const bench = new Bench({
      time: options.quick ? 200 : 2000,
      iterations: options.quick ? 3 : 10,
      warmupIterations: options.quick ? 1 : 3,
      warmupTime: 0,
    });
    for (const [peer, runner] of peers) {
      bench.add(peer, () => runner.run(), { beforeEach: () => runner.prepare() });
    }
    log(`bench: ${name} (${program.length} ops)…`);
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (!r || r.error) throw r?.error ?? new Error(`bench: ${task.name} produced no result`);
      const perOp = (ms: number) => (ms * 1e6) / program.length;
      rows.push({
        workload: name,
        peer: task.name,
        ops: program.length,
        nsPerOpMedian: perOp(r.latency.p50 ?? r.latency.mean),
        nsPerOpMin: perOp(r.latency.min),
        nsPerOpMax: perOp(r.latency.max),
        runs: r.latency.samples.length,
      });
    }
  }
  return rows;
}

export function formatAllocTable(rows: AllocBenchRow[]): string {
  const peers = [...new Set(rows.map((r) => r.peer))];
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const cell = (w: string, p: string) => {
    const r = rows.find((x) => x.workload === w && x.peer === p);
    return r ? `${r.nsPerOpMedian.toFixed(1)} (${r.nsPerOpMin.toFixed(1)}–${r.nsPerOpMax.toFixed(1)})` : "–";
  };
  const lines = [
    `| workload (ops) | ${peers.join(" | ")} |`,
    `|---|${peers.map(() => "---:").join("|")}|`,
    ...workloads.map((w) => {
      const ops = rows.find((r) => r.workload === w)!.ops;
      return `| ${w} (${ops}) | ${peers.map((p) => cell(w, p)).join(" | ")} |`;
    }),
  ];
  return lines.join("\n");
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const only = args.filter((a, i) => args[i - 1] === "--only" || args[i - 1] === "--trace");
  const rows = await runAllocBench({ quick: args.includes("--quick"), only });
  console.log("ns per op, median (min–max):\n");
  console.log(formatAllocTable(rows));
}
