// The arena (struct malloc_state) and the parameters (struct malloc_par) in static data.
// main_arena lives here and grows with brk; the other arenas each live at the start of their
// first heap (heap.ts), made as threads need them (arenas.ts). The functions that work on an
// arena take it as `av`, as glibc's do.
//
//  main_arena  +0     mutex (unused: threads run one at a time)
//              +4     flags (NONCONTIGUOUS_BIT)
//              +8     have_fastchunks
//              +12    fastbinsY[NFASTBINS]     singly linked, LIFO, safe-linked fd
//              +56    top                      ┐ bin 1 (unsorted) seen as a chunk starts here:
//              +60    last_remainder           ┘ its prev_size/size overlay top/last_remainder,
//              +64    bins[2*NBINS-2]            so the initial top (= bin 1) has size 0.
//                     bins[2(i-1)], bins[2(i-1)+1] = fd, bk of bin i (1 unsorted,
//                     2..63 small: one size each, 64..126 large: sorted, nextsize lists)
//              +1080  binmap[BINMAPSIZE]       bit i: bin i may be non-empty
//              +1096  next, next_free, attached_threads
//              +1108  system_mem, max_system_mem
//
// bin_at(i) is the address such that fd(bin_at(i)) is bins[2(i-1)]: bin headers are fake
// chunks whose fd/bk are the list ends; an empty bin links to itself.

import {
  DEFAULT_ARENA_TEST, DEFAULT_MMAP_MAX, DEFAULT_MMAP_THRESHOLD, DEFAULT_TOP_PAD,
  DEFAULT_TRIM_THRESHOLD, MAX_TCACHE_SIZE, TCACHE_FILL_COUNT, TCACHE_MAX_BINS,
} from "./config";

// The offsets of struct malloc_state's fields (pictured above) are in config.ts, which the
// pure-TypeScript twin imports too.
export {
  AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_FASTBINS, AV_TOP, AV_LAST_REMAINDER, AV_BINS, AV_BINMAP, AV_NEXT,
  AV_NEXT_FREE, AV_ATTACHED_THREADS, AV_SYSTEM_MEM, AV_MAX_SYSTEM_MEM, SIZEOF_MALLOC_STATE, NONCONTIGUOUS_BIT,
} from "./config";
import {
  AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_FASTBINS, AV_TOP, AV_LAST_REMAINDER, AV_SYSTEM_MEM, AV_MAX_SYSTEM_MEM,
  AV_NEXT, AV_NEXT_FREE, AV_ATTACHED_THREADS, SIZEOF_MALLOC_STATE, SIZEOF_TLS, NONCONTIGUOUS_BIT,
} from "./config";

/** &main_arena */
export const main_arena: usize = memory.data(SIZEOF_MALLOC_STATE, 16);

// The accessors of struct malloc_state: each takes the arena, as glibc's macros take `av`.
// @ts-ignore: decorator
@inline export function av_top(av: usize): usize { return load<usize>(av, AV_TOP); }
// @ts-ignore: decorator
@inline export function set_av_top(av: usize, p: usize): void { store<usize>(av, p, AV_TOP); }
// @ts-ignore: decorator
@inline export function last_remainder(av: usize): usize { return load<usize>(av, AV_LAST_REMAINDER); }
// @ts-ignore: decorator
@inline export function set_last_remainder(av: usize, p: usize): void { store<usize>(av, p, AV_LAST_REMAINDER); }
// @ts-ignore: decorator
@inline export function system_mem(av: usize): usize { return load<usize>(av, AV_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function set_system_mem(av: usize, v: usize): void { store<usize>(av, v, AV_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function max_system_mem(av: usize): usize { return load<usize>(av, AV_MAX_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function set_max_system_mem(av: usize, v: usize): void { store<usize>(av, v, AV_MAX_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function have_fastchunks(av: usize): bool { return load<u32>(av, AV_HAVE_FASTCHUNKS) != 0; }
// @ts-ignore: decorator
@inline export function set_have_fastchunks(av: usize, v: bool): void { store<u32>(av, <u32>v, AV_HAVE_FASTCHUNKS); }
// @ts-ignore: decorator
@inline export function contiguous(av: usize): bool { return (load<u32>(av, AV_FLAGS) & NONCONTIGUOUS_BIT) == 0; }
// @ts-ignore: decorator
@inline export function set_noncontiguous(av: usize): void {
  store<u32>(av, load<u32>(av, AV_FLAGS) | NONCONTIGUOUS_BIT, AV_FLAGS);
}
/** &av->fastbinsY[idx] */
// @ts-ignore: decorator
@inline export function fastbin_addr(av: usize, idx: usize): usize { return av + AV_FASTBINS + (idx << 2); }

/**
 * struct malloc_par, plus the few other statics of malloc.c (global_max_fast, perturb_byte,
 * tcache_key, the thread's tcache pointer, __malloc_initialized). Field order = the
 * initializer of MP_INIT below.
 */
@unmanaged export class MallocPar {
  trim_threshold: usize;
  top_pad: usize;
  mmap_threshold: usize;
  arena_test: usize;
  arena_max: usize;
  n_mmaps: i32;
  n_mmaps_max: i32;
  max_n_mmaps: i32;
  no_dyn_threshold: i32;
  mmapped_mem: usize;
  max_mmapped_mem: usize;
  sbrk_base: usize;
  tcache_bins: usize;
  tcache_max_bytes: usize;
  tcache_count: usize;
  tcache_unsorted_limit: usize;
  // other statics of malloc.c
  global_max_fast: usize;
  perturb_byte: i32;
  tcache_key: usize;
  tcache: usize;
  malloc_initialized: i32;
  tcache_shutting_down: i32;
  // the current thread's arena (glibc's __thread thread_arena; thread.ts swaps it per thread)
  thread_arena: usize;
  // arena.c's statics: the arena count, the free list, the limit fixed once, reused_arena's
  // cursor, new_heap's hint, and whether a second thread was ever made (SINGLE_THREAD_P false)
  narenas: usize;
  free_list: usize;
  narenas_limit: usize;
  next_to_use: usize;
  aligned_heap_area: usize;
  multiple_threads: i32;
  // what get_nprocs() returns (the host sets it), and the current thread's TLS block
  nprocs: i32;
  cur_tls: usize;
  // vm.overcommit_memory is 2 (glibc's check_may_shrink_heap): shrink_heap remaps PROT_NONE
  may_shrink_heap: i32;
}

/** mp_ with glibc's static initializer. */
export const mp_ = changetype<MallocPar>(memory.data<u32>([
  DEFAULT_TRIM_THRESHOLD, DEFAULT_TOP_PAD, DEFAULT_MMAP_THRESHOLD, DEFAULT_ARENA_TEST, 0,
  0, DEFAULT_MMAP_MAX, 0, 0,
  0, 0, 0,
  TCACHE_MAX_BINS, MAX_TCACHE_SIZE, TCACHE_FILL_COUNT, 0,
  0, 0, 0, 0, 0, 0,
  0, 1, 0, 0, 0, 0, 0, 2, 0, 0,
], 16));

/** The main thread's TLS block (thread.ts): its malloc state while another thread runs. */
export const main_tls: usize = memory.data(SIZEOF_TLS, 16);

// The arena-list fields of struct malloc_state (glibc's `next`, `next_free`, `attached_threads`).
// @ts-ignore: decorator
@inline export function av_next(av: usize): usize { return load<usize>(av, AV_NEXT); }
// @ts-ignore: decorator
@inline export function set_av_next(av: usize, v: usize): void { store<usize>(av, v, AV_NEXT); }
// @ts-ignore: decorator
@inline export function av_next_free(av: usize): usize { return load<usize>(av, AV_NEXT_FREE); }
// @ts-ignore: decorator
@inline export function set_av_next_free(av: usize, v: usize): void { store<usize>(av, v, AV_NEXT_FREE); }
// @ts-ignore: decorator
@inline export function attached_threads(av: usize): usize { return load<usize>(av, AV_ATTACHED_THREADS); }
// @ts-ignore: decorator
@inline export function set_attached_threads(av: usize, v: usize): void { store<usize>(av, v, AV_ATTACHED_THREADS); }
