// What processes cost the Node process that hosts them, in real memory.
//
//   npm run build:ts
//   node --expose-gc scripts/measure-memory.mjs [--count 1000] [--dist DIR]
//
// 1. Creates and drops --count processes (each mallocs and frees a little), then collects
//    garbage: RSS, the JS heap and V8's external memory should come back to where they started.
// 2. Maps 3 GiB in one process (MAP_NORESERVE, never touched) and reads its maps, status and
//    mincore: the RSS of the Node process should not grow by more than the page tables'
//    bookkeeping, since the emulated kernel must never make an untouched page real.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const count = Number(arg("count", 1000));
const dist = resolve(arg("dist", "dist"));
const { createProcess } = await import(pathToFileURL(`${dist}/host/index.js`).href);

const MB = 1e6;
const settle = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heap: m.heapUsed / MB, external: m.external / MB };
};
const show = (label, m) =>
  console.log(`${label.padEnd(34)} RSS ${m.rss.toFixed(0).padStart(5)} MB  heap ${m.heap.toFixed(1).padStart(6)} MB  external ${m.external.toFixed(0).padStart(7)} MB`);

// Warm up once (module compilation, lazily loaded code) so the baseline is a steady state.
await (async () => (await createProcess({ seed: 0 })).malloc(8))();
const start = await settle();
show("before", start);
// In a function of its own: a suspended async frame keeps its registers, and with them the last
// process it made, alive; this one returns before the collector looks.
async function churn() {
  for (let i = 0; i < count; i++) {
    const proc = await createProcess({ seed: i });
    const p = proc.malloc(1000);
    proc.fill(p, 1, 1000);
    proc.free(p);
    if (i % 100 === 99) globalThis.gc();
  }
}
const t0 = performance.now();
await churn();
const ms = performance.now() - t0;
const after = await settle();
show(`after ${count} processes created and dropped`, after);
console.log(`(${(ms / count).toFixed(1)} ms per process with a gc() every 100)`);

const proc = await createProcess({ seed: 1 });
const baseline = await settle();
show("one fresh process", baseline);
const GiB = 2 ** 30;
const addr = proc.sys.mmap(0, 3 * GiB, 3, 0x22 | 0x4000, -1, 0); // PROT_RW, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE
if (addr < 0) throw new Error(`mmap 3 GiB: ${addr}`);
show("3 GiB mapped, untouched", await settle());
const vm = proc.status();
const vec = new Uint8Array((3 * GiB) / 4096);
const t1 = performance.now();
proc.sys.mincore(addr, 3 * GiB, vec);
const resident = vec.reduce((a, b) => a + b, 0);
show("after status() and mincore()", await settle());
console.log(`VmSize ${vm.VmSize} kB, VmRSS ${vm.VmRSS} kB, mincore: ${resident} pages resident (${(performance.now() - t1).toFixed(0)} ms)`);
proc.fill(addr + GiB, 7, 64 * 4096);
show("after writing 64 pages of it", await settle());
console.log(`VmRSS ${proc.status().VmRSS} kB`);
