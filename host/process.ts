// One emulated 32-bit Linux process: a kernel, an allocator, and the public API of API.md.
//
// Data flows one way: the caller → this file (argument conversion, errno, death) → the allocator
// (Wasm or TS) → its syscall imports → the kernel → the memory. Nothing here knows chunks or VMAs.

import { isU32, toInt, toSizeT, SIZE_MAX } from "./cargs.js";
import { abortError, ProcessKilled, SegmentationFault } from "./errors.js";
import { Kernel, type KernelOptions, type Status } from "./kernel/kernel.js";
import { loadAllocator, type LoadAllocatorOptions, type LoadedAllocator } from "./allocator.js";
import type { LoadedBaseline } from "./baseline/index.js";
import { PROGRAM_DATA_START, PROGRAM_TEXT_START } from "./constants.js";
import { WASM_HEAP_BASE } from "./generated/wasm-layout.js";
import type { LibC, Mallinfo2 } from "./libc.js";

export type RlimitName = "RLIMIT_AS" | "RLIMIT_DATA" | "RLIMIT_STACK" | "RLIMIT_MEMLOCK";
export interface Rlimit {
  cur: number;
  max: number;
}

export interface ProcessOptions {
  /** Seeds ASLR (and glibc's tcache key); same seed + same calls ⇒ same addresses. Default: random. */
  seed?: number;
  /** kernel.randomize_va_space. Default 2. */
  aslr?: 0 | 1 | 2;
  /** ptmalloc compiled to Wasm (default) or the pure-TypeScript baseline. */
  allocator?: "wasm" | "ts";
  /** vm.overcommit_memory. Default 0. */
  overcommit?: 0 | 1 | 2;
  /** vm.overcommit_ratio in percent. Default 50. */
  overcommitRatio?: number;
  /** Emulated physical RAM; resident pages beyond it (plus swap) ⇒ the OOM killer. Default 1 GiB. */
  ramBytes?: number;
  /** Emulated swap. Default 0. */
  swapBytes?: number;
  /** CAP_IPC_LOCK: mlock beyond RLIMIT_MEMLOCK. Default false. */
  privileged?: boolean;
  /** Initial resource limits in bytes; Infinity is RLIM_INFINITY. */
  rlimits?: Partial<Record<RlimitName, Rlimit>>;
  /** Run the debug build of the allocator, which checks the whole heap after every call. */
  debug?: boolean;
}

/** The raw system calls: a result ≥ 0, or −errno. They never throw on bad arguments. */
export interface Syscalls {
  brk(addr: number): number;
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
  munmap(addr: number, length: number): number;
  mremap(oldAddr: number, oldLength: number, newLength: number, flags: number, newAddr?: number): number;
  mprotect(addr: number, length: number, prot: number): number;
  madvise(addr: number, length: number, advice: number): number;
  mincore(addr: number, length: number, vec: Uint8Array): number;
  mlock(addr: number, length: number): number;
  mlock2(addr: number, length: number, flags: number): number;
  munlock(addr: number, length: number): number;
  mlockall(flags: number): number;
  munlockall(): number;
  getrlimit(resource: number | string): Rlimit;
  setrlimit(resource: number | string, limit: Rlimit): number;
}

const GiB = 1024 * 1024 * 1024;

function resolveOptions(options: ProcessOptions): Omit<KernelOptions, "memory" | "program" | "onDeath"> {
  const pick = <T>(value: T | undefined, fallback: T, ok: (v: T) => boolean, what: string): T => {
    if (value === undefined) return fallback;
    if (!ok(value)) throw new TypeError(`createProcess: invalid ${what}: ${String(value)}`);
    return value;
  };
  const nonNegative = (v: number) => typeof v === "number" && v >= 0 && Number.isFinite(v);
  return {
    seed: pick(options.seed, Math.floor(Math.random() * 2 ** 32), (v) => typeof v === "number" && Number.isFinite(v), "seed") >>> 0,
    aslr: pick(options.aslr, 2, (v) => v === 0 || v === 1 || v === 2, "aslr"),
    overcommit: pick(options.overcommit, 0, (v) => v === 0 || v === 1 || v === 2, "overcommit"),
    overcommitRatio: pick(options.overcommitRatio, 50, nonNegative, "overcommitRatio"),
    ramBytes: pick(options.ramBytes, GiB, (v) => nonNegative(v) && v > 0, "ramBytes"),
    swapBytes: pick(options.swapBytes, 0, nonNegative, "swapBytes"),
    privileged: pick(options.privileged, false, (v) => typeof v === "boolean", "privileged"),
    rlimits: { ...(options.rlimits ?? {}) },
  };
}

/** A copy of `libc` whose functions pass what they throw through `onThrow` (errno stays as is). */
function guardTraps(libc: LibC, onThrow: (err: unknown) => unknown): LibC {
  const guarded = Object.create(libc) as LibC;
  for (const key of Object.keys(libc) as (keyof LibC)[]) {
    const fn = Object.getOwnPropertyDescriptor(libc, key)?.value as unknown; // accessors (errno) stay
    if (typeof fn !== "function") continue;
    Object.defineProperty(guarded, key, {
      value: (...args: unknown[]) => {
        try {
          return (fn as (...a: unknown[]) => unknown)(...args);
        } catch (err) {
          throw onThrow(err);
        }
      },
    });
  }
  return guarded;
}

/**
 * An emulated process. Every method of the C library follows glibc 2.36 (i386); `sys` is the raw
 * Linux 6.1 system-call ABI. After the process dies (ProcessAbort, ProcessKilled,
 * SegmentationFault), every call throws that error again.
 */
export class Process {
  /** The process's whole address space: an address is a byte offset into `memory.buffer`. */
  readonly memory: WebAssembly.Memory;
  readonly sys: Syscalls;
  readonly #kernel: Kernel;
  readonly #libc: LibC;
  /** The C library calls other than the hot three, each turning a Wasm trap into SIGSEGV. */
  readonly #lib: LibC;
  // The hot calls, held as functions rather than reached through #libc each time: V8 calls a
  // function kept in a field ~10 ns faster than a method of an object with accessors (measured
  // on a malloc/free loop from JS, one core: 33 → 23 ns per call).
  readonly #malloc: LibC["malloc"];
  readonly #free: LibC["free"];
  readonly #realloc: LibC["realloc"];
  #dead: Error | null = null;
  // A readable span known from the last header probe, good while the kernel's accessGeneration
  // stays #okGeneration: the probe of a heap pointer then costs two compares.
  #okStart = 0;
  #okEnd = 0;
  #okGeneration = -1;

  /** @internal Use createProcess(). */
  constructor(memory: WebAssembly.Memory, kernel: Kernel, libc: LibC) {
    this.memory = memory;
    this.#kernel = kernel;
    this.#libc = libc;
    this.#lib = guardTraps(libc, (err) => this.#trapped(err));
    this.#malloc = libc.malloc;
    this.#free = libc.free;
    this.#realloc = libc.realloc;
    const k = kernel;
    const live = () => this.#checkAlive();
    this.sys = {
      brk: (a) => (live(), k.brk(a)),
      mmap: (a, l, p, f, fd, o) => (live(), k.mmap(a, l, p, f, fd, o)),
      munmap: (a, l) => (live(), k.munmap(a, l)),
      mremap: (o, ol, nl, f, na) => (live(), k.mremap(o, ol, nl, f, na)),
      mprotect: (a, l, p) => (live(), k.mprotect(a, l, p)),
      madvise: (a, l, adv) => (live(), k.madvise(a, l, adv)),
      mincore: (a, l, v) => (live(), k.mincore(a, l, v)),
      mlock: (a, l) => (live(), k.mlock(a, l)),
      mlock2: (a, l, f) => (live(), k.mlock2(a, l, f)),
      munlock: (a, l) => (live(), k.munlock(a, l)),
      mlockall: (f) => (live(), k.mlockall(f)),
      munlockall: () => (live(), k.munlockall()),
      getrlimit: (r) => (live(), k.getrlimit(r)),
      setrlimit: (r, lim) => (live(), k.setrlimit(r, lim)),
    };
  }

  /** @internal Called once when the process dies; later calls rethrow the same error. */
  die(err: Error): void {
    if (this.#dead === null) this.#dead = err;
  }

  #checkAlive(): void {
    if (this.#dead !== null) throw this.#dead;
  }

  /**
   * A Wasm trap inside the allocator (a load past the end of the memory, through a corrupted
   * link) is where the real process would take a SIGSEGV: the process dies of it. The faulting
   * address is not known; the fault names the end of the memory, at or below which it was not.
   * Any other error passes unchanged.
   */
  #trapped(err: unknown): unknown {
    if (!(err instanceof WebAssembly.RuntimeError)) return err;
    const fault = new SegmentationFault("SEGV_MAPERR", Math.min(this.memory.buffer.byteLength, 2 ** 32 - 1));
    this.die(fault);
    return this.#dead;
  }

  /**
   * glibc's first access to a chunk it is handed (free, realloc, malloc_usable_size) is a load of
   * its size field, the 4 bytes below the pointer. Where those bytes are not readable memory, the
   * real process dies right there of SIGSEGV; so does this one. (The allocator itself cannot
   * fault: Wasm memory has no holes.) Later loads through a bad chunk's fields are not probed.
   */
  #probeHeader(ptr: number): void {
    const at = ptr - 4;
    if (at >= this.#okStart && ptr <= this.#okEnd && this.#okGeneration === this.#kernel.accessGeneration) return;
    const r = this.#kernel.probeRead(at >>> 0, 4);
    if (r instanceof SegmentationFault) {
      this.die(r);
      throw r;
    }
    this.#okStart = r.start;
    this.#okEnd = r.end;
    this.#okGeneration = this.#kernel.accessGeneration;
  }

  // ── the C library ──────────────────────────────────────────────────────────
  malloc(size: number): number {
    if (this.#dead !== null) throw this.#dead;
    try {
      return this.#malloc(isU32(size) ? size : toSizeT(size)) >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  free(ptr: number): void {
    if (this.#dead !== null) throw this.#dead;
    const p = isU32(ptr) ? ptr : toSizeT(ptr);
    if (p !== 0) this.#probeHeader(p);
    try {
      this.#free(p);
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  calloc(nmemb: number, size: number): number {
    this.#checkAlive();
    return this.#lib.calloc(toSizeT(nmemb), toSizeT(size)) >>> 0;
  }
  realloc(ptr: number, size: number): number {
    if (this.#dead !== null) throw this.#dead;
    const p = isU32(ptr) ? ptr : toSizeT(ptr);
    if (p !== 0) this.#probeHeader(p);
    try {
      return this.#realloc(p, isU32(size) ? size : toSizeT(size)) >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  reallocarray(ptr: number, nmemb: number, size: number): number {
    this.#checkAlive();
    const p = toSizeT(ptr);
    const n = toSizeT(nmemb);
    const s = toSizeT(size);
    // An overflowing product fails (ENOMEM) before the old block is looked at.
    if (p !== 0 && n * s <= SIZE_MAX) this.#probeHeader(p);
    return this.#lib.reallocarray(p, n, s) >>> 0;
  }
  memalign(alignment: number, size: number): number {
    this.#checkAlive();
    return this.#lib.memalign(toSizeT(alignment), toSizeT(size)) >>> 0;
  }
  aligned_alloc(alignment: number, size: number): number {
    this.#checkAlive();
    return this.#lib.aligned_alloc(toSizeT(alignment), toSizeT(size)) >>> 0;
  }
  valloc(size: number): number {
    this.#checkAlive();
    return this.#lib.valloc(toSizeT(size)) >>> 0;
  }
  pvalloc(size: number): number {
    this.#checkAlive();
    return this.#lib.pvalloc(toSizeT(size)) >>> 0;
  }
  posix_memalign(alignment: number, size: number): { err: number; ptr: number } {
    this.#checkAlive();
    return this.#lib.posix_memalign(toSizeT(alignment), toSizeT(size));
  }
  malloc_usable_size(ptr: number): number {
    this.#checkAlive();
    const p = toSizeT(ptr);
    if (p !== 0) this.#probeHeader(p);
    return this.#lib.malloc_usable_size(p) >>> 0;
  }
  malloc_trim(pad: number): number {
    this.#checkAlive();
    return this.#lib.malloc_trim(toSizeT(pad));
  }
  malloc_stats(): string {
    this.#checkAlive();
    return this.#lib.malloc_stats();
  }
  malloc_info(): string {
    this.#checkAlive();
    return this.#lib.malloc_info();
  }
  mallinfo2(): Mallinfo2 {
    this.#checkAlive();
    return this.#lib.mallinfo2();
  }
  mallopt(param: number, value: number): number {
    this.#checkAlive();
    // An unknown parameter number makes glibc return 0; so does one that is no C int.
    const p = toInt(param, 0x7fffffff);
    // A value with no C int spelling: choose one every parameter refuses or clamps as glibc would
    // for INT_MIN (negative values are refused by the parameters that check them).
    return this.#lib.mallopt(p, toInt(value, -0x80000000));
  }
  sbrk(increment: number): number {
    this.#checkAlive();
    // intptr_t; an unrepresentable increment is one no break can move by.
    const r = this.#lib.sbrk(toInt(increment, 0x7fffffff)) >>> 0;
    return r === SIZE_MAX ? -1 : r;
  }
  brk(addr: number): number {
    this.#checkAlive();
    return this.#lib.brk(toSizeT(addr));
  }
  get errno(): number {
    return this.#libc.errno;
  }
  set errno(value: number) {
    this.#libc.errno = toInt(value, 0);
  }

  // ── looking at memory ──────────────────────────────────────────────────────
  maps(): string {
    this.#checkAlive();
    return this.#kernel.maps();
  }
  status(): Status {
    this.#checkAlive();
    return this.#kernel.status();
  }
  get faults(): { minor: number } {
    return { minor: this.#kernel.faults.minor };
  }
  read(addr: number, length: number): Uint8Array {
    this.#checkAlive();
    return this.#kernel.read(addr, length);
  }
  write(addr: number, bytes: ArrayLike<number>): void {
    this.#checkAlive();
    this.#kernel.write(addr, bytes);
  }
  fill(addr: number, byte: number, length: number): void {
    this.#checkAlive();
    this.#kernel.fill(addr, byte, length);
  }
}

/** Creates a fresh emulated process: a new address space with glibc's malloc untouched. */
export async function createProcess(options: ProcessOptions = {}): Promise<Process> {
  return (await bootProcess(options)).process;
}

/** A process with its parts exposed: for tests, benchmarks and tools inside this package. */
export interface BootedProcess {
  process: Process;
  kernel: Kernel;
  allocator: LoadedAllocator | LoadedBaseline;
}

/** @internal createProcess, keeping hold of the kernel and the allocator's raw exports. */
export async function bootProcess(options: ProcessOptions = {}): Promise<BootedProcess> {
  if (options === null || typeof options !== "object") throw new TypeError("createProcess: options must be an object");
  const resolved = resolveOptions(options);
  const flavour = options.allocator ?? "wasm";
  if (flavour !== "wasm" && flavour !== "ts") throw new TypeError(`createProcess: invalid allocator: ${String(flavour)}`);

  let proc: Process | null = null;
  const onDeath = (err: Error) => proc?.die(err);
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  let kernel: Kernel | null = null;
  const allocatorOptions: LoadAllocatorOptions = {
    memory,
    seed: resolved.seed,
    debug: options.debug === true,
    kernel: () => kernel!,
    onAbort: (message: string) => {
      const err = abortError(message); // a ProcessAbort, or a ProcessHang for a walk that never ends
      onDeath(err);
      return err;
    },
  };
  // The twin claims the same static data as the Wasm module: the same seed gives the same heap.
  const allocator =
    flavour === "ts"
      ? // imported only when asked for: a bundle of the default path does not carry the twin
        (await import("./baseline/index.js")).loadBaseline({ ...allocatorOptions, heapBase: WASM_HEAP_BASE })
      : await loadAllocator(allocatorOptions);
  kernel = processKernel(memory, allocator.heapBase, { ...options, seed: resolved.seed }, onDeath);
  proc = new Process(memory, kernel, allocator.libc);
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
  return new Kernel({
    ...resolveOptions(options),
    memory,
    program: { textStart: PROGRAM_TEXT_START, dataStart: PROGRAM_DATA_START, dataEnd: heapBase },
    libraries: true,
    onDeath: (err: Error) => onDeath?.(err instanceof ProcessKilled ? err : new ProcessKilled(err.message)),
  });
}
