// The C library surface of the allocator, with C names. Every u32 crosses as an i32; the
// host converts once. Debug builds can run the whole-heap checker after each call.
//
// Glossary (where the words collide):
//   chunk        the block as malloc sees it: starts at its prev_size field (chunk.ts)
//   mem          the pointer the user gets: chunk + 8 (chunk2mem / mem2chunk)
//   nb           a request converted to a chunk size (request2size: + 4, rounded up to 16)
//   page         4 KiB, the kernel's unit; a Wasm page (64 KiB) is only how the memory grows
//   top          the free chunk at the end of the heap, grown by sysmalloc, trimmed by systrim
//   bin          a free list of the arena (bins.ts); fastbins and the tcache are separate,
//                singly linked, and their chunks still look in use to their neighbours
//   mmapped      a chunk with a mapping of its own (IS_MMAPPED), never in a bin
//
// Files: config (numbers), messages (abort texts), syscalls (imports, errno, sbrk), chunk,
// arena (main_arena, mp_), heap (non-main arenas' heaps), arenas (which arena a thread uses),
// thread (the running thread's state), bins, tcache, malloc, free (+ malloc_consolidate), sysmalloc
// (+ systrim, mmapped chunks), realloc, memalign, stats (mallinfo2, malloc_stats, malloc_info,
// malloc_trim), params (mallopt), format (text output), checks (the debug heap walker).

import { libc_calloc, libc_malloc } from "./malloc";
import { libc_free } from "./free";
import { libc_realloc, libc_reallocarray } from "./realloc";
import {
  libc_memalign, libc_posix_memalign, libc_pvalloc, libc_valloc, posix_memalign_result,
} from "./memalign";
import {
  libc_mallinfo2, libc_malloc_info, libc_malloc_stats, libc_malloc_trim, libc_malloc_usable_size,
} from "./stats";
import { libc_mallopt } from "./params";
import { do_brk, do_sbrk, get_errno, set_errno } from "./syscalls";
import { maybe_check } from "./checks";
import { tcache_key_initialize } from "./tcache";
import { main_tls, mp_ } from "./arena";
import { SIZEOF_TLS } from "./config";
import { current_tls, set_thread, thread_exit as exit_thread, thread_start as start_thread } from "./thread";

export { set_debug_checks, check_malloc_state, check_failure, check_cycle } from "./checks";

export function malloc(size: usize): usize { const r = libc_malloc(size); maybe_check(); return r; }
export function free(ptr: usize): void { libc_free(ptr); maybe_check(); }
export function calloc(n: usize, size: usize): usize { const r = libc_calloc(n, size); maybe_check(); return r; }
export function realloc(ptr: usize, size: usize): usize { const r = libc_realloc(ptr, size); maybe_check(); return r; }
export function reallocarray(ptr: usize, n: usize, size: usize): usize {
  const r = libc_reallocarray(ptr, n, size); maybe_check(); return r;
}
export function memalign(align: usize, size: usize): usize { const r = libc_memalign(align, size); maybe_check(); return r; }
/** glibc 2.36: an alias of memalign, no argument checks. */
export function aligned_alloc(align: usize, size: usize): usize { const r = libc_memalign(align, size); maybe_check(); return r; }
export function valloc(size: usize): usize { const r = libc_valloc(size); maybe_check(); return r; }
export function pvalloc(size: usize): usize { const r = libc_pvalloc(size); maybe_check(); return r; }
/** Returns the error number; the pointer is read with posix_memalign_ptr(). */
export function posix_memalign(align: usize, size: usize): i32 {
  const r = libc_posix_memalign(align, size); maybe_check(); return r;
}
export function posix_memalign_ptr(): usize { return posix_memalign_result(); }
export function malloc_usable_size(ptr: usize): usize { return libc_malloc_usable_size(ptr); }
export function malloc_trim(pad: usize): i32 { const r = libc_malloc_trim(pad); maybe_check(); return r; }
export function malloc_stats(): void { libc_malloc_stats(); }
export function malloc_info(options: i32): i32 { return libc_malloc_info(options); }
/** Fills struct mallinfo2 (10 × u32) in static memory and returns its address. */
export function mallinfo2(): usize { return libc_mallinfo2(); }
export function mallopt(param: i32, value: i32): i32 { const r = libc_mallopt(param, value); maybe_check(); return r; }
export function sbrk(increment: isize): usize { return do_sbrk(increment); }
export function brk(addr: usize): i32 { return do_brk(addr); }
export function errno_get(): i32 { return get_errno(); }
export function errno_set(value: i32): void { set_errno(value); }

/** The host seeds tcache_key (glibc: getrandom) before the first call. */
export function ptmalloc_seed(seed: u32): void { tcache_key_initialize(seed); }
/** End of the module's static data: the program's data segment ends here. */
export function heap_base(): usize { return __heap_base; }
/** Where mp_ lives (for tests and the explorer). */
export function mp_addr(): usize { return changetype<usize>(mp_); }

// ── threads (thread.ts): the host runs one at a time, switching with set_thread ──
/** The main thread's TLS block and the size of one. */
export function main_tls_addr(): usize { return main_tls; }
export function tls_size(): usize { return SIZEOF_TLS; }
export function thread_current(): usize { return current_tls(); }
/** A new thread, its TLS block at `tls`, becomes the running one. */
export function thread_start(tls: usize): void { start_thread(tls); }
export function thread_switch(tls: usize): void { set_thread(tls); }
/** The running thread's start routine returned (tcache shutdown, arena detached). */
export function thread_exit(): void { exit_thread(); maybe_check(); }
/** What the system says, once, before the first call: get_nprocs(), and vm.overcommit_memory. */
export function set_system(nprocs: i32, overcommit: i32): void {
  mp_.nprocs = nprocs;
  mp_.may_shrink_heap = overcommit == 2 ? 1 : 0;
}

/** The benchmarks' replay loop (bench/ops-program.ts encoding), run with no JS between calls. */
export { replay_ops } from "./replay";
