// One emulated Linux process (i386, or x86_64): a kernel, an allocator, and the public API of API.md.
//
// Data flows one way: the caller → this file (argument conversion, errno, death) → the allocator
// (Wasm or TS) → its syscall imports → the kernel → the memory. Nothing here knows chunks or VMAs.

import { ABI_I386, isU32, isUword64, notACValue, toInt, type CAbi } from "./cargs.js";
import { SegmentationFault } from "./errors.js";
import type { Kernel, Status } from "./kernel/kernel.js";
import type { LibC, Mallinfo2 } from "./libc.js";
import { checkedSyscalls, type Syscalls } from "./syscalls.js";
import { defaultStackBytes, type Thread, ThreadGroup } from "./threads.js";

export type { ProcessOptions, Rlimit, RlimitName } from "./options.js";
export type { Syscalls } from "./syscalls.js";

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
 * An emulated process. Every method of the C library follows glibc 2.36 (i386, or x86-64 for an
 * `arch: "x86_64"` process); `sys` is the raw Linux 6.1 system-call ABI. After the process dies
 * (ProcessAbort, ProcessKilled, SegmentationFault), every call throws that error again.
 */
export class Process {
  /**
   * The process's whole address space: in an i386 process an address is a byte offset into
   * `memory.buffer`; in an x86_64 one, `offsetOf(addr)` gives that offset.
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
  /** How arguments become C values: the i386 ABI's 32-bit words, or x86_64's 64-bit ones (cargs.ts). */
  readonly #abi: CAbi;
  // x86_64: C words have 64 bits. The allocator's results are then already non-negative numbers
  // (the i386 exports give the raw 32-bit pattern, which `>>> 0` makes unsigned), and a pointer
  // above 4 GiB is the common case, not the slow path.
  readonly #wide: boolean;
  /** The default thread stack size, fixed at start as glibc fixes it (from RLIMIT_STACK). */
  readonly #threadStackBytes: number;
  /** The threads, from the first createThread on. */
  #threadGroup: ThreadGroup | null = null;
  /** @internal What get_nprocs() returns in this process (the threads oracle's header prints it). */
  readonly nprocs: number;

  /**
   * @internal Use createProcess(). `twin`: `libc` is the TypeScript twin's (host/baseline);
   * `nprocs`: what get_nprocs() returns.
   */
  constructor(memory: WebAssembly.Memory, kernel: Kernel, libc: LibC, twin = false, nprocs = 2, abi: CAbi = ABI_I386) {
    this.memory = memory;
    this.#abi = abi;
    this.#wide = abi.wide;
    this.#kernel = kernel;
    this.#libc = libc;
    this.#lib = guardTraps(libc, (err) => this.#trapped(err));
    this.#malloc = libc.malloc;
    this.#free = libc.free;
    this.#realloc = libc.realloc;
    this.#calloc = libc.calloc;
    this.#twin = twin;
    this.nprocs = nprocs;
    this.sys = checkedSyscalls(kernel, () => this.#checkAlive(), abi);
    this.#threadStackBytes = defaultStackBytes(kernel.getrlimit("RLIMIT_STACK").cur);
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
    return this.#abi.toSizeT(value, fn, arg);
  }

  /** The slow half of a pointer argument of a hot call, as #sizeArg. */
  #ptrArg(value: unknown, fn: string, arg: string): number {
    if (this.#dead !== null) throw this.#dead;
    return this.#abi.toPtr(value, fn, arg);
  }

  /** A size or address the allocator returned, as the non-negative number it stands for. */
  #word(result: number): number {
    return this.#wide ? result : result >>> 0;
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
   * A size that is not an integer in [-2^31, 2^32) ([-2^63, 2^64) on x86_64) is SIZE_MAX (ENOMEM);
   * a negative integer is its two's complement, as in C. @throws TypeError if `size` is not a number.
   */
  malloc(size: number): number {
    const s = (isU32(size) || (this.#wide && isUword64(size))) && this.#dead === null ? size : this.#sizeArg(size, "malloc", "size");
    try {
      const r = this.#twin ? this.#malloc(s) : this.#malloc(s);
      return this.#wide ? r : r >>> 0;
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
    const p = (isU32(ptr) || (this.#wide && isUword64(ptr))) && this.#dead === null ? ptr : this.#ptrArg(ptr, "free", "ptr");
    try {
      if (this.#twin) this.#free(p);
      else this.#free(p);
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /** glibc's calloc(nmemb, size): zeroed memory, or 0 with ENOMEM (also when nmemb × size overflows size_t). */
  calloc(nmemb: number, size: number): number {
    const n = (isU32(nmemb) || (this.#wide && isUword64(nmemb))) && this.#dead === null ? nmemb : this.#sizeArg(nmemb, "calloc", "nmemb");
    const s = isU32(size) ? size : this.#abi.toSizeT(size, "calloc", "size");
    try {
      const r = this.#twin ? this.#calloc(n, s) : this.#calloc(n, s);
      return this.#wide ? r : r >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /**
   * glibc's realloc(ptr, size): realloc(0, n) is malloc(n); realloc(p, 0) frees p and returns 0;
   * on failure 0 with ENOMEM and the old block untouched. Dies as free does on a bad pointer.
   */
  realloc(ptr: number | null, size: number): number {
    const p = (isU32(ptr) || (this.#wide && isUword64(ptr))) && this.#dead === null ? ptr : this.#ptrArg(ptr, "realloc", "ptr");
    const s = isU32(size) ? size : this.#abi.toSizeT(size, "realloc", "size");
    try {
      const r = this.#twin ? this.#realloc(p, s) : this.#realloc(p, s);
      return this.#wide ? r : r >>> 0;
    } catch (err) {
      throw this.#trapped(err);
    }
  }
  /** glibc's reallocarray(ptr, nmemb, size): realloc to nmemb × size, or 0 with ENOMEM if the product overflows. */
  reallocarray(ptr: number | null, nmemb: number, size: number): number {
    this.#checkAlive();
    const p = this.#abi.toPtr(ptr, "reallocarray", "ptr");
    const n = this.#abi.toSizeT(nmemb, "reallocarray", "nmemb");
    const s = this.#abi.toSizeT(size, "reallocarray", "size");
    return this.#word(this.#lib.reallocarray(p, n, s));
  }
  /**
   * glibc's memalign(alignment, size): an alignment that is not a power of two is rounded up to
   * one (below MALLOC_ALIGNMENT it is MALLOC_ALIGNMENT); above 2^31, 0 with EINVAL.
   */
  memalign(alignment: number, size: number): number {
    this.#checkAlive();
    const a = this.#abi.toSizeT(alignment, "memalign", "alignment");
    return this.#word(this.#lib.memalign(a, this.#abi.toSizeT(size, "memalign", "size")));
  }
  /** glibc 2.36's aligned_alloc(alignment, size): the same as memalign (no check that size is a multiple). */
  aligned_alloc(alignment: number, size: number): number {
    this.#checkAlive();
    const a = this.#abi.toSizeT(alignment, "aligned_alloc", "alignment");
    return this.#word(this.#lib.aligned_alloc(a, this.#abi.toSizeT(size, "aligned_alloc", "size")));
  }
  /** glibc's valloc(size): a page-aligned (4 KiB) block. */
  valloc(size: number): number {
    this.#checkAlive();
    return this.#word(this.#lib.valloc(this.#abi.toSizeT(size, "valloc", "size")));
  }
  /** glibc's pvalloc(size): a page-aligned block of size rounded up to whole pages (0 becomes one page). */
  pvalloc(size: number): number {
    this.#checkAlive();
    return this.#word(this.#lib.pvalloc(this.#abi.toSizeT(size, "pvalloc", "size")));
  }
  /**
   * glibc's posix_memalign: `{ err, ptr }` where err is 0, EINVAL (alignment not a power of two
   * times sizeof(void *)) or ENOMEM; errno is left as it was.
   */
  posix_memalign(alignment: number, size: number): { err: number; ptr: number } {
    this.#checkAlive();
    const a = this.#abi.toSizeT(alignment, "posix_memalign", "alignment");
    return this.#lib.posix_memalign(a, this.#abi.toSizeT(size, "posix_memalign", "size"));
  }
  /** glibc's malloc_usable_size(ptr): the bytes usable in the block (0 for NULL). Dies as free does on a bad pointer. */
  malloc_usable_size(ptr: number | null): number {
    this.#checkAlive();
    const p = this.#abi.toPtr(ptr, "malloc_usable_size", "ptr");
    return this.#word(this.#lib.malloc_usable_size(p));
  }
  /** glibc's malloc_trim(pad): gives free memory back (top of the heap, whole free pages), keeping `pad` bytes; 1 if any was released. */
  malloc_trim(pad: number): number {
    this.#checkAlive();
    return this.#lib.malloc_trim(this.#abi.toSizeT(pad, "malloc_trim", "pad"));
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
    const r = this.#lib.sbrk(this.#abi.toIntptr(increment, "sbrk", "increment"));
    // (void *) -1: 0xffffffff on i386; on x86_64 2^64 − 1, which arrives as 2^64 (no break is near it).
    if (this.#wide) return r >= 2 ** 63 || r < 0 ? -1 : r;
    return r >>> 0 === 0xffffffff ? -1 : r >>> 0;
  }
  /** glibc's brk(addr): 0, or -1 with errno ENOMEM. null is NULL (brk(0) fails: the break cannot go there). */
  brk(addr: number | null): number {
    this.#checkAlive();
    return this.#lib.brk(this.#abi.toPtr(addr, "brk", "addr"));
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

  // ── threads ────────────────────────────────────────────────────────────────
  /**
   * pthread_create from the main thread with default attributes, as glibc 2.36 does it: a stack
   * from glibc's stack cache (the one joined last), else a new mapping of the default stack size
   * (RLIMIT_STACK at process start, 8 MiB by default) plus a PROT_NONE guard page, and its DTV
   * (calloc(17, 8) by the main thread, in the main arena; calloc(17, 16) on x86_64). The new
   * thread's calls are the returned Thread's; `proc`'s own calls stay the main thread's.
   * @throws ThreadCreateError (errno EAGAIN) when the stack or its DTV cannot be had (RLIMIT_AS,
   * RLIMIT_DATA, overcommit, no memory): no thread is made, the process lives on.
   */
  createThread(): Thread {
    this.#checkAlive();
    let group = this.#threadGroup;
    if (group === null) {
      const threads = this.#libc.threads;
      if (threads === undefined) throw new Error("createThread: this allocator build has no threads");
      const kernel = this.#kernel;
      group = this.#threadGroup = new ThreadGroup(
        {
          kernel,
          abi: this.#abi,
          libc: this.#libc,
          lib: this.#lib,
          threads,
          checkAlive: () => this.#checkAlive(),
          dead: () => this.#dead !== null,
          trapped: (err) => this.#trapped(err),
        },
        this.#threadStackBytes,
      );
    }
    return group.create();
  }

  // ── looking at memory ──────────────────────────────────────────────────────
  /** The process's ABI: `"i386"` (an address is an offset into `memory.buffer`) or `"x86_64"`. */
  get arch(): "i386" | "x86_64" {
    return this.#wide ? "x86_64" : "i386";
  }
  /**
   * Where the byte at address `addr` lives in `memory.buffer`: `addr` itself in an i386 process;
   * in an x86_64 process, the address translated through the window that holds it (the program
   * and its heap, the mmap zone, the stack: docs/x86_64-layout.md). -1 when no window holds it
   * (nothing can be mapped there). Whether the page is mapped is not looked at: `read` checks.
   * Usable after the process died. @throws TypeError if `addr` is not a number.
   */
  offsetOf(addr: number): number {
    const a = this.#abi.toPtr(addr, "offsetOf", "addr");
    return a < 0 ? -1 : this.#kernel.vaToOffset(a);
  }
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
    const a = this.#abi.toPtr(addr, "read", "addr");
    return this.#kernel.read(a, this.#abi.toSizeT(length, "read", "length"));
  }
  /**
   * Stores `bytes` (a typed array, or an array of numbers, each kept modulo 256 as a Uint8Array
   * keeps it) at `addr`; the pages written become resident. Bytes before a fault are written,
   * as a store loop's would be. @throws SegmentationFault (needs PROT_WRITE). @throws TypeError
   * if `bytes` is anything else.
   */
  write(addr: number | null, bytes: ArrayLike<number>): void {
    this.#checkAlive();
    const a = this.#abi.toPtr(addr, "write", "addr");
    if (!ArrayBuffer.isView(bytes) || bytes instanceof DataView) {
      if (!Array.isArray(bytes)) throw notACValue("write", "bytes", "a typed array or an array of numbers", bytes);
      for (const b of bytes) if (typeof b !== "number") throw notACValue("write", "bytes[i]", "a number", b);
    }
    this.#kernel.write(a, bytes);
  }
  /** memset(addr, byte, length): `byte` is an int kept modulo 256; faults as write does. */
  fill(addr: number | null, byte: number, length: number): void {
    this.#checkAlive();
    const a = this.#abi.toPtr(addr, "fill", "addr");
    const b = toInt(byte, "fill", "byte");
    this.#kernel.fill(a, b, this.#abi.toSizeT(length, "fill", "length"));
  }
  /**
   * Declares raw writes through `memory` to [addr, addr + length): each page becomes resident, as
   * the stores would have made it on Linux; the bytes are not changed. Needed with
   * `writes: "declared"` (where nothing else finds raw writes); harmless with `"scan"`. Checked
   * like write: @throws SegmentationFault where a store would have faulted (needs PROT_WRITE).
   */
  touch(addr: number | null, length: number): void {
    this.#checkAlive();
    const a = this.#abi.toPtr(addr, "touch", "addr");
    this.#kernel.touch(a, this.#abi.toSizeT(length, "touch", "length"));
  }
}
