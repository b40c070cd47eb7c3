// What the baseline allocator runs on, as the Wasm build's imports ("env"): the process's memory
// and its kernel's raw syscalls, plus how to die (abort) — one object per process, passed to
// every function. The views over the memory are replaced whenever the kernel grows it (growing
// a WebAssembly.Memory detaches the old buffer): after every syscall that can map memory, and
// at every entry from the host, where a grown memory shows as a view of length 0.

import type { AllocatorKernel } from "../allocator.js";

export class Env {
  readonly memory: WebAssembly.Memory;
  /** The memory as words: every chunk field and every static is 4-aligned. */
  u32: Uint32Array;
  /** The same words, signed (the int fields of mp_: n_mmaps, n_mmaps_max, ...). */
  i32: Int32Array;
  /** Halfwords: the tcache's counts. */
  u16: Uint16Array;
  /** Bytes: clearing, copying, perturbing, text. */
  u8: Uint8Array;
  /** Unaligned loads (a user's pointer may be anything). */
  dv: DataView;
  #kernel: AllocatorKernel | null = null;
  readonly #getKernel: () => AllocatorKernel;
  readonly onAbort: (message: string) => Error;

  constructor(memory: WebAssembly.Memory, kernel: () => AllocatorKernel, onAbort: (message: string) => Error) {
    this.memory = memory;
    this.#getKernel = kernel;
    this.onAbort = onAbort;
    const buf = memory.buffer;
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
  }

  /** The kernel, created after the allocator (its program's data end is our heapBase). */
  get kernel(): AllocatorKernel {
    return (this.#kernel ??= this.#getKernel());
  }

  /** Re-wrap the memory if the kernel grew it. */
  refresh(): void {
    const buf = this.memory.buffer;
    if (this.u8.buffer === buf) return;
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
  }
}

/** malloc_printerr: never returns. */
export function malloc_printerr(env: Env, message: string): never {
  throw env.onAbort(message);
}

/**
 * Loads and stores through a pointer read from memory (a link, or a size a bug may have
 * overwritten), done as the Wasm build's `load<u32>(base, offset)` does them: the constant offset
 * is added without wrapping, a misaligned address reads the bytes it names, and an access past the
 * end of the memory traps (the process dies of SIGSEGV) — where a typed array would give undefined
 * or drop the store. `base` is a u32.
 */
export function ld(env: Env, base: number, offset: number): number {
  const a = base + offset;
  if (a + 4 > env.u8.length) trap();
  return (a & 3) === 0 ? env.u32[a >>> 2] : env.dv.getUint32(a, true);
}

/** The store twin of ld. */
export function st(env: Env, base: number, offset: number, value: number): void {
  const a = base + offset;
  if (a + 4 > env.u8.length) trap();
  if ((a & 3) === 0) env.u32[a >>> 2] = value;
  else env.dv.setUint32(a, value >>> 0, true);
}

/** What a Wasm load past the end of the memory does: a trap, thrown as a RuntimeError. */
export function trap(): never {
  throw new WebAssembly.RuntimeError("memory access out of bounds");
}
