// Seeded random threaded op lists, replayed by the real x86-64 glibc 2.36 under real pthreads
// (oracle/threads/replay-threads.c built here with plain gcc -pthread) and by an x86_64 process:
// the outputs must be the same, byte for byte. The fixtures cover chosen cases; these cover the
// mixes nobody chose: threads made, switched and exited at random (arenas reused from the free
// list, stacks from the cache), blocks of every size freed by other threads, calloc, memalign,
// realloc, malloc_trim, M_ARENA_MAX, and M_MMAP_MAX 0 (heaps grown, chained and shrunk).
// get_nprocs() is the machine's: the real header says what it was, and the process gets the same.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Prng } from "../../host/fuzz/prng.js";
import { createProcess } from "../../host/index.js";
import { firstDifference, formatReplay, parseOps, replay } from "../../host/trace/index.js";

const root = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "threads64-"));
const bin = join(dir, "replay-threads64");
const built = spawnSync("gcc", ["-O2", "-pthread", "-o", bin, join(root, "oracle/threads/replay-threads.c")], { encoding: "utf8" });
const canRun = !built.error && built.status === 0 && process.arch === "x64" && process.platform === "linux";
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A random op list of `n` ops over up to 7 live threads, and its checkpoint interval. */
function randomList(seed: number, n: number): { text: string; every: number } {
  const g = new Prng(seed);
  const r = () => g.u32() / 2 ** 32;
  const int = (lo: number, hi: number) => g.range(lo, hi);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const every = pick([1, 5, 25]);
  const lines: string[] = [];
  if (r() < 0.3) lines.push(`o M_ARENA_MAX ${int(1, 6)}`);
  const heapsOnly = r() < 0.5; // every block from a heap: heaps fill, chain and shrink
  if (heapsOnly) lines.push("o M_MMAP_MAX 0");
  const size = () => {
    const c = r();
    if (c < 0.5) return int(0, 200);
    if (c < 0.75) return int(200, 1100);
    if (c < 0.9) return int(1100, 70000);
    if (c < 0.97) return int(70000, 300000);
    return heapsOnly && c > 0.995 ? int(3_000_000, 20_000_000) : int(300000, 3_000_000);
  };
  const live: number[] = [];
  const threads = [0];
  let created = 0;
  let id = 0;
  const take = () => live.splice(Math.floor(r() * live.length), 1)[0];
  for (let k = 0; k < n; k++) {
    const c = r();
    if (c < 0.06) {
      if (threads.length < 7 && r() < 0.5) {
        threads.push(++created);
        lines.push(`T ${created}`);
      } else lines.push(`T ${pick(threads)}`);
    } else if (c < 0.085 && threads.length > 1) {
      const t = pick(threads.slice(1));
      threads.splice(threads.indexOf(t), 1);
      lines.push(`E ${t}`);
    } else if (c < 0.45) {
      lines.push(`m ${id} ${size()}`);
      live.push(id++);
    } else if (c < 0.75 && live.length > 0) {
      lines.push(`f ${take()}`);
    } else if (c < 0.83 && live.length > 0) {
      lines.push(`r ${id} ${take()} ${size()}`);
      live.push(id++);
    } else if (c < 0.88) {
      lines.push(`c ${id} ${int(1, 20)} ${Math.floor(size() / 8) + 1}`);
      live.push(id++);
    } else if (c < 0.92) {
      lines.push(`a ${id} ${pick([16, 32, 64, 256, 4096])} ${size()}`);
      live.push(id++);
    } else if (c < 0.93) {
      lines.push(`t ${pick([0, 4096, 100000])}`);
    } else {
      lines.push(`m ${id} ${int(0, 120)}`);
      live.push(id++);
    }
  }
  return { text: `${lines.join("\n")}\n`, every };
}

const SEEDS = Array.from({ length: 12 }, (_, i) => 1000 + i);

describe.skipIf(!canRun)(`random threaded lists, real x86-64 glibc and here${canRun ? "" : " (skipped: no gcc -pthread on x86-64 Linux)"}`, () => {
  it.each(SEEDS)("seed %i", async (seed) => {
    const { text, every } = randomList(seed, 800);
    const file = join(dir, `${seed}.ops`);
    writeFileSync(file, text);
    // as regen.sh runs it: an empty environment, an 8 MiB RLIMIT_STACK
    const real = spawnSync("bash", ["-c", 'ulimit -s 8192 && exec "$0" -c "$1" -s "$2" "$3"', bin, String(every), `seed${seed}`, file], {
      encoding: "utf8",
      env: {},
      maxBuffer: 64 * 2 ** 20,
    });
    expect(real.status, real.stderr).toBe(0);
    const nprocs = Number(/ nprocs=(\d+) /.exec(real.stdout)?.[1]);
    const proc = await createProcess({ arch: "x86_64", seed, nprocs });
    const actual = formatReplay(replay(proc, parseOps(text), { checkpointEvery: every, scenario: `seed${seed}`, timings: false }));
    const diff = firstDifference(real.stdout, actual);
    expect(diff, diff === null ? "" : `seed ${seed}: first difference at line ${diff.line}`).toBeNull();
  });
});
