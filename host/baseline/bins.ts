// Bin indexing, the binmap, unlinking, and arena initialization.
//
//  fastbins  idx = (size >> 3) - 2        sizes 16, 32, 48, 64 (max_fast 64) → idx 0, 2, 4, 6
//            (x86-64: (size >> 4) - 2, sizes 32 .. 128, and every bin index from the 64-bit formulas)
//  bin 1     unsorted                     any size, FIFO queue (insert at fd, take from bk)
//  bins 2-63 small: (size >> 4) + 1       sizes 16 .. 992, one size each
//  bins 64-126 large                      sizes >= 1008, log-spaced, sorted by size (largest
//            first) with a skip list over the distinct sizes (fd_nextsize/bk_nextsize)
//
// bin_at(av, i) is the address such that fd(bin_at(av, i)) is av->bins[2(i-1)]: bin headers are
// fake chunks inside their arena whose fd/bk are the list ends; an empty bin links to itself.
// main_arena's are static data, always mapped: the hot paths read them without a page-map check.

import { BINMAPSHIFT, MALLOC_ALIGN_MASK, NBINS, NON_MAIN_ARENA } from "../../assembly/config.js";
import {
  CORRUPTED_DOUBLE_LINKED_LIST, CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL, CORRUPTED_SIZE_VS_PREV_SIZE,
} from "../../assembly/messages.js";
import { bin_at, binmap, set_av_top, set_binmap, set_have_fastchunks, set_noncontiguous } from "./arena.js";
import { size_of } from "./chunk.js";
import { ld, malloc_printerr, st, stw, wrap, type Env } from "./env.js";
import { W_GLOBAL_MAX_FAST } from "./layout.js";

export { bin_at } from "./arena.js";
export const unsorted_chunks = (env: Env, av: number): number => bin_at(env, av, 1);
/** The initial top: the unsorted bin's header, whose size field (last_remainder) reads 0. */
export const initial_top = (env: Env, av: number): number => bin_at(env, av, 1);
/** The NON_MAIN_ARENA bit for the size field of a chunk handed out from av. */
export const arena_bit = (env: Env, av: number): number => (av !== env.mainArena ? NON_MAIN_ARENA : 0);
export const next_bin = (env: Env, b: number): number => b + 2 * env.SIZE_SZ;

export const in_smallbin_range = (env: Env, sz: number): boolean => sz < env.MIN_LARGE_SIZE;
/** (sz in the small range: below 2^10, so the shift is any word's) */
export const smallbin_index = (env: Env, sz: number): number => (sz >>> 4) + env.SMALLBIN_CORRECTION;

/** largebin_index_32_big (i386: MALLOC_ALIGNMENT 16). */
export function largebin_index(sz: number): number {
  if (sz >>> 6 <= 45) return 49 + (sz >>> 6);
  if (sz >>> 9 <= 20) return 91 + (sz >>> 9);
  if (sz >>> 12 <= 10) return 110 + (sz >>> 12);
  if (sz >>> 15 <= 4) return 119 + (sz >>> 15);
  if (sz >>> 18 <= 2) return 124 + (sz >>> 18);
  return 126;
}

/** largebin_index_64: a size of any word, compared before it is shifted (a shift is then of a small number). */
export function largebin_index_64(sz: number): number {
  if (sz < 49 << 6) return 48 + Math.floor(sz / 64);
  if (sz < 21 << 9) return 91 + Math.floor(sz / 512);
  if (sz < 11 << 12) return 110 + Math.floor(sz / 4096);
  if (sz < 5 << 15) return 119 + Math.floor(sz / 32768);
  if (sz < 3 << 18) return 124 + Math.floor(sz / 262144);
  return 126;
}

export const largebin_index_of = (env: Env, sz: number): number => (env.wide ? largebin_index_64(sz) : largebin_index(sz));

export const bin_index = (env: Env, sz: number): number =>
  in_smallbin_range(env, sz) ? smallbin_index(env, sz) : largebin_index_of(env, sz);

/** A u32 (a corrupted size may be anything), as the Wasm build's `((u32)sz >> FASTBIN_SHIFT) - 2`. */
export const fastbin_index = (env: Env, sz: number): number => (((sz >>> 0) >>> env.FASTBIN_SHIFT) - 2) >>> 0;

/** global_max_fast after mallopt(M_MXFAST, s) / initialization. */
export function set_max_fast(env: Env, s: number): void {
  const a = s + env.SIZE_SZ;
  env.mp[W_GLOBAL_MAX_FAST] = s <= MALLOC_ALIGN_MASK - env.SIZE_SZ ? env.MIN_CHUNK_SIZE / 2 : a - (a & MALLOC_ALIGN_MASK);
}

// ── binmap ──────────────────────────────────────────────────────────────────
export function mark_bin(env: Env, av: number, i: number): void {
  const block = i >>> BINMAPSHIFT;
  set_binmap(env, av, block, binmap(env, av, block) | (1 << (i & 31)));
}

/** unlink_chunk(av, p): take a free chunk out of its doubly linked bin (and the nextsize list).
 *  The arena is glibc's argument too, and as there the links alone say which bin. */
export function unlink_chunk(env: Env, _av: number, p: number): void {
  const size = size_of(ld(env, p, 4));
  if (size !== ld(env, wrap(env, p + size), 0)) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE);
  const f = ld(env, p, 8);
  const b = ld(env, p, 12);
  // f, b, fdn and bkn come from memory a bug may have overwritten: ld/st go through them as the
  // Wasm build's loads and stores do, trapping past the end of the memory.
  if (ld(env, f, 12) !== p || ld(env, b, 8) !== p) malloc_printerr(env, CORRUPTED_DOUBLE_LINKED_LIST);
  st(env, f, 12, b);
  st(env, b, 8, f);
  if (!in_smallbin_range(env, ld(env, p, 4)) && ld(env, p, 16) !== 0) {
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
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(env, av, i);
    stw(env, b, 8, b);
    stw(env, b, 12, b);
  }
  // Only main_arena grows with brk (MORECORE_CONTIGUOUS); other arenas' heaps are separate mappings.
  const main = av === env.mainArena;
  if (!main) set_noncontiguous(env, av);
  // global_max_fast is process-wide: the main arena, set up first, sets it.
  if (main) set_max_fast(env, env.DEFAULT_MXFAST);
  set_have_fastchunks(env, av, false);
  set_av_top(env, av, initial_top(env, av));
}
