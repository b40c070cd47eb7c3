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
import { load_u32, load_word, static_va, store_u32, store_word } from "./vm";
import {
  SIZE_SZ, AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_FASTBINS, AV_TOP, AV_LAST_REMAINDER, AV_SYSTEM_MEM, AV_MAX_SYSTEM_MEM,
  AV_NEXT, AV_NEXT_FREE, AV_ATTACHED_THREADS, SIZEOF_MALLOC_STATE, SIZEOF_TLS, NONCONTIGUOUS_BIT,
} from "./config";

/**
 * &main_arena, a C address: in the i386 build its offset in the module's static data (never
 * written, so the optimizer keeps it a constant); in x86_64 that offset until the windows are
 * known, then its VA (set_static_vas).
 */
export let main_arena: word = <word>memory.data(SIZEOF_MALLOC_STATE, 16);
// x86_64: main_arena's offset, kept when main_arena becomes a VA
let main_arena_offset: usize = 0;

/** Where main_arena is in the module's static data (a Wasm offset): the static data starts there. */
// @ts-ignore: decorator
@inline export function main_arena_offset_of(): usize {
  if (sizeof<word>() == 8) return main_arena_offset;
  else return <usize>main_arena;
}

// The accessors of struct malloc_state: each takes the arena, as glibc's macros take `av`.
// @ts-ignore: decorator
@inline export function av_top(av: word): word { return load_word(av, AV_TOP); }
// @ts-ignore: decorator
@inline export function set_av_top(av: word, p: word): void { store_word(av, p, AV_TOP); }
// @ts-ignore: decorator
@inline export function last_remainder(av: word): word { return load_word(av, AV_LAST_REMAINDER); }
// @ts-ignore: decorator
@inline export function set_last_remainder(av: word, p: word): void { store_word(av, p, AV_LAST_REMAINDER); }
// @ts-ignore: decorator
@inline export function system_mem(av: word): word { return load_word(av, AV_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function set_system_mem(av: word, v: word): void { store_word(av, v, AV_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function max_system_mem(av: word): word { return load_word(av, AV_MAX_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function set_max_system_mem(av: word, v: word): void { store_word(av, v, AV_MAX_SYSTEM_MEM); }
// @ts-ignore: decorator
@inline export function have_fastchunks(av: word): bool { return load_u32(av, AV_HAVE_FASTCHUNKS) != 0; }
// @ts-ignore: decorator
@inline export function set_have_fastchunks(av: word, v: bool): void { store_u32(av, <u32>v, AV_HAVE_FASTCHUNKS); }
// @ts-ignore: decorator
@inline export function contiguous(av: word): bool { return (load_u32(av, AV_FLAGS) & NONCONTIGUOUS_BIT) == 0; }
// @ts-ignore: decorator
@inline export function set_noncontiguous(av: word): void {
  store_u32(av, load_u32(av, AV_FLAGS) | NONCONTIGUOUS_BIT, AV_FLAGS);
}
/** &av->fastbinsY[idx] */
// @ts-ignore: decorator
@inline export function fastbin_addr(av: word, idx: word): word { return av + AV_FASTBINS + idx * SIZE_SZ; }

/**
 * struct malloc_par, plus the few other statics of malloc.c (global_max_fast, perturb_byte,
 * tcache_key, the thread's tcache pointer, __malloc_initialized). Field order = the
 * initializer of MP_INIT below.
 */
@unmanaged export class MallocPar {
  trim_threshold: word;
  top_pad: word;
  mmap_threshold: word;
  arena_test: word;
  arena_max: word;
  n_mmaps: i32;
  n_mmaps_max: i32;
  max_n_mmaps: i32;
  no_dyn_threshold: i32;
  mmapped_mem: word;
  max_mmapped_mem: word;
  sbrk_base: word;
  tcache_bins: word;
  tcache_max_bytes: word;
  tcache_count: word;
  tcache_unsorted_limit: word;
  // other statics of malloc.c
  global_max_fast: word;
  perturb_byte: i32;
  tcache_key: word;
  tcache: word;
  malloc_initialized: i32;
  tcache_shutting_down: i32;
  // the current thread's arena (glibc's __thread thread_arena; thread.ts swaps it per thread)
  thread_arena: word;
  // arena.c's statics: the arena count, the free list, the limit fixed once, reused_arena's
  // cursor, new_heap's hint, and whether a second thread was ever made (SINGLE_THREAD_P false)
  narenas: word;
  free_list: word;
  narenas_limit: word;
  next_to_use: word;
  aligned_heap_area: word;
  multiple_threads: i32;
  // what get_nprocs() returns (the host sets it), and the current thread's TLS block
  nprocs: i32;
  cur_tls: word;
  // vm.overcommit_memory is 2 (glibc's check_may_shrink_heap): shrink_heap remaps PROT_NONE
  may_shrink_heap: i32;
}

/**
 * mp_ with glibc's static initializer: a data segment of 32 words in the i386 build (every field
 * 4 bytes); in x86_64, where the fields are of two sizes, zeroed static data set at start.
 */
export const mp_ = changetype<MallocPar>(sizeof<word>() == 8 ? memory.data(offsetof<MallocPar>(), 16) : memory.data<u32>([
  DEFAULT_TRIM_THRESHOLD, DEFAULT_TOP_PAD, DEFAULT_MMAP_THRESHOLD, DEFAULT_ARENA_TEST, 0,
  0, DEFAULT_MMAP_MAX, 0, 0,
  0, 0, 0,
  TCACHE_MAX_BINS, MAX_TCACHE_SIZE, TCACHE_FILL_COUNT, 0,
  0, 0, 0, 0, 0, 0,
  0, 1, 0, 0, 0, 0, 0, 2, 0, 0,
], 16));
if (sizeof<word>() == 8) {
  mp_.trim_threshold = DEFAULT_TRIM_THRESHOLD;
  mp_.top_pad = DEFAULT_TOP_PAD;
  mp_.mmap_threshold = DEFAULT_MMAP_THRESHOLD;
  mp_.arena_test = DEFAULT_ARENA_TEST;
  mp_.n_mmaps_max = DEFAULT_MMAP_MAX;
  mp_.tcache_bins = TCACHE_MAX_BINS;
  mp_.tcache_max_bytes = MAX_TCACHE_SIZE;
  mp_.tcache_count = TCACHE_FILL_COUNT;
  mp_.narenas = 1;
  mp_.nprocs = 2;
}

/** The main thread's TLS block (thread.ts): its malloc state while another thread runs (a C address, as main_arena). */
export let main_tls: word = <word>memory.data(SIZEOF_TLS, 16);

/** The static data's VAs, once the windows are known (x86_64, once; nothing to do in i386). */
export function set_static_vas(): void {
  if (sizeof<word>() == 8) {
    if (main_arena_offset != 0) return;
    main_arena_offset = <usize>main_arena;
    main_arena = static_va(main_arena_offset);
    main_tls = static_va(<usize>main_tls);
  }
}

// The arena-list fields of struct malloc_state (glibc's `next`, `next_free`, `attached_threads`).
// @ts-ignore: decorator
@inline export function av_next(av: word): word { return load_word(av, AV_NEXT); }
// @ts-ignore: decorator
@inline export function set_av_next(av: word, v: word): void { store_word(av, v, AV_NEXT); }
// @ts-ignore: decorator
@inline export function av_next_free(av: word): word { return load_word(av, AV_NEXT_FREE); }
// @ts-ignore: decorator
@inline export function set_av_next_free(av: word, v: word): void { store_word(av, v, AV_NEXT_FREE); }
// @ts-ignore: decorator
@inline export function attached_threads(av: word): word { return load_word(av, AV_ATTACHED_THREADS); }
// @ts-ignore: decorator
@inline export function set_attached_threads(av: word, v: word): void { store_word(av, v, AV_ATTACHED_THREADS); }
