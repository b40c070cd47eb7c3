// The heaps of a non-main arena (arena.c), as assembly/heap.ts. main_arena grows with brk; every
// other arena gets its memory as heaps: mappings of HEAP_MAX_SIZE bytes of address space, aligned
// to HEAP_MAX_SIZE, mapped PROT_NONE and made read-write from the bottom up as the arena needs
// them. Because of the alignment, the heap holding any chunk of such an arena is found by masking
// the chunk's address (heap_for_ptr), and its heap_info names the arena (arena_for_chunk).
//
//  heap ─> +0    ar_ptr          the arena this heap belongs to
//          +4    prev            the heap mapped before it for the same arena (0 for the first)
//          +8    size            bytes in use from the heap's start (read-write, page multiple)
//          +12   mprotect_size   bytes ever made read-write (size may shrink below it)
//          +16   pagesize
//          +20   pad             sizeof(heap_info) = 24
//          +24   the arena's struct malloc_state (first heap only), then chunks; a later heap's
//                chunks start right here. The last chunk of a full heap is a fencepost.

import {
  HEAP_MIN_SIZE, HI_AR_PTR, HI_MPROTECT_SIZE, HI_PAGESIZE, HI_PREV, HI_SIZE, MADV_DONTNEED, MALLOC_ALIGN_MASK,
  MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, PAGESIZE, PREV_INUSE, PROT_NONE, PROT_READ, PROT_WRITE,
} from "../../assembly/config.js";
import {
  ASSERT_HEAP_TRIM_FENCEPOST, ASSERT_HEAP_TRIM_NEW_SIZE, ASSERT_HEAP_TRIM_NEW_SIZE_MAX, ASSERT_HEAP_TRIM_PAGE_END,
  ASSERT_HEAP_TRIM_TOP_END,
} from "../../assembly/messages.js";
import { av_top, set_av_top, set_system_mem, system_mem } from "./arena.js";
import { unlink_chunk } from "./bins.js";
import { chunksize, prev_inuse, prev_size, set_head } from "./chunk.js";
import { ld, malloc_printerr, st, sword, wrap, type Env } from "./env.js";
import { W_ALIGNED_HEAP_AREA, W_MAY_SHRINK_HEAP, W_TRIM_THRESHOLD } from "./layout.js";
import { do_madvise, do_mmap, do_mprotect, do_munmap, map_failed } from "./syscalls.js";

// The heap_info fields, checked as glibc's loads would fault (a heap is reached through a chunk).
// (HI_* are i386's offsets, k × 4: ld and st double them on x86-64.)
export const heap_ar_ptr = (env: Env, h: number): number => ld(env, h, HI_AR_PTR);
export const heap_prev = (env: Env, h: number): number => ld(env, h, HI_PREV);
export const heap_size = (env: Env, h: number): number => ld(env, h, HI_SIZE);
export const heap_mprotect_size = (env: Env, h: number): number => ld(env, h, HI_MPROTECT_SIZE);
const heap_pagesize = (env: Env, h: number): number => ld(env, h, HI_PAGESIZE);
export const set_heap_ar_ptr = (env: Env, h: number, av: number): void => st(env, h, HI_AR_PTR, av);
export const set_heap_prev = (env: Env, h: number, prev: number): void => st(env, h, HI_PREV, prev);

/** x rounded down to a multiple of the power of two a (any word). */
const align_down = (x: number, a: number): number => x - (x % a);
/** heap_for_ptr: the heap holding an address of a non-main arena (heaps are HEAP_MAX_SIZE-aligned). */
export const heap_for_ptr = (env: Env, p: number): number => align_down(p, env.HEAP_MAX_SIZE);

/** x rounded up to a multiple of the power of two a, as a size_t (wraps as C's does). */
const align_up = (env: Env, x: number, a: number): number => {
  const y = wrap(env, x + a - 1);
  return y - (y % a);
};

const HEAP_MAP_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

/**
 * new_heap: map a heap with `size` (+ `top_pad` where it fits) bytes read-write, 0 when the request
 * is bigger than a heap or the kernel refuses. The alignment comes from mapping twice the size and
 * unmapping the misaligned ends; when the mapping was already aligned, the unused upper half is
 * remembered (aligned_heap_area) and tried first next time.
 */
export function new_heap(env: Env, size: number, top_pad: number): number {
  const max_size = env.HEAP_MAX_SIZE;
  const failed = map_failed(env);
  const padded = wrap(env, size + top_pad); // size_t: wraps as C's does
  if (padded < HEAP_MIN_SIZE) size = HEAP_MIN_SIZE;
  else if (padded <= max_size) size = padded;
  else if (size > max_size) return 0;
  else size = max_size;
  size = align_up(env, size, PAGESIZE);

  let p2 = failed;
  const hint = env.mp[W_ALIGNED_HEAP_AREA]!;
  if (hint !== 0) {
    p2 = do_mmap(env, hint, max_size, PROT_NONE, HEAP_MAP_FLAGS);
    env.mp[W_ALIGNED_HEAP_AREA] = 0;
    if (p2 !== failed && p2 % max_size !== 0) {
      do_munmap(env, p2, max_size);
      p2 = failed;
    }
  }
  if (p2 === failed) {
    const p1 = do_mmap(env, 0, max_size * 2, PROT_NONE, HEAP_MAP_FLAGS);
    if (p1 !== failed) {
      p2 = align_up(env, p1, max_size);
      const ul = p2 - p1;
      if (ul !== 0) do_munmap(env, p1, ul);
      else env.mp[W_ALIGNED_HEAP_AREA] = wrap(env, p2 + max_size);
      do_munmap(env, wrap(env, p2 + max_size), max_size - ul);
    } else {
      // perhaps a mapping of just max_size happens to be aligned
      p2 = do_mmap(env, 0, max_size, PROT_NONE, HEAP_MAP_FLAGS);
      if (p2 === failed) return 0;
      if (p2 % max_size !== 0) {
        do_munmap(env, p2, max_size);
        return 0;
      }
    }
  }
  if (do_mprotect(env, p2, size, PROT_READ | PROT_WRITE) !== 0) {
    do_munmap(env, p2, max_size);
    return 0;
  }
  st(env, p2, HI_SIZE, size);
  st(env, p2, HI_MPROTECT_SIZE, size);
  st(env, p2, HI_PAGESIZE, PAGESIZE);
  return p2;
}

/** grow_heap: make `diff` more bytes (page-rounded) of the heap usable; 0, or < 0 when it cannot. */
export function grow_heap(env: Env, h: number, diff: number): number {
  const pagesize = heap_pagesize(env, h);
  diff = align_up(env, diff, pagesize);
  const new_size = wrap(env, heap_size(env, h) + diff);
  if (new_size > env.HEAP_MAX_SIZE) return -1;
  const mprotect_size = heap_mprotect_size(env, h);
  if (new_size > mprotect_size) {
    if (do_mprotect(env, wrap(env, h + mprotect_size), new_size - mprotect_size, PROT_READ | PROT_WRITE) !== 0) return -2;
    st(env, h, HI_MPROTECT_SIZE, new_size);
  }
  st(env, h, HI_SIZE, new_size);
  return 0;
}

/**
 * shrink_heap: the heap's last `diff` bytes go back. Under strict overcommit (mode 2, where the
 * reservation is what counts) glibc maps them afresh PROT_NONE; otherwise MADV_DONTNEED drops the
 * pages and they stay read-write.
 */
function shrink_heap(env: Env, h: number, diff: number): number {
  const new_size = heap_size(env, h) - diff; // signed (a long in glibc)
  if (new_size < env.SIZEOF_HEAP_INFO) return -1;
  if (env.mp[W_MAY_SHRINK_HEAP] !== 0) {
    const at = wrap(env, h + new_size);
    if (do_mmap(env, at, diff, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) === map_failed(env)) return -2;
    st(env, h, HI_MPROTECT_SIZE, new_size);
  } else {
    do_madvise(env, wrap(env, h + new_size), diff, MADV_DONTNEED);
  }
  st(env, h, HI_SIZE, new_size);
  return 0;
}

/**
 * heap_trim: after a large free in a non-main arena. While the top chunk is all that is left of
 * the arena's newest heap (it starts right after heap_info), that heap is unmapped — if what the
 * heap below it keeps free is worth it — and the top moves down to the end of the heap below,
 * merged with the free chunk before its fencepost. Then the top's whole free pages beyond `pad`
 * are given back, as systrim does for main_arena. 1 if the heap shrank.
 */
export function heap_trim(env: Env, heap: number, pad: number): number {
  const ar_ptr = heap_ar_ptr(env, heap);
  let top_chunk = av_top(env, ar_ptr);
  const max_size = env.HEAP_MAX_SIZE;
  const minsize = env.MINSIZE;
  const hdr = env.CHUNK_HDR_SZ;
  while (top_chunk === heap + env.SIZEOF_HEAP_INFO) {
    const prev_heap = heap_prev(env, heap);
    const prev_heap_size = heap_size(env, prev_heap);
    const prev_sz = prev_heap_size - (minsize - hdr);
    let p = wrap(env, prev_heap + prev_sz);
    const misalign = p & MALLOC_ALIGN_MASK; // the fencepost is aligned
    p = wrap(env, prev_heap + prev_sz - misalign);
    if (ld(env, p, 4) !== 0 + PREV_INUSE) malloc_printerr(env, ASSERT_HEAP_TRIM_FENCEPOST);
    p = wrap(env, p - prev_size(env, p));
    let new_size = sword(env, chunksize(env, p) + (minsize - hdr) + misalign);
    if (!(new_size > 0 && new_size < 2 * minsize)) malloc_printerr(env, ASSERT_HEAP_TRIM_NEW_SIZE);
    if (!prev_inuse(env, p)) new_size = sword(env, new_size + prev_size(env, p));
    if (!(new_size > 0 && new_size < max_size)) malloc_printerr(env, ASSERT_HEAP_TRIM_NEW_SIZE_MAX);
    // compared as size_t
    const keeps = wrap(env, new_size + wrap(env, max_size - prev_heap_size));
    if (keeps < wrap(env, pad + minsize + heap_pagesize(env, heap))) break;
    const hs = heap_size(env, heap);
    set_system_mem(env, ar_ptr, wrap(env, system_mem(env, ar_ptr) - hs));
    if (wrap(env, heap + max_size) === env.mp[W_ALIGNED_HEAP_AREA]) env.mp[W_ALIGNED_HEAP_AREA] = 0;
    do_munmap(env, heap, max_size);
    heap = prev_heap;
    if (!prev_inuse(env, p)) {
      // merge with the free chunk before the fencepost
      p = wrap(env, p - prev_size(env, p));
      unlink_chunk(env, ar_ptr, p);
    }
    if (((p + new_size) & (heap_pagesize(env, heap) - 1)) !== 0) malloc_printerr(env, ASSERT_HEAP_TRIM_PAGE_END);
    if (wrap(env, p + new_size) !== wrap(env, heap + heap_size(env, heap))) malloc_printerr(env, ASSERT_HEAP_TRIM_TOP_END);
    top_chunk = p;
    set_av_top(env, ar_ptr, p);
    set_head(env, p, new_size + PREV_INUSE);
  }

  // as systrim: keep the top pad, give back whole pages
  const top_size = chunksize(env, top_chunk);
  if (top_size < env.mp[W_TRIM_THRESHOLD]!) return 0;
  const top_area = sword(env, top_size - env.MINSIZE - 1); // a long in glibc
  if (top_area < 0 || top_area <= pad) return 0;
  const pagesize = heap_pagesize(env, heap);
  const extra = align_down(top_area - pad, pagesize);
  if (extra === 0) return 0;
  if (shrink_heap(env, heap, extra) !== 0) return 0;
  set_system_mem(env, ar_ptr, wrap(env, system_mem(env, ar_ptr) - extra));
  set_head(env, top_chunk, top_size - extra + PREV_INUSE);
  return 1;
}
