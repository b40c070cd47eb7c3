// The C library surface of the allocator, with C names. In the i386 build every u32 crosses as an
// i32 (the host converts once); in the x86_64 build every C word crosses as an f64. Debug builds can run the whole-heap checker after each call.
//
// Glossary (where the words collide):
//   chunk        the block as malloc sees it: starts at its prev_size field (chunk.ts)
//   mem          the pointer the user gets: chunk + 8 (chunk2mem / mem2chunk; x86-64: + 16)
//   nb           a request converted to a chunk size (request2size: + 4, rounded up to 16; x86-64: + 8)
//   word         a C word (size_t, a pointer): u32 in the i386 build, u64 in x86_64 (vm.ts)
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
import { main_tls, mp_, set_static_vas } from "./arena";
import { from_c, from_cs, need_windows, set_window_at, to_c } from "./vm";
import { SIZEOF_TLS } from "./config";
import { current_tls, set_thread, thread_exit as exit_thread, thread_start as start_thread } from "./thread";

export { set_debug_checks, check_malloc_state, check_failure, check_cycle } from "./checks";

// Every export that takes or returns a C value, or may touch memory through one, first makes sure
// the windows are known (need_windows: x86_64 only; nothing in the i386 build). C values cross as
// cword/csword (vm.ts): the i386 build's exports are those of a u32 (i32) ABI, as always.

export function malloc(size: cword): cword {
  need_windows(); const r = libc_malloc(from_c(size)); maybe_check(); return to_c(r);
}
export function free(ptr: cword): void { need_windows(); libc_free(from_c(ptr)); maybe_check(); }
export function calloc(n: cword, size: cword): cword {
  need_windows(); const r = libc_calloc(from_c(n), from_c(size)); maybe_check(); return to_c(r);
}
export function realloc(ptr: cword, size: cword): cword {
  need_windows(); const r = libc_realloc(from_c(ptr), from_c(size)); maybe_check(); return to_c(r);
}
export function reallocarray(ptr: cword, n: cword, size: cword): cword {
  need_windows(); const r = libc_reallocarray(from_c(ptr), from_c(n), from_c(size)); maybe_check(); return to_c(r);
}
export function memalign(align: cword, size: cword): cword {
  need_windows(); const r = libc_memalign(from_c(align), from_c(size)); maybe_check(); return to_c(r);
}
/** glibc 2.36: an alias of memalign, no argument checks. */
export function aligned_alloc(align: cword, size: cword): cword {
  need_windows(); const r = libc_memalign(from_c(align), from_c(size)); maybe_check(); return to_c(r);
}
export function valloc(size: cword): cword { need_windows(); const r = libc_valloc(from_c(size)); maybe_check(); return to_c(r); }
export function pvalloc(size: cword): cword { need_windows(); const r = libc_pvalloc(from_c(size)); maybe_check(); return to_c(r); }
/** Returns the error number; the pointer is read with posix_memalign_ptr(). */
export function posix_memalign(align: cword, size: cword): i32 {
  need_windows(); const r = libc_posix_memalign(from_c(align), from_c(size)); maybe_check(); return r;
}
export function posix_memalign_ptr(): cword { return to_c(posix_memalign_result()); }
export function malloc_usable_size(ptr: cword): cword { need_windows(); return to_c(libc_malloc_usable_size(from_c(ptr))); }
export function malloc_trim(pad: cword): i32 { need_windows(); const r = libc_malloc_trim(from_c(pad)); maybe_check(); return r; }
export function malloc_stats(): void { need_windows(); libc_malloc_stats(); }
export function malloc_info(options: i32): i32 { need_windows(); return libc_malloc_info(options); }
/** Fills struct mallinfo2 (10 size_t: u32 on i386, u64 on x86-64) in static memory and returns its offset. */
export function mallinfo2(): usize { need_windows(); return libc_mallinfo2(); }
export function mallopt(param: i32, value: i32): i32 { need_windows(); const r = libc_mallopt(param, value); maybe_check(); return r; }
export function sbrk(increment: csword): cword { need_windows(); return to_c(do_sbrk(from_cs(increment))); }
export function brk(addr: cword): i32 { need_windows(); return do_brk(from_c(addr)); }
export function errno_get(): i32 { return get_errno(); }
export function errno_set(value: i32): void { set_errno(value); }

/** The host seeds tcache_key (glibc: getrandom) before the first call. */
export function ptmalloc_seed(seed: u32): void { tcache_key_initialize(seed); }
/** End of the module's static data (a Wasm offset): the program's data segment ends here. */
export function heap_base(): usize { return __heap_base; }
/** Where mp_ lives (a Wasm offset; for tests and the explorer). */
export function mp_addr(): usize { return changetype<usize>(mp_); }

/**
 * Window i of the process (vm.ts): VAs [va, va + length) at Wasm offsets [offset, offset + length).
 * x86_64: the host calls it for each kernel window (0: program + brk heap, 1: mmap zone, 2: stack)
 * before any other call, or when the module asks (the need_windows import). i386: nothing to do.
 */
export function set_window(i: i32, va: f64, length: f64, offset: usize): void {
  if (sizeof<word>() == 8) {
    set_window_at(i, <word>va, <word>length, offset);
    if (i == 0) set_static_vas();
  }
}

// ── threads (thread.ts): the host runs one at a time, switching with set_thread ──
/** The main thread's TLS block (a C address) and the size of one. */
export function main_tls_addr(): cword { need_windows(); return to_c(main_tls); }
export function tls_size(): usize { return SIZEOF_TLS; }
export function thread_current(): cword { need_windows(); return to_c(current_tls()); }
/** A new thread, its TLS block at `tls`, becomes the running one. */
export function thread_start(tls: cword): void { need_windows(); start_thread(from_c(tls)); }
export function thread_switch(tls: cword): void { need_windows(); set_thread(from_c(tls)); }
/** The running thread's start routine returned (tcache shutdown, arena detached). */
export function thread_exit(): void { need_windows(); exit_thread(); maybe_check(); }
/** What the system says, once, before the first call: get_nprocs(), and vm.overcommit_memory. */
export function set_system(nprocs: i32, overcommit: i32): void {
  mp_.nprocs = nprocs;
  mp_.may_shrink_heap = overcommit == 2 ? 1 : 0;
}

/** The benchmarks' replay loop (bench/ops-program.ts encoding), run with no JS between calls. */
export { replay_ops } from "./replay";
