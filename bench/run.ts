// `npm run bench`: every benchmark suite in one run, printed as Markdown tables and written to
// bench/results.json. `--quick` keeps it under a minute or two (CI runs it so).
//
//   npm run bench [-- --quick]

import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { formatAllocTable, runAllocBench } from "./alloc.bench.js";
import { runKernelBench } from "./kernel.bench.js";
import { repoPath } from "./peers/paths.js";

const quick = process.argv.includes("--quick");
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.versions.node}`;
console.log(`ptmalloc-wasm benchmarks${quick ? " (quick)" : ""} — ${machine}\n`);

console.log("## The emulated kernel against the real system calls\n");
const kernel = await runKernelBench({ ops: quick ? 10_000 : 100_000, timeMs: quick ? 100 : 500 });

console.log("## ptmalloc-wasm, its TypeScript twin and AssemblyScript's TLSF (ns per op, median (min–max))\n");
const alloc = await runAllocBench({ quick });
console.log(formatAllocTable(alloc) + "\n");

const out = repoPath("bench", "results.json");
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, quick, kernel, alloc }, null, 2) + "\n");
console.log(`written: bench/results.json`);
