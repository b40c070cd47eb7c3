// realloc: mmapped chunks are resized with mremap; heap chunks grow in place into the top or
// a free successor, else move (malloc, copy, free); a shrink frees the tail when it is at
// least MINSIZE.

import { CHUNK_HDR_SZ, ENOMEM, IS_MMAPPED, MALLOC_ALIGN_MASK, MINSIZE, NON_MAIN_ARENA, PREV_INUSE, SIZE_BITS, SIZE_SZ } from "./config";
import { av_top, main_arena, mp_, set_av_top, system_mem } from "./arena";
import { unlink_chunk } from "./bins";
import {
  checked_request2size, chunk2mem, chunk_is_mmapped, chunksize, chunksize_nomask, inuse, mem2chunk, memsize,
  misaligned_chunk, set_head, set_head_size, set_inuse_bit_at_offset,
} from "./chunk";
import { _int_free, libc_free } from "./free";
import { arena_for_chunk, arena_for_head } from "./arenas";
import { _int_malloc, libc_malloc, ptmalloc_init } from "./malloc";
import { REALLOC_INVALID_NEXT_SIZE, REALLOC_INVALID_OLD_SIZE, REALLOC_INVALID_POINTER } from "./messages";
import { munmap_chunk, mremap_chunk } from "./sysmalloc";
import { copy_checked } from "./pagemap";
import { malloc_printerr, set_errno } from "./syscalls";
import { tcache_init } from "./tcache";
import {
  cov, COV_REALLOC_FREE, COV_REALLOC_MALLOC, COV_REALLOC_MMAPPED_MREMAP, COV_REALLOC_MMAPPED_KEEP,
  COV_REALLOC_MMAPPED_COPY, COV_REALLOC_SHRINK, COV_REALLOC_GROW_TOP, COV_REALLOC_GROW_NEXT, COV_REALLOC_MOVE,
  COV_REALLOC_SPLIT,
} from "./coverage";

/** __libc_realloc */
export function libc_realloc(oldmem: word, bytes: word): word {
  if (!mp_.malloc_initialized) ptmalloc_init();
  if (bytes == 0 && oldmem != 0) {
    cov(COV_REALLOC_FREE);
    libc_free(oldmem);
    return 0;
  }
  if (oldmem == 0) {
    cov(COV_REALLOC_MALLOC);
    return libc_malloc(bytes);
  }

  const oldp = mem2chunk(oldmem);
  // oldp->size, loaded once: glibc reads it again for chunk_is_mmapped and arena_for_chunk, with
  // nothing stored in between unless the tcache is made first (which may store into the heap)
  const oldhead = chunksize_nomask(oldp);
  const oldsize = oldhead & ~(<word>SIZE_BITS);
  let av: word = 0;
  if ((oldhead & IS_MMAPPED) == 0) {
    if (mp_.tcache == 0) {
      tcache_init();
      av = arena_for_chunk(oldp);
    } else {
      av = arena_for_head(oldp, oldhead);
    }
  }

  if (oldp > <word>0 - oldsize || misaligned_chunk(oldp)) malloc_printerr(REALLOC_INVALID_POINTER);

  const nb = checked_request2size(bytes);
  if (nb == 0) {
    set_errno(ENOMEM);
    return 0;
  }

  if (chunk_is_mmapped(oldp)) {
    const newp = mremap_chunk(oldp, nb);
    if (newp != 0) {
      cov(COV_REALLOC_MMAPPED_MREMAP);
      return chunk2mem(newp);
    }
    if (oldsize - SIZE_SZ >= nb) {
      cov(COV_REALLOC_MMAPPED_KEEP);
      return oldmem; // do nothing
    }
    cov(COV_REALLOC_MMAPPED_COPY);
    const newmem = libc_malloc(bytes);
    if (newmem == 0) return 0;
    copy_checked(newmem, oldmem, oldsize - CHUNK_HDR_SZ);
    munmap_chunk(oldp);
    return newmem;
  }
  const newp = _int_realloc(av, oldp, oldsize, nb);
  if (newp != 0 || !mp_.multiple_threads) return newp;
  // with threads, try harder: a block from any arena the thread can get, then copy and free
  const newmem = libc_malloc(bytes);
  if (newmem != 0) {
    copy_checked(newmem, oldmem, memsize(oldp));
    _int_free(av, oldp, false);
  }
  return newmem;
}

/** _int_realloc */
export function _int_realloc(av: word, oldp: word, oldsize: word, nb: word): word {
  if (chunksize_nomask(oldp) <= <word>CHUNK_HDR_SZ || oldsize >= system_mem(av)) malloc_printerr(REALLOC_INVALID_OLD_SIZE);
  const next = oldp + oldsize;
  const nextsize = chunksize(next);
  if (chunksize_nomask(next) <= <word>CHUNK_HDR_SZ || nextsize >= system_mem(av)) malloc_printerr(REALLOC_INVALID_NEXT_SIZE);

  let newp: word;
  let newsize: word;
  if (oldsize >= nb) {
    cov(COV_REALLOC_SHRINK);
    newp = oldp;
    newsize = oldsize;
  } else {
    const top = av_top(av);
    if (next == top && (newsize = oldsize + nextsize) >= nb + MINSIZE) {
      // grow into the top
      cov(COV_REALLOC_GROW_TOP);
      set_head_size(oldp, nb | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
      set_av_top(av, oldp + nb);
      set_head(oldp + nb, (newsize - nb) | PREV_INUSE);
      return chunk2mem(oldp);
    } else if (next != top && !inuse(next) && (newsize = oldsize + nextsize) >= nb) {
      // grow into the free successor
      cov(COV_REALLOC_GROW_NEXT);
      newp = oldp;
      unlink_chunk(av, next);
    } else {
      const newmem = _int_malloc(av, nb - MALLOC_ALIGN_MASK);
      if (newmem == 0) return 0;
      newp = mem2chunk(newmem);
      newsize = chunksize(newp);
      if (newp == next) {
        // the new chunk is the successor: no copy
        newsize += oldsize;
        newp = oldp;
      } else {
        cov(COV_REALLOC_MOVE);
        const oldmem = chunk2mem(oldp);
        copy_checked(newmem, oldmem, memsize(oldp));
        _int_free(av, oldp, true);
        return newmem;
      }
    }
  }

  const remainder_size = newsize - nb;
  if (remainder_size < <word>MINSIZE) {
    set_head_size(newp, newsize | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
    set_inuse_bit_at_offset(newp, newsize);
  } else {
    cov(COV_REALLOC_SPLIT);
    const remainder = newp + nb;
    set_head_size(newp, nb | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
    set_head(remainder, remainder_size | PREV_INUSE | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
    set_inuse_bit_at_offset(remainder, remainder_size);
    _int_free(av, remainder, true);
  }
  return chunk2mem(newp);
}

/** reallocarray: realloc(ptr, nmemb * size) with the product checked. */
export function libc_reallocarray(ptr: word, nmemb: word, size: word): word {
  if (sizeof<word>() == 8) {
    // the product overflows size_t, found without it
    if (nmemb != 0 && size > <word>-1 / nmemb) {
      set_errno(ENOMEM);
      return 0;
    }
    return libc_realloc(ptr, nmemb * size);
  }
  const product = <u64>nmemb * <u64>size;
  if (product > 0xffffffff) {
    set_errno(ENOMEM);
    return 0;
  }
  return libc_realloc(ptr, <word>product);
}

