// Making a process: its memory, its kernel and its allocator, wired together (createProcess).

import { abortError, ProcessKilled } from "./errors.js";
import { Kernel, kernelWindows, type KernelOptions } from "./kernel/kernel.js";
import { resolveOptions, WASM_PAGE_BYTES, type ProcessOptions, type ResolvedOptions } from "./options.js";
import { loadAllocator, type LoadAllocatorOptions, type LoadedAllocator } from "./allocator.js";
import type { LoadedBaseline } from "./baseline/index.js";
import { PROGRAM_DATA_START, PROGRAM_TEXT_START } from "./constants.js";
import { WASM_DATA_START_X86_64, WASM_HEAP_BASE, WASM_HEAP_BASE_X86_64 } from "./generated/wasm-layout.js";
import { Process } from "./process.js";
import { ABI_I386, ABI_X86_64 } from "./cargs.js";
/** The kernel's share of the options. */
function kernelOptions(o: ResolvedOptions): Omit<KernelOptions, "memory" | "program" | "onDeath"> {
  const { arch, seed, aslr, overcommit, overcommitRatio, ramBytes, swapBytes, privileged, rlimits, taskSize, writes } = o;
  return { arch, seed, aslr, overcommit, overcommitRatio, ramBytes, swapBytes, privileged, rlimits, taskSize, writes };
}

/**
 * The process's memory, made at once at the size the kernel would grow it to before the process
 * runs. i386: up to the page holding the top of the stack, which exec puts just below TASK_SIZE
 * (randomized by up to 8 MiB); x86_64: the whole 4 GiB, whose top window holds the stack. The
 * layout depends only on the arch, the seed, aslr and RLIMIT_STACK, so it is known before the
 * kernel exists (kernelWindows). Why at once: V8 counts the whole length of
 * a Wasm memory's buffer as external memory, and a buffer of gigabytes appearing at once sets
 * off a full mark-compact of the JS heap ("external memory pressure"); made small and then grown
 * it appeared twice, and cost two (scripts/measure-create.mjs). Not beyond the stack's page: the
 * space above it stays outside the memory, so a wild load there traps as the real process's
 * SIGSEGV (a memory of the full maximum would read zeros there). Untouched pages cost no RSS.
 * Engines that refuse a large initial size get a small one, which the kernel grows.
 */
function newMemory(o: ResolvedOptions): WebAssembly.Memory {
  const maximum = o.maxMemoryBytes / WASM_PAGE_BYTES;
  const { memoryBytes } = kernelWindows(o);
  const initial = Math.min(maximum, Math.ceil(memoryBytes / WASM_PAGE_BYTES));
  try {
    return new WebAssembly.Memory({ initial, maximum });
  } catch {
    return new WebAssembly.Memory({ initial: 2, maximum });
  }
}

/**
 * Creates a fresh emulated process: a new address space (i386's 32 bits, or x86_64's 47) as exec
 * leaves it (program, ld.so, the vDSO, libc, the stack), with glibc's malloc untouched. Every
 * option is checked first: an unknown name or a wrong kind of value is a TypeError, a value out
 * of range a RangeError, each naming the option (docs/bad-input.md).
 */
export async function createProcess(options: ProcessOptions = {}): Promise<Process> {
  return (await bootProcess(options)).process;
}

/** @internal A process with its parts exposed: for tests, benchmarks and tools inside this package. */
export interface BootedProcess {
  process: Process;
  kernel: Kernel;
  allocator: LoadedAllocator | LoadedBaseline;
}

/** @internal createProcess, keeping hold of the kernel and the allocator's raw exports. */
export async function bootProcess(options: ProcessOptions = {}): Promise<BootedProcess> {
  const resolved = resolveOptions(options);
  const flavour = resolved.allocator;

  let proc: Process | null = null;
  const onDeath = (err: Error) => proc?.die(err);
  const memory = newMemory(resolved);
  let kernel: Kernel | null = null;
  const allocatorOptions: LoadAllocatorOptions = {
    memory,
    seed: resolved.seed,
    arch: resolved.arch,
    debug: resolved.debug,
    nprocs: resolved.nprocs,
    overcommit: resolved.overcommit,
    kernel: () => kernel!,
    onAbort: (message: string) => {
      const err = abortError(message); // a ProcessAbort, or a ProcessHang for a walk that never ends
      onDeath(err);
      return err;
    },
    onFault: (fault) => {
      onDeath(fault); // a load or store through a corrupted link: SIGSEGV, as glibc's own load takes it
      return fault;
    },
  };
  // The twin claims the same static data as the Wasm module: the same seed gives the same heap.
  const allocator =
    flavour === "ts"
      ? // imported only when asked for: a bundle of the default path does not carry the twin
        (await import("./baseline/index.js")).loadBaseline({
          ...allocatorOptions,
          heapBase: resolved.arch === "x86_64" ? WASM_HEAP_BASE_X86_64 : WASM_HEAP_BASE,
        })
      : await loadAllocator(allocatorOptions);
  kernel = kernelFor(memory, allocator.heapBase, resolved, onDeath);
  proc = new Process(memory, kernel, allocator.libc, flavour === "ts", resolved.nprocs, resolved.arch === "x86_64" ? ABI_X86_64 : ABI_I386);
  return { process: proc, kernel, allocator };
}

/**
 * @internal The kernel of a process whose program image (the allocator's static data) ends at
 * `heapBase`, with ld.so, the vDSO and libc mapped as a real process has them. Tests that wire
 * an allocator to a kernel by hand get the same kernel a process gets.
 */
export function processKernel(
  memory: WebAssembly.Memory,
  heapBase: number,
  options: ProcessOptions = {},
  onDeath?: (err: Error) => void,
): Kernel {
  return kernelFor(memory, heapBase, resolveOptions(options), onDeath);
}

function kernelFor(memory: WebAssembly.Memory, heapBase: number, options: ResolvedOptions, onDeath?: (err: Error) => void): Kernel {
  return new Kernel({
    ...kernelOptions(options),
    memory,
    program: { textStart: PROGRAM_TEXT_START, dataStart: options.arch === "x86_64" ? WASM_DATA_START_X86_64 : PROGRAM_DATA_START, dataEnd: heapBase },
    libraries: true,
    onDeath: (err: Error) => onDeath?.(err instanceof ProcessKilled ? err : new ProcessKilled(err.message)),
  });
}
