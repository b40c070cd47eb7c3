// memalign and friends: over-allocate nb + alignment + MINSIZE, then free the misaligned
// head (as its own chunk) and any tail of at least MINSIZE.
// glibc 2.36: aligned_alloc = memalign (no checks); valloc = memalign(4096, n);
// pvalloc rounds with & -(pagesize - 1) (a known quirk: pvalloc(10) asks for 4097 bytes);
// posix_memalign checks the alignment (EINVAL) and returns ENOMEM instead of setting errno.

import { EINVAL, ENOMEM, IS_MMAPPED, MALLOC_ALIGNMENT, MINSIZE, NON_MAIN_ARENA, PAGESIZE, PREV_INUSE, PTRDIFF_MAX, SIZE_SZ } from "./config";
import { main_arena, mp_ } from "./arena";
import { arena_get, arena_get_retry } from "./arenas";
import {
  checked_request2size, chunk2mem, chunk_is_mmapped, chunksize, mem2chunk, prev_size, set_head, set_head_size,
  set_inuse_bit_at_offset, set_prev_size,
} from "./chunk";
import { _int_free } from "./free";
import { _int_malloc, libc_malloc, ptmalloc_init } from "./malloc";
import { set_errno } from "./syscalls";
import {
  cov, COV_MEMALIGN_MISALIGNED, COV_MEMALIGN_MMAPPED, COV_MEMALIGN_TRIM_TAIL, COV_MEMALIGN_SMALL_ALIGN,
  COV_MEMALIGN_EINVAL,
} from "./coverage";

/** _int_memalign */
function _int_memalign(av: word, alignment: word, bytes: word): word {
  const nb = checked_request2size(bytes);
  if (nb == 0 || alignment > <word>PTRDIFF_MAX) {
    set_errno(ENOMEM);
    return 0;
  }
  const m = _int_malloc(av, nb + alignment + MINSIZE);
  if (m == 0) return 0;
  let p = mem2chunk(m);
  if (m % alignment != 0) {
    cov(COV_MEMALIGN_MISALIGNED);
    let brk = mem2chunk((m + alignment - 1) & (0 - alignment));
    if (brk - p < <word>MINSIZE) brk += alignment;
    const newp = brk;
    const leadsize = brk - p;
    const newsize = chunksize(p) - leadsize;
    if (chunk_is_mmapped(p)) {
      cov(COV_MEMALIGN_MMAPPED);
      set_prev_size(newp, prev_size(p) + leadsize);
      set_head(newp, newsize | IS_MMAPPED);
      return chunk2mem(newp);
    }
    set_head(newp, newsize | PREV_INUSE | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
    set_inuse_bit_at_offset(newp, newsize);
    set_head_size(p, leadsize | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
    _int_free(av, p, true);
    p = newp;
  }
  if (!chunk_is_mmapped(p)) {
    const size = chunksize(p);
    if (size > nb + MINSIZE) {
      cov(COV_MEMALIGN_TRIM_TAIL);
      const remainder = p + nb;
      set_head(remainder, (size - nb) | PREV_INUSE | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
      set_head_size(p, nb);
      _int_free(av, remainder, true);
    }
  }
  return chunk2mem(p);
}

/** _mid_memalign */
function mid_memalign(alignment0: word, bytes: word): word {
  let alignment = alignment0;
  if (alignment <= <word>MALLOC_ALIGNMENT) {
    cov(COV_MEMALIGN_SMALL_ALIGN);
    return libc_malloc(bytes);
  }
  if (alignment < <word>MINSIZE) alignment = <word>MINSIZE;
  if (alignment > (<word>-1 >> 1) + 1) { // SIZE_MAX / 2 + 1
    cov(COV_MEMALIGN_EINVAL);
    set_errno(EINVAL);
    return 0;
  }
  if ((alignment & (alignment - 1)) != 0) {
    let a: word = MALLOC_ALIGNMENT * 2;
    while (a < alignment) a <<= 1;
    alignment = a;
  }
  if (!mp_.multiple_threads) return _int_memalign(main_arena, alignment, bytes);
  let av = arena_get(bytes + alignment + MINSIZE);
  let p = _int_memalign(av, alignment, bytes);
  if (p == 0 && av != 0) {
    av = arena_get_retry(av, bytes);
    p = _int_memalign(av, alignment, bytes);
  }
  return p;
}

export function libc_memalign(alignment: word, bytes: word): word {
  if (!mp_.malloc_initialized) ptmalloc_init();
  return mid_memalign(alignment, bytes);
}

export function libc_valloc(bytes: word): word {
  if (!mp_.malloc_initialized) ptmalloc_init();
  return mid_memalign(PAGESIZE, bytes);
}

export function libc_pvalloc(bytes: word): word {
  if (!mp_.malloc_initialized) ptmalloc_init();
  const rounded = bytes + (PAGESIZE - 1);
  if (rounded < bytes) {
    set_errno(ENOMEM);
    return 0;
  }
  return mid_memalign(PAGESIZE, rounded & (0 - (PAGESIZE - 1)));
}

const POSIX_MEMALIGN_RESULT: usize = memory.data(sizeof<word>(), sizeof<word>());

/** posix_memalign: the error number (errno untouched on EINVAL); the pointer via posix_memalign_ptr(). */
export function libc_posix_memalign(alignment: word, size: word): i32 {
  if (!mp_.malloc_initialized) ptmalloc_init();
  // a power-of-two multiple of sizeof(void *)
  if ((alignment & (SIZE_SZ - 1)) != 0 || ((alignment / SIZE_SZ) & ((alignment / SIZE_SZ) - 1)) != 0 || alignment == 0) return EINVAL;
  const mem = mid_memalign(alignment, size);
  if (mem != 0) {
    store<word>(POSIX_MEMALIGN_RESULT, mem);
    return 0;
  }
  return ENOMEM;
}

export function posix_memalign_result(): word { return load<word>(POSIX_MEMALIGN_RESULT); }
