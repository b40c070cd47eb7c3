// free: tcache (with the double-free scan) → fastbin (LIFO, "fasttop" check) → coalesce with
// free neighbours into the unsorted bin or the top; a large enough result consolidates the
// fastbins and may trim the top (systrim). Mmapped chunks are unmapped.

import {
  CHUNK_HDR_SZ, DEFAULT_MMAP_THRESHOLD_MAX, FASTBIN_CONSOLIDATION_THRESHOLD, MINSIZE, NFASTBINS,
} from "../../assembly/config.js";
import {
  CONSOLIDATE_INVALID_CHUNK_SIZE, CONSOLIDATE_UNALIGNED_FASTBIN, CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING,
  CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS, DOUBLE_FREE_FASTTOP, DOUBLE_FREE_OUT, DOUBLE_FREE_PREV, DOUBLE_FREE_TOP,
  FREE_CORRUPTED_UNSORTED, FREE_INVALID_NEXT_SIZE_FAST, FREE_INVALID_NEXT_SIZE_NORMAL, FREE_INVALID_POINTER,
  FREE_INVALID_SIZE, FREE_TCACHE_DOUBLE_FREE, FREE_TCACHE_TOO_MANY, FREE_TCACHE_UNALIGNED,
  INVALID_FASTBIN_ENTRY_FREE, ASSERT_INT_FREE_HEAP_AR_PTR,
} from "../../assembly/messages.js";
import { arena_for_chunk, arena_for_head } from "./arenas.js";
import { fastbin_index, in_smallbin_range, unlink_chunk, unsorted_chunks } from "./bins.js";
import { aligned_OK, chunksize, misaligned_chunk } from "./chunk.js";
import { check_range, ld, malloc_printerr, st, type Env } from "./env.js";
import { heap_ar_ptr, heap_for_ptr, heap_trim } from "./heap.js";
import {
  AV_FASTBINS, AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_SYSTEM_MEM, AV_TOP, MAIN_ARENA, NONCONTIGUOUS_BIT, W_GLOBAL_MAX_FAST,
  W_MMAP_THRESHOLD, W_NO_DYN_THRESHOLD, W_PERTURB_BYTE, W_TCACHE, W_TCACHE_BINS, W_TCACHE_COUNT, W_TCACHE_KEY,
  W_TOP_PAD, W_TRIM_THRESHOLD,
} from "./layout.js";
import { munmap_chunk, systrim } from "./sysmalloc.js";
import { get_errno, set_errno } from "./syscalls.js";
import { csize2tidx, ENTRIES_W, tcache_init, tcache_put } from "./tcache.js";

/** free_perturb: fill freed user memory with perturb_byte (M_PERTURB). */
function free_perturb(env: Env, p: number, n: number): void {
  const perturb = env.i32[W_PERTURB_BYTE];
  if (perturb !== 0) {
    check_range(env, p, n, true);
    env.u8.fill(perturb & 0xff, p, p + n);
  }
}

/** __libc_free */
export function libc_free(env: Env, mem: number): void {
  if (mem === 0) return;
  const err = get_errno(env);
  const p = (mem - CHUNK_HDR_SZ) >>> 0;
  // chunk_is_mmapped(p): a bad pointer may be misaligned or unmapped, and ld reads it as the Wasm
  // build does (unaligned, or SIGSEGV); _int_free's chunksize(p) reads the same word again.
  const head = ld(env, p, 4);
  if ((head & 2) !== 0) {
    // The dynamic mmap threshold: a freed mmapped chunk raises it to its size.
    const m = env.u32;
    if (m[W_NO_DYN_THRESHOLD] === 0 && head > m[W_MMAP_THRESHOLD] && head <= DEFAULT_MMAP_THRESHOLD_MAX) {
      m[W_MMAP_THRESHOLD] = (head & ~7) >>> 0;
      m[W_TRIM_THRESHOLD] = m[W_MMAP_THRESHOLD] * 2;
    }
    munmap_chunk(env, p);
  } else if (env.u32[W_TCACHE] !== 0) {
    int_free_sized(env, arena_for_head(env, p, head), p, (head & ~7) >>> 0, false);
  } else {
    // the first free before any malloc (or after the thread's tcache shut down): carving the
    // tcache may have changed what p points at
    tcache_init(env);
    _int_free(env, arena_for_chunk(env, p), p, false);
  }
  set_errno(env, err);
}

/** _int_free(av, p, have_lock): internal callers hold the lock, which enables
 *  the check of the fastbin's previous head. */
export function _int_free(env: Env, av: number, p: number, have_lock: boolean): void {
  int_free_sized(env, av, p, chunksize(env, p), have_lock);
}

/** _int_free, the chunk's size already read (by libc_free, which read the size field anyway). */
function int_free_sized(env: Env, av: number, p: number, size: number, have_lock: boolean): void {
  let m = env.u32;
  if (p > ((0 - size) >>> 0) || misaligned_chunk(p)) malloc_printerr(env, FREE_INVALID_POINTER);
  if (size < MINSIZE || !aligned_OK(size)) malloc_printerr(env, FREE_INVALID_SIZE);

  // ── tcache ──
  const tc = m[W_TCACHE];
  const tc_idx = csize2tidx(size);
  if (tc !== 0 && tc_idx < m[W_TCACHE_BINS]) {
    const e = p + 8;
    if (ld(env, e, 4) === m[W_TCACHE_KEY]) {
      // Probably a double free: make sure before aborting.
      const count = m[W_TCACHE_COUNT];
      let cnt = 0;
      for (let tmp = m[(tc >>> 2) + ENTRIES_W + tc_idx]; tmp !== 0; tmp = ((tmp >>> 12) ^ ld(env, tmp, 0)) >>> 0, ++cnt) {
        if (cnt >= count) malloc_printerr(env, FREE_TCACHE_TOO_MANY);
        if (!aligned_OK(tmp)) malloc_printerr(env, FREE_TCACHE_UNALIGNED);
        if (tmp === e) malloc_printerr(env, FREE_TCACHE_DOUBLE_FREE);
      }
    }
    if (env.u16[(tc >>> 1) + tc_idx] < m[W_TCACHE_COUNT]) {
      tcache_put(env, p, tc_idx);
      return;
    }
  }

  // ── fastbins ──
  if (size <= m[W_GLOBAL_MAX_FAST]) {
    const next = p + size;
    if (ld(env, next, 4) <= CHUNK_HDR_SZ || chunksize(env, next) >= m[(av + AV_SYSTEM_MEM) >>> 2]) {
      malloc_printerr(env, FREE_INVALID_NEXT_SIZE_FAST);
    }
    free_perturb(env, p + 8, size - CHUNK_HDR_SZ);
    m[(av + AV_HAVE_FASTCHUNKS) >>> 2] = 1;
    const idx = fastbin_index(size);
    const fbw = ((av + AV_FASTBINS) >>> 2) + idx;
    const old = m[fbw];
    if (old === p) malloc_printerr(env, DOUBLE_FREE_FASTTOP);
    st(env, p, 8, ((p + 8) >>> 12) ^ old);
    m[fbw] = p;
    if (have_lock && old !== 0 && fastbin_index(chunksize(env, old)) !== idx) malloc_printerr(env, INVALID_FASTBIN_ENTRY_FREE);
    return;
  }

  if ((ld(env, p, 4) & 2) !== 0) {
    munmap_chunk(env, p);
    return;
  }

  // ── coalesce ──
  const nextchunk = (p + size) >>> 0;
  const top = m[(av + AV_TOP) >>> 2];
  if (p === top) malloc_printerr(env, DOUBLE_FREE_TOP);
  if ((m[(av + AV_FLAGS) >>> 2] & NONCONTIGUOUS_BIT) === 0 && nextchunk >= ((top + chunksize(env, top)) >>> 0)) {
    malloc_printerr(env, DOUBLE_FREE_OUT);
  }
  if ((ld(env, nextchunk, 4) & 1) === 0) malloc_printerr(env, DOUBLE_FREE_PREV);
  const nextsize = chunksize(env, nextchunk);
  if (ld(env, nextchunk, 4) <= CHUNK_HDR_SZ || nextsize >= m[(av + AV_SYSTEM_MEM) >>> 2]) {
    malloc_printerr(env, FREE_INVALID_NEXT_SIZE_NORMAL);
  }
  free_perturb(env, p + 8, size - CHUNK_HDR_SZ);

  if ((ld(env, p, 4) & 1) === 0) {
    const prevsize = ld(env, p, 0);
    size = (size + prevsize) >>> 0;
    p = (p - prevsize) >>> 0;
    if (chunksize(env, p) !== prevsize) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING);
    unlink_chunk(env, av, p);
  }

  if (nextchunk !== top) {
    if ((ld(env, (nextchunk + nextsize) >>> 0, 4) & 1) === 0) {
      unlink_chunk(env, av, nextchunk);
      size += nextsize;
    } else {
      st(env, nextchunk, 4, ld(env, nextchunk, 4) & ~1);
    }
    const bck = unsorted_chunks(av);
    const fwd = ld(env, bck, 8);
    if (ld(env, fwd, 12) !== bck) malloc_printerr(env, FREE_CORRUPTED_UNSORTED);
    st(env, p, 8, fwd);
    st(env, p, 12, bck);
    if (!in_smallbin_range(size)) {
      st(env, p, 16, 0);
      st(env, p, 20, 0);
    }
    st(env, bck, 8, p);
    st(env, fwd, 12, p);
    st(env, p, 4, size | 1);
    st(env, (p + size) >>> 0, 0, size);
  } else {
    size += nextsize;
    st(env, p, 4, size | 1);
    m[(av + AV_TOP) >>> 2] = p;
  }

  if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
    if (m[(av + AV_HAVE_FASTCHUNKS) >>> 2] !== 0) malloc_consolidate(env, av);
    m = env.u32;
    if (av === MAIN_ARENA) {
      if (chunksize(env, m[(av + AV_TOP) >>> 2]) >= m[W_TRIM_THRESHOLD]) systrim(env, m[W_TOP_PAD], av);
    } else {
      // always: the top's heap may go away whole, however small the top
      const heap = heap_for_ptr(m[(av + AV_TOP) >>> 2]);
      if (heap_ar_ptr(env, heap) !== av) malloc_printerr(env, ASSERT_INT_FREE_HEAP_AR_PTR);
      heap_trim(env, heap, env.u32[W_TOP_PAD]);
    }
  }
}

/** malloc_consolidate: empty every fastbin, coalescing each chunk into the unsorted bin or top. */
export function malloc_consolidate(env: Env, av: number): void {
  const m = env.u32;
  m[(av + AV_HAVE_FASTCHUNKS) >>> 2] = 0;
  const unsorted_bin = unsorted_chunks(av);
  const fb0 = (av + AV_FASTBINS) >>> 2;
  for (let i = 0; i < NFASTBINS; ++i) {
    let p = m[fb0 + i];
    m[fb0 + i] = 0;
    while (p !== 0) {
      if (misaligned_chunk(p)) malloc_printerr(env, CONSOLIDATE_UNALIGNED_FASTBIN);
      if (fastbin_index(chunksize(env, p)) !== i) malloc_printerr(env, CONSOLIDATE_INVALID_CHUNK_SIZE);
      const nextp = (((p + 8) >>> 12) ^ ld(env, p, 8)) >>> 0;
      let size = chunksize(env, p);
      const nextchunk = (p + size) >>> 0;
      const nextsize = chunksize(env, nextchunk);
      if ((ld(env, p, 4) & 1) === 0) {
        const prevsize = ld(env, p, 0);
        size = (size + prevsize) >>> 0;
        p = (p - prevsize) >>> 0;
        if (chunksize(env, p) !== prevsize) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS);
        unlink_chunk(env, av, p);
      }
      if (nextchunk !== m[(av + AV_TOP) >>> 2]) {
        if ((ld(env, (nextchunk + nextsize) >>> 0, 4) & 1) === 0) {
          size += nextsize;
          unlink_chunk(env, av, nextchunk);
        } else {
          st(env, nextchunk, 4, ld(env, nextchunk, 4) & ~1);
        }
        const first_unsorted = ld(env, unsorted_bin, 8);
        st(env, unsorted_bin, 8, p);
        st(env, first_unsorted, 12, p);
        if (!in_smallbin_range(size)) {
          st(env, p, 16, 0);
          st(env, p, 20, 0);
        }
        st(env, p, 4, size | 1);
        st(env, p, 12, unsorted_bin);
        st(env, p, 8, first_unsorted);
        st(env, (p + size) >>> 0, 0, size);
      } else {
        size += nextsize;
        st(env, p, 4, size | 1);
        m[(av + AV_TOP) >>> 2] = p;
      }
      p = nextp;
    }
  }
}
