// Threads of an emulated process: pthread_create from the main thread and pthread_join, as glibc
// 2.36 (NPTL, i386 and x86-64) does them, with what they cost in memory: a stack mapping (or one from glibc's
// stack cache), the DTV the creator callocs, the TCB page, and the stack given back at exit.
//
// A thread stack, as allocate_stack lays it out (the stack grows down, the guard is at the bottom):
//
//   mem                mem + 4096                                                 mem + size
//   ┌──────────────────┬─────────────────────────────────────────┬──────┬─────────┐
//   │ guard  PROT_NONE │ stack                    PROT_READ|WRITE │ TLS  │ TCB     │
//   └──────────────────┴─────────────────────────────────────────┴──────┴─────────┘
//                                                    ↑ sp       tls ↑   pd = end − 1216 (x86-64: 2368)
//
// size = the default stack size (RLIMIT_STACK at process start, see defaultStackBytes) + one guard
// page. The TCB (struct pthread: 1216 bytes below the end on i386, 2368 on x86-64) sits at the top; the thread's malloc state
// (the allocator's TLS block: its arena, tcache and errno) just below it, where libc's TLS block
// is. The top page is written by pthread_create, so it is resident from the start.
//
// Calls are serialized: the main thread is current between calls; a thread's call switches to it
// and back (LibCThreads.setThread), so the main thread's calls (Process) pay nothing for threads.

import { type CAbi, SIZE_MAX, toInt } from "./cargs.js";
import { EAGAIN, ENOMEM, MADV_DONTNEED, MAP_ANONYMOUS, MAP_PRIVATE, MAP_STACK, PROT_NONE, PROT_READ, PROT_WRITE } from "./constants.js";
import type { Kernel } from "./kernel/kernel.js";
import type { LibC, LibCThreads } from "./libc.js";

const PAGE_BYTES = 4096;
/** PTHREAD_STACK_MIN on i386 and x86-64. */
const PTHREAD_STACK_MIN = 16384;
/** ARCH_STACK_DEFAULT_SIZE on x86: the stack size when RLIMIT_STACK is unlimited. */
const ARCH_STACK_DEFAULT_SIZE = 2 * 1024 * 1024;
/** __nptl_stack_cache_maxsize: the cache holds at most this many bytes of stacks. */
const STACK_CACHE_MAX_BYTES = 40 * 1024 * 1024;
/**
 * Where the TCB starts below the stack's end (measured: pthread_self() of a default thread is
 * 1216 bytes below its mapping's end on i386, 2368 on x86-64: sizeof (struct pthread), rounded
 * to the static TLS alignment).
 */
const TCB_BYTES_I386 = 1216;
const TCB_BYTES_X86_64 = 2368;
/**
 * The DTV a new stack gets: calloc(17, sizeof (dtv_t)) — 2 header slots, libc's TLS module, 14
 * spare (DTV_SURPLUS). dtv_t is a pointer and a flag word: 8 bytes on i386, 16 on x86-64 (measured
 * with an interposed calloc: calloc(17, 8) and calloc(17, 16)).
 */
const DTV_SLOTS = 17;

/**
 * The stack size of a thread made with default attributes, as glibc fixes it at startup
 * (__pthread_early_init): RLIMIT_STACK's soft limit; 2 MiB when it is unlimited; at least
 * PTHREAD_STACK_MIN (16 KiB); rounded up to whole pages.
 */
export function defaultStackBytes(rlimitStackCur: number): number {
  let size = rlimitStackCur;
  if (!Number.isFinite(size) || size >= SIZE_MAX) size = ARCH_STACK_DEFAULT_SIZE;
  else if (size < PTHREAD_STACK_MIN) size = PTHREAD_STACK_MIN;
  return Math.ceil(size / PAGE_BYTES) * PAGE_BYTES;
}

/**
 * pthread_create failed: `errno` is what it returned (EAGAIN when the stack or the DTV could not
 * be had: mmap or mprotect refused by RLIMIT_AS, RLIMIT_DATA, overcommit…). No thread was made
 * and the process lives on, as the real one does; the main thread's errno is what the failed
 * system call (or calloc) left in it.
 */
export class ThreadCreateError extends Error {
  constructor(
    /** pthread_create's return value (EAGAIN). */
    readonly errno: number,
    /** Why, in words. */
    readonly reason: string,
  ) {
    super(`pthread_create: ${errno === EAGAIN ? "EAGAIN" : `error ${errno}`} (${reason})`);
    this.name = "ThreadCreateError";
  }
}

/** @internal What the threads of a process need of it (Process hands this over once). */
export interface ThreadHost {
  readonly kernel: Kernel;
  /** The process's C ABI: argument conversions, and whether words (and the DTV's slots) are 64-bit. */
  readonly abi: CAbi;
  /** The raw C library (errno's accessor). */
  readonly libc: LibC;
  /** The C library with every Wasm trap turned into the process's death (guardTraps). */
  readonly lib: LibC;
  readonly threads: LibCThreads;
  /** Throws the process's death, if it died. */
  checkAlive(): void;
  /** Whether the process has died. */
  dead(): boolean;
  /** What to throw for an error out of the allocator (a trap becomes the process's SIGSEGV). */
  trapped(err: unknown): unknown;
}

/** One stack block (with its DTV), in use by a thread or in the cache. */
interface StackBlock {
  /** The mapping's start (the guard page) and length in bytes (guard included). */
  readonly mem: number;
  readonly size: number;
  /** The DTV's address: a block of the main arena, calloc(17, 8) (x86-64: calloc(17, 16)). */
  readonly dtv: number;
  /** The thread's TLS block (LibCThreads.tlsBytes bytes, in the top page). */
  readonly tls: number;
  /** The last thread that ran on it. */
  lastThread: number;
}

/** Where a thread's stack came from, and where it is. */
export interface ThreadStack {
  /** The stack mapping's first address (its guard page). */
  readonly start: number;
  /** The mapping's length: the stack size plus the guard page. */
  readonly bytes: number;
  /** The guard page's length (PROT_NONE, at `start`). */
  readonly guardBytes: number;
  /** The thread whose stack this was (glibc's stack cache gave it back), or null for a new mapping. */
  readonly cachedFrom: number | null;
}

/** @internal The threads of one process: numbering, the stack cache, create and join. */
export class ThreadGroup {
  readonly #host: ThreadHost;
  /** The default stack size (fixed at process start) plus the guard page. */
  readonly #blockBytes: number;
  /** The TCB's distance below the stack's end. */
  readonly #tcbBytes: number;
  /** sizeof (dtv_t). */
  readonly #dtvSlotBytes: number;
  /** glibc's dl_stack_cache: index 0 is the head (the stack joined last). */
  readonly #cache: StackBlock[] = [];
  #cacheBytes = 0;
  #nextId = 1;
  #live = 0;

  constructor(host: ThreadHost, stackBytes: number) {
    this.#host = host;
    this.#blockBytes = stackBytes + PAGE_BYTES;
    this.#tcbBytes = host.abi.wide ? TCB_BYTES_X86_64 : TCB_BYTES_I386;
    this.#dtvSlotBytes = host.abi.wide ? 16 : 8;
  }

  /** Threads created so far. */
  get created(): number {
    return this.#nextId - 1;
  }

  /** Threads created and not exited. */
  get live(): number {
    return this.#live;
  }

  /** pthread_create(&t, NULL, start, arg) by the main thread. */
  create(): Thread {
    const host = this.#host;
    host.checkAlive();
    const threads = host.threads;
    const id = this.#nextId;
    let block = this.#cachedStack(this.#blockBytes);
    let cachedFrom: number | null = null;
    if (block !== null) {
      cachedFrom = block.lastThread;
      this.#initDtv(block.dtv, block.tls); // get_cached_stack clears the DTV and sets it up again
    } else {
      block = this.#newStack(this.#blockBytes, threads.tlsBytes);
    }
    block.lastThread = id;
    // pthread_create writes the TCB (and the TLS image below it): the top page becomes resident.
    const end = block.mem + block.size;
    const top = Math.floor(block.tls / PAGE_BYTES) * PAGE_BYTES;
    host.kernel.touch(top, end - top);
    try {
      threads.threadStart(block.tls);
      threads.setThread(threads.mainTls);
    } catch (err) {
      throw host.trapped(err);
    }
    this.#nextId = id + 1;
    this.#live++;
    const stack: ThreadStack = { start: block.mem, bytes: block.size, guardBytes: PAGE_BYTES, cachedFrom };
    return new Thread(id, this, host, block, stack);
  }

  /** get_cached_stack: the first cached stack of exactly `size` bytes, else the smallest larger one (at most 4 × size). */
  #cachedStack(size: number): StackBlock | null {
    const cache = this.#cache;
    let best = -1;
    for (let i = 0; i < cache.length; i++) {
      const s = cache[i].size;
      if (s === size) {
        best = i;
        break;
      }
      if (s > size && (best < 0 || cache[best].size > s)) best = i;
    }
    if (best < 0 || cache[best].size > 4 * size) return null;
    const [block] = cache.splice(best, 1);
    this.#cacheBytes -= block.size;
    return block;
  }

  /**
   * allocate_stack without the cache: mmap the block PROT_NONE, make all but the guard page
   * read-write, then the DTV (the main thread's calloc). Any failure undoes what was done and
   * throws ThreadCreateError (pthread_create's EAGAIN for ENOMEM).
   */
  #newStack(size: number, tlsBytes: number): StackBlock {
    const { kernel, libc, lib } = this.#host;
    const fail = (errno: number, what: string): never => {
      libc.errno = errno; // the wrapper of the failed call left it there
      throw new ThreadCreateError(errno === ENOMEM ? EAGAIN : errno, what);
    };
    const mem = kernel.mmap(0, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mem < 0) fail(-mem, `mmap of the ${size}-byte stack failed with errno ${-mem}`);
    const rw = kernel.mprotect(mem + PAGE_BYTES, size - PAGE_BYTES, PROT_READ | PROT_WRITE);
    if (rw < 0) {
      kernel.munmap(mem, size);
      fail(-rw, `mprotect of the stack failed with errno ${-rw}`);
    }
    const tls = Math.floor((mem + size - this.#tcbBytes - tlsBytes) / 16) * 16;
    const raw = lib.calloc(DTV_SLOTS, this.#dtvSlotBytes);
    const dtv = this.#host.abi.wide ? raw : raw >>> 0;
    if (dtv === 0) {
      kernel.munmap(mem, size);
      fail(ENOMEM, "calloc of the DTV failed");
    }
    this.#initDtv(dtv, tls);
    return { mem, size, dtv, tls, lastThread: 0 };
  }

  /**
   * What _dl_allocate_tls writes into the DTV: its length (15 usable slots), generation 0, and
   * the one module (libc's TLS block, beside the thread's malloc state; nothing to free).
   */
  #initDtv(dtv: number, tls: number): void {
    // u32 halves: slot 0 the length, slot 1 the generation, slot 2 {val: tls, to_free: NULL}
    const words = this.#host.abi.wide
      ? new Uint32Array([DTV_SLOTS - 2, 0, 0, 0, 0, 0, 0, 0, tls % 2 ** 32, Math.floor(tls / 2 ** 32), 0, 0, 0, 0, 0, 0])
      : new Uint32Array([DTV_SLOTS - 2, 0, 0, 0, tls, 0]);
    this.#host.kernel.write(dtv, new Uint8Array(words.buffer));
  }

  /**
   * The thread's start routine returns (glibc's teardown of its malloc state, then the stack
   * below its frame given back), and the main thread joins it: its stack goes to the head of the
   * cache, and the oldest cached stacks are unmapped while the cache holds more than 40 MiB.
   * @internal Thread.exit.
   */
  exit(block: StackBlock): void {
    const { kernel, lib, threads } = this.#host;
    try {
      threads.setThread(block.tls);
      threads.threadExit();
    } catch (err) {
      throw this.#host.trapped(err);
    }
    // advise_stack_range: from the block's start up to PTHREAD_STACK_MIN below the frame of
    // start_thread, which runs just below the TLS block.
    const sp = block.tls;
    const freeBytes = Math.floor((sp - block.mem) / PAGE_BYTES) * PAGE_BYTES;
    if (freeBytes > PTHREAD_STACK_MIN) kernel.madvise(block.mem, freeBytes - PTHREAD_STACK_MIN, MADV_DONTNEED);
    try {
      threads.setThread(threads.mainTls);
    } catch (err) {
      throw this.#host.trapped(err);
    }
    this.#live--;
    // pthread_join → queue_stack
    this.#cache.unshift(block);
    this.#cacheBytes += block.size;
    while (this.#cacheBytes > STACK_CACHE_MAX_BYTES && this.#cache.length > 0) {
      // __nptl_free_stacks: from the tail (the oldest), the DTV freed by the joining thread, the stack unmapped
      const old = this.#cache.pop()!;
      this.#cacheBytes -= old.size;
      lib.free(old.dtv);
      kernel.munmap(old.mem, old.size);
    }
  }
}

/**
 * A thread of an emulated process, made by `proc.createThread()` (pthread_create from the main
 * thread, default attributes). Its C library calls are glibc 2.36's, run as this thread: its own
 * arena and tcache, its own errno. Arguments are converted as Process converts them (TypeError for
 * a value no C caller could pass), and a death inside a call (ProcessAbort, SegmentationFault,
 * ProcessKilled) is the whole process's: every later call, on the process or any thread, throws it
 * again. After `exit()`, every call throws an Error saying the thread has exited.
 */
export class Thread {
  /** The thread's number: 1, 2, 3, … in the order the process created them (the main thread is 0). */
  readonly id: number;
  /** Where its stack is, and whether it came from glibc's stack cache. */
  readonly stack: ThreadStack;
  readonly #group: ThreadGroup;
  readonly #host: ThreadHost;
  readonly #block: StackBlock;
  readonly #lib: LibC;
  readonly #threads: LibCThreads;
  readonly #abi: CAbi;
  #exited = false;

  /** @internal Use proc.createThread(). */
  constructor(id: number, group: ThreadGroup, host: ThreadHost, block: StackBlock, stack: ThreadStack) {
    this.id = id;
    this.stack = stack;
    this.#group = group;
    this.#host = host;
    this.#block = block;
    this.#lib = host.lib;
    this.#threads = host.threads;
    this.#abi = host.abi;
  }

  /** A size or address the allocator returned, as the non-negative number it stands for. */
  #word(result: number): number {
    return this.#abi.wide ? result : result >>> 0;
  }

  /** Whether the thread has exited (and been joined). */
  get exited(): boolean {
    return this.#exited;
  }

  /** A dead process rethrows its death; an exited thread has no calls. */
  #check(): void {
    this.#host.checkAlive();
    if (this.#exited) throw new Error(`thread ${this.id} has exited: it makes no more calls`);
  }

  #switchIn(): void {
    try {
      this.#threads.setThread(this.#block.tls);
    } catch (err) {
      throw this.#host.trapped(err);
    }
  }

  /** Back to the main thread after a call (in a finally: a death already thrown is not replaced). */
  #switchOut(): void {
    try {
      this.#threads.setThread(this.#threads.mainTls);
    } catch (err) {
      if (!this.#host.dead()) throw this.#host.trapped(err);
    }
  }

  /** glibc's malloc(size), as this thread (see Process.malloc). */
  malloc(size: number): number {
    this.#check();
    const s = this.#abi.toSizeT(size, "malloc", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.malloc(s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's free(ptr), as this thread: a block of any arena may be freed by any thread (see Process.free). */
  free(ptr: number | null): void {
    this.#check();
    const p = this.#abi.toPtr(ptr, "free", "ptr");
    this.#switchIn();
    try {
      this.#lib.free(p);
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's calloc(nmemb, size), as this thread. */
  calloc(nmemb: number, size: number): number {
    this.#check();
    const n = this.#abi.toSizeT(nmemb, "calloc", "nmemb");
    const s = this.#abi.toSizeT(size, "calloc", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.calloc(n, s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's realloc(ptr, size), as this thread: a block stays in its own arena when it can. */
  realloc(ptr: number | null, size: number): number {
    this.#check();
    const p = this.#abi.toPtr(ptr, "realloc", "ptr");
    const s = this.#abi.toSizeT(size, "realloc", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.realloc(p, s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's reallocarray(ptr, nmemb, size), as this thread. */
  reallocarray(ptr: number | null, nmemb: number, size: number): number {
    this.#check();
    const p = this.#abi.toPtr(ptr, "reallocarray", "ptr");
    const n = this.#abi.toSizeT(nmemb, "reallocarray", "nmemb");
    const s = this.#abi.toSizeT(size, "reallocarray", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.reallocarray(p, n, s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's memalign(alignment, size), as this thread. */
  memalign(alignment: number, size: number): number {
    this.#check();
    const a = this.#abi.toSizeT(alignment, "memalign", "alignment");
    const s = this.#abi.toSizeT(size, "memalign", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.memalign(a, s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc 2.36's aligned_alloc(alignment, size), as this thread. */
  aligned_alloc(alignment: number, size: number): number {
    this.#check();
    const a = this.#abi.toSizeT(alignment, "aligned_alloc", "alignment");
    const s = this.#abi.toSizeT(size, "aligned_alloc", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.aligned_alloc(a, s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's valloc(size), as this thread. */
  valloc(size: number): number {
    this.#check();
    const s = this.#abi.toSizeT(size, "valloc", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.valloc(s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's pvalloc(size), as this thread. */
  pvalloc(size: number): number {
    this.#check();
    const s = this.#abi.toSizeT(size, "pvalloc", "size");
    this.#switchIn();
    try {
      return this.#word(this.#lib.pvalloc(s));
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's posix_memalign, as this thread: `{ err, ptr }`; errno is left as it was. */
  posix_memalign(alignment: number, size: number): { err: number; ptr: number } {
    this.#check();
    const a = this.#abi.toSizeT(alignment, "posix_memalign", "alignment");
    const s = this.#abi.toSizeT(size, "posix_memalign", "size");
    this.#switchIn();
    try {
      return this.#lib.posix_memalign(a, s);
    } finally {
      this.#switchOut();
    }
  }
  /** glibc's malloc_usable_size(ptr), as this thread. */
  malloc_usable_size(ptr: number | null): number {
    this.#check();
    const p = this.#abi.toPtr(ptr, "malloc_usable_size", "ptr");
    this.#switchIn();
    try {
      return this.#word(this.#lib.malloc_usable_size(p));
    } finally {
      this.#switchOut();
    }
  }
  /**
   * This thread's errno (an int), as its last C library call left it: each thread has its own, as
   * C's errno is thread-local. Readable after the process died; setting it takes an int as
   * Process's errno does. @throws Error once the thread has exited.
   */
  get errno(): number {
    if (this.#exited) throw new Error(`thread ${this.id} has exited: it has no errno`);
    this.#switchIn();
    try {
      return this.#host.libc.errno;
    } finally {
      this.#switchOut();
    }
  }
  set errno(value: number) {
    this.#check();
    const v = toInt(value, "errno", "value");
    this.#switchIn();
    try {
      this.#host.libc.errno = v;
    } finally {
      this.#switchOut();
    }
  }
  /**
   * The thread's start routine returns and the main thread joins it (pthread_join): glibc's
   * teardown (its tcache's chunks back to their arenas, the tcache freed, its arena detached and
   * put on the free list when no other thread uses it), the stack below its frame given back
   * (MADV_DONTNEED), the stack put in glibc's stack cache (the oldest unmapped, and its DTV freed,
   * while the cache holds more than 40 MiB).
   */
  exit(): void {
    this.#check();
    this.#exited = true;
    this.#group.exit(this.#block);
  }
}
