// Getting memory from the kernel and giving it back:
//  - sysmalloc: a request at or above the mmap threshold gets its own mapping; otherwise the
//    break grows by (nb + top_pad + MINSIZE - old top), page-rounded. The first time, the
//    heap start is re-aligned (chunk2mem 16-aligned) and a second sbrk rounds the end to a
//    page: on i386 the break starts page-aligned, so that is 8 bytes plus one more page.
//    When brk fails (the break ran into a mapping), mmap stands in (1 MiB-rounded) and the
//    arena becomes non-contiguous: the old top is closed by two fenceposts and freed.
//  - systrim: the top's whole pages beyond top_pad go back with a negative sbrk.
//  - mmapped chunks: prev_size holds the offset of the chunk in its mapping (0 on i386, where
//    mmap gives pages and chunk2mem of a page is 16-aligned); the size is the rest of the mapping.

import {
  CHUNK_HDR_SZ, ENOMEM, IS_MMAPPED, MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT, MINSIZE, MMAP_AS_MORECORE_SIZE,
  MREMAP_MAYMOVE, NON_MAIN_ARENA, PAGESIZE, PREV_INUSE, SIZE_SZ, SIZEOF_HEAP_INFO,
} from "../../assembly/config.js";
import {
  ASSERT_SYSMALLOC_OLD_SIZE, ASSERT_SYSMALLOC_OLD_TOP, BREAK_ADJUSTED, MREMAP_CHUNK_INVALID_POINTER,
  MUNMAP_CHUNK_INVALID_POINTER,
} from "../../assembly/messages.js";
import { arena_bit, initial_top } from "./bins.js";
import { chunksize, prev_inuse, prev_size, set_foot, set_head, set_prev_size } from "./chunk.js";
import { malloc_printerr, type Env } from "./env.js";
import { _int_free } from "./free.js";
import { grow_heap, heap_for_ptr, heap_size, new_heap, set_heap_ar_ptr, set_heap_prev } from "./heap.js";
import {
  AV_FLAGS, AV_MAX_SYSTEM_MEM, AV_SYSTEM_MEM, AV_TOP, MAIN_ARENA, NONCONTIGUOUS_BIT, W_MAX_MMAPPED_MEM,
  W_MAX_N_MMAPS, W_MMAP_THRESHOLD, W_MMAPPED_MEM, W_N_MMAPS, W_N_MMAPS_MAX, W_SBRK_BASE, W_TOP_PAD,
} from "./layout.js";
import { do_mremap, do_munmap, MAP_FAILED, mmap_anon, morecore, set_errno } from "./syscalls.js";

const PAGE_MASK = PAGESIZE - 1;
/** x rounded up to a multiple of the power of two a, as a u32 (wraps as C's size_t does). */
const align_up = (x: number, a: number): number => ((x + a - 1) & -a) >>> 0;
const powerof2 = (x: number): boolean => (x & (x - 1)) === 0;
const contiguous = (m: Uint32Array, av: number): boolean => (m[(av + AV_FLAGS) >>> 2] & NONCONTIGUOUS_BIT) === 0;

/** A chunk of its own mapping for a request of chunk size nb; MAP_FAILED when mmap fails. */
function sysmalloc_mmap(env: Env, nb: number): number {
  const size = align_up(nb + SIZE_SZ + MALLOC_ALIGN_MASK, PAGESIZE);
  if (size <= nb) return MAP_FAILED; // wrapped around
  const mm = mmap_anon(env, size);
  if (mm === MAP_FAILED) return mm;
  let p: number;
  const front_misalign = (mm + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK;
  if (front_misalign > 0) {
    const correction = MALLOC_ALIGNMENT - front_misalign;
    p = mm + correction;
    set_prev_size(env, p, correction);
    set_head(env, p, (size - correction) | IS_MMAPPED);
  } else {
    p = mm;
    set_prev_size(env, p, 0);
    set_head(env, p, size | IS_MMAPPED);
  }
  const m = env.u32;
  const i = env.i32;
  const n = ++i[W_N_MMAPS];
  if (n > i[W_MAX_N_MMAPS]) i[W_MAX_N_MMAPS] = n;
  m[W_MMAPPED_MEM] += size;
  if (m[W_MMAPPED_MEM] > m[W_MAX_MMAPPED_MEM]) m[W_MAX_MMAPPED_MEM] = m[W_MMAPPED_MEM];
  return (p + CHUNK_HDR_SZ) >>> 0;
}

/** sysmalloc(nb, av): called when no bin and not the top can serve nb. */
export function sysmalloc(env: Env, nb: number, av: number): number {
  let m = env.u32;
  let tried_mmap = false;
  // av 0: no arena could be had, only a mapping of its own
  if (av === 0 || (nb >= m[W_MMAP_THRESHOLD] && env.i32[W_N_MMAPS] < env.i32[W_N_MMAPS_MAX])) {
    const mm = sysmalloc_mmap(env, nb);
    if (mm !== MAP_FAILED) return mm;
    m = env.u32;
    tried_mmap = true;
  }
  if (av === 0) return 0;

  const old_top = m[(av + AV_TOP) >>> 2];
  let old_size = chunksize(env, old_top);
  const old_end = (old_top + old_size) >>> 0;
  // the first time the top is the empty initial one; later it is a real chunk ending on a page
  if (
    !((old_top === initial_top(av) && old_size === 0) ||
      (old_size >= MINSIZE && prev_inuse(env, old_top) && (old_end & PAGE_MASK) === 0))
  ) {
    malloc_printerr(env, ASSERT_SYSMALLOC_OLD_TOP);
  }
  if (old_size >= nb + MINSIZE) malloc_printerr(env, ASSERT_SYSMALLOC_OLD_SIZE);
  if (av !== MAIN_ARENA) {
    // A non-main arena grows its heap, else maps another one, else tries a mapping of its own
    // (even past M_MMAP_MAX, when the request is too big for a heap).
    const old_heap = heap_for_ptr(old_top);
    const old_heap_size = heap_size(env, old_heap);
    const want = (MINSIZE + nb - old_size) >>> 0;
    let heap: number;
    if ((want | 0) > 0 && grow_heap(env, old_heap, want) === 0) {
      const grown = heap_size(env, old_heap);
      env.u32[(av + AV_SYSTEM_MEM) >>> 2] += grown - old_heap_size;
      set_head(env, old_top, (old_heap + grown - old_top) | PREV_INUSE);
    } else if ((heap = new_heap(env, (nb + (MINSIZE + SIZEOF_HEAP_INFO)) >>> 0, env.u32[W_TOP_PAD])) !== 0) {
      set_heap_ar_ptr(env, heap, av);
      set_heap_prev(env, heap, old_heap);
      const hs = heap_size(env, heap);
      env.u32[(av + AV_SYSTEM_MEM) >>> 2] += hs;
      const top = heap + SIZEOF_HEAP_INFO;
      env.u32[(av + AV_TOP) >>> 2] = top;
      set_head(env, top, (heap_size(env, heap) - SIZEOF_HEAP_INFO) | PREV_INUSE);
      // The old top is closed by a fencepost of MINSIZE (it may become the top again when heap_trim
      // deletes the new heap: it has a foot, though in use) and what is left of it is freed.
      old_size = ((old_size - MINSIZE) & ~MALLOC_ALIGN_MASK) >>> 0;
      set_head(env, (old_top + old_size + CHUNK_HDR_SZ) >>> 0, 0 | PREV_INUSE);
      if (old_size >= MINSIZE) {
        set_head(env, (old_top + old_size) >>> 0, CHUNK_HDR_SZ | PREV_INUSE);
        set_foot(env, (old_top + old_size) >>> 0, CHUNK_HDR_SZ);
        set_head(env, old_top, old_size | PREV_INUSE | NON_MAIN_ARENA);
        _int_free(env, av, old_top, true);
      } else {
        set_head(env, old_top, (old_size + CHUNK_HDR_SZ) | PREV_INUSE);
        set_foot(env, old_top, old_size + CHUNK_HDR_SZ);
      }
    } else if (!tried_mmap) {
      const mm = sysmalloc_mmap(env, nb);
      if (mm !== MAP_FAILED) return mm;
    }
    m = env.u32;
  } else {
    let brk = 0; // MORECORE_FAILURE
    let snd_brk = 0;

    // size is a signed long in glibc: the request, less the old top when it can be extended
    let size = (nb + m[W_TOP_PAD] + MINSIZE) | 0;
    if (contiguous(m, av)) size = (size - old_size) | 0;
    size = align_up(size, PAGESIZE) | 0;
    if (size > 0) brk = morecore(env, size);

    m = env.u32;
    if (brk === 0) {
      // mmap as a stand-in for a failed brk (sysmalloc_mmap_fallback).
      // glibc 2.36 passes (pagesize, MMAP_AS_MORECORE_SIZE) where the function takes (minsize,
      // pagesize): while the arena is contiguous the size, old top included, is rounded up to a
      // multiple of 1 MiB; afterwards it stays page-rounded, one page at least.
      let msize = size >>> 0;
      if (contiguous(m, av)) msize = align_up(msize + old_size, MMAP_AS_MORECORE_SIZE);
      if (msize < PAGESIZE) msize = PAGESIZE;
      if (msize > nb) {
        const mbrk = mmap_anon(env, msize);
        m = env.u32;
        if (mbrk !== MAP_FAILED) {
          m[(av + AV_FLAGS) >>> 2] |= NONCONTIGUOUS_BIT;
          size = msize | 0;
          brk = mbrk;
          snd_brk = (brk + msize) >>> 0;
        }
      }
    }

    if (brk !== 0) {
      if (m[W_SBRK_BASE] === 0) m[W_SBRK_BASE] = brk;
      m[(av + AV_SYSTEM_MEM) >>> 2] += size;

      if (brk === old_end && snd_brk === 0) {
        // the break simply grew the top
        set_head(env, old_top, ((size >>> 0) + old_size) | 1);
      } else if (contiguous(m, av) && old_size !== 0 && brk < old_end) {
        malloc_printerr(env, BREAK_ADJUSTED);
      } else {
        let correction = 0;
        let aligned_brk = brk;
        if (contiguous(m, av)) {
          // A foreign sbrk moved the break: count the gap as ours.
          if (old_size !== 0) m[(av + AV_SYSTEM_MEM) >>> 2] += brk - old_end;
          const front_misalign = (brk + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) {
            correction = MALLOC_ALIGNMENT - front_misalign;
            aligned_brk += correction;
          }
          // the old top cannot be merged: ask again for its size, and round the end to a page
          correction += old_size;
          const end_misalign = (brk + (size >>> 0) + correction) >>> 0;
          correction = (correction + align_up(end_misalign, PAGESIZE) - end_misalign) >>> 0;
          snd_brk = morecore(env, correction | 0);
          if (snd_brk === 0) {
            correction = 0;
            snd_brk = morecore(env, 0);
          }
        } else {
          const front_misalign = (brk + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) aligned_brk += MALLOC_ALIGNMENT - front_misalign;
          if (snd_brk === 0) snd_brk = morecore(env, 0);
        }

        m = env.u32;
        if (snd_brk !== 0) {
          m[(av + AV_TOP) >>> 2] = aligned_brk;
          set_head(env, aligned_brk, (snd_brk - aligned_brk + correction) | 1);
          m[(av + AV_SYSTEM_MEM) >>> 2] += correction;
          if (old_size !== 0) {
            // Two fenceposts close the old top; what is left of it is freed.
            old_size = ((old_size - 2 * CHUNK_HDR_SZ) & ~MALLOC_ALIGN_MASK) >>> 0;
            set_head(env, old_top, old_size | 1);
            set_head(env, old_top + old_size, CHUNK_HDR_SZ | 1);
            set_head(env, old_top + old_size + CHUNK_HDR_SZ, CHUNK_HDR_SZ | 1);
            if (old_size >= MINSIZE) _int_free(env, av, old_top, true);
            m = env.u32;
          }
        }
      }
    }
  }

  const sysw = (av + AV_SYSTEM_MEM) >>> 2;
  const maxw = (av + AV_MAX_SYSTEM_MEM) >>> 2;
  if (m[sysw] > m[maxw]) m[maxw] = m[sysw];

  const p = m[(av + AV_TOP) >>> 2];
  const topsize = chunksize(env, p);
  if (topsize >= nb + MINSIZE) {
    const remainder = p + nb;
    m[(av + AV_TOP) >>> 2] = remainder;
    set_head(env, p, nb | 1 | arena_bit(av));
    set_head(env, remainder, (topsize - nb) | 1);
    return (p + CHUNK_HDR_SZ) >>> 0;
  }
  set_errno(env, ENOMEM);
  return 0;
}

/** systrim(pad, av): give the top's free whole pages beyond `pad` back to the kernel (the main
 *  arena's: the only one whose top ends at the break). 1 if released. */
export function systrim(env: Env, pad: number, av: number): number {
  let m = env.u32;
  const top = m[(av + AV_TOP) >>> 2];
  const top_size = chunksize(env, top);
  const top_area = (top_size - MINSIZE - 1) >>> 0; // a long in glibc, compared as unsigned
  if (top_area <= pad) return 0;
  const extra = ((top_area - pad) & ~PAGE_MASK) >>> 0;
  if (extra === 0) return 0;
  const current_brk = morecore(env, 0);
  if (current_brk === ((top + top_size) >>> 0)) {
    morecore(env, -(extra | 0));
    const new_brk = morecore(env, 0);
    if (new_brk !== 0) {
      const released = (current_brk - new_brk) >>> 0;
      if (released !== 0) {
        m = env.u32;
        m[(av + AV_SYSTEM_MEM) >>> 2] -= released;
        set_head(env, top, (top_size - released) | 1);
        return 1;
      }
    }
  }
  return 0;
}

/** munmap_chunk: unmap an mmapped chunk's whole mapping. */
export function munmap_chunk(env: Env, p: number): void {
  // A bad pointer freed by the user may be misaligned, or its offset word on an unmapped page
  // below: the size is read first, then the offset, as the Wasm build reads them.
  const size = chunksize(env, p);
  const offset = prev_size(env, p);
  const mem = (p + CHUNK_HDR_SZ) >>> 0;
  const block = (p - offset) >>> 0;
  const total_size = (offset + size) >>> 0;
  if (((block | total_size) & PAGE_MASK) !== 0 || !powerof2(mem & PAGE_MASK)) {
    malloc_printerr(env, MUNMAP_CHUNK_INVALID_POINTER);
  }
  env.i32[W_N_MMAPS]--;
  env.u32[W_MMAPPED_MEM] -= total_size;
  do_munmap(env, block, total_size);
}

/** mremap_chunk: resize an mmapped chunk's mapping (may move); 0 when mremap fails. */
export function mremap_chunk(env: Env, p0: number, nb: number): number {
  const offset = prev_size(env, p0);
  const size = chunksize(env, p0);
  const block = (p0 - offset) >>> 0;
  const mem = (p0 + CHUNK_HDR_SZ) >>> 0;
  const total_size = (offset + size) >>> 0;
  if (((block | total_size) & PAGE_MASK) !== 0 || !powerof2(mem & PAGE_MASK)) {
    malloc_printerr(env, MREMAP_CHUNK_INVALID_POINTER);
  }
  const new_size = align_up(nb + offset + SIZE_SZ, PAGESIZE);
  if (total_size === new_size) return p0;
  const cp = do_mremap(env, block, total_size, new_size, MREMAP_MAYMOVE);
  if (cp === MAP_FAILED) return 0;
  const p = (cp + offset) >>> 0;
  set_head(env, p, (new_size - offset) | IS_MMAPPED);
  const m = env.u32;
  m[W_MMAPPED_MEM] += new_size - size - offset;
  if (m[W_MMAPPED_MEM] > m[W_MAX_MMAPPED_MEM]) m[W_MAX_MMAPPED_MEM] = m[W_MMAPPED_MEM];
  return p;
}
