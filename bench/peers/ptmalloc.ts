// ptmalloc-wasm as a benchmark peer: a fresh emulated process per run, driven from JS through the
// public API (one call per op: the embedding path) or by the replay loop inside the Wasm module
// (assembly/replay.ts), with the op list mapped into the process as the C replayer maps its own.
// The same two ways for the pure-TypeScript twin (`allocator: "ts"`).
//
// A program with threads (bench/ops-program.ts) is replayed from JS only, on the process and its
// Thread objects (proc.createThread(), thread.exit(): creation and join are in the timed loop, as
// in the native replayer). The in-allocator loops run one thread: they skip it.

import type { ProcessOptions } from "../../host/process.js";
import { bootProcess, type BootedProcess } from "../../host/boot.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from "../../host/constants.js";
import type { Process } from "../../host/process.js";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { createProcess } from "../../host/boot.js";
import { OP_WORDS, jsLoopFor, runFromJs, type OpsProgram } from "../ops-program.js";
import type { Peer, PeerMemory, Runner } from "./peer.js";

const BENCH_OPTIONS: ProcessOptions = { seed: 1, aslr: 0 };

/**
 * What glibc itself says it held at most: the arena's max system bytes (malloc_info's last
 * `<system type="max">`) plus "max mmap bytes" of malloc_stats — the figures the native
 * replayer reads from the real glibc, so the two columns compare like with like.
 */
export function glibcPeakBytes(mallocInfo: string, mallocStats: string): number {
  const system = [...mallocInfo.matchAll(/<system type="max" size="(\d+)"\/>/g)].pop();
  const mmapped = /max mmap bytes\s*=\s*(\d+)/.exec(mallocStats);
  if (!system || !mmapped) throw new Error("bench: malloc_info / malloc_stats text without the max figures");
  return Number(system[1]) + Number(mmapped[1]);
}

/**
 * What get_nprocs() returns on this machine: glibc counts the CPUs listed in
 * /sys/devices/system/cpu/online ("0-1", "0,2-3"). A threaded program runs in a process with
 * that nprocs, so that its arena limit (2 × nprocs on i386) is the native glibc's here.
 */
export function machineNprocs(): number {
  try {
    const text = readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
    let n = 0;
    for (const part of text.split(",")) {
      const [lo, hi] = part.split("-").map(Number);
      n += hi === undefined ? 1 : hi! - lo! + 1;
    }
    if (Number.isSafeInteger(n) && n > 0) return n;
  } catch {
    // not Linux: the CPU count Node sees
  }
  return Math.max(1, cpus().length);
}

/** The options of a run: a threaded program's process gets this machine's nprocs. */
function optionsFor(program: OpsProgram, options: ProcessOptions): ProcessOptions {
  return program.threads > 0 && options.nprocs === undefined ? { ...options, nprocs: machineNprocs() } : options;
}

function processMemory(proc: Process): PeerMemory {
  return { peakBytes: glibcPeakBytes(proc.malloc_info(), proc.malloc_stats()), rssPeakKiB: proc.status().VmHWM };
}

export function ptmallocJsRunner(
  program: OpsProgram,
  options: ProcessOptions = BENCH_OPTIONS,
  shared?: { booted?: Promise<BootedProcess> },
): Runner {
  options = optionsFor(program, options);
  const loop = jsLoopFor();
  let booted: BootedProcess;
  let table: Uint32Array;
  let bytes: Uint8Array;
  const rawTouch = (p: number, size: number) => {
    if (bytes.length === 0) bytes = new Uint8Array(booted.process.memory.buffer); // the memory grew: the old view is detached
    bytes[p] = 1;
    bytes[p + size - 1] = 1;
  };
  // With writes: "declared" the raw stores are declared, as the caller promised to.
  const declaredTouch = (p: number, size: number) => {
    rawTouch(p, size);
    booted.process.touch(p, 1);
    booted.process.touch(p + size - 1, 1);
  };
  const touch = options.writes === "declared" ? declaredTouch : rawTouch;
  return {
    async prepare() {
      booted = await (shared ? (shared.booted ??= bootProcess(options)) : bootProcess(options));
      table = new Uint32Array(program.ids);
      bytes = new Uint8Array(booted.process.memory.buffer);
    },
    run() {
      runFromJs(loop, booted.process, program, table, touch);
    },
    memory: () => processMemory(booted.process),
  };
}

const threadSupport = new Map<string, Promise<string | null>>();

/** null when a process of this allocator runs threads (one made and joined), else why not. */
function threadsIn(options: ProcessOptions): Promise<string | null> {
  const key = options.allocator ?? "wasm";
  let known = threadSupport.get(key);
  if (known === undefined) {
    known = (async () => {
      try {
        const proc = await createProcess(options);
        proc.createThread().exit();
        return null;
      } catch (err) {
        return `no threads: ${(err as Error).message}`;
      }
    })();
    threadSupport.set(key, known);
  }
  return known;
}

/** Why the in-allocator loops skip a threaded program. */
const LOOP_HAS_NO_THREADS = "the replay loop inside the allocator runs one thread (a thread's stack and switch are the host's)";

interface ReplayExports {
  replay_ops(ops: number, count: number, table: number): void;
}

function mapInProcess(booted: BootedProcess, bytes: number): number {
  const length = Math.ceil(Math.max(bytes, 1) / PAGE_SIZE) * PAGE_SIZE;
  const addr = booted.process.sys.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr < 0) throw new Error(`bench: mmap of ${length} bytes for the op list failed: ${addr}`);
  return addr;
}

/** The replay loop inside the allocator (assembly/replay.ts, or the baseline's twin of it). */
export function ptmallocLoopRunner(program: OpsProgram, options: ProcessOptions = BENCH_OPTIONS): Runner {
  if (program.threads > 0) throw new Error(`bench: ${LOOP_HAS_NO_THREADS}`);
  let booted: BootedProcess;
  let ops = 0;
  let table = 0;
  return {
    async prepare() {
      booted = await bootProcess(options);
      ops = mapInProcess(booted, program.length * OP_WORDS * 4);
      table = mapInProcess(booted, program.ids * 4);
      booted.process.write(ops, new Uint8Array(program.words.buffer, program.words.byteOffset, program.words.byteLength));
    },
    run() {
      (booted.allocator.exports as unknown as ReplayExports).replay_ops(ops, program.length, table);
    },
    memory: () => processMemory(booted.process),
  };
}

/** Our JS-driven peer with writes: "declared", its raw touches declared with Process.touch. */
export const OURS_JS_DECLARED = "ptmalloc-wasm, JS-driven, writes declared";

/** The pure-TypeScript twin: the same algorithm, the same process, run as JavaScript. */
const BASELINE: ProcessOptions = { ...BENCH_OPTIONS, allocator: "ts" };

export function ptmallocPeers(): Peer[] {
  const available = () => null;
  // The one process each JS-driven peer keeps for the whole steady-state section.
  const ours: { booted?: Promise<BootedProcess> } = {};
  const twin: { booted?: Promise<BootedProcess> } = {};
  return [
    {
      name: "ptmalloc-wasm, JS-driven",
      mode: "js",
      unavailable: available,
      threads: () => threadsIn(BENCH_OPTIONS),
      runner: (p) => ptmallocJsRunner(p),
      steadyRunner: (p) => ptmallocJsRunner(p, BENCH_OPTIONS, ours),
    },
    {
      name: "ptmalloc-wasm, in-Wasm loop",
      mode: "wasm",
      unavailable: available,
      threads: () => LOOP_HAS_NO_THREADS,
      runner: (p) => ptmallocLoopRunner(p),
    },
    {
      name: OURS_JS_DECLARED,
      mode: "js",
      unavailable: available,
      threads: () => threadsIn(BENCH_OPTIONS),
      runner: (p) => ptmallocJsRunner(p, { ...BENCH_OPTIONS, writes: "declared" }),
    },
    {
      name: "pure-TS baseline, JS-driven",
      mode: "js",
      unavailable: available,
      threads: () => threadsIn(BASELINE),
      runner: (p) => ptmallocJsRunner(p, BASELINE),
      steadyRunner: (p) => ptmallocJsRunner(p, BASELINE, twin),
    },
    {
      name: "pure-TS baseline, in-allocator loop",
      mode: "wasm",
      unavailable: available,
      threads: () => LOOP_HAS_NO_THREADS,
      runner: (p) => ptmallocLoopRunner(p, BASELINE),
    },
  ];
}
