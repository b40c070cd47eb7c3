// free: tcache (with the double-free scan) → fastbin (LIFO, "fasttop" check) → coalesce with
// free neighbours into the unsorted bin or the top; a large enough result consolidates the
// fastbins and may trim the top (systrim). Mmapped chunks are unmapped.

import {
  CHUNK_HDR_SZ, DEFAULT_MMAP_THRESHOLD_MAX, FASTBIN_CONSOLIDATION_THRESHOLD, IS_MMAPPED, MINSIZE, NFASTBINS,
  PREV_INUSE, SIZE_BITS, SIZE_SZ,
} from "./config";
import {
  av_top, contiguous, fastbin_addr, have_fastchunks, main_arena, mp_, set_av_top, set_have_fastchunks, system_mem,
} from "./arena";
import { bin_fd, fastbin_index, in_smallbin_range, set_bin_fd, unlink_chunk, unsorted_chunks } from "./bins";
import {
  aligned_OK, bk, chunk2mem, chunk_main_arena, chunksize, chunksize_nomask, fd, inuse_bit_at_offset,
  mem2chunk, misaligned_chunk, prev_inuse, prev_size, protect_ptr, set_bk, set_fd,
  set_fd_nextsize, set_foot, set_head, clear_inuse_bit_at_offset, st_link_next,
  ld,
} from "./chunk";
import {
  CONSOLIDATE_INVALID_CHUNK_SIZE, CONSOLIDATE_UNALIGNED_FASTBIN, CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING,
  CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS, DOUBLE_FREE_FASTTOP, DOUBLE_FREE_OUT, DOUBLE_FREE_PREV, DOUBLE_FREE_TOP,
  FREE_CORRUPTED_UNSORTED, FREE_INVALID_NEXT_SIZE_FAST, FREE_INVALID_NEXT_SIZE_NORMAL, FREE_INVALID_POINTER,
  FREE_INVALID_SIZE, FREE_TCACHE_DOUBLE_FREE, FREE_TCACHE_TOO_MANY, FREE_TCACHE_UNALIGNED,
  INVALID_FASTBIN_ENTRY_FREE, ASSERT_INT_FREE_HEAP_AR_PTR,
} from "./messages";
import { munmap_chunk, systrim } from "./sysmalloc";
import { arena_for_chunk, arena_for_head } from "./arenas";
import { heap_ar_ptr, heap_for_ptr, heap_trim } from "./heap";
import { fill_checked, read_ok, write_ok } from "./pagemap";
import { get_errno, malloc_printerr, set_errno } from "./syscalls";
import { load_word, store_word } from "./vm";
import { csize2tidx, tcache_count, tcache_entry, tcache_init, tcache_put } from "./tcache";
import {
  cov, COV_FREE_MMAPPED, COV_FREE_DYN_THRESHOLD, COV_TCACHE_DOUBLE_FREE_SCAN, COV_TCACHE_PUT, COV_FASTBIN_PUT,
  COV_FREE_COALESCE_PREV, COV_FREE_COALESCE_NEXT, COV_FREE_TO_UNSORTED, COV_FREE_INTO_TOP,
  COV_FREE_CONSOLIDATE, COV_FREE_TRIM, COV_CONSOLIDATE_CHUNK, COV_CONSOLIDATE_PREV, COV_CONSOLIDATE_NEXT,
  COV_CONSOLIDATE_INTO_TOP,
} from "./coverage";

/** free_perturb: fill freed user memory with perturb_byte (M_PERTURB); the test inline, the
 *  fill out of line. */
// @ts-ignore: decorator
@inline export function free_perturb(p: word, n: word): void {
  if (mp_.perturb_byte != 0) free_perturb_fill(p, n);
}

function free_perturb_fill(p: word, n: word): void {
  fill_checked(p, <u8>mp_.perturb_byte, n);
}

/** __libc_free */
export function libc_free(mem: word): void {
  if (mem == 0) return;
  const err = get_errno();
  const p = mem2chunk(mem);
  // p->size, loaded once: glibc's later reads of it here and in _int_free see the same word
  // (nothing stores in between), so they are that value
  const head = chunksize_nomask(p);
  if ((head & IS_MMAPPED) != 0) {
    // The dynamic mmap threshold: a freed mmapped chunk raises it to its size.
    cov(COV_FREE_MMAPPED);
    const sz = head;
    if (!mp_.no_dyn_threshold && sz > mp_.mmap_threshold && sz <= <word>DEFAULT_MMAP_THRESHOLD_MAX) {
      cov(COV_FREE_DYN_THRESHOLD);
      mp_.mmap_threshold = head & ~(<word>SIZE_BITS);
      mp_.trim_threshold = mp_.mmap_threshold << 1;
    }
    munmap_chunk(p);
  } else {
    if (mp_.tcache == 0) {
      tcache_init(); // may call the host (brk) and store into the heap: p->size is read again
      _int_free(arena_for_chunk(p), p, false);
    } else {
      _int_free_head(arena_for_head(p, head), p, head, false);
    }
  }
  set_errno(err);
}

/** _int_free(av, p, have_lock): internal callers hold the lock, which enables the check of the
 *  fastbin's previous head. */
// @ts-ignore: decorator
@inline export function _int_free(av: word, p0: word, have_lock: bool): void {
  _int_free_head(av, p0, chunksize_nomask(p0), have_lock);
}

/** _int_free, its first load (p->size) made by the caller: `head`. */
export function _int_free_head(av: word, p0: word, head: word, have_lock: bool): void {
  let p = p0;
  let size = head & ~(<word>SIZE_BITS);
  if (p > <word>0 - size || misaligned_chunk(p)) malloc_printerr(FREE_INVALID_POINTER);
  if (size < <word>MINSIZE || !aligned_OK(size)) malloc_printerr(FREE_INVALID_SIZE);

  // ── tcache ──
  const tc = mp_.tcache;
  const tc_idx = csize2tidx(size);
  // p + 8 is 16-aligned (misaligned_chunk above): fd (the tcache entry's next) and bk (its key)
  // share that block; `proven` while a store-span test found it writable and no call into the
  // host came since
  let proven = false;
  if (tc != 0 && tc_idx < mp_.tcache_bins) {
    const e = chunk2mem(p);
    proven = write_ok(e);
    if ((proven ? load_word(e, SIZE_SZ) : ld(e, SIZE_SZ)) == mp_.tcache_key) {
      // Probably a double free: make sure before aborting.
      cov(COV_TCACHE_DOUBLE_FREE_SCAN);
      proven = false; // the scan's checks may call the host
      let cnt: word = 0;
      for (let tmp = tcache_entry(tc, tc_idx); tmp != 0; tmp = protect_ptr(tmp, ld(tmp, 0)), ++cnt) {
        if (cnt >= mp_.tcache_count) malloc_printerr(FREE_TCACHE_TOO_MANY);
        if (!aligned_OK(tmp)) malloc_printerr(FREE_TCACHE_UNALIGNED);
        if (tmp == e) malloc_printerr(FREE_TCACHE_DOUBLE_FREE);
      }
    }
    if (<word>tcache_count(tc, tc_idx) < mp_.tcache_count) {
      cov(COV_TCACHE_PUT);
      tcache_put(p, tc_idx, proven);
      return;
    }
  }

  // ── fastbins ──
  if (size <= mp_.global_max_fast) {
    const next = p + size;
    // next->size, read twice by glibc with nothing stored in between
    let nexthead: word;
    if (read_ok(next + SIZE_SZ)) nexthead = load_word(next, SIZE_SZ);
    else {
      proven = false; // the check may call the host
      nexthead = chunksize_nomask(next);
    }
    if (nexthead <= <word>CHUNK_HDR_SZ || (nexthead & ~(<word>SIZE_BITS)) >= system_mem(av)) {
      malloc_printerr(FREE_INVALID_NEXT_SIZE_FAST);
    }
    cov(COV_FASTBIN_PUT);
    if (mp_.perturb_byte != 0) proven = false; // the fill's check may call the host
    free_perturb(chunk2mem(p), size - CHUNK_HDR_SZ);
    set_have_fastchunks(av, true);
    const idx = fastbin_index(size);
    const fb = fastbin_addr(av, idx);
    const old = load_word(fb);
    if (old == p) malloc_printerr(DOUBLE_FREE_FASTTOP);
    if (proven) store_word(p, protect_ptr(p + CHUNK_HDR_SZ, old), CHUNK_HDR_SZ);
    else set_fd(p, protect_ptr(p + CHUNK_HDR_SZ, old));
    store_word(fb, p);
    if (have_lock && old != 0 && fastbin_index(chunksize(old)) != idx) malloc_printerr(INVALID_FASTBIN_ENTRY_FREE);
    return;
  }

  if ((head & IS_MMAPPED) != 0) { // p->size: nothing stored since it was read
    munmap_chunk(p);
    return;
  }

  // ── coalesce ──
  if (!ASC_NO_ASSERT) assert(chunk_main_arena(p) == (av == main_arena)); // the chunk's arena bit names av
  const nextchunk = p + size;
  const top = av_top(av);
  if (p == top) malloc_printerr(DOUBLE_FREE_TOP);
  if (contiguous(av) && nextchunk >= top + chunksize(top)) malloc_printerr(DOUBLE_FREE_OUT);
  // nextchunk->size: glibc reads it three times, with no store in between
  const nexthead = chunksize_nomask(nextchunk);
  if ((nexthead & PREV_INUSE) == 0) malloc_printerr(DOUBLE_FREE_PREV);
  const nextsize = nexthead & ~(<word>SIZE_BITS);
  if (nexthead <= <word>CHUNK_HDR_SZ || nextsize >= system_mem(av)) {
    malloc_printerr(FREE_INVALID_NEXT_SIZE_NORMAL);
  }
  free_perturb(chunk2mem(p), size - CHUNK_HDR_SZ);

  if (!prev_inuse(p)) {
    cov(COV_FREE_COALESCE_PREV);
    const prevsize = prev_size(p);
    size += prevsize;
    p -= prevsize;
    if (chunksize(p) != prevsize) malloc_printerr(CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING);
    unlink_chunk(av, p);
  }

  if (nextchunk != top) {
    if (!inuse_bit_at_offset(nextchunk, nextsize)) {
      cov(COV_FREE_COALESCE_NEXT);
      unlink_chunk(av, nextchunk);
      size += nextsize;
    } else {
      clear_inuse_bit_at_offset(nextchunk, 0);
    }
    const bck = unsorted_chunks(av);
    const fwd = bin_fd(bck);
    if (bk(fwd) != bck) malloc_printerr(FREE_CORRUPTED_UNSORTED);
    cov(COV_FREE_TO_UNSORTED);
    set_fd(p, fwd);
    st_link_next(p, 3 * SIZE_SZ, bck);
    if (!in_smallbin_range(size)) {
      st_link_next(p, 4 * SIZE_SZ, 0);
      st_link_next(p, 5 * SIZE_SZ, 0);
    }
    set_bin_fd(bck, p);
    set_bk(fwd, p);
    set_head(p, size | PREV_INUSE);
    set_foot(p, size);
  } else {
    cov(COV_FREE_INTO_TOP);
    size += nextsize;
    set_head(p, size | PREV_INUSE);
    set_av_top(av, p);
  }

  if (size >= <word>FASTBIN_CONSOLIDATION_THRESHOLD) {
    if (have_fastchunks(av)) {
      cov(COV_FREE_CONSOLIDATE);
      malloc_consolidate(av);
    }
    if (av == main_arena) {
      if (chunksize(av_top(av)) >= mp_.trim_threshold) {
        cov(COV_FREE_TRIM);
        systrim(mp_.top_pad, av);
      }
    } else {
      // always: the top's heap may go away whole, however small the top
      const heap = heap_for_ptr(av_top(av));
      if (heap_ar_ptr(heap) != av) malloc_printerr(ASSERT_INT_FREE_HEAP_AR_PTR);
      heap_trim(heap, mp_.top_pad);
    }
  }
}

/** malloc_consolidate: empty every fastbin, coalescing each chunk into the unsorted bin or top. */
export function malloc_consolidate(av: word): void {
  set_have_fastchunks(av, false);
  const unsorted_bin = unsorted_chunks(av);
  for (let i: word = 0; i < <word>NFASTBINS; ++i) {
    const fb = fastbin_addr(av, i);
    let p = load_word(fb);
    store_word(fb, 0);
    while (p != 0) {
      cov(COV_CONSOLIDATE_CHUNK);
      if (misaligned_chunk(p)) malloc_printerr(CONSOLIDATE_UNALIGNED_FASTBIN);
      if (fastbin_index(chunksize(p)) != i) malloc_printerr(CONSOLIDATE_INVALID_CHUNK_SIZE);
      const nextp = protect_ptr(p + CHUNK_HDR_SZ, fd(p));
      let size = chunksize(p);
      const nextchunk = p + size;
      const nextsize = chunksize(nextchunk);
      if (!prev_inuse(p)) {
        cov(COV_CONSOLIDATE_PREV);
        const prevsize = prev_size(p);
        size += prevsize;
        p -= prevsize;
        if (chunksize(p) != prevsize) malloc_printerr(CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS);
        unlink_chunk(av, p);
      }
      if (nextchunk != av_top(av)) {
        if (!inuse_bit_at_offset(nextchunk, nextsize)) {
          cov(COV_CONSOLIDATE_NEXT);
          size += nextsize;
          unlink_chunk(av, nextchunk);
        } else {
          clear_inuse_bit_at_offset(nextchunk, 0);
        }
        const first_unsorted = bin_fd(unsorted_bin);
        set_bin_fd(unsorted_bin, p);
        set_bk(first_unsorted, p);
        if (!in_smallbin_range(size)) {
          set_fd_nextsize(p, 0);
          st_link_next(p, 5 * SIZE_SZ, 0);
        }
        set_head(p, size | PREV_INUSE);
        set_bk(p, unsorted_bin);
        st_link_next(p, 2 * SIZE_SZ, first_unsorted);
        set_foot(p, size);
      } else {
        cov(COV_CONSOLIDATE_INTO_TOP);
        size += nextsize;
        set_head(p, size | PREV_INUSE);
        set_av_top(av, p);
      }
      p = nextp;
    }
  }
}
