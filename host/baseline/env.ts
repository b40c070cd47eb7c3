// What the baseline allocator runs on, as the Wasm build's imports ("env"): the process's memory
// and its kernel's raw syscalls, plus how to die (abort) — one object per process, passed to
// every function. The views over the memory are replaced whenever the kernel grows it (growing
// a WebAssembly.Memory detaches the old buffer): after every syscall that can map memory, and
// at every entry from the host, where a grown memory shows as a view of length 0.

import {
  PAGEMAP_HOT_LEN, PAGEMAP_HOT_START, PAGEMAP_STORE_LEN, PAGEMAP_STORE_START, PAGEMAP_WRITE_PLANE, PAGESIZE,
} from "../../assembly/config.js";
import type { AllocatorKernel } from "../allocator.js";
import type { SegmentationFault } from "../errors.js";
import { pageBit } from "../kernel/pagemap.js";

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
  readonly onFault: (fault: SegmentationFault) => Error;
  /**
   * The program's static data as the start of a 4-byte access, [staticStart, staticStart +
   * staticLen): glibc's .data (main_arena, mp_), always mapped, passes ld/st unchecked as in the
   * Wasm build. Set by setStaticData.
   */
  staticStart = 0;
  staticLen = 0;

  /** The static data is [start, end) (main_arena up to the heap base loadBaseline reports). */
  setStaticData(start: number, end: number): void {
    this.staticStart = start;
    this.staticLen = end - 3 - start;
  }

  constructor(
    memory: WebAssembly.Memory,
    kernel: () => AllocatorKernel,
    onAbort: (message: string) => Error,
    onFault: (fault: SegmentationFault) => Error = (fault) => fault,
  ) {
    this.memory = memory;
    this.#getKernel = kernel;
    this.onAbort = onAbort;
    this.onFault = onFault;
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
 * overwritten), done as the Wasm build's chunk ld/st (assembly/chunk.ts) do them: the address is
 * base + offset modulo 2^32; the kernel's page map (host/kernel/pagemap.ts, in the memory itself)
 * is checked first, and a page it does not promise is asked of the kernel, which throws the
 * process's SIGSEGV where the real process takes one; a misaligned address reads the bytes it
 * names. `base` is a u32.
 */
export function ld(env: Env, base: number, offset: number): number {
  const a = (base + offset) >>> 0;
  const m = env.u32;
  if (unchecked(env, m, a) || ((a & 3) === 0 && pageBit(env.u8, a, 0) !== 0)) return m[a >>> 2]!;
  access_slow(env, a, 4, false);
  if (a + 4 > env.u8.length) trap();
  return (a & 3) === 0 ? env.u32[a >>> 2]! : env.dv.getUint32(a, true);
}

/** The store twin of ld. */
export function st(env: Env, base: number, offset: number, value: number): void {
  const a = (base + offset) >>> 0;
  const m = env.u32;
  // A store needs a resident page: the store span or the write plane's bit promises one.
  if (
    (a & 3) === 0 &&
    (((a - m[STORE_START_W]!) >>> 0) < m[STORE_LEN_W]! ||
      ((a - env.staticStart) >>> 0) < env.staticLen ||
      pageBit(env.u8, a, PAGEMAP_WRITE_PLANE) !== 0)
  ) {
    m[a >>> 2] = value;
    return;
  }
  access_slow(env, a, 4, true);
  if (a + 4 > env.u8.length) trap();
  if ((a & 3) === 0) env.u32[a >>> 2] = value;
  else env.dv.setUint32(a, value >>> 0, true);
}

/**
 * An aligned 4-byte load the page map need not be read for: in the hot span (the brk heap,
 * readable, kept by the kernel beside the map: one subtraction and one compare) or in the static
 * data.
 */
function unchecked(env: Env, m: Uint32Array, a: number): boolean {
  return (((a - m[HOT_START_W]!) >>> 0) < m[HOT_LEN_W]! || ((a - env.staticStart) >>> 0) < env.staticLen) && (a & 3) === 0;
}

const HOT_START_W = PAGEMAP_HOT_START >>> 2;
const HOT_LEN_W = PAGEMAP_HOT_LEN >>> 2;
const STORE_START_W = PAGEMAP_STORE_START >>> 2;
const STORE_LEN_W = PAGEMAP_STORE_LEN >>> 2;

/**
 * The slow path of ld/st and the check of a memset or memcpy range (assembly/pagemap.ts's
 * access_slow): each page of [addr, addr + len) in order, one whose bit is clear asked of the
 * kernel, which throws the SIGSEGV (naming the page's first byte, or addr for the first page) or
 * lets the access go on.
 */
export function access_slow(env: Env, addr: number, len: number, write: boolean): void {
  const plane = write ? PAGEMAP_WRITE_PLANE : 0;
  let a = addr >>> 0;
  let left = len;
  for (;;) {
    if (pageBit(env.u8, a, plane) === 0) {
      const fault = env.kernel.accessFault(a, write);
      if (fault !== null) throw env.onFault(fault);
      env.refresh(); // a stack grown to cover the access may have grown the memory
    }
    const toPageEnd = PAGESIZE - (a & (PAGESIZE - 1));
    if (left <= toPageEnd) return;
    left -= toPageEnd;
    a = (a + toPageEnd) >>> 0;
  }
}

/** check_range of the Wasm build: a memset (write) or memcpy source (read) of [addr, addr + len). */
export function check_range(env: Env, addr: number, len: number, write: boolean): void {
  if (len !== 0) access_slow(env, addr, len, write);
}

/** What a Wasm load past the end of the memory does: a trap, thrown as a RuntimeError. */
export function trap(): never {
  throw new WebAssembly.RuntimeError("memory access out of bounds");
}
