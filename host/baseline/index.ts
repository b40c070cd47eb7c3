// The pure-TypeScript baseline: glibc 2.36's malloc (ptmalloc2) — the same algorithm, chunk layout,
// static data and syscalls as the Wasm build in assembly/, file for file — run as plain JS over the
// process's memory. It gives the same addresses, heap bytes and statistics as the Wasm build; it
// exists to compare runtimes (benchmarks) and to be the fuzzer's twin.
//
// Files: layout (the static data: main_arena, mp_, the main thread's TLS block, errno, __curbrk),
// env (memory views, kernel, abort), syscalls (brk/sbrk, mmap family, mprotect, errno), chunk,
// bins, heap (non-main arenas' heaps), arenas (which arena a thread uses), thread (the running
// thread's state), tcache, malloc (+ calloc), free (+ malloc_consolidate), sysmalloc (+ systrim,
// mmapped chunks), realloc, memalign, stats (mallinfo2, malloc_stats, malloc_info,
// malloc_usable_size, malloc_trim), params (mallopt), checks (the whole-heap walker), arena (struct
// malloc_state's fields), abi and wide (the two word sizes: i386's u32 words, x86-64's 64-bit words
// and VA windows). Constants and messages come from assembly/config.ts (and its x86-64 values) and
// assembly/messages.ts, shared with the Wasm build.

import {
  DEFAULT_MMAP_MAX, DEFAULT_MMAP_THRESHOLD, DEFAULT_TOP_PAD, DEFAULT_TRIM_THRESHOLD, TCACHE_FILL_COUNT, TCACHE_MAX_BINS,
} from "../../assembly/config.js";
import { SIZEOF_MALLOC_STATE as SIZEOF_MALLOC_STATE_X86_64 } from "../generated/config-x86_64.js";
import { WASM_HEAP_BASE_X86_64 } from "../generated/wasm-layout.js";
import type { LoadAllocatorOptions } from "../allocator.js";
import { ProcessAbort } from "../errors.js";
import type { LibC } from "../libc.js";
import { check_arenas_rule, check_malloc_state, lastCycle } from "./checks.js";
import { Env } from "./env.js";
import { writeProgramData } from "./image.js";
import { libc_free as free } from "./free.js";
import {
  BASELINE_DATA_END, MAIN_ARENA, MAIN_ARENA_OFFSET_X86_64, MAIN_TLS, MAIN_TLS_OFFSET_X86_64, MP, MP_SLOTS_I386,
  MP_SLOTS_X86_64, W_ARENA_TEST, W_MAY_SHRINK_HEAP, W_MMAP_THRESHOLD, W_N_MMAPS_MAX, W_NARENAS, W_NPROCS,
  W_TCACHE_BINS, W_TCACHE_COUNT, W_TCACHE_MAX_BYTES, W_TOP_PAD, W_TRIM_THRESHOLD,
} from "./layout.js";
import { libc_calloc, libc_malloc } from "./malloc.js";
import { libc_memalign, libc_posix_memalign, libc_pvalloc, libc_valloc } from "./memalign.js";
import { libc_mallopt } from "./params.js";
import { libc_realloc, libc_reallocarray } from "./realloc.js";
import { replay_ops } from "./replay.js";
import {
  libc_mallinfo2, libc_malloc_info, libc_malloc_stats, libc_malloc_trim, libc_malloc_usable_size,
} from "./stats.js";
import { do_brk, do_sbrk, get_errno, set_errno } from "./syscalls.js";
import { tcache_key_initialize } from "./tcache.js";
import { current_tls, set_thread, thread_exit, thread_start } from "./thread.js";

export { BASELINE_DATA_END, MAIN_ARENA, MAIN_TLS, MP } from "./layout.js";

export interface LoadBaselineOptions extends LoadAllocatorOptions {
  /**
   * Where the program's static data ends, reported as heapBase (default: BASELINE_DATA_END, the end
   * of the baseline's own statics; x86_64: the x86-64 Wasm module's). A twin given the Wasm build's
   * heapBase gets the same initial break for the same seed, and so the very same addresses.
   */
  heapBase?: number;
}

/** For tests and tools: the heap walker and where the statics are. */
export interface BaselineExports {
  /** Throws (the onAbort error, message "malloc state check failed") if an invariant is broken. */
  check_malloc_state(): void;
  /** 0, or the number of the first broken invariant (as the Wasm build's check_failure()). */
  check_failure(): number;
  /** 0, or the last cyclic list the last whole-heap walk found (as the Wasm build's check_cycle()). */
  check_cycle(): number;
  /**
   * &main_arena, &mp_, and the main thread's TLS block (as the Wasm build's main_tls_addr()): C
   * addresses. x86_64: main_arena and the TLS block are VAs, known once the kernel is (read them
   * after the first call); mp_addr is 0, the twin keeping mp_ on the host side.
   */
  readonly main_arena: number;
  readonly mp_addr: number;
  readonly main_tls_addr: number;
  /** The benchmarks' replay loop (assembly/replay.ts's twin): an encoded op list in the process's memory. */
  replay_ops(ops: number, count: number, table: number): void;
}

export interface LoadedBaseline {
  heapBase: number;
  libc: LibC;
  exports: BaselineExports;
}

/** mp_'s static initializer (glibc's; assembly/arena.ts puts it in the data segment), written as a loader would. */
function initStatics(env: Env): void {
  const m = env.mp;
  m[W_TRIM_THRESHOLD] = DEFAULT_TRIM_THRESHOLD;
  m[W_TOP_PAD] = DEFAULT_TOP_PAD;
  m[W_MMAP_THRESHOLD] = DEFAULT_MMAP_THRESHOLD;
  m[W_ARENA_TEST] = env.DEFAULT_ARENA_TEST;
  m[W_N_MMAPS_MAX] = DEFAULT_MMAP_MAX;
  m[W_TCACHE_BINS] = TCACHE_MAX_BINS;
  m[W_TCACHE_MAX_BYTES] = env.MAX_TCACHE_SIZE;
  m[W_TCACHE_COUNT] = TCACHE_FILL_COUNT;
  // arena.c's: main_arena counts as one; get_nprocs() until the host says otherwise (set_system)
  m[W_NARENAS] = 1;
  m[W_NPROCS] = 2;
}

/** What the system says, once, before the first call (the Wasm build's set_system): get_nprocs(), and vm.overcommit_memory. */
function set_system(env: Env, nprocs: number, overcommit: number): void {
  env.mpi[W_NPROCS] = nprocs;
  env.mp[W_MAY_SHRINK_HEAP] = overcommit === 2 ? 1 : 0;
}

/**
 * The baseline allocator bound to a process's memory and kernel: the same contract as
 * loadAllocator (host/allocator.ts), synchronous since there is nothing to compile. The word
 * size is chosen here, once (options.arch): every function of the twin serves both, reading it
 * from the Env.
 */
export function loadBaseline(options: LoadBaselineOptions): LoadedBaseline {
  const onAbort = options.onAbort ?? ((message: string) => new ProcessAbort(message));
  const wide = options.arch === "x86_64";
  const env = wide
    ? new Env(options.memory, options.kernel, onAbort, options.onFault, true, {
        mainArena: MAIN_ARENA_OFFSET_X86_64,
        mainTls: MAIN_TLS_OFFSET_X86_64,
        mpSlots: MP_SLOTS_X86_64,
      })
    : new Env(options.memory, options.kernel, onAbort, options.onFault, false, {
        mainArena: MAIN_ARENA,
        mainTls: MAIN_TLS,
        mpSlots: MP_SLOTS_I386,
      });
  const dataEnd = wide ? WASM_HEAP_BASE_X86_64 : BASELINE_DATA_END;
  if (env.u8.length < dataEnd) throw new RangeError("loadBaseline: the memory does not hold the program's data");
  // The Wasm module's initialized data first (the same resident pages as a Wasm process), then
  // the twin's own statics over it.
  writeProgramData(options.memory, wide);
  if (wide) {
    env.u8.fill(0, MAIN_ARENA_OFFSET_X86_64, MAIN_ARENA_OFFSET_X86_64 + SIZEOF_MALLOC_STATE_X86_64);
    env.u8.fill(0, MAIN_TLS_OFFSET_X86_64, MAIN_TLS_OFFSET_X86_64 + env.SIZEOF_TLS);
  } else {
    env.u8.fill(0, MAIN_ARENA, BASELINE_DATA_END);
  }
  initStatics(env);
  tcache_key_initialize(env, options.seed >>> 0);
  set_system(env, options.nprocs ?? 2, options.overcommit ?? 0);
  const heapBase = Math.max(options.heapBase ?? dataEnd, dataEnd);
  env.setStaticData(wide ? MAIN_ARENA_OFFSET_X86_64 : MAIN_ARENA, heapBase);

  const libc = wide ? wideLibc(env) : narrowLibc(env);
  const e = env;
  const ready = (): Env => {
    e.refresh();
    if (e.wide && !e.windowsSet) e.setWindows();
    return e;
  };
  return {
    heapBase,
    libc: options.debug === true ? withChecks(env, libc) : libc,
    exports: {
      check_malloc_state: () => check_malloc_state(ready()),
      check_failure: () => check_arenas_rule(ready()),
      check_cycle: lastCycle,
      get main_arena() {
        return ready().mainArena;
      },
      mp_addr: wide ? 0 : MP,
      get main_tls_addr() {
        return ready().mainTls;
      },
      replay_ops: (ops, count, table) =>
        wide ? replay_ops(ready(), from_c(ops), count >>> 0, from_c(table)) : replay_ops(e, ops >>> 0, count >>> 0, table >>> 0),
    },
  };
}

/** The i386 C library: every entry re-wraps the memory if something grew it since the last call (a detached view has length 0): one compare per call. */
function narrowLibc(e: Env): LibC {
  return {
    malloc: (size) => (e.u32.length === 0 && e.refresh(), libc_malloc(e, size)),
    free: (ptr) => (e.u32.length === 0 && e.refresh(), free(e, ptr)),
    calloc: (n, size) => (e.u32.length === 0 && e.refresh(), libc_calloc(e, n, size)),
    realloc: (ptr, size) => (e.u32.length === 0 && e.refresh(), libc_realloc(e, ptr, size)),
    reallocarray: (ptr, n, size) => (e.refresh(), libc_reallocarray(e, ptr, n, size)),
    memalign: (align, size) => (e.refresh(), libc_memalign(e, align, size)),
    aligned_alloc: (align, size) => (e.refresh(), libc_memalign(e, align, size)),
    valloc: (size) => (e.refresh(), libc_valloc(e, size)),
    pvalloc: (size) => (e.refresh(), libc_pvalloc(e, size)),
    posix_memalign: (align, size) => (e.refresh(), libc_posix_memalign(e, align, size)),
    malloc_usable_size: (ptr) => (e.refresh(), libc_malloc_usable_size(e, ptr)),
    malloc_trim: (pad) => (e.refresh(), libc_malloc_trim(e, pad)),
    malloc_stats: () => (e.refresh(), libc_malloc_stats(e)),
    malloc_info: () => (e.refresh(), libc_malloc_info(e)),
    mallinfo2: () => (e.refresh(), libc_mallinfo2(e)),
    mallopt: (param, value) => (e.refresh(), libc_mallopt(e, param, value)),
    sbrk: (increment) => (e.refresh(), do_sbrk(e, increment)),
    brk: (addr) => (e.refresh(), do_brk(e, addr)),
    get errno() {
      e.refresh();
      return get_errno(e);
    },
    set errno(value: number) {
      e.refresh();
      set_errno(e, value);
    },
    threads: {
      mainTls: MAIN_TLS,
      tlsBytes: e.SIZEOF_TLS,
      current: () => (e.refresh(), current_tls(e)),
      threadStart: (tls) => (e.refresh(), thread_start(e, tls >>> 0)),
      setThread: (tls) => (e.u32.length === 0 && e.refresh(), set_thread(e, tls >>> 0)),
      threadExit: () => (e.refresh(), thread_exit(e)),
    },
  };
}

const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;
/** An x86_64 C word from the process (host/cargs.ts): a negative number is its two's complement; 2^64 and up saturate. */
const from_c = (x: number): number => (x < 0 ? x + TWO_64 : x < TWO_64 ? x : TWO_64 - 1);
/** A signed one (sbrk's intptr_t): [2^63, 2^64) is negative. */
const from_cs = (x: number): number => (x >= TWO_63 ? x - TWO_64 : x);

/**
 * The x86_64 C library: C values arrive as the process spells them (cargs.ts) and leave as
 * numbers; the kernel's windows are read at the first call (the Wasm build's need_windows).
 */
function wideLibc(e: Env): LibC {
  const ready = (): Env => {
    if (e.u32.length === 0) e.refresh();
    if (!e.windowsSet) e.setWindows();
    return e;
  };
  return {
    malloc: (size) => libc_malloc(ready(), from_c(size)),
    free: (ptr) => free(ready(), from_c(ptr)),
    calloc: (n, size) => libc_calloc(ready(), from_c(n), from_c(size)),
    realloc: (ptr, size) => libc_realloc(ready(), from_c(ptr), from_c(size)),
    reallocarray: (ptr, n, size) => libc_reallocarray(ready(), from_c(ptr), from_c(n), from_c(size)),
    memalign: (align, size) => libc_memalign(ready(), from_c(align), from_c(size)),
    aligned_alloc: (align, size) => libc_memalign(ready(), from_c(align), from_c(size)),
    valloc: (size) => libc_valloc(ready(), from_c(size)),
    pvalloc: (size) => libc_pvalloc(ready(), from_c(size)),
    posix_memalign: (align, size) => libc_posix_memalign(ready(), from_c(align), from_c(size)),
    malloc_usable_size: (ptr) => libc_malloc_usable_size(ready(), from_c(ptr)),
    malloc_trim: (pad) => libc_malloc_trim(ready(), from_c(pad)),
    malloc_stats: () => libc_malloc_stats(ready()),
    malloc_info: () => libc_malloc_info(ready()),
    mallinfo2: () => libc_mallinfo2(ready()),
    mallopt: (param, value) => libc_mallopt(ready(), param, value),
    sbrk: (increment) => do_sbrk(ready(), from_cs(increment)),
    brk: (addr) => do_brk(ready(), from_c(addr)),
    get errno() {
      return get_errno(ready());
    },
    set errno(value: number) {
      set_errno(ready(), value);
    },
    threads: {
      // a VA: known once the windows are (the kernel may not exist yet)
      get mainTls() {
        return ready().mainTls;
      },
      tlsBytes: e.SIZEOF_TLS,
      current: () => current_tls(ready()),
      threadStart: (tls) => thread_start(ready(), from_c(tls)),
      setThread: (tls) => set_thread(ready(), from_c(tls)),
      threadExit: () => thread_exit(ready()),
    },
  };
}

/** The debug flavour: the whole-heap walk after every call that can change the heap. */
function withChecks(env: Env, libc: LibC): LibC {
  // (copied by descriptor: the errno and x86_64 mainTls getters must not run before the kernel exists)
  const checked = Object.defineProperties({}, Object.getOwnPropertyDescriptors(libc)) as Record<string, unknown>;
  for (const name of [
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "aligned_alloc", "valloc", "pvalloc",
    "posix_memalign", "malloc_trim", "mallopt",
  ] as const) {
    const f = libc[name] as (...args: number[]) => unknown;
    checked[name] = (...args: number[]) => {
      const r = f(...args);
      env.refresh();
      if (env.wide && !env.windowsSet) env.setWindows();
      check_malloc_state(env);
      return r;
    };
  }
  // a thread's exit frees its tcache into the arenas: checked too, as the Wasm build's thread_exit
  const threads = libc.threads!;
  const checkedThreads = Object.defineProperties({}, Object.getOwnPropertyDescriptors(threads)) as typeof threads;
  checkedThreads.threadExit = () => {
    threads.threadExit();
    env.refresh();
    if (env.wide && !env.windowsSet) env.setWindows();
    check_malloc_state(env);
  };
  checked.threads = checkedThreads;
  return checked as unknown as LibC;
}
