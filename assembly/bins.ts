// Bin indexing, the binmap, unlinking, and arena initialization.
//
//  fastbins  idx = (size >> 3) - 2        sizes 16, 32, 48, 64 (max_fast 64) → idx 0, 2, 4, 6
//            (x86-64: (size >> 4) - 2, sizes 32 .. 128, max_fast 128 → idx 0 .. 6)
//  bin 1     unsorted                     any size, FIFO queue (insert at fd, take from bk)
//  bins 2-63 small: (size >> 4) + 1       sizes 16 .. 992, one size each
//  bins 64-126 large                      sizes >= 1008, log-spaced, sorted by size (largest
//            first) with a skip list over the distinct sizes (fd_nextsize/bk_nextsize)

import {
  BINMAPSHIFT, FASTBIN_SHIFT, MALLOC_ALIGN_MASK, MIN_CHUNK_SIZE, MIN_LARGE_SIZE, NBINS, SIZE_SZ, SMALLBIN_CORRECTION,
} from "./config";
import {
  AV_BINMAP, AV_BINS, main_arena, mp_, set_av_top, set_have_fastchunks, set_noncontiguous,
} from "./arena";
import {
  bk, bk_nextsize, chunksize, chunksize_nomask, fd, fd_nextsize, ld_link_next, prev_size, set_bk, set_bk_nextsize,
  set_fd, set_fd_nextsize,
} from "./chunk";
import { CORRUPTED_DOUBLE_LINKED_LIST, CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL, CORRUPTED_SIZE_VS_PREV_SIZE } from "./messages";
import { malloc_printerr } from "./syscalls";
import { load_u32, load_word, store_u32, store_word } from "./vm";

// @ts-ignore: decorator
@inline export function bin_at(av: word, i: word): word { return av + AV_BINS + (i - 1) * (2 * SIZE_SZ) - 2 * SIZE_SZ; }
// @ts-ignore: decorator
@inline export function unsorted_chunks(av: word): word { return bin_at(av, 1); }
// @ts-ignore: decorator
@inline export function initial_top(av: word): word { return bin_at(av, 1); }
// @ts-ignore: decorator
@inline export function next_bin(b: word): word { return b + 2 * SIZE_SZ; }

// A bin header's own links, reached through its address (bin_at), not through a link: it lies in
// its arena's struct, and main_arena's is static data (always mapped), so these loads and stores
// need no page-map check.
// @ts-ignore: decorator
@inline export function bin_fd(b: word): word { return load_word(b, 2 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function bin_bk(b: word): word { return load_word(b, 3 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function set_bin_fd(b: word, v: word): void { store_word(b, v, 2 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function set_bin_bk(b: word, v: word): void { store_word(b, v, 3 * SIZE_SZ); }

// @ts-ignore: decorator
@inline export function in_smallbin_range(sz: word): bool { return sz < <word>MIN_LARGE_SIZE; }
// @ts-ignore: decorator
@inline export function smallbin_index(sz: word): word { return (sz >> 4) + SMALLBIN_CORRECTION; }

/** largebin_index: largebin_index_64 on x86-64 (SIZE_SZ 8), largebin_index_32_big on i386 (MALLOC_ALIGNMENT 16). */
export function largebin_index(sz: word): word {
  if (SIZE_SZ == 8) {
    if ((sz >> 6) <= 48) return 48 + (sz >> 6);
  } else {
    if ((sz >> 6) <= 45) return 49 + (sz >> 6);
  }
  if ((sz >> 9) <= 20) return 91 + (sz >> 9);
  if ((sz >> 12) <= 10) return 110 + (sz >> 12);
  if ((sz >> 15) <= 4) return 119 + (sz >> 15);
  if ((sz >> 18) <= 2) return 124 + (sz >> 18);
  return 126;
}

// @ts-ignore: decorator
@inline export function bin_index(sz: word): word {
  return in_smallbin_range(sz) ? smallbin_index(sz) : largebin_index(sz);
}

// @ts-ignore: decorator
@inline export function fastbin_index(sz: word): word { return <word>((<u32>sz >> FASTBIN_SHIFT) - 2); }

/** global_max_fast after mallopt(M_MXFAST, s) / initialization. */
export function set_max_fast(s: word): void {
  mp_.global_max_fast = s <= <word>(MALLOC_ALIGN_MASK - SIZE_SZ)
    ? <word>(MIN_CHUNK_SIZE / 2)
    : (s + SIZE_SZ) & ~(<word>MALLOC_ALIGN_MASK);
}

// ── binmap ──────────────────────────────────────────────────────────────────
// @ts-ignore: decorator
@inline export function binmap_addr(av: word, block: word): word { return av + AV_BINMAP + (block << 2); }
// @ts-ignore: decorator
@inline export function idx2block(i: word): word { return i >> BINMAPSHIFT; }
// @ts-ignore: decorator
@inline export function idx2bit(i: word): u32 { return <u32>1 << <u32>(i & 31); }
// @ts-ignore: decorator
@inline export function mark_bin(av: word, i: word): void {
  const a = binmap_addr(av, idx2block(i));
  store_u32(a, load_u32(a) | idx2bit(i));
}

/** unlink_chunk: take a free chunk out of its doubly linked bin (and the nextsize list). */
export function unlink_chunk(av: word, p: word): void {
  const size = chunksize(p);
  if (size != prev_size(p + size)) malloc_printerr(CORRUPTED_SIZE_VS_PREV_SIZE);
  const f = fd(p);
  const b = ld_link_next(p, 3 * SIZE_SZ);
  if (bk(f) != p || fd(b) != p) malloc_printerr(CORRUPTED_DOUBLE_LINKED_LIST);
  set_bk(f, b);
  set_fd(b, f);
  if (!in_smallbin_range(chunksize_nomask(p)) && fd_nextsize(p) != 0) {
    const fdn = fd_nextsize(p);
    const bkn = bk_nextsize(p);
    if (bk_nextsize(fdn) != p || fd_nextsize(bkn) != p) malloc_printerr(CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL);
    if (fd_nextsize(f) == 0) {
      if (fdn == p) {
        set_fd_nextsize(f, f);
        set_bk_nextsize(f, f);
      } else {
        set_fd_nextsize(f, fdn);
        set_bk_nextsize(f, bkn);
        set_bk_nextsize(fdn, f);
        set_fd_nextsize(bkn, f);
      }
    } else {
      set_bk_nextsize(fdn, bkn);
      set_fd_nextsize(bkn, fdn);
    }
  }
}

/** malloc_init_state: empty bins, max_fast, top = the unsorted bin (size 0). */
export function malloc_init_state(av: word): void {
  for (let i: word = 1; i < <word>NBINS; ++i) {
    const b = bin_at(av, i);
    set_fd(b, b);
    set_bk(b, b);
  }
  // Only main_arena grows with brk (MORECORE_CONTIGUOUS); other arenas' heaps are separate mappings.
  if (av != main_arena) set_noncontiguous(av);
  // global_max_fast is process-wide: the main arena, set up first, sets it.
  if (av == main_arena) set_max_fast(64 * SIZE_SZ / 4);
  set_have_fastchunks(av, false);
  set_av_top(av, initial_top(av));
}
