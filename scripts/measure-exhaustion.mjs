// What an emulated process does at its walls, and what mapping 3 GiB it never touches costs the
// Node process that hosts it.
//
//   npm run build:ts
//   node --expose-gc scripts/measure-exhaustion.mjs [--dist DIR]
//
// Each wall is met the way a program meets it: malloc in steps until it returns NULL. The figures
// are how much it got, errno, VmSize / VmData against the limit, whether the process then still
// works (a small malloc, and the whole amount again after freeing it all), and whether
// /proc/self/status still adds up with /proc/self/maps. The same C loop on the real i386 glibc
// (gcc -m32, under prlimit) gives Linux's answer for comparison: docs/fuzz.md has both.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const dist = resolve(arg("dist", "dist"));
const { createProcess, ProcessKilled } = await import(pathToFileURL(`${dist}/host/index.js`).href);

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const rssMB = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().rss / 1e6;
};
const mapsKb = (proc) => {
  let total = 0;
  for (const line of proc.maps().split("\n")) {
    if (!line) continue;
    const [a, b] = line.split(" ")[0].split("-");
    total += parseInt(b, 16) - parseInt(a, 16);
  }
  return total / 1024;
};

/** malloc(step) until NULL; then frees all and does it again. */
function fill(proc, step) {
  const got = [];
  for (;;) {
    const p = proc.malloc(step);
    if (p === 0) break;
    got.push(p);
  }
  const errno = proc.errno;
  const st = proc.status();
  const consistent = st.VmSize === mapsKb(proc);
  const small = proc.malloc(16) !== 0;
  for (const p of got) proc.free(p);
  let again = 0;
  const second = [];
  for (let p = proc.malloc(step); p !== 0; p = proc.malloc(step)) second.push(p), again++;
  for (const p of second) proc.free(p);
  return { blocks: got.length, bytes: got.length * step, errno, VmSize: st.VmSize, VmData: st.VmData, consistent, small, again };
}

const show = (label, r) =>
  console.log(
    `${label.padEnd(44)} ${String(r.blocks).padStart(5)} × ${r.step / MiB} MiB = ${(r.bytes / MiB).toFixed(0).padStart(5)} MiB, ` +
      `then NULL with errno ${r.errno}; VmSize ${(r.VmSize / 1024).toFixed(1)} MiB, VmData ${(r.VmData / 1024).toFixed(1)} MiB; ` +
      `status = maps: ${r.consistent}; malloc(16) after: ${r.small ? "ok" : "NULL"}; again after freeing: ${r.again}`,
  );

// 3 GiB mapped and never touched: what it costs the Node process (first, on a quiet heap).
{
  const proc = await createProcess({ seed: 1 });
  const before = await rssMB();
  const blocks = [];
  for (let i = 0; i < 6; i++) blocks.push(proc.malloc(512 * MiB)); // mmapped chunks: glibc writes their headers only
  const viaMalloc = await rssMB();
  const addr = proc.sys.mmap(0, 3 * GiB - 16 * MiB, 3, 0x22 | 0x4000, -1, 0); // fails: the space is taken
  for (const p of blocks) proc.free(p);
  const mapped = proc.sys.mmap(0, 3 * GiB, 3, 0x22 | 0x4000, -1, 0); // PROT_RW, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE
  const viaMmap = await rssMB();
  const st = proc.status();
  console.log(
    `3 GiB untouched: Node RSS ${before.toFixed(0)} MB with a fresh process; ${viaMalloc.toFixed(0)} MB after malloc(512 MiB) × 6 ` +
      `(${blocks.filter((p) => p !== 0).length} granted); a further 3 GiB mmap: ${addr < 0 ? `refused (${addr})` : "granted"}; ` +
      `after freeing them and mmap(3 GiB, MAP_NORESERVE) = ${mapped < 0 ? mapped : `0x${mapped.toString(16)}`}: ${viaMmap.toFixed(0)} MB ` +
      `(VmSize ${(st.VmSize / 1024).toFixed(0)} MiB, VmRSS ${st.VmRSS} kB)`,
  );
}

const walls = [
  ["RLIMIT_AS 256 MiB, malloc(1 MiB) steps", { rlimits: { RLIMIT_AS: { cur: 256 * MiB, max: 256 * MiB } } }, MiB],
  ["RLIMIT_AS 256 MiB, malloc(64 KiB) steps (brk)", { rlimits: { RLIMIT_AS: { cur: 256 * MiB, max: 256 * MiB } } }, 64 * 1024],
  ["RLIMIT_DATA 64 MiB, malloc(1 MiB) steps", { rlimits: { RLIMIT_DATA: { cur: 64 * MiB, max: 64 * MiB } } }, MiB],
  ["RLIMIT_DATA 64 MiB, malloc(64 KiB) steps (brk)", { rlimits: { RLIMIT_DATA: { cur: 64 * MiB, max: 64 * MiB } } }, 64 * 1024],
  ["overcommit 2, RAM 1 GiB, no swap, malloc(1 MiB)", { overcommit: 2, ramBytes: GiB, swapBytes: 0 }, MiB],
  ["no limit: the 4 GiB filled, malloc(64 MiB) steps", {}, 64 * MiB],
  ["no limit: the 4 GiB filled, malloc(1 MiB) steps", {}, MiB],
];
for (const [label, options, step] of walls) {
  const proc = await createProcess({ seed: 7, ...options });
  show(label, { ...fill(proc, step), step });
}

// The OOM killer: every page touched, beyond RAM + swap the process is killed (as Linux's would be).
{
  const proc = await createProcess({ seed: 7, ramBytes: 128 * MiB, swapBytes: 0, overcommit: 1 });
  let touched = 0;
  let how = "never killed";
  try {
    for (;;) {
      const p = proc.malloc(MiB);
      if (p === 0) {
        how = `malloc returned NULL (errno ${proc.errno})`;
        break;
      }
      proc.fill(p, 1, MiB);
      touched += MiB;
    }
  } catch (e) {
    how = e instanceof ProcessKilled ? `killed: ${e.message} (${e.signal})` : `${e.name}: ${e.message}`;
  }
  let after = "";
  try {
    proc.malloc(16);
  } catch (e) {
    after = `; the next call throws ${e.name} again`;
  }
  console.log(`${"RAM 128 MiB, overcommit 1, 1 MiB written each".padEnd(44)} ${(touched / MiB).toFixed(0)} MiB written, then ${how}${after}`);
}

