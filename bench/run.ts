// `npm run bench`: every benchmark suite in one run, printed as Markdown tables, written to
// bench/results.json and drawn to bench/results.svg. `--quick` keeps it around a minute (CI runs it so).
//
//   npm run bench [-- --quick] [--only WORKLOAD ...] [--peer NAME ...] [--chart PATH] [--no-kernel]

import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { allocGoals, formatAllocReport, runAllocBench } from "./alloc.bench.js";
import { formatGoals, type Goal } from "./goals.js";
import { writeChart } from "./chart.js";
import { kernelGoals, runKernelBench } from "./kernel.bench.js";
import { repoPath } from "./peers/paths.js";

const args = process.argv.slice(2);
const valuesOf = (flag: string) => args.filter((_, i) => args[i - 1] === flag);
const quick = args.includes("--quick");
const machine =
  `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
  `Node ${process.versions.node}, ${process.platform} ${process.arch}`;
const date = new Date().toISOString();
console.log(`ptmalloc-wasm benchmarks${quick ? " (quick)" : ""} — ${machine}\n`);

let kernel: Awaited<ReturnType<typeof runKernelBench>> = [];
if (!args.includes("--no-kernel")) {
  console.log("## The emulated kernel against the real system calls\n");
  kernel = await runKernelBench({ ops: quick ? 10_000 : 100_000, timeMs: quick ? 100 : 500 });
}

console.log("\n## The allocators, every workload replayed by every peer (ns per op)\n");
let alloc: Awaited<ReturnType<typeof runAllocBench>>;
try {
  alloc = await runAllocBench({ quick, only: valuesOf("--only"), peers: valuesOf("--peer") });
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
console.log(formatAllocReport(alloc) + "\n");

// Every suite's measured goals, in one list: printed last, saved with the results.
const goals: Goal[] = [...kernelGoals(kernel), ...allocGoals(alloc)];
console.log(`## Goals of this run\n\n${formatGoals(goals)}\n`);

const json = repoPath("bench", "results.json");
writeFileSync(json, JSON.stringify({ date, machine, quick, kernel, alloc, goals }, null, 2) + "\n");
const chart = valuesOf("--chart")[0] ?? repoPath("bench", "results.svg");
writeChart(chart, alloc.rows, {
  title: "ptmalloc-wasm and its peers: ns per op (median, min–max; log scale)",
  subtitle: `${quick ? "quick run, " : ""}${date.slice(0, 10)} · ${machine} · npm run bench`,
});
console.log(`written: ${json}, ${chart}`);
