// realloc: mmapped chunks are resized with mremap; heap chunks grow in place into the top or
// a free successor, else move (malloc, copy, free); a shrink frees the tail when it is at
// least MINSIZE.

import { CHUNK_HDR_SZ, ENOMEM, MALLOC_ALIGN_MASK, MINSIZE, SIZE_SZ } from "../../assembly/config.js";
import { REALLOC_INVALID_NEXT_SIZE, REALLOC_INVALID_OLD_SIZE, REALLOC_INVALID_POINTER } from "../../assembly/messages.js";
import { arena_bit, unlink_chunk } from "./bins.js";
import {
  checked_request2size, chunk_is_mmapped, chunksize, inuse, memsize, misaligned_chunk, set_head, set_head_size,
  set_inuse_bit_at_offset,
} from "./chunk.js";
import { check_range, ld, malloc_printerr, type Env } from "./env.js";
import { _int_free, libc_free } from "./free.js";
import { arena_for_chunk, arena_for_head } from "./arenas.js";
import { AV_SYSTEM_MEM, AV_TOP, W_MALLOC_INITIALIZED, W_MULTIPLE_THREADS, W_TCACHE } from "./layout.js";
import { _int_malloc, libc_malloc, ptmalloc_init } from "./malloc.js";
import { munmap_chunk, mremap_chunk } from "./sysmalloc.js";
import { set_errno } from "./syscalls.js";
import { tcache_init } from "./tcache.js";

/** __libc_realloc */
export function libc_realloc(env: Env, oldmem: number, bytes: number): number {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  if (bytes === 0 && oldmem !== 0) {
    libc_free(env, oldmem);
    return 0;
  }
  if (oldmem === 0) return libc_malloc(env, bytes);

  const oldp = (oldmem - CHUNK_HDR_SZ) >>> 0;
  // chunksize(oldp), then chunk_is_mmapped(oldp): one word, which a bad pointer may have
  // misaligned or unmapped (ld reads it as the Wasm build does, or dies of its SIGSEGV).
  const head = ld(env, oldp, 4);
  const oldsize = (head & ~7) >>> 0;
  let mmapped = (head & 2) !== 0;
  const carving = !mmapped && env.u32[W_TCACHE] === 0;
  if (carving) tcache_init(env);
  // arena_for_chunk(oldp), of a chunk not mmapped (glibc reads the size word again: a carving may have changed it)
  let av = 0;
  if (!mmapped) {
    av = carving ? arena_for_chunk(env, oldp) : arena_for_head(env, oldp, head);
  }

  if (oldp > ((0 - oldsize) >>> 0) || misaligned_chunk(oldp)) malloc_printerr(env, REALLOC_INVALID_POINTER);

  const nb = checked_request2size(bytes);
  if (nb === 0) {
    set_errno(env, ENOMEM);
    return 0;
  }

  // glibc reads chunk_is_mmapped(oldp) again here; carving the tcache may have changed the word
  if (carving) mmapped = chunk_is_mmapped(env, oldp);
  if (mmapped) {
    const newp = mremap_chunk(env, oldp, nb);
    if (newp !== 0) return (newp + CHUNK_HDR_SZ) >>> 0;
    if (oldsize - SIZE_SZ >= nb) return oldmem; // do nothing
    const newmem = libc_malloc(env, bytes);
    if (newmem === 0) return 0;
    copy_checked(env, newmem, oldmem, oldsize - CHUNK_HDR_SZ);
    munmap_chunk(env, oldp);
    return newmem;
  }
  const newp = _int_realloc(env, av, oldp, oldsize, nb);
  if (newp !== 0 || env.u32[W_MULTIPLE_THREADS] === 0) return newp;
  // with threads, try harder: a block from any arena the thread can get, then copy and free
  const newmem = libc_malloc(env, bytes);
  if (newmem !== 0) {
    copy_checked(env, newmem, oldmem, memsize(env, oldp));
    _int_free(env, av, oldp, false);
  }
  return newmem;
}

/** _int_realloc(av, oldp, oldsize, nb) */
export function _int_realloc(env: Env, av: number, oldp: number, oldsize: number, nb: number): number {
  const sysw = (av + AV_SYSTEM_MEM) >>> 2;
  if (ld(env, oldp, 4) <= CHUNK_HDR_SZ || oldsize >= env.u32[sysw]) malloc_printerr(env, REALLOC_INVALID_OLD_SIZE);
  const next = (oldp + oldsize) >>> 0;
  const nextsize = chunksize(env, next);
  if (ld(env, next, 4) <= CHUNK_HDR_SZ || nextsize >= env.u32[sysw]) malloc_printerr(env, REALLOC_INVALID_NEXT_SIZE);

  let newp: number;
  let newsize: number;
  if (oldsize >= nb) {
    newp = oldp;
    newsize = oldsize;
  } else {
    const top = env.u32[(av + AV_TOP) >>> 2];
    if (next === top && (newsize = oldsize + nextsize) >= nb + MINSIZE) {
      // grow into the top
      set_head_size(env, oldp, nb | arena_bit(av));
      env.u32[(av + AV_TOP) >>> 2] = oldp + nb;
      set_head(env, oldp + nb, (newsize - nb) | 1);
      return oldp + CHUNK_HDR_SZ;
    } else if (next !== top && !inuse(env, next) && (newsize = oldsize + nextsize) >= nb) {
      // grow into the free successor
      newp = oldp;
      unlink_chunk(env, av, next);
    } else {
      const newmem = _int_malloc(env, av, nb - MALLOC_ALIGN_MASK);
      if (newmem === 0) return 0;
      newp = newmem - CHUNK_HDR_SZ;
      newsize = chunksize(env, newp);
      if (newp === next) {
        // the new chunk is the successor: no copy
        newsize += oldsize;
        newp = oldp;
      } else {
        const oldmem = oldp + CHUNK_HDR_SZ;
        copy_checked(env, newmem, oldmem, memsize(env, oldp));
        _int_free(env, av, oldp, true);
        return newmem;
      }
    }
  }

  const remainder_size = newsize - nb;
  if (remainder_size < MINSIZE) {
    set_head_size(env, newp, newsize | arena_bit(av));
    set_inuse_bit_at_offset(env, newp, newsize);
  } else {
    const remainder = newp + nb;
    set_head_size(env, newp, nb | arena_bit(av));
    set_head(env, remainder, remainder_size | 1 | arena_bit(av));
    set_inuse_bit_at_offset(env, remainder, remainder_size);
    _int_free(env, av, remainder, true);
  }
  return newp + CHUNK_HDR_SZ;
}

/** reallocarray: realloc(ptr, nmemb * size) with the product checked. */
export function libc_reallocarray(env: Env, ptr: number, nmemb: number, size: number): number {
  const product = nmemb * size; // exact: both factors are u32
  if (product > 0xffffffff) {
    set_errno(env, ENOMEM);
    return 0;
  }
  return libc_realloc(env, ptr, product);
}

/** memcpy into a block that may have come from a corrupted list: the pages are checked first. */
function copy_checked(env: Env, dst: number, src: number, n: number): void {
  check_range(env, src, n, false);
  check_range(env, dst, n, true);
  env.u8.copyWithin(dst, src, src + n);
}
