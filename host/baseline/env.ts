// What the baseline allocator runs on, as the Wasm build's imports ("env"): the process's memory
// and its kernel's raw syscalls, plus how to die (abort) — one object per process, passed to
// every function. The views over the memory are replaced whenever the kernel grows it (growing
// a WebAssembly.Memory detaches the old buffer): after every syscall that can map memory, and
// at every entry from the host, where a grown memory shows as a view of length 0.

import {
  PAGEMAP_HOT_LEN, PAGEMAP_HOT_START, PAGEMAP_STORE_LEN, PAGEMAP_STORE_START, PAGEMAP_WRITE_PLANE, PAGESIZE,
} from "../../assembly/config.js";
import type { AllocatorKernel, AllocatorWindow } from "../allocator.js";
import type { SegmentationFault } from "../errors.js";
import { pageBit } from "../kernel/pagemap.js";
import { ABI_I386, ABI_X86_64, type Abi } from "./abi.js";
import { MP } from "./layout.js";
import { check_range64, ld64, load64, run_length64, st64, store64, va_fault_at_offset, va_off, wrap64 } from "./wide.js";

/** An Env has its ABI's numbers as fields (env.MINSIZE, env.SIZE_SZ, ...), set in the constructor. */
export interface Env extends Abi {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields the interface adds are all assigned (Object.assign) in the constructor
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
  /**
   * mp_ and the other statics of layout.ts, by slot (W_*). i386: a view of them where they are in
   * the memory (the Wasm build's places); x86_64: numbers kept here (every value below 2^53 but
   * the tcache key, kept as two halves), which no chunk ever points into.
   */
  mp: Uint32Array | Float64Array;
  /** The same slots, the int fields read signed. */
  mpi: Int32Array | Float64Array;
  /** x86_64: C words have 64 bits, and a VA is translated through the kernel's windows (wide.ts). */
  readonly wide: boolean;
  /** &main_arena and the main thread's TLS block, as C addresses (x86_64: known with the windows). */
  mainArena: number;
  mainTls: number;
  /** x86_64: the windows, W0 (the program and the brk heap) read inline (wide.ts). */
  w0va = 0;
  w0len = 0;
  w0off = 0;
  w1va = 0;
  w1len = 0;
  w1off = 0;
  w2va = 0;
  w2len = 0;
  w2off = 0;
  windowsSet = false;
  #kernel: AllocatorKernel | null = null;
  readonly #getKernel: () => AllocatorKernel;
  readonly onAbort: (message: string) => Error;
  readonly onFault: (fault: SegmentationFault) => Error;
  /**
   * The program's static data as the start of a 4-byte access, [staticStart, staticStart +
   * staticLen) (Wasm offsets): glibc's .data (main_arena, mp_), always mapped, passes ld/st
   * unchecked as in the Wasm build. Set by setStaticData.
   */
  staticStart = 0;
  staticLen = 0;
  /** x86_64: where main_arena and the main TLS block are, as Wasm offsets. */
  readonly #mainArenaOffset: number;
  readonly #mainTlsOffset: number;
  /** How many slots env.mp has (a detached view's length reads 0). */
  readonly #mpSlots: number;

  /** The static data is [start, end) (main_arena up to the heap base loadBaseline reports), as offsets. */
  setStaticData(start: number, end: number): void {
    this.staticStart = start;
    this.staticLen = this.wide ? ((end - 7) & ~15) - start : end - 3 - start;
  }

  constructor(
    memory: WebAssembly.Memory,
    kernel: () => AllocatorKernel,
    onAbort: (message: string) => Error,
    onFault: (fault: SegmentationFault) => Error = (fault) => fault,
    wide = false,
    statics: { mainArena: number; mainTls: number; mpSlots: number } = { mainArena: 0, mainTls: 0, mpSlots: 0 },
  ) {
    this.memory = memory;
    this.#getKernel = kernel;
    this.onAbort = onAbort;
    this.onFault = onFault;
    this.wide = wide;
    // The ABI's numbers (abi.ts) become fields, always in the same order (one hidden class for
    // both word sizes): one load from an object the hot paths hold anyway.
    Object.assign(this, wide ? ABI_X86_64 : ABI_I386);
    this.#mainArenaOffset = statics.mainArena;
    this.#mainTlsOffset = statics.mainTls;
    this.#mpSlots = statics.mpSlots;
    // i386: the statics' addresses are their offsets; x86_64: VAs, once the windows are known
    this.mainArena = wide ? 0 : statics.mainArena;
    this.mainTls = wide ? 0 : statics.mainTls;
    const buf = memory.buffer;
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    if (wide) {
      this.mp = new Float64Array(statics.mpSlots);
      this.mpi = this.mp;
    } else {
      this.mp = new Uint32Array(buf, MP, statics.mpSlots);
      this.mpi = new Int32Array(buf, MP, statics.mpSlots);
    }
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
    if (!this.wide) {
      this.mp = new Uint32Array(buf, MP, this.#mpSlots);
      this.mpi = new Int32Array(buf, MP, this.#mpSlots);
    }
  }

  /** x86_64: the kernel's windows, read once, at the first call that needs them (as the Wasm build's need_windows). */
  setWindows(): void {
    const windows = this.kernel.windows;
    if (windows === undefined || windows.length < 3) throw new Error("baseline: an x86_64 kernel must give its windows");
    const [w0, w1, w2] = windows as [AllocatorWindow, AllocatorWindow, AllocatorWindow];
    this.w0va = w0.va;
    this.w0len = w0.length;
    this.w0off = w0.offset;
    this.w1va = w1.va;
    this.w1len = w1.length;
    this.w1off = w1.offset;
    this.w2va = w2.va;
    this.w2len = w2.length;
    this.w2off = w2.offset;
    this.mainArena = w0.va + (this.#mainArenaOffset - w0.offset);
    this.mainTls = w0.va + (this.#mainTlsOffset - w0.offset);
    this.windowsSet = true;
  }
}

/** malloc_printerr: never returns. */
export function malloc_printerr(env: Env, message: string): never {
  throw env.onAbort(message);
}

/**
 * Loads and stores through a pointer read from memory (a link, or a size a bug may have
 * overwritten), done as the Wasm build's chunk ld/st (assembly/chunk.ts) do them: the address is
 * base + offset modulo 2^32 (2^64); the kernel's page map (host/kernel/pagemap.ts, in the memory
 * itself) is checked first, and a page it does not promise is asked of the kernel, which throws the
 * process's SIGSEGV where the real process takes one; a misaligned address reads the bytes it
 * names. Offsets are written as i386's layout has them (field k of a chunk or heap_info at k × 4):
 * on x86-64 every such field is a word of 8 bytes at k × 8, so the wide path doubles them (wide.ts).
 */
export function ld(env: Env, base: number, offset: number): number {
  if (env.wide) return ld64(env, base, offset * 2);
  const a = (base + offset) >>> 0;
  const m = env.u32;
  if (unchecked(env, m, a) || ((a & 3) === 0 && pageBit(env.u8, a, 0) !== 0)) return m[a >>> 2]!;
  access_slow(env, a, 4, false);
  if (a + 4 > env.u8.length) trap();
  return (a & 3) === 0 ? env.u32[a >>> 2]! : env.dv.getUint32(a, true);
}

/** The store twin of ld. */
export function st(env: Env, base: number, offset: number, value: number): void {
  if (env.wide) {
    st64(env, base, offset * 2, value);
    return;
  }
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

/** A C word computed in JS, brought back to size_t: modulo 2^32, or 2^64 on x86-64 (wide.ts). */
export function wrap(env: Env, x: number): number {
  return env.wide ? wrap64(x) : x >>> 0;
}

/** A C word read as a signed long (glibc's `long` sizes): i386 32 bits, x86-64 64. */
export function sword(env: Env, x: number): number {
  if (!env.wide) return x | 0;
  const w = wrap64(x);
  return w >= 2 ** 63 ? w - 2 ** 64 : w;
}

/**
 * An unchecked word of memory the allocator owns and reaches by its own pointers (a bin header,
 * the tcache struct's entries): at base + offset, the offset in i386's units as ld's.
 */
export function ldw(env: Env, base: number, offset: number): number {
  if (env.wide) return load64(env, va_off(env, wrap64(base + offset * 2), false));
  return env.u32[(base + offset) >>> 2]!;
}
export function stw(env: Env, base: number, offset: number, value: number): void {
  if (env.wide) store64(env, va_off(env, wrap64(base + offset * 2), true), value);
  else env.u32[(base + offset) >>> 2] = value;
}

/** A field of the allocator's own structs whose offset is not twice i386's (struct malloc_state, a TLS block): a word. */
export function ldf(env: Env, base: number, off32: number, off64: number): number {
  if (env.wide) return load64(env, va_off(env, base + off64, false));
  return env.u32[(base + off32) >>> 2]!;
}
export function stf(env: Env, base: number, off32: number, off64: number, value: number): void {
  if (env.wide) store64(env, va_off(env, base + off64, true), value);
  else env.u32[(base + off32) >>> 2] = value;
}
/** The same for a 32-bit field (an int, a binmap word): 4 bytes in both ABIs. */
export function ldi(env: Env, base: number, off32: number, off64: number): number {
  if (env.wide) return env.u32[va_off(env, base + off64, false) >>> 2]!;
  return env.u32[(base + off32) >>> 2]!;
}
export function sti(env: Env, base: number, off32: number, off64: number, value: number): void {
  if (env.wide) env.u32[va_off(env, base + off64, true) >>> 2] = value;
  else env.u32[(base + off32) >>> 2] = value;
}
/** A tcache count (uint16_t counts[64] at the struct's start, in both ABIs). */
export function ld16(env: Env, base: number, idx: number): number {
  if (env.wide) return env.u16[(va_off(env, base, false) >>> 1) + idx]!;
  return env.u16[(base >>> 1) + idx]!;
}
export function st16(env: Env, base: number, idx: number, value: number): void {
  if (env.wide) env.u16[(va_off(env, base, true) >>> 1) + idx] = value;
  else env.u16[(base >>> 1) + idx] = value;
}

/**
 * An aligned 4-byte load the page map need not be read for: in the hot span (the brk heap,
 * readable, kept by the kernel beside the map: one subtraction and one compare) or in the static
 * data.
 */
function unchecked(env: Env, m: Uint32Array, a: number): boolean {
  return (((a - m[HOT_START_W]!) >>> 0) < m[HOT_LEN_W]! || ((a - env.staticStart) >>> 0) < env.staticLen) && (a & 3) === 0;
}

export const HOT_START_W = PAGEMAP_HOT_START >>> 2;
export const HOT_LEN_W = PAGEMAP_HOT_LEN >>> 2;
export const STORE_START_W = PAGEMAP_STORE_START >>> 2;
export const STORE_LEN_W = PAGEMAP_STORE_LEN >>> 2;

/**
 * The slow path of ld/st and the check of a memset or memcpy range (assembly/pagemap.ts's
 * access_slow): each page of [addr, addr + len) (Wasm offsets) in order, one whose bit is clear
 * asked of the kernel — by its VA, which on x86-64 the kernel gives back for the offset — which
 * throws the SIGSEGV (naming the page's first byte, or addr for the first page) or lets the
 * access go on.
 */
export function access_slow(env: Env, addr: number, len: number, write: boolean): void {
  const plane = write ? PAGEMAP_WRITE_PLANE : 0;
  let a = addr >>> 0;
  let left = len;
  for (;;) {
    if (pageBit(env.u8, a, plane) === 0) {
      if (env.wide) va_fault_at_offset(env, a, write);
      else {
        const fault = env.kernel.accessFault(a, write);
        if (fault !== null) throw env.onFault(fault);
      }
      env.refresh(); // a stack grown to cover the access may have grown the memory
    }
    const toPageEnd = PAGESIZE - (a & (PAGESIZE - 1));
    if (left <= toPageEnd) return;
    left -= toPageEnd;
    a = (a + toPageEnd) >>> 0;
  }
}

/**
 * check_range of the Wasm build: a memset (write) or memcpy source (read) of the C addresses
 * [addr, addr + len), checked; their Wasm offset (x86-64: they must be contiguous, run_length64).
 */
export function check_range(env: Env, addr: number, len: number, write: boolean): number {
  if (env.wide) return len === 0 ? 0 : check_range64(env, addr, len, write);
  if (len !== 0) access_slow(env, addr, len, write);
  return addr;
}

/** How many of [addr, addr + len) are contiguous in the memory: all of them on i386. */
function run_length(env: Env, addr: number, len: number): number {
  return env.wide ? run_length64(env, addr, len) : len;
}

/** The Wasm offset of a VA (unchecked): the VA itself on i386. */
function offset_of(env: Env, va: number, write: boolean): number {
  return env.wide ? va_off(env, va, write) : va;
}

/** memset(addr, byte, len) into the program's memory: run by run in address order, each page checked first. */
export function fill_checked(env: Env, addr: number, byte: number, len: number): void {
  while (len > 0) {
    const n = run_length(env, addr, len);
    const a = check_range(env, addr, n, true);
    env.u8.fill(byte & 0xff, a, a + n);
    addr += n;
    len -= n;
  }
}

/** memcpy into a block that may have come from a corrupted list: the source's pages checked, then the destination's. */
export function copy_checked(env: Env, dst: number, src: number, n: number): void {
  // one run each but for a far page on either side (x86_64), which goes page by page
  for (const [addr, write] of [[src, false], [dst, true]] as const) {
    for (let a = addr, left = n; left > 0; ) {
      const k = run_length(env, a, left);
      check_range(env, a, k, write);
      a += k;
      left -= k;
    }
  }
  while (n > 0) {
    const k = Math.min(run_length(env, src, n), run_length(env, dst, n));
    const s = offset_of(env, src, false);
    env.u8.copyWithin(offset_of(env, dst, true), s, s + k);
    src += k;
    dst += k;
    n -= k;
  }
}

/** Zeroes [va, va + len) of memory the allocator owns (a tcache, a TLS block): unchecked, run by run. */
export function zero_owned(env: Env, va: number, len: number): void {
  while (len > 0) {
    const n = run_length(env, va, len);
    const a = offset_of(env, va, true);
    env.u8.fill(0, a, a + n);
    va += n;
    len -= n;
  }
}

/** What a Wasm load past the end of the memory does: a trap, thrown as a RuntimeError. */
export function trap(): never {
  throw new WebAssembly.RuntimeError("memory access out of bounds");
}
