// The AssemblyScript TLSF peer (bench/wasm/tlsf.ts, built to build/tlsf.wasm): a fresh instance
// per run, driven from JS one call per op or by its own replay loop inside Wasm.

import { readFileSync } from "node:fs";
import { OP_WORDS, jsLoopFor, runFromJs, type JsAllocator, type OpsProgram } from "../ops-program.js";
import { repoPath } from "./paths.js";

interface TlsfExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  calloc(size: number): number;
  memalign(align: number, size: number): number;
  reserve(bytes: number): number;
  replay_ops(ops: number, count: number, table: number): void;
}

let compiled: WebAssembly.Module | undefined;

export function tlsfInstance(): TlsfExports {
  compiled ??= new WebAssembly.Module(readFileSync(repoPath("build", "tlsf.wasm")));
  return new WebAssembly.Instance(compiled, {
    env: {
      abort: () => {
        throw new Error("TLSF peer aborted");
      },
    },
  }).exports as unknown as TlsfExports;
}

/** One run of `program` from JS on a fresh TLSF instance (setup excluded: call prepare first). */
export function tlsfJsRunner(program: OpsProgram) {
  const loop = jsLoopFor();
  let x: TlsfExports;
  let table: Uint32Array;
  let alloc: JsAllocator;
  let bytes: Uint8Array;
  const touch = (p: number, size: number) => {
    if (bytes.buffer !== x.memory.buffer) bytes = new Uint8Array(x.memory.buffer);
    bytes[p] = 1;
    bytes[p + size - 1] = 1;
  };
  return {
    prepare() {
      x = tlsfInstance();
      table = new Uint32Array(program.ids);
      bytes = new Uint8Array(x.memory.buffer);
      alloc = {
        malloc: x.malloc,
        calloc: (n, s) => x.calloc(n * s),
        memalign: x.memalign,
        realloc: x.realloc,
        free: x.free,
      };
    },
    run() {
      runFromJs(loop, alloc, program, table, touch);
    },
  };
}

/** One run of `program` by the replay loop inside the TLSF module. */
export function tlsfWasmRunner(program: OpsProgram) {
  let x: TlsfExports;
  let ops = 0;
  let table = 0;
  return {
    prepare() {
      x = tlsfInstance();
      ops = x.reserve(program.length * OP_WORDS * 4);
      table = x.reserve(program.ids * 4);
      new Uint32Array(x.memory.buffer, ops, program.length * OP_WORDS).set(program.words);
    },
    run() {
      x.replay_ops(ops, program.length, table);
    },
  };
}
