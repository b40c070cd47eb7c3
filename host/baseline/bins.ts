// Bin indexing, the binmap, unlinking, and arena initialization.
//
//  fastbins  idx = (size >> 3) - 2        sizes 16, 32, 48, 64 (max_fast 64) → idx 0, 2, 4, 6
//  bin 1     unsorted                     any size, FIFO queue (insert at fd, take from bk)
//  bins 2-63 small: (size >> 4) + 1       sizes 16 .. 992, one size each
//  bins 64-126 large                      sizes >= 1008, log-spaced, sorted by size (largest
//            first) with a skip list over the distinct sizes (fd_nextsize/bk_nextsize)
//
// bin_at(i) is the address such that fd(bin_at(i)) is bins[2(i-1)]: bin headers are fake chunks
// inside main_arena whose fd/bk are the list ends; an empty bin links to itself.

import {
  BINMAPSHIFT, MALLOC_ALIGN_MASK, MIN_CHUNK_SIZE, MIN_LARGE_SIZE, NBINS, SIZE_SZ, SMALLBIN_CORRECTION,
} from "../../assembly/config.js";
import {
  CORRUPTED_DOUBLE_LINKED_LIST, CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL, CORRUPTED_SIZE_VS_PREV_SIZE,
} from "../../assembly/messages.js";
import { malloc_printerr, trap, type Env } from "./env.js";
import { AV_BINS, MAIN_ARENA, W_BINMAP, W_GLOBAL_MAX_FAST, W_HAVE_FASTCHUNKS, W_TOP } from "./layout.js";

const BIN1 = MAIN_ARENA + AV_BINS - 2 * SIZE_SZ;

export const bin_at = (i: number): number => BIN1 + ((i - 1) << 3);
export const unsorted_chunks = (): number => BIN1;
/** The initial top: the unsorted bin's header, whose size field (last_remainder) reads 0. */
export const initial_top = (): number => BIN1;
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
export function mark_bin(m: Uint32Array, i: number): void {
  m[W_BINMAP + (i >>> BINMAPSHIFT)] |= 1 << (i & 31);
}

/** unlink_chunk: take a free chunk out of its doubly linked bin (and the nextsize list). */
export function unlink_chunk(env: Env, p: number): void {
  const m = env.u32;
  const size = (m[(p + 4) >>> 2] & ~7) >>> 0;
  if (size !== m[(p + size) >>> 2]) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE);
  const f = m[(p + 8) >>> 2];
  const b = m[(p + 12) >>> 2];
  // f, b, fdn and bkn come from memory a bug may have overwritten: read through them as the Wasm
  // build's loads do, trapping where the field lies past the end of the 4 GiB memory.
  if (m[field(f, 12)] !== p || m[field(b, 8)] !== p) malloc_printerr(env, CORRUPTED_DOUBLE_LINKED_LIST);
  m[(f + 12) >>> 2] = b;
  m[(b + 8) >>> 2] = f;
  if (!in_smallbin_range(m[(p + 4) >>> 2]) && m[(p + 16) >>> 2] !== 0) {
    const fdn = m[(p + 16) >>> 2];
    const bkn = m[(p + 20) >>> 2];
    if (m[field(fdn, 20)] !== p || m[field(bkn, 16)] !== p) {
      malloc_printerr(env, CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL);
    }
    if (m[(f + 16) >>> 2] === 0) {
      if (fdn === p) {
        m[(f + 16) >>> 2] = f;
        m[(f + 20) >>> 2] = f;
      } else {
        m[(f + 16) >>> 2] = fdn;
        m[(f + 20) >>> 2] = bkn;
        m[(fdn + 20) >>> 2] = f;
        m[(bkn + 16) >>> 2] = f;
      }
    } else {
      m[(fdn + 20) >>> 2] = bkn;
      m[(bkn + 16) >>> 2] = fdn;
    }
  }
}

/** malloc_init_state(&main_arena): empty bins, max_fast, top = the unsorted bin (size 0). */
export function malloc_init_state(env: Env): void {
  const m = env.u32;
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(i);
    m[(b + 8) >>> 2] = b;
    m[(b + 12) >>> 2] = b;
  }
  // main_arena stays contiguous (MORECORE_CONTIGUOUS).
  set_max_fast(env, (64 * SIZE_SZ) / 4);
  m[W_HAVE_FASTCHUNKS] = 0;
  m[W_TOP] = initial_top();
}

/**
 * The word index of the field at `offset` in the chunk at `p`, where `p` was read from memory: a
 * Wasm load adds its constant offset without wrapping, so a field past the end of the 4 GiB memory
 * traps there (the real i386 process would take a SIGSEGV at the wrapped address).
 */
function field(p: number, offset: number): number {
  if (p + offset + 4 > 0x100000000) trap();
  return (p + offset) >>> 2;
}
