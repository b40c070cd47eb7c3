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
  HEAP_MAX_SIZE, HEAP_MIN_SIZE, HI_AR_PTR, HI_MPROTECT_SIZE, HI_PAGESIZE, HI_PREV, HI_SIZE, MADV_DONTNEED,
  MALLOC_ALIGN_MASK, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MINSIZE, PAGESIZE, PREV_INUSE, PROT_NONE,
  PROT_READ, PROT_WRITE, SIZE_SZ, SIZEOF_HEAP_INFO,
} from "../../assembly/config.js";
import {
  ASSERT_HEAP_TRIM_FENCEPOST, ASSERT_HEAP_TRIM_NEW_SIZE, ASSERT_HEAP_TRIM_NEW_SIZE_MAX, ASSERT_HEAP_TRIM_PAGE_END,
  ASSERT_HEAP_TRIM_TOP_END,
} from "../../assembly/messages.js";
import { unlink_chunk } from "./bins.js";
import { chunksize, prev_inuse, prev_size, set_head } from "./chunk.js";
import { ld, malloc_printerr, st, type Env } from "./env.js";
import { AV_SYSTEM_MEM, AV_TOP, W_ALIGNED_HEAP_AREA, W_MAY_SHRINK_HEAP, W_TRIM_THRESHOLD } from "./layout.js";
import { do_madvise, do_mmap, do_mprotect, do_munmap, MAP_FAILED } from "./syscalls.js";

// The heap_info fields, checked as glibc's loads would fault (a heap is reached through a chunk).
export const heap_ar_ptr = (env: Env, h: number): number => ld(env, h, HI_AR_PTR);
export const heap_prev = (env: Env, h: number): number => ld(env, h, HI_PREV);
export const heap_size = (env: Env, h: number): number => ld(env, h, HI_SIZE);
export const heap_mprotect_size = (env: Env, h: number): number => ld(env, h, HI_MPROTECT_SIZE);
const heap_pagesize = (env: Env, h: number): number => ld(env, h, HI_PAGESIZE);
export const set_heap_ar_ptr = (env: Env, h: number, av: number): void => st(env, h, HI_AR_PTR, av);
export const set_heap_prev = (env: Env, h: number, prev: number): void => st(env, h, HI_PREV, prev);

const HEAP_MASK = ~(HEAP_MAX_SIZE - 1);
/** heap_for_ptr: the heap holding an address of a non-main arena. */
export const heap_for_ptr = (p: number): number => (p & HEAP_MASK) >>> 0;

/** x rounded up to a multiple of the power of two a, as a u32. */
const align_up = (x: number, a: number): number => ((x + a - 1) & -a) >>> 0;

const HEAP_MAP_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

/**
 * new_heap: map a heap with `size` (+ `top_pad` where it fits) bytes read-write, 0 when the request
 * is bigger than a heap or the kernel refuses. The alignment comes from mapping twice the size and
 * unmapping the misaligned ends; when the mapping was already aligned, the unused upper half is
 * remembered (aligned_heap_area) and tried first next time.
 */
export function new_heap(env: Env, size: number, top_pad: number): number {
  const max_size = HEAP_MAX_SIZE;
  const padded = (size + top_pad) >>> 0; // size_t: wraps as C's does
  if (padded < HEAP_MIN_SIZE) size = HEAP_MIN_SIZE;
  else if (padded <= max_size) size = padded;
  else if (size > max_size) return 0;
  else size = max_size;
  size = align_up(size, PAGESIZE);

  let p2 = MAP_FAILED;
  const hint = env.u32[W_ALIGNED_HEAP_AREA];
  if (hint !== 0) {
    p2 = do_mmap(env, hint, max_size, PROT_NONE, HEAP_MAP_FLAGS);
    env.u32[W_ALIGNED_HEAP_AREA] = 0;
    if (p2 !== MAP_FAILED && (p2 & (max_size - 1)) !== 0) {
      do_munmap(env, p2, max_size);
      p2 = MAP_FAILED;
    }
  }
  if (p2 === MAP_FAILED) {
    const p1 = do_mmap(env, 0, max_size * 2, PROT_NONE, HEAP_MAP_FLAGS);
    if (p1 !== MAP_FAILED) {
      p2 = ((p1 + (max_size - 1)) & HEAP_MASK) >>> 0;
      const ul = p2 - p1;
      if (ul !== 0) do_munmap(env, p1, ul);
      else env.u32[W_ALIGNED_HEAP_AREA] = (p2 + max_size) >>> 0;
      do_munmap(env, (p2 + max_size) >>> 0, max_size - ul);
    } else {
      // perhaps a mapping of just max_size happens to be aligned
      p2 = do_mmap(env, 0, max_size, PROT_NONE, HEAP_MAP_FLAGS);
      if (p2 === MAP_FAILED) return 0;
      if ((p2 & (max_size - 1)) !== 0) {
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
  diff = align_up(diff, pagesize);
  const new_size = (heap_size(env, h) + diff) >>> 0;
  if (new_size > HEAP_MAX_SIZE) return -1;
  const mprotect_size = heap_mprotect_size(env, h);
  if (new_size > mprotect_size) {
    if (do_mprotect(env, (h + mprotect_size) >>> 0, new_size - mprotect_size, PROT_READ | PROT_WRITE) !== 0) return -2;
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
  if (new_size < SIZEOF_HEAP_INFO) return -1;
  if (env.u32[W_MAY_SHRINK_HEAP] !== 0) {
    const at = (h + new_size) >>> 0;
    if (do_mmap(env, at, diff, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) === MAP_FAILED) return -2;
    st(env, h, HI_MPROTECT_SIZE, new_size);
  } else {
    do_madvise(env, (h + new_size) >>> 0, diff, MADV_DONTNEED);
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
  const topw = (ar_ptr + AV_TOP) >>> 2;
  const sysw = (ar_ptr + AV_SYSTEM_MEM) >>> 2;
  let top_chunk = env.u32[topw];
  const max_size = HEAP_MAX_SIZE;
  while (top_chunk === heap + SIZEOF_HEAP_INFO) {
    const prev_heap = heap_prev(env, heap);
    const prev_heap_size = heap_size(env, prev_heap);
    const prev_sz = prev_heap_size - (MINSIZE - 2 * SIZE_SZ);
    let p = (prev_heap + prev_sz) >>> 0;
    const misalign = p & MALLOC_ALIGN_MASK; // the fencepost is aligned
    p = (prev_heap + prev_sz - misalign) >>> 0;
    if (ld(env, p, 4) !== (0 | PREV_INUSE)) malloc_printerr(env, ASSERT_HEAP_TRIM_FENCEPOST);
    p = (p - prev_size(env, p)) >>> 0;
    let new_size = (chunksize(env, p) + (MINSIZE - 2 * SIZE_SZ) + misalign) | 0;
    if (!(new_size > 0 && new_size < 2 * MINSIZE)) malloc_printerr(env, ASSERT_HEAP_TRIM_NEW_SIZE);
    if (!prev_inuse(env, p)) new_size = (new_size + prev_size(env, p)) | 0;
    if (!(new_size > 0 && new_size < max_size)) malloc_printerr(env, ASSERT_HEAP_TRIM_NEW_SIZE_MAX);
    // compared as size_t
    const keeps = (new_size + ((max_size - prev_heap_size) >>> 0)) >>> 0;
    if (keeps < ((pad + MINSIZE + heap_pagesize(env, heap)) >>> 0)) break;
    const hs = heap_size(env, heap);
    const m = env.u32;
    m[sysw] -= hs;
    if (((heap + max_size) >>> 0) === m[W_ALIGNED_HEAP_AREA]) m[W_ALIGNED_HEAP_AREA] = 0;
    do_munmap(env, heap, max_size);
    heap = prev_heap;
    if (!prev_inuse(env, p)) {
      // merge with the free chunk before the fencepost
      p = (p - prev_size(env, p)) >>> 0;
      unlink_chunk(env, ar_ptr, p);
    }
    if (((p + new_size) & (heap_pagesize(env, heap) - 1)) !== 0) malloc_printerr(env, ASSERT_HEAP_TRIM_PAGE_END);
    if (((p + new_size) >>> 0) !== ((heap + heap_size(env, heap)) >>> 0)) malloc_printerr(env, ASSERT_HEAP_TRIM_TOP_END);
    top_chunk = p;
    env.u32[topw] = p;
    set_head(env, p, new_size | PREV_INUSE);
  }

  // as systrim: keep the top pad, give back whole pages
  const top_size = chunksize(env, top_chunk);
  if (top_size < env.u32[W_TRIM_THRESHOLD]) return 0;
  const top_area = (top_size - MINSIZE - 1) | 0; // a long in glibc
  if (top_area < 0 || top_area <= pad) return 0;
  const extra = ((top_area - pad) & ~(heap_pagesize(env, heap) - 1)) >>> 0;
  if (extra === 0) return 0;
  if (shrink_heap(env, heap, extra) !== 0) return 0;
  env.u32[sysw] -= extra;
  set_head(env, top_chunk, (top_size - extra) | PREV_INUSE);
  return 1;
}
