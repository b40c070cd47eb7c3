// What the peers that are Wasm modules of their own (AS TLSF, wasi-libc dlmalloc, the floors)
// share: one compiled module per file, a fresh instance per run, a JS-driven runner (one export
// call per op) and an in-Wasm runner (the module's replay_ops over the op list), and the memory
// they report. Each peer file says only what differs: its file, its exports, where the op list goes.

import { existsSync, readFileSync } from "node:fs";
import { OP_WORDS, jsLoopFor, runFromJs, type JsAllocator, type OpsProgram } from "../ops-program.js";
import { repoPath } from "./paths.js";
import type { PeerMemory, Runner } from "./peer.js";

export interface ModuleExports {
  memory: WebAssembly.Memory;
  replay_ops(ops: number, count: number, table: number): void;
}

export interface ModulePeer<X extends ModuleExports> {
  /** The file under build/. */
  file: string;
  /** A fresh, ready instance of the compiled module. */
  instantiate(module: WebAssembly.Module): X;
  /** The C library calls of an instance. */
  alloc(x: X): JsAllocator;
  /** Room for `bytes` outside the heap being measured (the op list, the id table); its address. */
  reserve(x: X, bytes: number): number;
  /**
   * Where the JS loop writes a block's first and last byte (default: the block itself). The
   * floor, whose addresses are fake, maps them into a scratch area.
   */
  touchAddress?(x: X): (p: number) => number;
  /** Whether the heap's growth is the peer's memory figure (not for the floors: no heap). */
  reportsMemory: boolean;
}

/** The exports of a module whose C calls carry their C names (calloc takes the product). */
export interface NamedAllocExports extends ModuleExports {
  malloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  calloc(size: number): number;
  memalign(align: number, size: number): number;
}

/** An instance of an AssemblyScript module, whose one import is abort. */
export function instantiateAs<X>(module: WebAssembly.Module, what: string): X {
  const abort = () => {
    throw new Error(`${what} aborted`);
  };
  return new WebAssembly.Instance(module, { env: { abort } }).exports as unknown as X;
}

export function namedAlloc(x: NamedAllocExports): JsAllocator {
  return {
    malloc: x.malloc,
    calloc: (n, s) => x.calloc(n * s),
    memalign: x.memalign,
    realloc: x.realloc,
    free: x.free,
  };
}

const modules = new Map<string, WebAssembly.Module>();

function compiled(file: string): WebAssembly.Module {
  let m = modules.get(file);
  if (m === undefined) modules.set(file, (m = new WebAssembly.Module(readFileSync(repoPath("build", file)))));
  return m;
}

/** null when the module is built, else why not. */
export function moduleMissing(file: string, how: string): string | null {
  return existsSync(repoPath("build", file)) ? null : `build/${file} not built: ${how}`;
}

/**
 * What the heap grew to during the run: the memory's size after the run minus its size right
 * after prepare(). These allocators never give memory back to the module (a Wasm memory cannot
 * shrink), so that is their peak, rounded up by their way of growing. Not counted: the part of
 * the initial memory above the static data where they start their heap (under 64 KiB).
 */
function heapGrowth(x: ModuleExports, afterPrepare: number): PeerMemory {
  return { peakBytes: x.memory.buffer.byteLength - afterPrepare };
}

/** One run of `program` from JS, one export call per op, on a fresh instance per run. */
export function moduleJsRunner<X extends ModuleExports>(peer: ModulePeer<X>, program: OpsProgram): Runner {
  if (program.threads > 0) throw new Error(`bench: ${peer.file} runs one thread; a program with threads is not for it`);
  const loop = jsLoopFor();
  let x: X;
  let table: Uint32Array;
  let alloc: JsAllocator;
  let bytes: Uint8Array;
  let at: (p: number) => number = (p) => p;
  let start = 0;
  const touch = (p: number, size: number) => {
    if (bytes.length === 0) bytes = new Uint8Array(x.memory.buffer); // the memory grew: the old view is detached
    bytes[at(p)] = 1;
    bytes[at(p + size - 1)] = 1;
  };
  return {
    prepare() {
      x = peer.instantiate(compiled(peer.file));
      table = new Uint32Array(program.ids);
      bytes = new Uint8Array(x.memory.buffer);
      alloc = peer.alloc(x);
      if (peer.touchAddress) at = peer.touchAddress(x);
      start = x.memory.buffer.byteLength;
    },
    run() {
      runFromJs(loop, alloc, program, table, touch);
    },
    ...(peer.reportsMemory ? { memory: () => heapGrowth(x, start) } : {}),
  };
}

/** One run of `program` by the module's own replay loop, on a fresh instance per run. */
export function moduleLoopRunner<X extends ModuleExports>(peer: ModulePeer<X>, program: OpsProgram): Runner {
  if (program.threads > 0) throw new Error(`bench: ${peer.file} runs one thread; a program with threads is not for it`);
  let x: X;
  let ops = 0;
  let table = 0;
  let start = 0;
  return {
    prepare() {
      x = peer.instantiate(compiled(peer.file));
      ops = peer.reserve(x, program.length * OP_WORDS * 4);
      table = peer.reserve(x, program.ids * 4);
      if (ops === 0 || table === 0) throw new Error(`bench: ${peer.file}: no memory for the op list`);
      new Uint32Array(x.memory.buffer, ops, program.length * OP_WORDS).set(program.words);
      start = x.memory.buffer.byteLength;
    },
    run() {
      x.replay_ops(ops, program.length, table);
    },
    ...(peer.reportsMemory ? { memory: () => heapGrowth(x, start) } : {}),
  };
}
