// ptmalloc-wasm as a benchmark peer: a fresh emulated process per run, driven from JS through the
// public API (one call per op: the embedding path) or by the replay loop inside the Wasm module
// (assembly/replay.ts), with the op list mapped into the process as the C replayer maps its own.
// The same two ways for the pure-TypeScript twin (`allocator: "ts"`), and for the x86_64 build in an
// x86_64 process (arch "x86_64": 64-bit VAs, 8-byte table entries; the twin is i386 only).
//
// A program with threads (bench/ops-program.ts) is replayed from JS only, on the process and its
// Thread objects (proc.createThread(), thread.exit(): creation and join are in the timed loop, as
// in the native replayer). The in-allocator loops run one thread: they skip it.

import type { ProcessOptions } from "../../host/process.js";
import { bootProcess, type BootedProcess } from "../../host/boot.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from "../../host/constants.js";
import type { Process } from "../../host/process.js";
import type { Window } from "../../host/kernel/aslr.js";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { createProcess } from "../../host/boot.js";
import { OP_WORDS, jsLoopFor, runFromJs, type OpsProgram } from "../ops-program.js";
import type { Peer, PeerMemory, Runner } from "./peer.js";

const BENCH_OPTIONS: ProcessOptions = { seed: 1, aslr: 0 };

/** The same process as an x86_64 program: the 64-bit build of the allocator, its windows. */
const BENCH_OPTIONS_64: ProcessOptions = { ...BENCH_OPTIONS, arch: "x86_64" };

/** Whether a run's process is x86_64: its C words are 8 bytes and its VAs need translating. */
const isWide = (options: ProcessOptions) => options.arch === "x86_64";

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
  const wide = isWide(options);
  let booted: BootedProcess;
  let table: Uint32Array | Float64Array;
  let bytes: Uint8Array;
  // x86_64: a block's VA to its offset in the memory, through the kernel's windows (found once per
  // process), as the program's own store would be translated. The i386 touch stays the identity.
  let offsetOf: (va: number) => number = (va) => va;
  const rawTouch = (p: number, size: number) => {
    if (bytes.length === 0) bytes = new Uint8Array(booted.process.memory.buffer); // the memory grew: the old view is detached
    bytes[p] = 1;
    bytes[p + size - 1] = 1;
  };
  const rawTouch64 = (p: number, size: number) => {
    if (bytes.length === 0) bytes = new Uint8Array(booted.process.memory.buffer);
    bytes[offsetOf(p)] = 1;
    bytes[offsetOf(p + size - 1)] = 1;
  };
  const raw = wide ? rawTouch64 : rawTouch;
  // With writes: "declared" the raw stores are declared, as the caller promised to.
  const declaredTouch = (p: number, size: number) => {
    raw(p, size);
    booted.process.touch(p, 1);
    booted.process.touch(p + size - 1, 1);
  };
  const touch = options.writes === "declared" ? declaredTouch : raw;
  return {
    async prepare() {
      booted = await (shared ? (shared.booted ??= bootProcess(options)) : bootProcess(options));
      // x86_64 VAs are above 2^32: the table holds them as doubles
      table = wide ? new Float64Array(program.ids) : new Uint32Array(program.ids);
      bytes = new Uint8Array(booted.process.memory.buffer);
      if (wide) offsetOf = windowTranslation(booted.kernel.windows);
    },
    run() {
      runFromJs(loop, booted.process, program, table, touch);
    },
    memory: () => processMemory(booted.process),
  };
}

/**
 * VA → offset through the windows (three at most, W0 first: where the brk heap is), for a VA the
 * allocator returned (always inside one); -1 outside every window, which no block is.
 */
function windowTranslation(windows: readonly Window[]): (va: number) => number {
  const [w0, w1, w2] = windows;
  if (w0 === undefined || w1 === undefined || w2 === undefined || windows.length !== 3) {
    throw new Error(`bench: an x86_64 process with ${windows.length} windows (expected 3)`);
  }
  return (va) => {
    let d = va - w0.va;
    if (d >= 0 && d < w0.length) return d + w0.offset;
    d = va - w1.va;
    if (d >= 0 && d < w1.length) return d + w1.offset;
    d = va - w2.va;
    return d >= 0 && d < w2.length ? d + w2.offset : -1;
  };
}

const threadSupport = new Map<string, Promise<string | null>>();

/** null when a process of this allocator runs threads (one made and joined), else why not. */
function threadsIn(options: ProcessOptions): Promise<string | null> {
  const key = `${options.allocator ?? "wasm"} ${options.arch ?? "i386"}`;
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

/** ops, table: the process's addresses (VAs in an x86_64 process; numbers in both builds' exports). */
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
      table = mapInProcess(booted, program.ids * (isWide(options) ? 8 : 4)); // one C word per ID
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

/** The x86_64 build's peers: the i386 name with the arch after "ptmalloc-wasm". */
export const OURS64_JS = "ptmalloc-wasm x86_64, JS-driven";
export const OURS64_WASM = "ptmalloc-wasm x86_64, in-Wasm loop";
export const OURS64_JS_DECLARED = "ptmalloc-wasm x86_64, JS-driven, writes declared";

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

/**
 * The x86_64 build in an x86_64 process, in the same modes as the i386 peers (the twin is i386
 * only). Not in the steady-state section: a long-lived x86_64 process beside the i386 one would
 * make the call sites shared by every Process see two modules, which the i386 goals measured
 * there must not pay.
 */
export function ptmalloc64Peers(): Peer[] {
  const available = () => null;
  return [
    {
      name: OURS64_JS,
      mode: "js",
      unavailable: available,
      threads: () => threadsIn(BENCH_OPTIONS_64),
      runner: (p) => ptmallocJsRunner(p, BENCH_OPTIONS_64),
    },
    {
      name: OURS64_WASM,
      mode: "wasm",
      unavailable: available,
      threads: () => LOOP_HAS_NO_THREADS,
      runner: (p) => ptmallocLoopRunner(p, BENCH_OPTIONS_64),
    },
    {
      name: OURS64_JS_DECLARED,
      mode: "js",
      unavailable: available,
      threads: () => threadsIn(BENCH_OPTIONS_64),
      runner: (p) => ptmallocJsRunner(p, { ...BENCH_OPTIONS_64, writes: "declared" }),
    },
  ];
}
