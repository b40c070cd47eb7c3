// realloc: mmapped chunks are resized with mremap; heap chunks grow in place into the top or
// a free successor, else move (malloc, copy, free); a shrink frees the tail when it is at
// least MINSIZE.

import { ENOMEM, MALLOC_ALIGN_MASK } from "../../assembly/config.js";
import { REALLOC_INVALID_NEXT_SIZE, REALLOC_INVALID_OLD_SIZE, REALLOC_INVALID_POINTER } from "../../assembly/messages.js";
import { av_top, set_av_top, system_mem } from "./arena.js";
import { arena_bit, unlink_chunk } from "./bins.js";
import {
  checked_request2size, chunk_is_mmapped, chunksize, inuse, memsize, misaligned_chunk, set_head, set_head_size,
  set_inuse_bit_at_offset, size_of,
} from "./chunk.js";
import { copy_checked, ld, malloc_printerr, wrap, type Env } from "./env.js";
import { _int_free, libc_free } from "./free.js";
import { arena_for_chunk, arena_for_head } from "./arenas.js";
import { W_MALLOC_INITIALIZED, W_MULTIPLE_THREADS, W_TCACHE } from "./layout.js";
import { _int_malloc, libc_malloc, ptmalloc_init } from "./malloc.js";
import { munmap_chunk, mremap_chunk } from "./sysmalloc.js";
import { set_errno } from "./syscalls.js";
import { tcache_init } from "./tcache.js";

/** __libc_realloc */
export function libc_realloc(env: Env, oldmem: number, bytes: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  if (bytes === 0 && oldmem !== 0) {
    libc_free(env, oldmem);
    return 0;
  }
  if (oldmem === 0) return libc_malloc(env, bytes);

  const hdr = env.CHUNK_HDR_SZ;
  const oldp = wrap(env, oldmem - hdr);
  // chunksize(oldp), then chunk_is_mmapped(oldp): one word, which a bad pointer may have
  // misaligned or unmapped (ld reads it as the Wasm build does, or dies of its SIGSEGV).
  const head = ld(env, oldp, 4);
  const oldsize = size_of(head);
  let mmapped = (head & 2) !== 0;
  const carving = !mmapped && env.mp[W_TCACHE] === 0;
  if (carving) tcache_init(env);
  // arena_for_chunk(oldp), of a chunk not mmapped (glibc reads the size word again: a carving may have changed it)
  let av = 0;
  if (!mmapped) {
    av = carving ? arena_for_chunk(env, oldp) : arena_for_head(env, oldp, head);
  }

  if (oldp > wrap(env, -oldsize) || misaligned_chunk(env, oldp)) malloc_printerr(env, REALLOC_INVALID_POINTER);

  const nb = checked_request2size(env, bytes);
  if (nb === 0) {
    set_errno(env, ENOMEM);
    return 0;
  }

  // glibc reads chunk_is_mmapped(oldp) again here; carving the tcache may have changed the word
  if (carving) mmapped = chunk_is_mmapped(env, oldp);
  if (mmapped) {
    const newp = mremap_chunk(env, oldp, nb);
    if (newp !== 0) return wrap(env, newp + hdr);
    if (oldsize - env.SIZE_SZ >= nb) return oldmem; // do nothing
    const newmem = libc_malloc(env, bytes);
    if (newmem === 0) return 0;
    copy_checked(env, newmem, oldmem, oldsize - hdr);
    munmap_chunk(env, oldp);
    return newmem;
  }
  const newp = _int_realloc(env, av, oldp, oldsize, nb);
  if (newp !== 0 || env.mp[W_MULTIPLE_THREADS] === 0) return newp;
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
  const hdr = env.CHUNK_HDR_SZ;
  if (ld(env, oldp, 4) <= hdr || oldsize >= system_mem(env, av)) malloc_printerr(env, REALLOC_INVALID_OLD_SIZE);
  const next = wrap(env, oldp + oldsize);
  const nextsize = chunksize(env, next);
  if (ld(env, next, 4) <= hdr || nextsize >= system_mem(env, av)) malloc_printerr(env, REALLOC_INVALID_NEXT_SIZE);

  let newp: number;
  let newsize: number;
  if (oldsize >= nb) {
    newp = oldp;
    newsize = oldsize;
  } else {
    const top = av_top(env, av);
    if (next === top && (newsize = oldsize + nextsize) >= nb + env.MINSIZE) {
      // grow into the top
      set_head_size(env, oldp, nb + arena_bit(env, av));
      set_av_top(env, av, oldp + nb);
      set_head(env, oldp + nb, newsize - nb + 1);
      return oldp + hdr;
    } else if (next !== top && !inuse(env, next) && (newsize = oldsize + nextsize) >= nb) {
      // grow into the free successor
      newp = oldp;
      unlink_chunk(env, av, next);
    } else {
      const newmem = _int_malloc(env, av, nb - MALLOC_ALIGN_MASK);
      if (newmem === 0) return 0;
      newp = newmem - hdr;
      newsize = chunksize(env, newp);
      if (newp === next) {
        // the new chunk is the successor: no copy
        newsize += oldsize;
        newp = oldp;
      } else {
        const oldmem = oldp + hdr;
        copy_checked(env, newmem, oldmem, memsize(env, oldp));
        _int_free(env, av, oldp, true);
        return newmem;
      }
    }
  }

  const remainder_size = newsize - nb;
  if (remainder_size < env.MINSIZE) {
    set_head_size(env, newp, newsize + arena_bit(env, av));
    set_inuse_bit_at_offset(env, newp, newsize);
  } else {
    const remainder = newp + nb;
    set_head_size(env, newp, nb + arena_bit(env, av));
    set_head(env, remainder, remainder_size + 1 + arena_bit(env, av));
    set_inuse_bit_at_offset(env, remainder, remainder_size);
    _int_free(env, av, remainder, true);
  }
  return newp + hdr;
}

/** reallocarray: realloc(ptr, nmemb * size) with the product checked (size_t overflow). */
export function libc_reallocarray(env: Env, ptr: number, nmemb: number, size: number): number {
  const product = nmemb * size; // exact on i386 (both factors are u32); on x86-64 decided in integers near the limit
  const overflows = env.wide
    ? product >= 2 ** 53 && BigInt(nmemb) * BigInt(size) > 0xffffffffffffffffn
    : product > 0xffffffff;
  if (overflows) {
    set_errno(env, ENOMEM);
    return 0;
  }
  return libc_realloc(env, ptr, env.wide && product >= 2 ** 53 ? Number(BigInt(nmemb) * BigInt(size)) : product);
}

