// memalign and friends: over-allocate nb + alignment + MINSIZE, then free the misaligned
// head (as its own chunk) and any tail of at least MINSIZE.
// glibc 2.36: aligned_alloc = memalign (no checks); valloc = memalign(4096, n);
// pvalloc rounds with & -(pagesize - 1) (a known quirk: pvalloc(10) asks for 4097 bytes);
// posix_memalign checks the alignment (EINVAL) and returns ENOMEM instead of setting errno.

import { EINVAL, ENOMEM, IS_MMAPPED, MALLOC_ALIGNMENT, MINSIZE, PAGESIZE } from "../../assembly/config.js";
import { arena_bit } from "./bins.js";
import {
  checked_request2size, chunk_is_mmapped, chunksize, prev_size, set_head, set_head_size, set_inuse_bit_at_offset,
  set_prev_size,
} from "./chunk.js";
import type { Env } from "./env.js";
import { _int_free } from "./free.js";
import { arena_get, arena_get_retry } from "./arenas.js";
import { MAIN_ARENA, W_MALLOC_INITIALIZED, W_MULTIPLE_THREADS } from "./layout.js";
import { _int_malloc, libc_malloc, ptmalloc_init } from "./malloc.js";
import { set_errno } from "./syscalls.js";

/** _int_memalign(av, alignment, bytes): alignment is a power of two >= MINSIZE. */
function _int_memalign(env: Env, av: number, alignment: number, bytes: number): number {
  const nb = checked_request2size(bytes);
  if (nb === 0 || alignment > 0x7fffffff) {
    set_errno(env, ENOMEM);
    return 0;
  }
  const mem = _int_malloc(env, av, (nb + alignment + MINSIZE) >>> 0);
  if (mem === 0) return 0;
  let p = mem - 8;
  if (mem % alignment !== 0) {
    let brk = (((mem + alignment - 1) & -alignment) >>> 0) - 8;
    if (brk - p < MINSIZE) brk += alignment;
    const newp = brk;
    const leadsize = brk - p;
    const newsize = chunksize(env, p) - leadsize;
    if (chunk_is_mmapped(env, p)) {
      set_prev_size(env, newp, prev_size(env, p) + leadsize);
      set_head(env, newp, newsize | IS_MMAPPED);
      return newp + 8;
    }
    set_head(env, newp, newsize | 1 | arena_bit(av));
    set_inuse_bit_at_offset(env, newp, newsize);
    set_head_size(env, p, leadsize | arena_bit(av));
    _int_free(env, av, p, true);
    p = newp;
  }
  if (!chunk_is_mmapped(env, p)) {
    const size = chunksize(env, p);
    if (size > nb + MINSIZE) {
      const remainder = p + nb;
      set_head(env, remainder, (size - nb) | 1 | arena_bit(av));
      set_head_size(env, p, nb);
      _int_free(env, av, remainder, true);
    }
  }
  return p + 8;
}

/** _mid_memalign */
function mid_memalign(env: Env, alignment: number, bytes: number): number {
  if (alignment <= MALLOC_ALIGNMENT) return libc_malloc(env, bytes);
  if (alignment < MINSIZE) alignment = MINSIZE;
  if (alignment > 0x80000000) {
    set_errno(env, EINVAL);
    return 0;
  }
  if ((alignment & (alignment - 1)) !== 0) {
    let a = MALLOC_ALIGNMENT * 2;
    while (a < alignment) a *= 2;
    alignment = a;
  }
  if (env.u32[W_MULTIPLE_THREADS] === 0) return _int_memalign(env, MAIN_ARENA, alignment, bytes);
  let av = arena_get(env, bytes + alignment + MINSIZE);
  let p = _int_memalign(env, av, alignment, bytes);
  if (p === 0 && av !== 0) {
    av = arena_get_retry(env, av, bytes);
    p = _int_memalign(env, av, alignment, bytes);
  }
  return p;
}

export function libc_memalign(env: Env, alignment: number, bytes: number): number {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  return mid_memalign(env, alignment, bytes);
}

export function libc_valloc(env: Env, bytes: number): number {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  return mid_memalign(env, PAGESIZE, bytes);
}

export function libc_pvalloc(env: Env, bytes: number): number {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const rounded = bytes + (PAGESIZE - 1);
  if (rounded > 0xffffffff) {
    set_errno(env, ENOMEM);
    return 0;
  }
  return mid_memalign(env, PAGESIZE, (rounded & -(PAGESIZE - 1)) >>> 0);
}

/** posix_memalign: { err, ptr } (errno untouched). */
export function libc_posix_memalign(env: Env, alignment: number, size: number): { err: number; ptr: number } {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const a4 = alignment >>> 2;
  if ((alignment & 3) !== 0 || (a4 & (a4 - 1)) !== 0 || alignment === 0) return { err: EINVAL, ptr: 0 };
  const mem = mid_memalign(env, alignment, size);
  return mem !== 0 ? { err: 0, ptr: mem } : { err: ENOMEM, ptr: 0 };
}
