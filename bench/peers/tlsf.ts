// The AssemblyScript TLSF peer (bench/wasm/tlsf.ts, built to build/tlsf.wasm): a fresh instance
// per run, driven from JS one call per op or by its own replay loop inside Wasm.

import type { Peer } from "./peer.js";
import {
  instantiateAs, moduleJsRunner, moduleLoopRunner, moduleMissing, namedAlloc, type ModulePeer, type NamedAllocExports,
} from "./module-peer.js";

const TLSF: ModulePeer<NamedAllocExports> = {
  file: "tlsf.wasm",
  instantiate: (module) => instantiateAs<NamedAllocExports>(module, "TLSF peer"),
  alloc: namedAlloc,
  /**
   * Fresh pages, outside the TLSF heap. TLSF adds to its heap only what it grows itself, from
   * memory.size at that moment, so it skips these pages once it is initialised (which the first
   * heap.alloc does: a malloc/free pair leaves its heap as it was). Taking them from the heap
   * instead, TLSF's doubling growth would leave room behind them that the run uses without the
   * memory growing.
   */
  reserve(x, bytes) {
    x.free(x.malloc(1));
    return x.memory.grow(Math.ceil(bytes / 65536)) * 65536;
  },
  reportsMemory: true,
};

export function tlsfPeers(): Peer[] {
  const unavailable = () => moduleMissing(TLSF.file, "npm run build:wasm");
  return [
    { name: "AS TLSF, JS-driven", mode: "js", unavailable, runner: (p) => moduleJsRunner(TLSF, p) },
    { name: "AS TLSF, in-Wasm loop", mode: "wasm", unavailable, runner: (p) => moduleLoopRunner(TLSF, p) },
  ];
}
