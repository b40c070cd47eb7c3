// ptmalloc-wasm as a benchmark peer: a fresh emulated process per run, driven from JS through the
// public API (one call per op: the embedding path) or by the replay loop inside the Wasm module
// (assembly/replay.ts), with the op list mapped into the process as the C replayer maps its own.

import { bootProcess, type BootedProcess, type ProcessOptions } from "../../host/process.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from "../../host/constants.js";
import { OP_WORDS, jsLoopFor, runFromJs, type OpsProgram } from "../ops-program.js";

const BENCH_OPTIONS: ProcessOptions = { seed: 1, aslr: 0 };

export function ptmallocJsRunner(program: OpsProgram, options: ProcessOptions = BENCH_OPTIONS) {
  const loop = jsLoopFor();
  let booted: BootedProcess;
  let table: Uint32Array;
  let bytes: Uint8Array;
  const touch = (p: number, size: number) => {
    bytes[p] = 1;
    bytes[p + size - 1] = 1;
  };
  return {
    async prepare() {
      booted = await bootProcess(options);
      table = new Uint32Array(program.ids);
      bytes = new Uint8Array(booted.process.memory.buffer);
    },
    run() {
      runFromJs(loop, booted.process, program, table, touch);
    },
    get process() {
      return booted.process;
    },
  };
}

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
export function ptmallocLoopRunner(program: OpsProgram, options: ProcessOptions = BENCH_OPTIONS) {
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
    get process() {
      return booted.process;
    },
  };
}
