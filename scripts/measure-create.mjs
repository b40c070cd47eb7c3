// How long createProcess takes in an app whose JS heap is already large.
//
//   npm run build:ts
//   node --max-old-space-size=4096 scripts/measure-create.mjs [--fill-mb 700] [--count 10]
//        [--max-memory-bytes N] [--dist DIR]
//
// Fills the JS heap with about --fill-mb MB of small objects, then creates --count processes
// one after another (keeping them alive), timing each and counting V8's full collections
// (mark-compact) meanwhile. A Wasm memory's whole buffer counts as external memory in V8, so a
// process's 4 GiB memory can set off a full collection of the JS heap: that is what this shows.
import { PerformanceObserver, constants } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const fillMb = Number(arg("fill-mb", 700));
const count = Number(arg("count", 10));
const maxMemoryBytes = arg("max-memory-bytes", undefined);
const dist = resolve(arg("dist", "dist"));
const { createProcess } = await import(pathToFileURL(`${dist}/host/index.js`).href);

let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
}).observe({ entryTypes: ["gc"] });

// ~64 bytes per object with its string: fillMb MB of live objects the collector must mark.
const keep = [];
for (let i = 0; i < (fillMb * 1e6) / 64; i++) keep.push({ a: i, b: i + 1, c: `x${i % 1000}`, d: null });
await new Promise((r) => setTimeout(r, 100));
const heapMb = process.memoryUsage().heapUsed / 1e6;

const procs = [];
const times = [];
const gcs = [];
for (let i = 0; i < count; i++) {
  const before = majorGcs;
  const t0 = performance.now();
  procs.push(await createProcess({ seed: i, ...(maxMemoryBytes ? { maxMemoryBytes: Number(maxMemoryBytes) } : {}) }));
  times.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 0)); // let the GC observer report
  gcs.push(majorGcs - before);
}
const sorted = [...times].sort((a, b) => a - b);
console.log(`JS heap used: ${heapMb.toFixed(0)} MB; ${count} processes${maxMemoryBytes ? `, maxMemoryBytes ${maxMemoryBytes}` : ""}`);
console.log(`createProcess ms: ${times.map((t) => t.toFixed(0)).join(" ")}`);
console.log(`full GCs during each: ${gcs.join(" ")}`);
console.log(`median ${sorted[Math.floor(count / 2)].toFixed(0)} ms, total ${times.reduce((a, b) => a + b, 0).toFixed(0)} ms`);
if (keep.length === 0 || procs.length === 0) console.log("");
