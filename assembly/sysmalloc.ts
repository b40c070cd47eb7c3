// Getting memory from the kernel and giving it back:
//  - sysmalloc: a request at or above the mmap threshold gets its own mapping; otherwise the
//    break grows by (nb + top_pad + MINSIZE - old top), page-rounded. The first time, the
//    heap start is re-aligned (chunk2mem 16-aligned) and a second sbrk rounds the end to a
//    page: on i386 the break starts page-aligned, so that is 8 bytes plus one more page.
//    When brk fails (the break ran into a mapping), mmap stands in (1 MiB-rounded) and the
//    arena becomes non-contiguous: the old top is closed by two fenceposts and freed.
//  - systrim: the top's whole pages beyond top_pad go back with a negative sbrk.
//  - mmapped chunks: prev_size holds the offset of the chunk in its mapping (8 on i386),
//    the size is the mapping length minus that offset.

import {
  CHUNK_HDR_SZ, ENOMEM, IS_MMAPPED, MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT, MINSIZE, MMAP_AS_MORECORE_SIZE,
  MREMAP_MAYMOVE, NON_MAIN_ARENA, PAGESIZE, PREV_INUSE, SIZE_SZ, SIZEOF_HEAP_INFO,
} from "./config";
import {
  av_top, contiguous, main_arena, max_system_mem, mp_, set_av_top, set_max_system_mem, set_noncontiguous,
  set_system_mem, system_mem,
} from "./arena";
import { initial_top } from "./bins";
import { chunk2mem, chunksize, prev_inuse, prev_size, set_foot, set_head, set_prev_size } from "./chunk";
import { grow_heap, heap_for_ptr, heap_size, new_heap, set_heap_ar_ptr, set_heap_prev } from "./heap";
import { _int_free } from "./free";
import { ASSERT_SYSMALLOC_OLD_SIZE, ASSERT_SYSMALLOC_OLD_TOP, BREAK_ADJUSTED, MREMAP_CHUNK_INVALID_POINTER, MUNMAP_CHUNK_INVALID_POINTER } from "./messages";
import {
  do_mremap, do_munmap, malloc_printerr, MAP_FAILED, mmap_anon, morecore, set_errno,
} from "./syscalls";
import {
  cov, COV_SYSMALLOC_MMAP, COV_SYSMALLOC_MMAP_FAILED, COV_SYSMALLOC_MMAP_FALLBACK, COV_SYSMALLOC_BRK_EXTEND,
  COV_SYSMALLOC_BRK_FIRST, COV_SYSMALLOC_FENCEPOSTS, COV_SYSMALLOC_ENOMEM, COV_SYSTRIM, COV_MUNMAP_CHUNK,
  COV_MREMAP_CHUNK, COV_MREMAP_FAILED, COV_SYSMALLOC_NEW_HEAP,
} from "./coverage";

// @ts-ignore: decorator
@inline function align_up(x: word, a: word): word { return (x + a - 1) & ~(a - 1); }
// @ts-ignore: decorator
@inline function powerof2(x: word): bool { return (x & (x - 1)) == 0; }

/** A chunk of its own mapping for a request of chunk size nb; MAP_FAILED when mmap fails. */
function sysmalloc_mmap(nb: word, av: word): word {
  // with MALLOC_ALIGNMENT == CHUNK_HDR_SZ (x86-64) the user pointer of a page-aligned chunk is aligned already
  const size = MALLOC_ALIGNMENT == CHUNK_HDR_SZ
    ? align_up(nb + SIZE_SZ, PAGESIZE)
    : align_up(nb + SIZE_SZ + MALLOC_ALIGN_MASK, PAGESIZE);
  if (size <= nb) return MAP_FAILED; // wrapped around
  const mm = mmap_anon(size, 0);
  if (mm == MAP_FAILED) return mm;
  cov(COV_SYSMALLOC_MMAP);
  let p: word;
  const front_misalign = chunk2mem(mm) & MALLOC_ALIGN_MASK;
  if (front_misalign > 0) {
    const correction = <word>MALLOC_ALIGNMENT - front_misalign;
    p = mm + correction;
    set_prev_size(p, correction);
    set_head(p, (size - correction) | IS_MMAPPED);
  } else {
    p = mm;
    set_prev_size(p, 0);
    set_head(p, size | IS_MMAPPED);
  }
  const n = ++mp_.n_mmaps;
  if (n > mp_.max_n_mmaps) mp_.max_n_mmaps = n;
  const sum = mp_.mmapped_mem += size;
  if (sum > mp_.max_mmapped_mem) mp_.max_mmapped_mem = sum;
  return chunk2mem(p);
}

/** sysmalloc(nb, av): called when no bin and not the top can serve nb. */
export function sysmalloc(nb: word, av: word): word {
  let tried_mmap = false;
  // av 0: no arena could be had, only a mapping of its own
  if (av == 0 || (nb >= mp_.mmap_threshold && mp_.n_mmaps < mp_.n_mmaps_max)) {
    const mm = sysmalloc_mmap(nb, av);
    if (mm != MAP_FAILED) return mm;
    cov(COV_SYSMALLOC_MMAP_FAILED);
    tried_mmap = true;
  }
  if (av == 0) return 0;

  const old_top = av_top(av);
  let old_size = chunksize(old_top);
  const old_end = old_top + old_size;
  // the first time the top is the empty initial one; later it is a real chunk ending on a page
  if (!((old_top == initial_top(av) && old_size == 0) ||
    (old_size >= <word>MINSIZE && prev_inuse(old_top) && (old_end & (PAGESIZE - 1)) == 0))) {
    malloc_printerr(ASSERT_SYSMALLOC_OLD_TOP);
  }
  if (old_size >= nb + MINSIZE) malloc_printerr(ASSERT_SYSMALLOC_OLD_SIZE);

  if (av != main_arena) {
    // A non-main arena grows its heap, else maps another one, else tries a mapping of its own
    // (even past M_MMAP_MAX, when the request is too big for a heap).
    const old_heap = heap_for_ptr(old_top);
    const old_heap_size = heap_size(old_heap);
    let heap: word;
    if (<sword>(<word>MINSIZE + nb - old_size) > 0 && grow_heap(old_heap, <word>MINSIZE + nb - old_size) == 0) {
      const grown = heap_size(old_heap);
      set_system_mem(av, system_mem(av) + grown - old_heap_size);
      set_head(old_top, (old_heap + grown - old_top) | PREV_INUSE);
    } else if ((heap = new_heap(nb + (MINSIZE + SIZEOF_HEAP_INFO), mp_.top_pad)) != 0) {
      cov(COV_SYSMALLOC_NEW_HEAP);
      set_heap_ar_ptr(heap, av);
      set_heap_prev(heap, old_heap);
      set_system_mem(av, system_mem(av) + heap_size(heap));
      const top = heap + SIZEOF_HEAP_INFO;
      set_av_top(av, top);
      set_head(top, (heap_size(heap) - SIZEOF_HEAP_INFO) | PREV_INUSE);
      // The old top is closed by a fencepost of MINSIZE (it may become the top again when heap_trim
      // deletes the new heap: it has a foot, though in use) and what is left of it is freed.
      old_size = (old_size - MINSIZE) & ~(<word>MALLOC_ALIGN_MASK);
      set_head(old_top + old_size + CHUNK_HDR_SZ, 0 | PREV_INUSE);
      if (old_size >= <word>MINSIZE) {
        set_head(old_top + old_size, CHUNK_HDR_SZ | PREV_INUSE);
        set_foot(old_top + old_size, CHUNK_HDR_SZ);
        set_head(old_top, old_size | PREV_INUSE | NON_MAIN_ARENA);
        _int_free(av, old_top, true);
      } else {
        set_head(old_top, (old_size + CHUNK_HDR_SZ) | PREV_INUSE);
        set_foot(old_top, old_size + CHUNK_HDR_SZ);
      }
    } else if (!tried_mmap) {
      const mm = sysmalloc_mmap(nb, av);
      if (mm != MAP_FAILED) return mm;
    }
  } else {
    let brk: word = 0; // MORECORE_FAILURE
    let snd_brk: word = 0;

    let size: sword = <sword>(nb + mp_.top_pad + MINSIZE);
    if (contiguous(av)) size -= <sword>old_size;
    size = <sword>align_up(<word>size, PAGESIZE);
    if (size > 0) brk = morecore(size);

    if (brk == 0) {
      // mmap as a stand-in for a failed brk (sysmalloc_mmap_fallback).
      // glibc 2.36 passes (pagesize, MMAP_AS_MORECORE_SIZE) where the function takes (minsize,
      // pagesize): while the arena is contiguous the size, old top included, is rounded up to a
      // multiple of 1 MiB; afterwards it stays page-rounded, one page at least (later glibc swapped
      // them back).
      let msize = size;
      if (contiguous(av)) msize = <sword>align_up(<word>msize + old_size, MMAP_AS_MORECORE_SIZE);
      if (<word>msize < <word>PAGESIZE) msize = PAGESIZE;
      if (<word>msize > nb) {
        const mbrk = mmap_anon(<word>msize, 0);
        if (mbrk != MAP_FAILED) {
          cov(COV_SYSMALLOC_MMAP_FALLBACK);
          set_noncontiguous(av);
          size = msize;
          brk = mbrk;
          snd_brk = brk + <word>size;
        }
      }
    }

    if (brk != 0) {
      if (mp_.sbrk_base == 0) mp_.sbrk_base = brk;
      set_system_mem(av, system_mem(av) + <word>size);

      if (brk == old_end && snd_brk == 0) {
        // the break simply grew the top
        cov(COV_SYSMALLOC_BRK_EXTEND);
        set_head(old_top, (<word>size + old_size) | PREV_INUSE);
      } else if (contiguous(av) && old_size != 0 && brk < old_end) {
        malloc_printerr(BREAK_ADJUSTED);
      } else {
        let correction: word = 0;
        let aligned_brk = brk;
        if (contiguous(av)) {
          cov(COV_SYSMALLOC_BRK_FIRST);
          // A foreign sbrk moved the break: count the gap as ours.
          if (old_size != 0) set_system_mem(av, system_mem(av) + (brk - old_end));
          const front_misalign = chunk2mem(brk) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) {
            correction = <word>MALLOC_ALIGNMENT - front_misalign;
            aligned_brk += correction;
          }
          // old top cannot be merged: ask again for its size, and round the end to a page
          correction += old_size;
          const end_misalign = brk + <word>size + correction;
          correction += align_up(end_misalign, PAGESIZE) - end_misalign;
          snd_brk = morecore(<sword>correction);
          if (snd_brk == 0) {
            correction = 0;
            snd_brk = morecore(0);
          }
        } else {
          const front_misalign = chunk2mem(brk) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) aligned_brk += <word>MALLOC_ALIGNMENT - front_misalign;
          if (snd_brk == 0) snd_brk = morecore(0);
        }

        if (snd_brk != 0) {
          set_av_top(av, aligned_brk);
          set_head(aligned_brk, (snd_brk - aligned_brk + correction) | PREV_INUSE);
          set_system_mem(av, system_mem(av) + correction);
          if (old_size != 0) {
            // Two fenceposts close the old top; what is left of it is freed.
            cov(COV_SYSMALLOC_FENCEPOSTS);
            old_size = (old_size - 2 * CHUNK_HDR_SZ) & ~(<word>MALLOC_ALIGN_MASK);
            set_head(old_top, old_size | PREV_INUSE);
            set_head(old_top + old_size, CHUNK_HDR_SZ | PREV_INUSE);
            set_head(old_top + old_size + CHUNK_HDR_SZ, CHUNK_HDR_SZ | PREV_INUSE);
            if (old_size >= <word>MINSIZE) _int_free(av, old_top, true);
          }
        }
      }
    }
  }

  if (system_mem(av) > max_system_mem(av)) set_max_system_mem(av, system_mem(av));

  const p = av_top(av);
  const topsize = chunksize(p);
  if (topsize >= nb + MINSIZE) {
    const remainder = p + nb;
    set_av_top(av, remainder);
    set_head(p, nb | PREV_INUSE | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
    set_head(remainder, (topsize - nb) | PREV_INUSE);
    return chunk2mem(p);
  }
  cov(COV_SYSMALLOC_ENOMEM);
  set_errno(ENOMEM);
  return 0;
}

/** systrim: give the top's free whole pages beyond `pad` back to the kernel. 1 if released. */
export function systrim(pad: word, av: word): i32 {
  const top = av_top(av);
  const top_size = chunksize(top);
  const top_area = top_size - MINSIZE - 1; // a long in glibc, compared as unsigned
  if (top_area <= pad) return 0;
  const extra = <sword>((top_area - pad) & ~(<word>PAGESIZE - 1));
  if (extra == 0) return 0;
  const current_brk = morecore(0);
  if (current_brk == top + top_size) {
    morecore(-extra);
    const new_brk = morecore(0);
    if (new_brk != 0) {
      const released = current_brk - new_brk;
      if (released != 0) {
        cov(COV_SYSTRIM);
        set_system_mem(av, system_mem(av) - released);
        set_head(top, (top_size - released) | PREV_INUSE);
        return 1;
      }
    }
  }
  return 0;
}

/** munmap_chunk: unmap an mmapped chunk's whole mapping. */
export function munmap_chunk(p: word): void {
  const size = chunksize(p);
  const mem = chunk2mem(p);
  const block = p - prev_size(p);
  const total_size = prev_size(p) + size;
  if (((block | total_size) & (PAGESIZE - 1)) != 0 || !powerof2(mem & (PAGESIZE - 1))) {
    malloc_printerr(MUNMAP_CHUNK_INVALID_POINTER);
  }
  cov(COV_MUNMAP_CHUNK);
  mp_.n_mmaps--;
  mp_.mmapped_mem -= total_size;
  do_munmap(block, total_size);
}

/** mremap_chunk: resize an mmapped chunk's mapping (may move); 0 when mremap fails. */
export function mremap_chunk(p0: word, nb: word): word {
  const offset = prev_size(p0);
  const size = chunksize(p0);
  const block = p0 - offset;
  const mem = chunk2mem(p0);
  const total_size = offset + size;
  if (((block | total_size) & (PAGESIZE - 1)) != 0 || !powerof2(mem & (PAGESIZE - 1))) {
    malloc_printerr(MREMAP_CHUNK_INVALID_POINTER);
  }
  const new_size = align_up(nb + offset + SIZE_SZ, PAGESIZE);
  if (total_size == new_size) return p0;
  const cp = do_mremap(block, total_size, new_size, MREMAP_MAYMOVE);
  if (cp == MAP_FAILED) {
    cov(COV_MREMAP_FAILED);
    return 0;
  }
  cov(COV_MREMAP_CHUNK);
  const p = cp + offset;
  if (!ASC_NO_ASSERT) assert(prev_size(p) == offset && ((p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) == 0);
  set_head(p, (new_size - offset) | IS_MMAPPED);
  const sum = mp_.mmapped_mem += new_size - size - offset;
  if (sum > mp_.max_mmapped_mem) mp_.max_mmapped_mem = sum;
  return p;
}
