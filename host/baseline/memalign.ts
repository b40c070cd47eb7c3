// memalign and friends: over-allocate nb + alignment + MINSIZE, then free the misaligned
// head (as its own chunk) and any tail of at least MINSIZE.
// glibc 2.36: aligned_alloc = memalign (no checks); valloc = memalign(4096, n);
// pvalloc rounds with & -(pagesize - 1) (a known quirk: pvalloc(10) asks for 4097 bytes);
// posix_memalign checks the alignment (EINVAL) and returns ENOMEM instead of setting errno.

import { EINVAL, ENOMEM, IS_MMAPPED, MALLOC_ALIGNMENT, PAGESIZE } from "../../assembly/config.js";
import { arena_bit } from "./bins.js";
import {
  checked_request2size, chunk_is_mmapped, chunksize, prev_size, set_head, set_head_size, set_inuse_bit_at_offset,
  set_prev_size,
} from "./chunk.js";
import { wrap, type Env } from "./env.js";
import { _int_free } from "./free.js";
import { arena_get, arena_get_retry } from "./arenas.js";
import { W_MALLOC_INITIALIZED, W_MULTIPLE_THREADS } from "./layout.js";
import { _int_malloc, libc_malloc, ptmalloc_init } from "./malloc.js";
import { set_errno } from "./syscalls.js";

/** _int_memalign(av, alignment, bytes): alignment is a power of two >= MINSIZE. */
function _int_memalign(env: Env, av: number, alignment: number, bytes: number): number {
  const nb = checked_request2size(env, bytes);
  if (nb === 0 || alignment > env.PTRDIFF_MAX) {
    set_errno(env, ENOMEM);
    return 0;
  }
  const hdr = env.CHUNK_HDR_SZ;
  const minsize = env.MINSIZE;
  const mem = _int_malloc(env, av, wrap(env, nb + alignment + minsize));
  if (mem === 0) return 0;
  let p = mem - hdr;
  if (mem % alignment !== 0) {
    const up = wrap(env, mem + alignment - 1);
    let brk = up - (up % alignment) - hdr;
    if (brk - p < minsize) brk += alignment;
    const newp = brk;
    const leadsize = brk - p;
    const newsize = chunksize(env, p) - leadsize;
    if (chunk_is_mmapped(env, p)) {
      set_prev_size(env, newp, prev_size(env, p) + leadsize);
      set_head(env, newp, newsize + IS_MMAPPED);
      return newp + hdr;
    }
    set_head(env, newp, newsize + 1 + arena_bit(env, av));
    set_inuse_bit_at_offset(env, newp, newsize);
    set_head_size(env, p, leadsize + arena_bit(env, av));
    _int_free(env, av, p, true);
    p = newp;
  }
  if (!chunk_is_mmapped(env, p)) {
    const size = chunksize(env, p);
    if (size > nb + minsize) {
      const remainder = p + nb;
      set_head(env, remainder, size - nb + 1 + arena_bit(env, av));
      set_head_size(env, p, nb);
      _int_free(env, av, remainder, true);
    }
  }
  return p + hdr;
}

/** _mid_memalign */
function mid_memalign(env: Env, alignment: number, bytes: number): number {
  if (alignment <= MALLOC_ALIGNMENT) return libc_malloc(env, bytes);
  if (alignment < env.MINSIZE) alignment = env.MINSIZE;
  // SIZE_MAX / 2 + 1: larger alignments are refused
  if (alignment > env.WORD_MOD / 2) {
    set_errno(env, EINVAL);
    return 0;
  }
  if (!is_power_of_2(alignment)) {
    let a = MALLOC_ALIGNMENT * 2;
    while (a < alignment) a *= 2;
    alignment = a;
  }
  if (env.mp[W_MULTIPLE_THREADS] === 0) return _int_memalign(env, env.mainArena, alignment, bytes);
  let av = arena_get(env, bytes + alignment + env.MINSIZE);
  let p = _int_memalign(env, av, alignment, bytes);
  if (p === 0 && av !== 0) {
    av = arena_get_retry(env, av, bytes);
    p = _int_memalign(env, av, alignment, bytes);
  }
  return p;
}

/** (x & (x − 1)) == 0, for any word. */
const is_power_of_2 = (x: number): boolean => x < 2 ** 31 ? (x & (x - 1)) === 0 : 2 ** Math.round(Math.log2(x)) === x;

export function libc_memalign(env: Env, alignment: number, bytes: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  return mid_memalign(env, alignment, bytes);
}

export function libc_valloc(env: Env, bytes: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  return mid_memalign(env, PAGESIZE, bytes);
}

export function libc_pvalloc(env: Env, bytes: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const rounded = bytes + (PAGESIZE - 1);
  if (rounded > env.WORD_MOD - 1) {
    set_errno(env, ENOMEM);
    return 0;
  }
  // rounded & -(pagesize - 1): clears bit 0 and bits 12 and up are kept (glibc's quirk)
  const low = rounded % 2 ** 32;
  return mid_memalign(env, PAGESIZE, rounded - low + ((low & -(PAGESIZE - 1)) >>> 0));
}

/** posix_memalign: { err, ptr } (errno untouched). */
export function libc_posix_memalign(env: Env, alignment: number, size: number): { err: number; ptr: number } {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const w = env.SIZE_SZ;
  const a = Math.floor(alignment / w);
  // No power of two lies above 2^63 in 64 bits, and a double there is a rounded C value (SIZE_MAX −
  // 15 arrives as 2^64, which the test below would take for one): glibc's answer is EINVAL.
  if (alignment > 2 ** 63) return { err: EINVAL, ptr: 0 };
  if (alignment % w !== 0 || !is_power_of_2(a) || alignment === 0) return { err: EINVAL, ptr: 0 };
  const mem = mid_memalign(env, alignment, size);
  return mem !== 0 ? { err: 0, ptr: mem } : { err: ENOMEM, ptr: 0 };
}
