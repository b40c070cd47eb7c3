// A process whose allocator is the pure-TypeScript baseline, built as host/process.ts builds one
// (memory → allocator → kernel → Process), and the Wasm twin for comparison.

import type { AllocatorExports } from "../../host/allocator.js";
import { ProcessAbort } from "../../host/errors.js";
import type { Kernel } from "../../host/kernel/kernel.js";
import { Process } from "../../host/process.js";
import { bootProcess, processKernel } from "../../host/boot.js";
import { loadBaseline, type LoadedBaseline } from "../../host/baseline/index.js";

export interface BaselineProcess {
  process: Process;
  kernel: Kernel;
  memory: WebAssembly.Memory;
  allocator: LoadedBaseline;
}

export interface BootOptions {
  seed: number;
  aslr?: 0 | 1 | 2;
  debug?: boolean;
  /** The program's data end (to place the heap exactly where a Wasm twin's is). */
  heapBase?: number;
}

export function bootBaseline(options: BootOptions): BaselineProcess {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  let proc: Process | null = null;
  const onDeath = (err: Error) => proc?.die(err);
  let kernel: Kernel | null = null;
  const allocator = loadBaseline({
    memory,
    seed: options.seed,
    debug: options.debug === true,
    heapBase: options.heapBase,
    kernel: () => kernel!,
    onAbort: (message) => {
      const err = new ProcessAbort(message);
      onDeath(err);
      return err;
    },
  });
  kernel = processKernel(memory, allocator.heapBase, { seed: options.seed >>> 0, aslr: options.aslr ?? 2 }, onDeath);
  proc = new Process(memory, kernel, allocator.libc);
  return { process: proc, kernel, memory, allocator };
}

/** A Wasm process and a baseline process with the same seed, heaps at the same addresses. */
export async function bootTwins(seed: number, aslr: 0 | 1 | 2 = 2) {
  const wasm = await bootProcess({ seed, aslr });
  const ts = bootBaseline({ seed, aslr, heapBase: wasm.allocator.heapBase });
  return { wasm, ts, wasmExports: wasm.allocator.exports as AllocatorExports };
}
