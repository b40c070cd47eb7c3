// Bin indexing, the binmap, unlinking, and arena initialization.
//
//  fastbins  idx = (size >> 3) - 2        sizes 16, 32, 48, 64 (max_fast 64) → idx 0, 2, 4, 6
//  bin 1     unsorted                     any size, FIFO queue (insert at fd, take from bk)
//  bins 2-63 small: (size >> 4) + 1       sizes 16 .. 992, one size each
//  bins 64-126 large                      sizes >= 1008, log-spaced, sorted by size (largest
//            first) with a skip list over the distinct sizes (fd_nextsize/bk_nextsize)
//
// bin_at(av, i) is the address such that fd(bin_at(av, i)) is av->bins[2(i-1)]: bin headers are
// fake chunks inside their arena whose fd/bk are the list ends; an empty bin links to itself.
// main_arena's are static data, always mapped: the hot paths read them without a page-map check.

import {
  BINMAPSHIFT, DEFAULT_MXFAST, MALLOC_ALIGN_MASK, MIN_CHUNK_SIZE, MIN_LARGE_SIZE, NBINS, NON_MAIN_ARENA, SIZE_SZ,
  SMALLBIN_CORRECTION,
} from "../../assembly/config.js";
import {
  CORRUPTED_DOUBLE_LINKED_LIST, CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL, CORRUPTED_SIZE_VS_PREV_SIZE,
} from "../../assembly/messages.js";
import { ld, malloc_printerr, st, type Env } from "./env.js";
import {
  AV_BINMAP, AV_BINS, AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_TOP, MAIN_ARENA, NONCONTIGUOUS_BIT, W_GLOBAL_MAX_FAST,
} from "./layout.js";

export const bin_at = (av: number, i: number): number => av + AV_BINS - 2 * SIZE_SZ + ((i - 1) << 3);
export const unsorted_chunks = (av: number): number => bin_at(av, 1);
/** The initial top: the unsorted bin's header, whose size field (last_remainder) reads 0. */
export const initial_top = (av: number): number => bin_at(av, 1);
/** The NON_MAIN_ARENA bit for the size field of a chunk handed out from av. */
export const arena_bit = (av: number): number => (av !== MAIN_ARENA ? NON_MAIN_ARENA : 0);
export const next_bin = (b: number): number => b + 2 * SIZE_SZ;

export const in_smallbin_range = (sz: number): boolean => sz < MIN_LARGE_SIZE;
export const smallbin_index = (sz: number): number => (sz >>> 4) + SMALLBIN_CORRECTION;

/** largebin_index_32_big (i386: MALLOC_ALIGNMENT 16). */
export function largebin_index(sz: number): number {
  if (sz >>> 6 <= 45) return 49 + (sz >>> 6);
  if (sz >>> 9 <= 20) return 91 + (sz >>> 9);
  if (sz >>> 12 <= 10) return 110 + (sz >>> 12);
  if (sz >>> 15 <= 4) return 119 + (sz >>> 15);
  if (sz >>> 18 <= 2) return 124 + (sz >>> 18);
  return 126;
}

export const bin_index = (sz: number): number => (in_smallbin_range(sz) ? smallbin_index(sz) : largebin_index(sz));

/** A u32 (a corrupted size may be anything), as the Wasm build's `(u32)sz >> 3) - 2`. */
export const fastbin_index = (sz: number): number => ((sz >>> 3) - 2) >>> 0;

/** global_max_fast after mallopt(M_MXFAST, s) / initialization. */
export function set_max_fast(env: Env, s: number): void {
  env.u32[W_GLOBAL_MAX_FAST] = s <= MALLOC_ALIGN_MASK - SIZE_SZ ? MIN_CHUNK_SIZE / 2 : (s + SIZE_SZ) & ~MALLOC_ALIGN_MASK;
}

// ── binmap ──────────────────────────────────────────────────────────────────
/** The word index of av->binmap[block]. */
export const binmap_w = (av: number, block: number): number => ((av + AV_BINMAP) >>> 2) + block;

export function mark_bin(m: Uint32Array, av: number, i: number): void {
  m[binmap_w(av, i >>> BINMAPSHIFT)] |= 1 << (i & 31);
}

/** unlink_chunk(av, p): take a free chunk out of its doubly linked bin (and the nextsize list).
 *  The arena is glibc's argument too, and as there the links alone say which bin. */
export function unlink_chunk(env: Env, _av: number, p: number): void {
  const size = (ld(env, p, 4) & ~7) >>> 0;
  if (size !== ld(env, (p + size) >>> 0, 0)) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE);
  const f = ld(env, p, 8);
  const b = ld(env, p, 12);
  // f, b, fdn and bkn come from memory a bug may have overwritten: ld/st go through them as the
  // Wasm build's loads and stores do, trapping past the end of the memory.
  if (ld(env, f, 12) !== p || ld(env, b, 8) !== p) malloc_printerr(env, CORRUPTED_DOUBLE_LINKED_LIST);
  st(env, f, 12, b);
  st(env, b, 8, f);
  if (!in_smallbin_range(ld(env, p, 4)) && ld(env, p, 16) !== 0) {
    const fdn = ld(env, p, 16);
    const bkn = ld(env, p, 20);
    if (ld(env, fdn, 20) !== p || ld(env, bkn, 16) !== p) {
      malloc_printerr(env, CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL);
    }
    if (ld(env, f, 16) === 0) {
      if (fdn === p) {
        st(env, f, 16, f);
        st(env, f, 20, f);
      } else {
        st(env, f, 16, fdn);
        st(env, f, 20, bkn);
        st(env, fdn, 20, f);
        st(env, bkn, 16, f);
      }
    } else {
      st(env, fdn, 20, bkn);
      st(env, bkn, 16, fdn);
    }
  }
}

/** malloc_init_state: empty bins, max_fast, top = the unsorted bin (size 0). */
export function malloc_init_state(env: Env, av: number): void {
  const m = env.u32;
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(av, i);
    m[(b + 8) >>> 2] = b;
    m[(b + 12) >>> 2] = b;
  }
  // Only main_arena grows with brk (MORECORE_CONTIGUOUS); other arenas' heaps are separate mappings.
  if (av !== MAIN_ARENA) m[(av + AV_FLAGS) >>> 2] |= NONCONTIGUOUS_BIT;
  // global_max_fast is process-wide: the main arena, set up first, sets it.
  if (av === MAIN_ARENA) set_max_fast(env, DEFAULT_MXFAST);
  m[(av + AV_HAVE_FASTCHUNKS) >>> 2] = 0;
  m[(av + AV_TOP) >>> 2] = initial_top(av);
}

