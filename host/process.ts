// One emulated 32-bit Linux process: a kernel, an allocator, and the public API of API.md.
//
// Data flows one way: the caller → this file (argument conversion, errno, death) → the allocator
// (Wasm or TS) → its syscall imports → the kernel → the memory. Nothing here knows chunks or VMAs.

import { isU32, notACValue, toInt, toOffset, toPtr, toRlim, toSizeT, SIZE_MAX } from "./cargs.js";
import { abortError, ProcessKilled, SegmentationFault } from "./errors.js";
import { Kernel, type KernelOptions, type Status } from "./kernel/kernel.js";
import { computeLayout } from "./kernel/aslr.js";
import { RLIMIT_NAMES } from "./kernel/limits.js";
import { resolveOptions, WASM_PAGE_BYTES, type ProcessOptions, type ResolvedOptions, type Rlimit } from "./options.js";
import { loadAllocator, type LoadAllocatorOptions, type LoadedAllocator } from "./allocator.js";
import type { LoadedBaseline } from "./baseline/index.js";
import { PROGRAM_DATA_START, PROGRAM_TEXT_START } from "./constants.js";
import { WASM_HEAP_BASE } from "./generated/wasm-layout.js";
import type { LibC, Mallinfo2 } from "./libc.js";

export type { ProcessOptions, Rlimit, RlimitName } from "./options.js";

/**
 * The raw Linux 6.1 system calls of a 32-bit process, as `syscall(2)` returns them: a result ≥ 0,
 * or −errno (−4095..−1). Addresses and lengths are `unsigned long` (a number that is no u32 is
 * 0xffffffff; negative integers are their two's complement), prot/flags/fd/advice are `int`s (a
 * number with no int spelling is a RangeError). Bad C values never throw: they give −errno. A
 * value no C caller could pass (undefined, a string, an object, BigInt, Symbol) is a TypeError
 * and nothing happens. See docs/bad-input.md. Only anonymous memory exists.
 */
export interface Syscalls {
  /**
   * brk(2): moves the break to `addr` (bytes, page-rounded) and returns the new break; on
   * failure (RLIMIT_DATA, another mapping in the way, below the start) the old one, as the raw
   * syscall does (glibc's brk() turns that into -1/ENOMEM). `brk(0)` reads the break.
   */
  brk(addr: number | null): number;
  /**
   * mmap(2) (mmap2 underneath, so `offset` must be page-aligned): the address of a new mapping
   * of `length` bytes (rounded up to 4 KiB pages), placed top-down below mmap_base unless
   * MAP_FIXED / MAP_FIXED_NOREPLACE or a free hint says otherwise. `fd` must be -1 with
   * MAP_ANONYMOUS (else −EBADF). −EINVAL bad flags/length 0/unaligned fixed address, −ENOMEM no
   * room / RLIMIT_AS / overcommit / too many mappings, −EEXIST MAP_FIXED_NOREPLACE over a mapping,
   * −EPERM below vm.mmap_min_addr, −EAGAIN MAP_LOCKED beyond RLIMIT_MEMLOCK.
   */
  mmap(addr: number | null, length: number, prot: number, flags: number, fd: number, offset: number): number;
  /** munmap(2): unmaps the pages of [addr, addr + length); 0, or −EINVAL (unaligned addr, length 0, out of user space). */
  munmap(addr: number | null, length: number): number;
  /**
   * mremap(2): shrinks, grows in place, or (MREMAP_MAYMOVE) moves a mapping; MREMAP_FIXED puts
   * it at `newAddr` (0 when left out), MREMAP_DONTUNMAP leaves the old range mapped and empty.
   * The new address, or −EINVAL / −EFAULT (no mapping at oldAddr) / −ENOMEM (no room, limits).
   */
  mremap(oldAddr: number | null, oldLength: number, newLength: number, flags: number, newAddr?: number | null): number;
  /** mprotect(2): changes PROT_* of whole pages; 0, −EINVAL (unaligned, unknown bits), −ENOMEM (a hole in the range). */
  mprotect(addr: number | null, length: number, prot: number): number;
  /**
   * madvise(2): MADV_DONTNEED drops pages (they read as zero again, RSS falls), MADV_FREE,
   * MADV_WILLNEED, MADV_POPULATE_*, … ; 0, −EINVAL (unknown advice, unaligned), −ENOMEM (a hole).
   */
  madvise(addr: number | null, length: number, advice: number): number;
  /**
   * mincore(2): writes one byte per page of [addr, addr + length) into `vec` (1 = resident or
   * mapped to the zero page); 0, −EINVAL (unaligned), −ENOMEM (a hole), −EFAULT (`vec` null or
   * too short: the bytes before stay written).
   */
  mincore(addr: number | null, length: number, vec: Uint8Array | null): number;
  /** mlock(2): locks (and faults in) the pages; −ENOMEM beyond RLIMIT_MEMLOCK (unless `privileged`) or over a hole. */
  mlock(addr: number | null, length: number): number;
  /** mlock2(2): mlock, or with MLOCK_ONFAULT locking pages only as they are touched; −EINVAL for unknown flags. */
  mlock2(addr: number | null, length: number, flags: number): number;
  /** munlock(2): unlocks the pages; 0 or −ENOMEM (a hole). */
  munlock(addr: number | null, length: number): number;
  /** mlockall(2): MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT; −EINVAL for other bits or none, −ENOMEM beyond RLIMIT_MEMLOCK. */
  mlockall(flags: number): number;
  /** munlockall(2): always 0. */
  munlockall(): number;
  /**
   * getrlimit(2): `{ cur, max }` in bytes (Infinity is RLIM_INFINITY). `resource` is its number
   * (RLIMIT_AS is 9) or its name ("RLIMIT_AS"; an unknown name is a TypeError). A bad number
   * gives `{ cur: −EINVAL, max: −EINVAL }`.
   */
  getrlimit(resource: number | string): Rlimit;
  /**
   * setrlimit(2) (prlimit64 underneath): 0, or −EFAULT (`limit` null), −EINVAL (bad resource,
   * cur > max), −EPERM (raising max, which needs CAP_SYS_RESOURCE). cur and max are rlim_t: a
   * non-negative integer, Infinity, or anything ≥ 2^32 − 1 (all RLIM_INFINITY, as i386 glibc
   * reads them back); a missing field is a TypeError and the limit stays as it was.
   */
  setrlimit(resource: number | string, limit: Rlimit | null): number;
}

/** The kernel's share of the options. */
function kernelOptions(o: ResolvedOptions): Omit<KernelOptions, "memory" | "program" | "onDeath"> {
  const { seed, aslr, overcommit, overcommitRatio, ramBytes, swapBytes, privileged, rlimits, taskSize, writes } = o;
  return { seed, aslr, overcommit, overcommitRatio, ramBytes, swapBytes, privileged, rlimits, taskSize, writes };
}

/**
 * The process's memory, made at once at the size the kernel would grow it to before the process
 * runs: up to the page holding the top of the stack, which exec puts just below TASK_SIZE
 * (randomized by up to 8 MiB). The layout's stack draw depends only on the seed, aslr and
 * TASK_SIZE, so it is known before the kernel exists. Why at once: V8 counts the whole length of
 * a Wasm memory's buffer as external memory, and a buffer of gigabytes appearing at once sets
 * off a full mark-compact of the JS heap ("external memory pressure"); made small and then grown
 * it appeared twice, and cost two (scripts/measure-create.mjs). Not beyond the stack's page: the
 * space above it stays outside the memory, so a wild load there traps as the real process's
 * SIGSEGV (a memory of the full maximum would read zeros there). Untouched pages cost no RSS.
 * Engines that refuse a large initial size get a small one, which the kernel grows.
 */
function newMemory(o: ResolvedOptions): WebAssembly.Memory {
  const maximum = o.maxMemoryBytes / WASM_PAGE_BYTES;
  const { stackEnd } = computeLayout({ aslr: o.aslr, seed: o.seed, stackRlimitCur: 0, dataEnd: 0, taskSize: o.taskSize });
  const initial = Math.min(maximum, Math.ceil(stackEnd / WASM_PAGE_BYTES));
  try {
    return new WebAssembly.Memory({ initial, maximum });
  } catch {
    return new WebAssembly.Memory({ initial: 2, maximum });
  }
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
  /**
   * The process's whole address space: an address is a byte offset into `memory.buffer`.
   * Unchecked: a raw write is found by the kernel's scan (default `writes: "scan"`), or declared
   * with touch (`writes: "declared"`); re-read
   * `memory.buffer` after any call that may have grown the memory.
   */
  readonly memory: WebAssembly.Memory;
  /** The raw system calls (result ≥ 0 or −errno), for what the C library does not cover. */
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
  readonly #calloc: LibC["calloc"];
  // Whether the C library is the TypeScript twin's. The hot calls call it from a call site of its
  // own (the `#twin ? … : …` below, both arms alike): a site that has seen both a Wasm export and
  // a JS function calls either one ~4 ns slower (measured on simple-1024 from JS, one core: 29.3
  // → 34.4 ns per op once a twin process had run), so a realm that runs both kinds of process
  // (the benchmarks, differential tests) would make each pay for the other.
  readonly #twin: boolean;
  #dead: Error | null = null;

  /** @internal Use createProcess(). `twin`: `libc` is the TypeScript twin's (host/baseline). */
  constructor(memory: WebAssembly.Memory, kernel: Kernel, libc: LibC, twin = false) {
    this.memory = memory;
    this.#kernel = kernel;
    this.#libc = libc;
    this.#lib = guardTraps(libc, (err) => this.#trapped(err));
    this.#malloc = libc.malloc;
    this.#free = libc.free;
    this.#realloc = libc.realloc;
    this.#calloc = libc.calloc;
    this.#twin = twin;
    this.sys = checkedSyscalls(kernel, () => this.#checkAlive());
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
   * A SegmentationFault from the allocator's page-map check is a death too (recorded here as
   * well as by the allocator's onFault, which an allocator wired by hand may lack). Any other
   * error passes unchanged.
   */
  #trapped(err: unknown): unknown {
    if (err instanceof SegmentationFault) {
      this.die(err);
      return this.#dead;
    }
    if (!(err instanceof WebAssembly.RuntimeError)) return err;
    this.die(new SegmentationFault("SEGV_MAPERR", Math.min(this.memory.buffer.byteLength, 2 ** 32 - 1)));
    return this.#dead;
  }

  /** The slow half of a size_t argument of a hot call: a dead process's death, or cargs.ts's rule. */
  #sizeArg(value: unknown, fn: string, arg: string): number {
    if (this.#dead !== null) throw this.#dead;
    return toSizeT(value, fn, arg);
  }

  /** The slow half of a pointer argument of a hot call, as #sizeArg. */
  #ptrArg(value: unknown, fn: string, arg: string): number {
    if (this.#dead !== null) throw this.#dead;
    return toPtr(value, fn, arg);
  }

  // ── the C library ──────────────────────────────────────────────────────────
  // Arguments become C values by cargs.ts's rules (docs/bad-input.md); a value no C caller could
  // pass throws before the process is touched. A dead process rethrows its death first.
  //
  // The hot calls (malloc, free, calloc, realloc) test their first argument for a plain u32 and
  // the process for life in one condition, and call the export; anything else (a death to rethrow,
  // a value to convert or refuse) goes to #sizeArg/#ptrArg, out of line.
  //
  // A pointer handed to free, realloc or malloc_usable_size is not looked at here: glibc's first
  // access to the chunk, the load of its size field 4 bytes below the pointer, is the allocator's
  // own, checked against the kernel's page map (assembly/pagemap.ts, the twin's ld) like every
  // chunk access; where that word is not readable the process dies of SIGSEGV at that load, with
  // the address and code the real one gets (the stack grown first where Linux grows it).

  /**
   * glibc's malloc(size): the address of a block of at least `size` bytes (16-byte aligned), or
   * 0 with errno ENOMEM (a size above PTRDIFF_MAX, or no memory). malloc(0) is a minimal block.
   * A size that is not an integer in [-2^31, 2^32) is SIZE_MAX (ENOMEM); a negative integer is
   * its two's complement, as in C. @throws TypeError if `size` is not a number.
   */
  malloc(size: number): number {
    const s = isU32(size) && this.#dead === null ? size : this.#sizeArg(size, "malloc", "size");
    try {
      return (this.#twin ? this.#malloc(s) : this.#malloc(s)) >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /**
   * glibc's free(ptr): 0 or null does nothing. A block glibc finds corrupted or already freed
   * kills the process with ProcessAbort (glibc's exact message); a pointer whose chunk header is
   * not readable memory, with SegmentationFault. @throws TypeError if `ptr` is not a number or null.
   */
  free(ptr: number | null): void {
    const p = isU32(ptr) && this.#dead === null ? ptr : this.#ptrArg(ptr, "free", "ptr");
    try {
      if (this.#twin) this.#free(p);
      else this.#free(p);
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /** glibc's calloc(nmemb, size): zeroed memory, or 0 with ENOMEM (also when nmemb × size overflows size_t). */
  calloc(nmemb: number, size: number): number {
    const n = isU32(nmemb) && this.#dead === null ? nmemb : this.#sizeArg(nmemb, "calloc", "nmemb");
    const s = isU32(size) ? size : toSizeT(size, "calloc", "size");
    try {
      return (this.#twin ? this.#calloc(n, s) : this.#calloc(n, s)) >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /**
   * glibc's realloc(ptr, size): realloc(0, n) is malloc(n); realloc(p, 0) frees p and returns 0;
   * on failure 0 with ENOMEM and the old block untouched. Dies as free does on a bad pointer.
   */
  realloc(ptr: number | null, size: number): number {
    const p = isU32(ptr) && this.#dead === null ? ptr : this.#ptrArg(ptr, "realloc", "ptr");
    const s = isU32(size) ? size : toSizeT(size, "realloc", "size");
    try {
      return (this.#twin ? this.#realloc(p, s) : this.#realloc(p, s)) >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /** glibc's reallocarray(ptr, nmemb, size): realloc to nmemb × size, or 0 with ENOMEM if the product overflows. */
  reallocarray(ptr: number | null, nmemb: number, size: number): number {
    this.#checkAlive();
    const p = toPtr(ptr, "reallocarray", "ptr");
    const n = toSizeT(nmemb, "reallocarray", "nmemb");
    const s = toSizeT(size, "reallocarray", "size");
    return this.#lib.reallocarray(p, n, s) >>> 0;
  }
  /**
   * glibc's memalign(alignment, size): an alignment that is not a power of two is rounded up to
   * one (below MALLOC_ALIGNMENT it is MALLOC_ALIGNMENT); above 2^31, 0 with EINVAL.
   */
  memalign(alignment: number, size: number): number {
    this.#checkAlive();
    const a = toSizeT(alignment, "memalign", "alignment");
    return this.#lib.memalign(a, toSizeT(size, "memalign", "size")) >>> 0;
  }
  /** glibc 2.36's aligned_alloc(alignment, size): the same as memalign (no check that size is a multiple). */
  aligned_alloc(alignment: number, size: number): number {
    this.#checkAlive();
    const a = toSizeT(alignment, "aligned_alloc", "alignment");
    return this.#lib.aligned_alloc(a, toSizeT(size, "aligned_alloc", "size")) >>> 0;
  }
  /** glibc's valloc(size): a page-aligned (4 KiB) block. */
  valloc(size: number): number {
    this.#checkAlive();
    return this.#lib.valloc(toSizeT(size, "valloc", "size")) >>> 0;
  }
  /** glibc's pvalloc(size): a page-aligned block of size rounded up to whole pages (0 becomes one page). */
  pvalloc(size: number): number {
    this.#checkAlive();
    return this.#lib.pvalloc(toSizeT(size, "pvalloc", "size")) >>> 0;
  }
  /**
   * glibc's posix_memalign: `{ err, ptr }` where err is 0, EINVAL (alignment not a power of two
   * times sizeof(void *)) or ENOMEM; errno is left as it was.
   */
  posix_memalign(alignment: number, size: number): { err: number; ptr: number } {
    this.#checkAlive();
    const a = toSizeT(alignment, "posix_memalign", "alignment");
    return this.#lib.posix_memalign(a, toSizeT(size, "posix_memalign", "size"));
  }
  /** glibc's malloc_usable_size(ptr): the bytes usable in the block (0 for NULL). Dies as free does on a bad pointer. */
  malloc_usable_size(ptr: number | null): number {
    this.#checkAlive();
    const p = toPtr(ptr, "malloc_usable_size", "ptr");
    return this.#lib.malloc_usable_size(p) >>> 0;
  }
  /** glibc's malloc_trim(pad): gives free memory back (top of the heap, whole free pages), keeping `pad` bytes; 1 if any was released. */
  malloc_trim(pad: number): number {
    this.#checkAlive();
    return this.#lib.malloc_trim(toSizeT(pad, "malloc_trim", "pad"));
  }
  /** The exact text glibc's malloc_stats() prints to stderr. */
  malloc_stats(): string {
    this.#checkAlive();
    return this.#lib.malloc_stats();
  }
  /** The exact XML text glibc's malloc_info(0, fp) writes. */
  malloc_info(): string {
    this.#checkAlive();
    return this.#lib.malloc_info();
  }
  /** glibc's mallinfo2(): byte counts of the main arena and mmapped blocks. */
  mallinfo2(): Mallinfo2 {
    this.#checkAlive();
    return this.#lib.mallinfo2();
  }
  /**
   * glibc's mallopt(param, value): 1 on success, 0 for an unknown parameter or a value the
   * parameter refuses (M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX,
   * M_PERTURB, M_ARENA_TEST, M_ARENA_MAX…). Both are C ints: an integer in [2^31, 2^32) is the
   * int with the same bits. @throws RangeError for a number with no int spelling (NaN, ±Infinity,
   * a fraction, out of range): glibc accepts many ints a NaN could be mapped to (M_TOP_PAD takes
   * INT_MIN as a 2 GiB pad), so none is chosen. @throws TypeError for a non-number.
   */
  mallopt(param: number, value: number): number {
    this.#checkAlive();
    const p = toInt(param, "mallopt", "param");
    return this.#lib.mallopt(p, toInt(value, "mallopt", "value"));
  }
  /**
   * glibc's sbrk(increment) (intptr_t): the previous break, or -1 with errno ENOMEM. Takes what
   * mallopt takes (an int), and throws as mallopt does.
   */
  sbrk(increment: number): number {
    this.#checkAlive();
    const r = this.#lib.sbrk(toInt(increment, "sbrk", "increment")) >>> 0;
    return r === SIZE_MAX ? -1 : r;
  }
  /** glibc's brk(addr): 0, or -1 with errno ENOMEM. null is NULL (brk(0) fails: the break cannot go there). */
  brk(addr: number | null): number {
    this.#checkAlive();
    return this.#lib.brk(toPtr(addr, "brk", "addr"));
  }
  /**
   * The main thread's errno (an int), as the C library left it. Readable after the process died;
   * setting it takes an int as mallopt does (and rethrows a death, as every call does).
   */
  get errno(): number {
    return this.#libc.errno;
  }
  set errno(value: number) {
    this.#checkAlive();
    this.#libc.errno = toInt(value, "errno", "value");
  }

  // ── looking at memory ──────────────────────────────────────────────────────
  /** /proc/self/maps of the process: one line per VMA, 8-hex-digit addresses, `[heap]`, `[stack]`, the libraries. */
  maps(): string {
    this.#checkAlive();
    return this.#kernel.maps();
  }
  /** The memory lines of /proc/self/status (VmPeak, VmSize, VmLck, VmHWM, VmRSS, VmData, VmStk, …), in kB. */
  status(): Status {
    this.#checkAlive();
    return this.#kernel.status();
  }
  /** Minor page faults so far: pages that became resident (or mapped the zero page). Readable after death. */
  get faults(): {
    /** Pages that became resident or mapped the zero page, as the minor faults of getrusage(). */
    minor: number;
  } {
    return { minor: this.#kernel.faults.minor };
  }
  /**
   * A copy of `length` bytes at `addr`, read as the process would read them: pages read while
   * untouched map the zero page (a minor fault, no RSS). `addr` is a pointer and `length` a
   * size_t (cargs.ts rules). @throws SegmentationFault (SEGV_MAPERR unmapped, SEGV_ACCERR no
   * PROT_READ) at the first bad byte; the process lives on. @throws TypeError for non-numbers.
   */
  read(addr: number | null, length: number): Uint8Array {
    this.#checkAlive();
    const a = toPtr(addr, "read", "addr");
    return this.#kernel.read(a, toSizeT(length, "read", "length"));
  }
  /**
   * Stores `bytes` (a typed array, or an array of numbers, each kept modulo 256 as a Uint8Array
   * keeps it) at `addr`; the pages written become resident. Bytes before a fault are written,
   * as a store loop's would be. @throws SegmentationFault (needs PROT_WRITE). @throws TypeError
   * if `bytes` is anything else.
   */
  write(addr: number | null, bytes: ArrayLike<number>): void {
    this.#checkAlive();
    const a = toPtr(addr, "write", "addr");
    if (!ArrayBuffer.isView(bytes) || bytes instanceof DataView) {
      if (!Array.isArray(bytes)) throw notACValue("write", "bytes", "a typed array or an array of numbers", bytes);
      for (const b of bytes) if (typeof b !== "number") throw notACValue("write", "bytes[i]", "a number", b);
    }
    this.#kernel.write(a, bytes);
  }
  /** memset(addr, byte, length): `byte` is an int kept modulo 256; faults as write does. */
  fill(addr: number | null, byte: number, length: number): void {
    this.#checkAlive();
    const a = toPtr(addr, "fill", "addr");
    const b = toInt(byte, "fill", "byte");
    this.#kernel.fill(a, b, toSizeT(length, "fill", "length"));
  }
  /**
   * Declares raw writes through `memory` to [addr, addr + length): each page becomes resident, as
   * the stores would have made it on Linux; the bytes are not changed. Needed with
   * `writes: "declared"` (where nothing else finds raw writes); harmless with `"scan"`. Checked
   * like write: @throws SegmentationFault where a store would have faulted (needs PROT_WRITE).
   */
  touch(addr: number | null, length: number): void {
    this.#checkAlive();
    const a = toPtr(addr, "touch", "addr");
    this.#kernel.touch(a, toSizeT(length, "touch", "length"));
  }
}

/**
 * Creates a fresh emulated process: a new 32-bit address space as exec leaves it (program,
 * ld.so, the vDSO, libc, the stack), with glibc's malloc untouched. Every option is checked
 * first: an unknown name or a wrong kind of value is a TypeError, a value out of range a
 * RangeError, each naming the option (docs/bad-input.md).
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
    debug: resolved.debug,
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
        (await import("./baseline/index.js")).loadBaseline({ ...allocatorOptions, heapBase: WASM_HEAP_BASE })
      : await loadAllocator(allocatorOptions);
  kernel = kernelFor(memory, allocator.heapBase, resolved, onDeath);
  proc = new Process(memory, kernel, allocator.libc, flavour === "ts");
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
    program: { textStart: PROGRAM_TEXT_START, dataStart: PROGRAM_DATA_START, dataEnd: heapBase },
    libraries: true,
    onDeath: (err: Error) => onDeath?.(err instanceof ProcessKilled ? err : new ProcessKilled(err.message)),
  });
}

/** A resource argument: an int (RLIMIT_AS is 9), or a name the API accepts for it. */
function toResource(value: unknown, fn: string): number {
  if (typeof value === "string") {
    const r = RLIMIT_NAMES.indexOf(value as (typeof RLIMIT_NAMES)[number]);
    if (r < 0) throw new TypeError(`${fn}: unknown resource name ${JSON.stringify(value)} (known: ${RLIMIT_NAMES.join(", ")})`);
    return r;
  }
  if (typeof value !== "number") throw notACValue(fn, "resource", "a number or an RLIMIT_* name", value);
  return toInt(value, fn, "resource");
}

/**
 * The public `sys` table: each argument becomes the C value of its type (cargs.ts) before the
 * kernel sees it, so a value no C caller could pass throws with the process untouched; every C
 * value, however bad, reaches the kernel and comes back as −errno.
 */
function checkedSyscalls(k: Kernel, live: () => void): Syscalls {
  return {
    brk: (a) => (live(), k.brk(toPtr(a, "sys.brk", "addr"))),
    mmap: (a, l, p, f, fd, o) => {
      live();
      const n = "sys.mmap";
      return k.mmap(toPtr(a, n, "addr"), toSizeT(l, n, "length"), toInt(p, n, "prot"), toInt(f, n, "flags"), toInt(fd, n, "fd"), toOffset(o, n, "offset"));
    },
    munmap: (a, l) => (live(), k.munmap(toPtr(a, "sys.munmap", "addr"), toSizeT(l, "sys.munmap", "length"))),
    mremap: (o, ol, nl, f, na) => {
      live();
      const n = "sys.mremap";
      const args = [toPtr(o, n, "oldAddr"), toSizeT(ol, n, "oldLength"), toSizeT(nl, n, "newLength"), toInt(f, n, "flags")] as const;
      return k.mremap(...args, na === undefined ? 0 : toPtr(na, n, "newAddr"));
    },
    mprotect: (a, l, p) => {
      live();
      return k.mprotect(toPtr(a, "sys.mprotect", "addr"), toSizeT(l, "sys.mprotect", "length"), toInt(p, "sys.mprotect", "prot"));
    },
    madvise: (a, l, adv) => {
      live();
      return k.madvise(toPtr(a, "sys.madvise", "addr"), toSizeT(l, "sys.madvise", "length"), toInt(adv, "sys.madvise", "advice"));
    },
    mincore: (a, l, v) => {
      live();
      const addr = toPtr(a, "sys.mincore", "addr");
      const len = toSizeT(l, "sys.mincore", "length");
      // NULL is a C value (the kernel answers EFAULT when it has a byte to store); nothing else is.
      if (v !== null && !(v instanceof Uint8Array)) throw notACValue("sys.mincore", "vec", "a Uint8Array or null", v);
      return k.mincore(addr, len, v as Uint8Array);
    },
    mlock: (a, l) => (live(), k.mlock(toPtr(a, "sys.mlock", "addr"), toSizeT(l, "sys.mlock", "length"))),
    mlock2: (a, l, f) => {
      live();
      return k.mlock2(toPtr(a, "sys.mlock2", "addr"), toSizeT(l, "sys.mlock2", "length"), toInt(f, "sys.mlock2", "flags"));
    },
    munlock: (a, l) => (live(), k.munlock(toPtr(a, "sys.munlock", "addr"), toSizeT(l, "sys.munlock", "length"))),
    mlockall: (f) => (live(), k.mlockall(toInt(f, "sys.mlockall", "flags"))),
    munlockall: () => (live(), k.munlockall()),
    getrlimit: (r) => (live(), k.getrlimit(toResource(r, "sys.getrlimit"))),
    setrlimit: (r, lim) => {
      live();
      const n = "sys.setrlimit";
      const resource = toResource(r, n);
      // NULL is a C value: the raw syscall's copy_from_user fails with EFAULT.
      if (lim === null) return k.setrlimit(resource, null as unknown as Rlimit);
      if (typeof lim !== "object") throw notACValue(n, "limit", "an object { cur, max } or null", lim);
      const cur = toRlim((lim as Partial<Rlimit>).cur, n, "limit.cur");
      return k.setrlimit(resource, { cur, max: toRlim((lim as Partial<Rlimit>).max, n, "limit.max") });
    },
  };
}
