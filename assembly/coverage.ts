// Branch coverage for the fuzzer (debug build only). Each id below names one allocator path; a
// path that runs sets its byte in a static table (cov(id)). The release build compiles every
// cov() call and the table out: `if (!ASC_NO_ASSERT)` is a compile-time constant there, and the
// table (memory.data) exists only where a compiled cov() refers to it.
//
// This file is the one list of ids: scripts/build-wasm.mjs reads the COV_* constants and the
// check_index() list below to generate host/generated/coverage-names.ts (the names, in id order), which
// host/allocator.ts exposes as `coverage.names`. Ids are dense: 0 … cov_count() − 1 (the debug
// module's exports are in coverage-exports.ts).
//
//   cov_table() (debug module's static data, 256 bytes): [id] = 1 once the path ran, else 0
//   ids:  0 …  COV_CHECKS − 1            paths (the constants below)
//         COV_CHECKS + i                 the integrity check check_index() gives i fired (malloc_printerr)

import {
  ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA, ASSERT_INT_MALLOC_BIT, ASSERT_INT_MALLOC_FWD_MAIN_ARENA, ASSERT_INT_MALLOC_SIZE,
  ASSERT_SYSMALLOC_OLD_SIZE, ASSERT_SYSMALLOC_OLD_TOP, BREAK_ADJUSTED, CHECK_MALLOC_STATE_FAILED,
  CONSOLIDATE_INVALID_CHUNK_SIZE, CONSOLIDATE_UNALIGNED_FASTBIN, CORRUPTED_DOUBLE_LINKED_LIST,
  CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL, CORRUPTED_SIZE_VS_PREV_SIZE, CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING,
  CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS, DOUBLE_FREE_FASTTOP, DOUBLE_FREE_OUT, DOUBLE_FREE_PREV, DOUBLE_FREE_TOP,
  FREE_CORRUPTED_UNSORTED, FREE_INVALID_NEXT_SIZE_FAST, FREE_INVALID_NEXT_SIZE_NORMAL, FREE_INVALID_POINTER,
  FREE_INVALID_SIZE, FREE_TCACHE_DOUBLE_FREE, FREE_TCACHE_TOO_MANY, FREE_TCACHE_UNALIGNED,
  INVALID_FASTBIN_ENTRY_FREE, MALLINFO_UNALIGNED_FASTBIN, MALLOC_CORRUPTED_TOP_SIZE, MALLOC_CORRUPTED_UNSORTED,
  MALLOC_CORRUPTED_UNSORTED_2, MALLOC_CORRUPTED_UNSORTED_3, MALLOC_INFO_UNALIGNED_FASTBIN,
  MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED, MALLOC_INVALID_NEXT_SIZE_UNSORTED, MALLOC_INVALID_SIZE_UNSORTED,
  MALLOC_LARGEBIN_CORRUPTED_BK, MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE, MALLOC_MEMORY_CORRUPTION_FAST,
  MALLOC_MISMATCHING_PREV_SIZE_UNSORTED, MALLOC_SMALLBIN_CORRUPTED, MALLOC_UNALIGNED_FASTBIN,
  MALLOC_UNALIGNED_FASTBIN_2, MALLOC_UNALIGNED_FASTBIN_3, MALLOC_UNALIGNED_TCACHE, MALLOC_UNSORTED_CORRUPTED,
  MREMAP_CHUNK_INVALID_POINTER, MUNMAP_CHUNK_INVALID_POINTER, REALLOC_INVALID_NEXT_SIZE, REALLOC_INVALID_OLD_SIZE,
  REALLOC_INVALID_POINTER, TCACHE_THREAD_SHUTDOWN_UNALIGNED, ASSERT_INT_FREE_HEAP_AR_PTR, ASSERT_HEAP_TRIM_FENCEPOST,
  ASSERT_HEAP_TRIM_NEW_SIZE, ASSERT_HEAP_TRIM_NEW_SIZE_MAX, ASSERT_HEAP_TRIM_PAGE_END, ASSERT_HEAP_TRIM_TOP_END,
  ASSERT_DETACH_ARENA, ASSERT_GET_FREE_LIST, ASSERT_REMOVE_FROM_FREE_LIST, ASSERT_ARENA_THREAD_FREERES,
} from "./messages";

// ── malloc ──
export const COV_TCACHE_GET = 0; // malloc served from the tcache
export const COV_FASTBIN_HIT = 1; // _int_malloc took the fastbin's head
export const COV_FASTBIN_TO_TCACHE = 2; // ... and moved more of that fastbin into the tcache
export const COV_SMALLBIN_HIT = 3; // exact fit from a small bin
export const COV_SMALLBIN_TO_TCACHE = 4; // ... and moved more of that bin into the tcache
export const COV_LARGE_CONSOLIDATE = 5; // a large request consolidated the fastbins first
export const COV_LAST_REMAINDER_SPLIT = 6; // a small request split the last remainder
export const COV_UNSORTED_EXACT = 7; // an exact fit found in the unsorted bin, returned
export const COV_UNSORTED_EXACT_TO_TCACHE = 8; // an exact fit cached in the tcache
export const COV_UNSORTED_TO_SMALLBIN = 9; // an unsorted chunk sorted into a small bin
export const COV_UNSORTED_TO_LARGE_EMPTY = 10; // ... into an empty large bin
export const COV_UNSORTED_TO_LARGE_SMALLEST = 11; // ... at the end of a large bin (smaller than all)
export const COV_UNSORTED_TO_LARGE_SAME_SIZE = 12; // ... after a chunk of the same size
export const COV_UNSORTED_TO_LARGE_NEW_SIZE = 13; // ... as a new size in the nextsize list
export const COV_UNSORTED_CACHED_LIMIT = 14; // tcache_unsorted_limit ended the unsorted scan
export const COV_UNSORTED_ITER_LIMIT = 15; // 10000 unsorted chunks sorted in one call
export const COV_UNSORTED_RETURN_CACHED = 16; // the request served from chunks it cached
export const COV_LARGEBIN_BEST_FIT = 17; // best fit in the request's own large bin
export const COV_LARGEBIN_SECOND_OF_SIZE = 18; // ... taking the second chunk of that size
export const COV_BINMAP_STALE_BIT = 19; // the binmap search cleared a stale bit
export const COV_BINMAP_HIT = 20; // the binmap search found a larger bin
export const COV_SPLIT_REMAINDER = 21; // a split left a remainder in the unsorted bin
export const COV_SPLIT_EXHAUST = 22; // a chunk used whole (remainder < MINSIZE)
export const COV_TOP_SPLIT = 23; // served from the top chunk
export const COV_TOP_CONSOLIDATE = 24; // top too small: fastbins consolidated, search again
export const COV_MALLOC_ENOMEM = 25; // a request too large for size_t arithmetic
// ── sysmalloc, systrim, mmapped chunks ──
export const COV_SYSMALLOC_MMAP = 26; // a chunk of its own mapping
export const COV_SYSMALLOC_MMAP_FAILED = 27; // ... the mmap failed, the heap tried instead
export const COV_SYSMALLOC_BRK_EXTEND = 28; // the break grew the top in place
export const COV_SYSMALLOC_BRK_FIRST = 29; // the first heap (or a foreign sbrk): realigned, second sbrk
export const COV_SYSMALLOC_MMAP_FALLBACK = 30; // brk failed: mmap stood in
export const COV_SYSMALLOC_FENCEPOSTS = 31; // the old top closed by fenceposts and freed
export const COV_SYSMALLOC_ENOMEM = 32; // no memory at all
export const COV_SYSTRIM = 33; // the top trimmed with a negative sbrk
export const COV_MUNMAP_CHUNK = 34; // an mmapped chunk unmapped
export const COV_MREMAP_CHUNK = 35; // an mmapped chunk resized by mremap
export const COV_MREMAP_FAILED = 36; // ... mremap failed
// ── free ──
export const COV_TCACHE_PUT = 37; // free into the tcache
export const COV_TCACHE_DOUBLE_FREE_SCAN = 38; // the key matched: the tcache bin was scanned
export const COV_FASTBIN_PUT = 39; // free into a fastbin
export const COV_FREE_MMAPPED = 40; // free of an mmapped chunk (threshold may move)
export const COV_FREE_DYN_THRESHOLD = 41; // ... which raised the mmap threshold
export const COV_FREE_COALESCE_PREV = 42; // merged with the free chunk before
export const COV_FREE_COALESCE_NEXT = 43; // merged with the free chunk after
export const COV_FREE_TO_UNSORTED = 44; // put in the unsorted bin
export const COV_FREE_INTO_TOP = 45; // merged into the top
export const COV_FREE_CONSOLIDATE = 46; // a large free consolidated the fastbins
export const COV_FREE_TRIM = 47; // ... and the top passed the trim threshold
export const COV_CONSOLIDATE_CHUNK = 48; // malloc_consolidate moved a fastbin chunk
export const COV_CONSOLIDATE_PREV = 49; // ... merging it with the chunk before
export const COV_CONSOLIDATE_NEXT = 50; // ... merging it with the chunk after
export const COV_CONSOLIDATE_INTO_TOP = 51; // ... into the top
// ── realloc ──
export const COV_REALLOC_FREE = 52; // realloc(p, 0): a free
export const COV_REALLOC_MALLOC = 53; // realloc(NULL, n): a malloc
export const COV_REALLOC_MMAPPED_MREMAP = 54; // an mmapped chunk resized in place by mremap
export const COV_REALLOC_MMAPPED_KEEP = 55; // an mmapped chunk already big enough
export const COV_REALLOC_MMAPPED_COPY = 56; // an mmapped chunk copied to a new block
export const COV_REALLOC_SHRINK = 57; // shrunk in place
export const COV_REALLOC_GROW_TOP = 58; // grown into the top
export const COV_REALLOC_GROW_NEXT = 59; // grown into the free chunk after
export const COV_REALLOC_MOVE = 60; // moved: malloc, copy, free
export const COV_REALLOC_SPLIT = 61; // the shrunk/grown chunk's tail freed
// ── memalign ──
export const COV_MEMALIGN_SMALL_ALIGN = 62; // alignment <= MALLOC_ALIGNMENT: a plain malloc
export const COV_MEMALIGN_MISALIGNED = 63; // the block found was misaligned: the front given back
export const COV_MEMALIGN_MMAPPED = 64; // ... an mmapped block, its offset moved
export const COV_MEMALIGN_TRIM_TAIL = 65; // the tail beyond the request given back
export const COV_MEMALIGN_EINVAL = 66; // a bad alignment
// ── first use ──
export const COV_TCACHE_INIT = 67; // the tcache carved
// ── threads: arenas and heaps (arena.c) ──
export const COV_HEAP_NEW = 68; // a heap mapped for a non-main arena
export const COV_HEAP_GROW = 69; // a heap's read-write part grown
export const COV_HEAP_SHRINK = 70; // a heap's top pages given back
export const COV_HEAP_DELETE = 71; // a whole heap unmapped by heap_trim
export const COV_ARENA_NEW = 72; // a new arena made for a thread
export const COV_ARENA_FREE_LIST = 73; // an arena taken from the free list
export const COV_ARENA_REUSE = 74; // an arena shared, round robin (the limit reached)
export const COV_ARENA_RETRY = 75; // a failed request tried again in another arena
export const COV_TCACHE_SHUTDOWN = 76; // a thread's tcache emptied at its exit
export const COV_ARENA_DETACH = 77; // a thread's arena went onto the free list at its exit
export const COV_SYSMALLOC_NEW_HEAP = 78; // a non-main arena's full heap followed by a new one
export const COV_CHECKS = 79; // first id of the integrity checks (check_index order)

/**
 * The index of the integrity check whose message is `message` (its id is COV_CHECKS + index), or
 * -1. One comparison of static string addresses per check: no array (the allocator has no heap of
 * its own, and a global array would be laid out in every build ahead of main_arena).
 */
// @ts-ignore: decorator
@inline function check_index(message: string): i32 {
  const m = changetype<usize>(message);
  if (m == changetype<usize>(FREE_INVALID_POINTER)) return 0;
  if (m == changetype<usize>(FREE_INVALID_SIZE)) return 1;
  if (m == changetype<usize>(FREE_TCACHE_DOUBLE_FREE)) return 2;
  if (m == changetype<usize>(FREE_TCACHE_TOO_MANY)) return 3;
  if (m == changetype<usize>(FREE_TCACHE_UNALIGNED)) return 4;
  if (m == changetype<usize>(FREE_INVALID_NEXT_SIZE_FAST)) return 5;
  if (m == changetype<usize>(FREE_INVALID_NEXT_SIZE_NORMAL)) return 6;
  if (m == changetype<usize>(FREE_CORRUPTED_UNSORTED)) return 7;
  if (m == changetype<usize>(DOUBLE_FREE_FASTTOP)) return 8;
  if (m == changetype<usize>(DOUBLE_FREE_TOP)) return 9;
  if (m == changetype<usize>(DOUBLE_FREE_OUT)) return 10;
  if (m == changetype<usize>(DOUBLE_FREE_PREV)) return 11;
  if (m == changetype<usize>(INVALID_FASTBIN_ENTRY_FREE)) return 12;
  if (m == changetype<usize>(CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING)) return 13;
  if (m == changetype<usize>(CORRUPTED_SIZE_VS_PREV_SIZE)) return 14;
  if (m == changetype<usize>(CORRUPTED_DOUBLE_LINKED_LIST)) return 15;
  if (m == changetype<usize>(CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL)) return 16;
  if (m == changetype<usize>(MALLOC_UNALIGNED_TCACHE)) return 17;
  if (m == changetype<usize>(MALLOC_UNALIGNED_FASTBIN)) return 18;
  if (m == changetype<usize>(MALLOC_UNALIGNED_FASTBIN_2)) return 19;
  if (m == changetype<usize>(MALLOC_UNALIGNED_FASTBIN_3)) return 20;
  if (m == changetype<usize>(MALLOC_MEMORY_CORRUPTION_FAST)) return 21;
  if (m == changetype<usize>(MALLOC_SMALLBIN_CORRUPTED)) return 22;
  if (m == changetype<usize>(MALLOC_INVALID_SIZE_UNSORTED)) return 23;
  if (m == changetype<usize>(MALLOC_INVALID_NEXT_SIZE_UNSORTED)) return 24;
  if (m == changetype<usize>(MALLOC_MISMATCHING_PREV_SIZE_UNSORTED)) return 25;
  if (m == changetype<usize>(MALLOC_UNSORTED_CORRUPTED)) return 26;
  if (m == changetype<usize>(MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED)) return 27;
  if (m == changetype<usize>(MALLOC_CORRUPTED_UNSORTED)) return 28;
  if (m == changetype<usize>(MALLOC_CORRUPTED_UNSORTED_2)) return 29;
  if (m == changetype<usize>(MALLOC_CORRUPTED_UNSORTED_3)) return 30;
  if (m == changetype<usize>(MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE)) return 31;
  if (m == changetype<usize>(MALLOC_LARGEBIN_CORRUPTED_BK)) return 32;
  if (m == changetype<usize>(MALLOC_CORRUPTED_TOP_SIZE)) return 33;
  if (m == changetype<usize>(CONSOLIDATE_UNALIGNED_FASTBIN)) return 34;
  if (m == changetype<usize>(CONSOLIDATE_INVALID_CHUNK_SIZE)) return 35;
  if (m == changetype<usize>(CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS)) return 36;
  if (m == changetype<usize>(REALLOC_INVALID_POINTER)) return 37;
  if (m == changetype<usize>(REALLOC_INVALID_OLD_SIZE)) return 38;
  if (m == changetype<usize>(REALLOC_INVALID_NEXT_SIZE)) return 39;
  if (m == changetype<usize>(MUNMAP_CHUNK_INVALID_POINTER)) return 40;
  if (m == changetype<usize>(MREMAP_CHUNK_INVALID_POINTER)) return 41;
  if (m == changetype<usize>(BREAK_ADJUSTED)) return 42;
  if (m == changetype<usize>(MALLINFO_UNALIGNED_FASTBIN)) return 43;
  if (m == changetype<usize>(MALLOC_INFO_UNALIGNED_FASTBIN)) return 44;
  if (m == changetype<usize>(ASSERT_SYSMALLOC_OLD_TOP)) return 45;
  if (m == changetype<usize>(ASSERT_SYSMALLOC_OLD_SIZE)) return 46;
  if (m == changetype<usize>(ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA)) return 47;
  if (m == changetype<usize>(ASSERT_INT_MALLOC_FWD_MAIN_ARENA)) return 48;
  if (m == changetype<usize>(ASSERT_INT_MALLOC_BIT)) return 49;
  if (m == changetype<usize>(ASSERT_INT_MALLOC_SIZE)) return 50;
  if (m == changetype<usize>(CHECK_MALLOC_STATE_FAILED)) return 51;
  if (m == changetype<usize>(TCACHE_THREAD_SHUTDOWN_UNALIGNED)) return 52;
  if (m == changetype<usize>(ASSERT_INT_FREE_HEAP_AR_PTR)) return 53;
  if (m == changetype<usize>(ASSERT_HEAP_TRIM_FENCEPOST)) return 54;
  if (m == changetype<usize>(ASSERT_HEAP_TRIM_NEW_SIZE)) return 55;
  if (m == changetype<usize>(ASSERT_HEAP_TRIM_NEW_SIZE_MAX)) return 56;
  if (m == changetype<usize>(ASSERT_HEAP_TRIM_PAGE_END)) return 57;
  if (m == changetype<usize>(ASSERT_HEAP_TRIM_TOP_END)) return 58;
  if (m == changetype<usize>(ASSERT_DETACH_ARENA)) return 59;
  if (m == changetype<usize>(ASSERT_GET_FREE_LIST)) return 60;
  if (m == changetype<usize>(ASSERT_REMOVE_FROM_FREE_LIST)) return 61;
  if (m == changetype<usize>(ASSERT_ARENA_THREAD_FREERES)) return 62;
  return -1;
}

export const COV_CHECK_COUNT = 63;

/** The table: one static segment, compiled only where something compiled refers to it (the debug build). */
export function cov_table(): usize { return memory.data(256); }

/** Marks path `id` as run (debug build only; nothing at all in release). */
// @ts-ignore: decorator
@inline export function cov(id: i32): void {
  if (!ASC_NO_ASSERT) store<u8>(cov_table() + <usize>id, 1);
}

/** Marks the integrity check whose message is `message` as fired (malloc_printerr). */
// @ts-ignore: decorator
@inline export function cov_check(message: string): void {
  if (!ASC_NO_ASSERT) {
    const i = check_index(message);
    if (i >= 0) store<u8>(cov_table() + <usize>(COV_CHECKS + i), 1);
  }
}
