// The wasi-libc dlmalloc peer (bench/wasm/dlmalloc/replay.c, built by scripts/build-dlmalloc.mjs
// to build/dlmalloc.wasm when clang and wasi-libc are installed): the malloc that C programs
// compiled for WASI get, on a fresh instance per run, driven from JS one call per op or by its
// own replay loop inside Wasm.

import type { Peer } from "./peer.js";
import { moduleJsRunner, moduleLoopRunner, moduleMissing, type ModulePeer } from "./module-peer.js";

interface DlmallocExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  bench_malloc(size: number): number;
  bench_free(ptr: number): void;
  bench_calloc(size: number): number;
  bench_realloc(ptr: number, size: number): number;
  bench_memalign(align: number, size: number): number;
  reserve(bytes: number): number;
  replay_ops(ops: number, count: number, table: number): void;
}

const ENOSYS = 52; // WASI errno

/**
 * Stubs for whatever WASI functions the link pulled in (today none: malloc needs only
 * memory.grow): every call fails with ENOSYS, and proc_exit (abort) throws.
 */
function wasiStubs(module: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") continue;
    imports[imp.module] ??= {};
    imports[imp.module]![imp.name] =
      imp.name === "proc_exit"
        ? (code: number) => {
            throw new Error(`dlmalloc peer exited (${code})`);
          }
        : () => ENOSYS;
  }
  return imports;
}

const DLMALLOC: ModulePeer<DlmallocExports> = {
  file: "dlmalloc.wasm",
  instantiate(module) {
    const x = new WebAssembly.Instance(module, wasiStubs(module)).exports as unknown as DlmallocExports;
    x._initialize(); // the WASI reactor convention: once, before any other export
    return x;
  },
  alloc: (x) => ({
    malloc: x.bench_malloc,
    calloc: (n, s) => x.bench_calloc(n * s),
    memalign: x.bench_memalign,
    realloc: x.bench_realloc,
    free: x.bench_free,
  }),
  // Fresh pages above the heap's current end, which dlmalloc's sbrk skips (see replay.c).
  reserve: (x, bytes) => x.reserve(bytes),
  reportsMemory: true,
};

export function dlmallocPeers(): Peer[] {
  const unavailable = () =>
    moduleMissing(
      DLMALLOC.file,
      "clang/wasi-libc missing (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32, then npm run build:wasm)",
    );
  return [
    { name: "wasi-libc dlmalloc, JS-driven", mode: "js", unavailable, runner: (p) => moduleJsRunner(DLMALLOC, p) },
    { name: "wasi-libc dlmalloc, in-Wasm loop", mode: "wasm", unavailable, runner: (p) => moduleLoopRunner(DLMALLOC, p) },
  ];
}
