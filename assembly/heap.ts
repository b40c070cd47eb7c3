// The heaps of a non-main arena (arena.c). main_arena grows with brk; every other arena gets its
// memory as heaps: mappings of HEAP_MAX_SIZE bytes of address space, aligned to HEAP_MAX_SIZE,
// mapped PROT_NONE and made read-write from the bottom up as the arena needs them. Because of the
// alignment, the heap holding any chunk of such an arena is found by masking the chunk's address
// (heap_for_ptr), and its heap_info names the arena (arena_for_chunk).
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
  HEAP_MAX_SIZE, HEAP_MIN_SIZE, HI_AR_PTR, HI_MPROTECT_SIZE, HI_PAGESIZE, HI_PREV, HI_SIZE,
  MADV_DONTNEED, MALLOC_ALIGN_MASK, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MINSIZE, PAGESIZE, PREV_INUSE,
  PROT_NONE, PROT_READ, PROT_WRITE, SIZE_SZ, SIZEOF_HEAP_INFO,
} from "./config";
import { av_top, mp_, set_av_top, set_system_mem, system_mem } from "./arena";
import { unlink_chunk } from "./bins";
import { chunksize, chunksize_nomask, ld, prev_inuse, prev_size, set_head, st } from "./chunk";
import {
  ASSERT_HEAP_TRIM_FENCEPOST, ASSERT_HEAP_TRIM_NEW_SIZE, ASSERT_HEAP_TRIM_NEW_SIZE_MAX, ASSERT_HEAP_TRIM_PAGE_END,
  ASSERT_HEAP_TRIM_TOP_END,
} from "./messages";
import { do_madvise, do_mmap, do_mprotect, do_munmap, malloc_printerr, MAP_FAILED } from "./syscalls";
import { cov, COV_HEAP_DELETE, COV_HEAP_GROW, COV_HEAP_NEW, COV_HEAP_SHRINK } from "./coverage";

// The heap_info fields, checked as glibc's loads would fault (a heap is reached through a chunk).
// @ts-ignore: decorator
@inline export function heap_ar_ptr(h: word): word { return ld(h, HI_AR_PTR); }
// @ts-ignore: decorator
@inline export function heap_prev(h: word): word { return ld(h, HI_PREV); }
// @ts-ignore: decorator
@inline export function heap_size(h: word): word { return ld(h, HI_SIZE); }
// @ts-ignore: decorator
@inline export function heap_mprotect_size(h: word): word { return ld(h, HI_MPROTECT_SIZE); }
// @ts-ignore: decorator
@inline function heap_pagesize(h: word): word { return ld(h, HI_PAGESIZE); }
// @ts-ignore: decorator
@inline export function set_heap_ar_ptr(h: word, av: word): void { st(h, HI_AR_PTR, av); }
// @ts-ignore: decorator
@inline export function set_heap_prev(h: word, prev: word): void { st(h, HI_PREV, prev); }

/** heap_for_ptr: the heap holding an address of a non-main arena. */
// @ts-ignore: decorator
@inline export function heap_for_ptr(p: word): word { return p & ~(<word>HEAP_MAX_SIZE - 1); }

// @ts-ignore: decorator
@inline function align_up(x: word, a: word): word { return (x + a - 1) & ~(a - 1); }

const HEAP_MAP_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

/**
 * new_heap: map a heap with `size` (+ `top_pad` where it fits) bytes read-write, 0 when the request
 * is bigger than a heap or the kernel refuses. The alignment comes from mapping twice the size and
 * unmapping the misaligned ends; when the mapping was already aligned, the unused upper half is
 * remembered (aligned_heap_area) and tried first next time.
 */
export function new_heap(size: word, top_pad: word): word {
  const max_size: word = HEAP_MAX_SIZE;
  if (size + top_pad < <word>HEAP_MIN_SIZE) size = HEAP_MIN_SIZE;
  else if (size + top_pad <= max_size) size += top_pad;
  else if (size > max_size) return 0;
  else size = max_size;
  size = align_up(size, PAGESIZE);

  let p2 = MAP_FAILED;
  const hint = mp_.aligned_heap_area;
  if (hint != 0) {
    p2 = do_mmap(hint, max_size, PROT_NONE, HEAP_MAP_FLAGS);
    mp_.aligned_heap_area = 0;
    if (p2 != MAP_FAILED && (p2 & (max_size - 1)) != 0) {
      do_munmap(p2, max_size);
      p2 = MAP_FAILED;
    }
  }
  if (p2 == MAP_FAILED) {
    const p1 = do_mmap(0, max_size << 1, PROT_NONE, HEAP_MAP_FLAGS);
    if (p1 != MAP_FAILED) {
      p2 = (p1 + (max_size - 1)) & ~(max_size - 1);
      const ul = p2 - p1;
      if (ul != 0) do_munmap(p1, ul);
      else mp_.aligned_heap_area = p2 + max_size;
      do_munmap(p2 + max_size, max_size - ul);
    } else {
      // perhaps a mapping of just max_size happens to be aligned
      p2 = do_mmap(0, max_size, PROT_NONE, HEAP_MAP_FLAGS);
      if (p2 == MAP_FAILED) return 0;
      if ((p2 & (max_size - 1)) != 0) {
        do_munmap(p2, max_size);
        return 0;
      }
    }
  }
  if (do_mprotect(p2, size, PROT_READ | PROT_WRITE) != 0) {
    do_munmap(p2, max_size);
    return 0;
  }
  cov(COV_HEAP_NEW);
  st(p2, HI_SIZE, size);
  st(p2, HI_MPROTECT_SIZE, size);
  st(p2, HI_PAGESIZE, PAGESIZE);
  return p2;
}

/** grow_heap: make `diff` more bytes (page-rounded) of the heap usable; 0, or < 0 when it cannot. */
export function grow_heap(h: word, diff: word): i32 {
  const pagesize = heap_pagesize(h);
  diff = align_up(diff, pagesize);
  const new_size = heap_size(h) + diff;
  if (new_size > <word>HEAP_MAX_SIZE) return -1;
  const mprotect_size = heap_mprotect_size(h);
  if (new_size > mprotect_size) {
    if (do_mprotect(h + mprotect_size, new_size - mprotect_size, PROT_READ | PROT_WRITE) != 0) return -2;
    st(h, HI_MPROTECT_SIZE, new_size);
  }
  cov(COV_HEAP_GROW);
  st(h, HI_SIZE, new_size);
  return 0;
}

/**
 * shrink_heap: the heap's last `diff` bytes go back. Under strict overcommit (mode 2, where the
 * reservation is what counts) glibc maps them afresh PROT_NONE; otherwise MADV_DONTNEED drops the
 * pages and they stay read-write.
 */
function shrink_heap(h: word, diff: word): i32 {
  const new_size = <sword>heap_size(h) - <sword>diff;
  if (new_size < <sword>SIZEOF_HEAP_INFO) return -1;
  if (mp_.may_shrink_heap != 0) {
    if (do_mmap(h + <word>new_size, diff, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) == MAP_FAILED) return -2;
    st(h, HI_MPROTECT_SIZE, <word>new_size);
  } else {
    do_madvise(h + <word>new_size, diff, MADV_DONTNEED);
  }
  cov(COV_HEAP_SHRINK);
  st(h, HI_SIZE, <word>new_size);
  return 0;
}

/**
 * heap_trim: after a large free in a non-main arena. While the top chunk is all that is left of
 * the arena's newest heap (it starts right after heap_info), that heap is unmapped — if what the
 * heap below it keeps free is worth it — and the top moves down to the end of the heap below,
 * merged with the free chunk before its fencepost. Then the top's whole free pages beyond `pad`
 * are given back, as systrim does for main_arena. 1 if the heap shrank.
 */
export function heap_trim(heap: word, pad: word): i32 {
  const ar_ptr = heap_ar_ptr(heap);
  let top_chunk = av_top(ar_ptr);
  const max_size: word = HEAP_MAX_SIZE;
  while (top_chunk == heap + SIZEOF_HEAP_INFO) {
    const prev_heap = heap_prev(heap);
    const prev_heap_size = heap_size(prev_heap);
    const prev_sz = prev_heap_size - (MINSIZE - 2 * SIZE_SZ);
    let p = prev_heap + prev_sz;
    const misalign = p & MALLOC_ALIGN_MASK; // the fencepost is aligned
    p = prev_heap + prev_sz - misalign;
    if (chunksize_nomask(p) != (0 | PREV_INUSE)) malloc_printerr(ASSERT_HEAP_TRIM_FENCEPOST);
    p = p - prev_size(p);
    let new_size = <sword>(chunksize(p) + (MINSIZE - 2 * SIZE_SZ) + misalign);
    if (!(new_size > 0 && new_size < <sword>(2 * MINSIZE))) malloc_printerr(ASSERT_HEAP_TRIM_NEW_SIZE);
    if (!prev_inuse(p)) new_size += <sword>prev_size(p);
    if (!(new_size > 0 && new_size < <sword>max_size)) malloc_printerr(ASSERT_HEAP_TRIM_NEW_SIZE_MAX);
    if (<word>new_size + (max_size - prev_heap_size) < pad + MINSIZE + heap_pagesize(heap)) break;
    cov(COV_HEAP_DELETE);
    set_system_mem(ar_ptr, system_mem(ar_ptr) - heap_size(heap));
    if (heap + max_size == mp_.aligned_heap_area) mp_.aligned_heap_area = 0;
    do_munmap(heap, max_size);
    heap = prev_heap;
    if (!prev_inuse(p)) {
      // merge with the free chunk before the fencepost
      p = p - prev_size(p);
      unlink_chunk(ar_ptr, p);
    }
    if (((p + <word>new_size) & (heap_pagesize(heap) - 1)) != 0) malloc_printerr(ASSERT_HEAP_TRIM_PAGE_END);
    if (p + <word>new_size != heap + heap_size(heap)) malloc_printerr(ASSERT_HEAP_TRIM_TOP_END);
    top_chunk = p;
    set_av_top(ar_ptr, p);
    set_head(p, <word>new_size | PREV_INUSE);
  }

  // as systrim: keep the top pad, give back whole pages
  const top_size = chunksize(top_chunk);
  if (top_size < mp_.trim_threshold) return 0;
  const top_area = <sword>top_size - <sword>MINSIZE - 1;
  if (top_area < 0 || <word>top_area <= pad) return 0;
  const extra = (<word>top_area - pad) & ~(heap_pagesize(heap) - 1);
  if (extra == 0) return 0;
  if (shrink_heap(heap, extra) != 0) return 0;
  set_system_mem(ar_ptr, system_mem(ar_ptr) - extra);
  set_head(top_chunk, (top_size - extra) | PREV_INUSE);
  return 1;
}
