// free: tcache (with the double-free scan) → fastbin (LIFO, "fasttop" check) → coalesce with
// free neighbours into the unsorted bin or the top; a large enough result consolidates the
// fastbins and may trim the top (systrim). Mmapped chunks are unmapped.

import { FASTBIN_CONSOLIDATION_THRESHOLD } from "../../assembly/config.js";
import {
  CONSOLIDATE_INVALID_CHUNK_SIZE, CONSOLIDATE_UNALIGNED_FASTBIN, CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING,
  CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS, DOUBLE_FREE_FASTTOP, DOUBLE_FREE_OUT, DOUBLE_FREE_PREV, DOUBLE_FREE_TOP,
  FREE_CORRUPTED_UNSORTED, FREE_INVALID_NEXT_SIZE_FAST, FREE_INVALID_NEXT_SIZE_NORMAL, FREE_INVALID_POINTER,
  FREE_INVALID_SIZE, FREE_TCACHE_DOUBLE_FREE, FREE_TCACHE_TOO_MANY, FREE_TCACHE_UNALIGNED,
  INVALID_FASTBIN_ENTRY_FREE, ASSERT_INT_FREE_HEAP_AR_PTR,
} from "../../assembly/messages.js";
import { av_top, contiguous, fastbin, set_av_top, set_fastbin, set_have_fastchunks, have_fastchunks, system_mem } from "./arena.js";
import { arena_for_chunk, arena_for_head } from "./arenas.js";
import { fastbin_index, in_smallbin_range, unlink_chunk, unsorted_chunks } from "./bins.js";
import { aligned_OK, chunksize, misaligned_chunk, protect_ptr, size_of, without_prev_inuse } from "./chunk.js";
import { fill_checked, ld, ld16, malloc_printerr, st, wrap, type Env } from "./env.js";
import { heap_ar_ptr, heap_for_ptr, heap_trim } from "./heap.js";
import { W_GLOBAL_MAX_FAST, W_MMAP_THRESHOLD, W_NO_DYN_THRESHOLD, W_PERTURB_BYTE, W_TCACHE, W_TCACHE_BINS, W_TCACHE_COUNT, W_TOP_PAD, W_TRIM_THRESHOLD } from "./layout.js";
import { munmap_chunk, systrim } from "./sysmalloc.js";
import { get_errno, set_errno } from "./syscalls.js";
import { csize2tidx, key_matches, tcache_entry, tcache_init, tcache_put } from "./tcache.js";

/** free_perturb: fill freed user memory with perturb_byte (M_PERTURB). */
function free_perturb(env: Env, p: number, n: number): void {
  const perturb = env.mpi[W_PERTURB_BYTE]!;
  if (perturb !== 0) {
    fill_checked(env, p, perturb, n);
  }
}

/** __libc_free */
export function libc_free(env: Env, mem: number): void {
  if (mem === 0) return;
  const err = get_errno(env);
  const p = wrap(env, mem - env.CHUNK_HDR_SZ);
  // chunk_is_mmapped(p): a bad pointer may be misaligned or unmapped, and ld reads it as the Wasm
  // build does (unaligned, or SIGSEGV); _int_free's chunksize(p) reads the same word again.
  const head = ld(env, p, 4);
  if ((head & 2) !== 0) {
    // The dynamic mmap threshold: a freed mmapped chunk raises it to its size.
    const mp = env.mp;
    if (mp[W_NO_DYN_THRESHOLD] === 0 && head > mp[W_MMAP_THRESHOLD]! && head <= env.DEFAULT_MMAP_THRESHOLD_MAX) {
      mp[W_MMAP_THRESHOLD] = size_of(head);
      mp[W_TRIM_THRESHOLD] = mp[W_MMAP_THRESHOLD]! * 2;
    }
    munmap_chunk(env, p);
  } else if (env.mp[W_TCACHE] !== 0) {
    int_free_sized(env, arena_for_head(env, p, head), p, size_of(head), false);
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
  const mp = env.mp;
  const hdr = env.CHUNK_HDR_SZ;
  if (p > wrap(env, -size) || misaligned_chunk(env, p)) malloc_printerr(env, FREE_INVALID_POINTER);
  if (size < env.MINSIZE || !aligned_OK(size)) malloc_printerr(env, FREE_INVALID_SIZE);

  // ── tcache ──
  const tc = mp[W_TCACHE]!;
  const tc_idx = csize2tidx(env, size);
  if (tc !== 0 && tc_idx < mp[W_TCACHE_BINS]!) {
    const e = p + hdr;
    if (key_matches(env, e)) {
      // Probably a double free: make sure before aborting.
      const count = mp[W_TCACHE_COUNT]!;
      let cnt = 0;
      for (let tmp = tcache_entry(env, tc, tc_idx); tmp !== 0; tmp = protect_ptr(env, tmp, ld(env, tmp, 0)), ++cnt) {
        if (cnt >= count) malloc_printerr(env, FREE_TCACHE_TOO_MANY);
        if (!aligned_OK(tmp)) malloc_printerr(env, FREE_TCACHE_UNALIGNED);
        if (tmp === e) malloc_printerr(env, FREE_TCACHE_DOUBLE_FREE);
      }
    }
    if (ld16(env, tc, tc_idx) < env.mp[W_TCACHE_COUNT]!) {
      tcache_put(env, p, tc_idx);
      return;
    }
  }

  // ── fastbins ──
  if (size <= env.mp[W_GLOBAL_MAX_FAST]!) {
    const next = p + size;
    if (ld(env, next, 4) <= hdr || chunksize(env, next) >= system_mem(env, av)) {
      malloc_printerr(env, FREE_INVALID_NEXT_SIZE_FAST);
    }
    free_perturb(env, p + hdr, size - hdr);
    set_have_fastchunks(env, av, true);
    const idx = fastbin_index(env, size);
    const old = fastbin(env, av, idx);
    if (old === p) malloc_printerr(env, DOUBLE_FREE_FASTTOP);
    st(env, p, 8, protect_ptr(env, p + hdr, old));
    set_fastbin(env, av, idx, p);
    if (have_lock && old !== 0 && fastbin_index(env, chunksize(env, old)) !== idx) malloc_printerr(env, INVALID_FASTBIN_ENTRY_FREE);
    return;
  }

  if ((ld(env, p, 4) & 2) !== 0) {
    munmap_chunk(env, p);
    return;
  }

  // ── coalesce ──
  const nextchunk = wrap(env, p + size);
  const top = av_top(env, av);
  if (p === top) malloc_printerr(env, DOUBLE_FREE_TOP);
  if (contiguous(env, av) && nextchunk >= wrap(env, top + chunksize(env, top))) {
    malloc_printerr(env, DOUBLE_FREE_OUT);
  }
  if ((ld(env, nextchunk, 4) & 1) === 0) malloc_printerr(env, DOUBLE_FREE_PREV);
  const nextsize = chunksize(env, nextchunk);
  if (ld(env, nextchunk, 4) <= hdr || nextsize >= system_mem(env, av)) {
    malloc_printerr(env, FREE_INVALID_NEXT_SIZE_NORMAL);
  }
  free_perturb(env, p + hdr, size - hdr);

  if ((ld(env, p, 4) & 1) === 0) {
    const prevsize = ld(env, p, 0);
    size = wrap(env, size + prevsize);
    p = wrap(env, p - prevsize);
    if (chunksize(env, p) !== prevsize) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING);
    unlink_chunk(env, av, p);
  }

  if (nextchunk !== top) {
    if ((ld(env, wrap(env, nextchunk + nextsize), 4) & 1) === 0) {
      unlink_chunk(env, av, nextchunk);
      size += nextsize;
    } else {
      st(env, nextchunk, 4, without_prev_inuse(ld(env, nextchunk, 4)));
    }
    const bck = unsorted_chunks(env, av);
    const fwd = ld(env, bck, 8);
    if (ld(env, fwd, 12) !== bck) malloc_printerr(env, FREE_CORRUPTED_UNSORTED);
    st(env, p, 8, fwd);
    st(env, p, 12, bck);
    if (!in_smallbin_range(env, size)) {
      st(env, p, 16, 0);
      st(env, p, 20, 0);
    }
    st(env, bck, 8, p);
    st(env, fwd, 12, p);
    st(env, p, 4, size + 1);
    st(env, wrap(env, p + size), 0, size);
  } else {
    size += nextsize;
    st(env, p, 4, size + 1);
    set_av_top(env, av, p);
  }

  if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
    if (have_fastchunks(env, av)) malloc_consolidate(env, av);
    if (av === env.mainArena) {
      if (chunksize(env, av_top(env, av)) >= env.mp[W_TRIM_THRESHOLD]!) systrim(env, env.mp[W_TOP_PAD]!, av);
    } else {
      // always: the top's heap may go away whole, however small the top
      const heap = heap_for_ptr(env, av_top(env, av));
      if (heap_ar_ptr(env, heap) !== av) malloc_printerr(env, ASSERT_INT_FREE_HEAP_AR_PTR);
      heap_trim(env, heap, env.mp[W_TOP_PAD]!);
    }
  }
}

/** malloc_consolidate: empty every fastbin, coalescing each chunk into the unsorted bin or top. */
export function malloc_consolidate(env: Env, av: number): void {
  set_have_fastchunks(env, av, false);
  const unsorted_bin = unsorted_chunks(env, av);
  const nfastbins = env.NFASTBINS;
  for (let i = 0; i < nfastbins; ++i) {
    let p = fastbin(env, av, i);
    set_fastbin(env, av, i, 0);
    while (p !== 0) {
      if (misaligned_chunk(env, p)) malloc_printerr(env, CONSOLIDATE_UNALIGNED_FASTBIN);
      if (fastbin_index(env, chunksize(env, p)) !== i) malloc_printerr(env, CONSOLIDATE_INVALID_CHUNK_SIZE);
      const nextp = protect_ptr(env, p + env.CHUNK_HDR_SZ, ld(env, p, 8));
      let size = chunksize(env, p);
      const nextchunk = wrap(env, p + size);
      const nextsize = chunksize(env, nextchunk);
      if ((ld(env, p, 4) & 1) === 0) {
        const prevsize = ld(env, p, 0);
        size = wrap(env, size + prevsize);
        p = wrap(env, p - prevsize);
        if (chunksize(env, p) !== prevsize) malloc_printerr(env, CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS);
        unlink_chunk(env, av, p);
      }
      if (nextchunk !== av_top(env, av)) {
        if ((ld(env, wrap(env, nextchunk + nextsize), 4) & 1) === 0) {
          size += nextsize;
          unlink_chunk(env, av, nextchunk);
        } else {
          st(env, nextchunk, 4, without_prev_inuse(ld(env, nextchunk, 4)));
        }
        const first_unsorted = ld(env, unsorted_bin, 8);
        st(env, unsorted_bin, 8, p);
        st(env, first_unsorted, 12, p);
        if (!in_smallbin_range(env, size)) {
          st(env, p, 16, 0);
          st(env, p, 20, 0);
        }
        st(env, p, 4, size + 1);
        st(env, p, 12, unsorted_bin);
        st(env, p, 8, first_unsorted);
        st(env, wrap(env, p + size), 0, size);
      } else {
        size += nextsize;
        st(env, p, 4, size + 1);
        set_av_top(env, av, p);
      }
      p = nextp;
    }
  }
}
