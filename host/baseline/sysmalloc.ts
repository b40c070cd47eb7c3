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
  ENOMEM, IS_MMAPPED, MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT, MMAP_AS_MORECORE_SIZE, MREMAP_MAYMOVE, NON_MAIN_ARENA, PAGESIZE,
  PREV_INUSE,
} from "../../assembly/config.js";
import {
  ASSERT_SYSMALLOC_OLD_SIZE, ASSERT_SYSMALLOC_OLD_TOP, BREAK_ADJUSTED, MREMAP_CHUNK_INVALID_POINTER,
  MUNMAP_CHUNK_INVALID_POINTER,
} from "../../assembly/messages.js";
import {
  av_top, contiguous, max_system_mem, set_av_top, set_max_system_mem, set_noncontiguous, set_system_mem, system_mem,
} from "./arena.js";
import { arena_bit, initial_top } from "./bins.js";
import { chunksize, prev_inuse, prev_size, set_foot, set_head, set_prev_size, with_prev_inuse } from "./chunk.js";
import { malloc_printerr, sword, wrap, type Env } from "./env.js";
import { _int_free } from "./free.js";
import { grow_heap, heap_for_ptr, heap_size, new_heap, set_heap_ar_ptr, set_heap_prev } from "./heap.js";
import { W_MAX_MMAPPED_MEM, W_MAX_N_MMAPS, W_MMAP_THRESHOLD, W_MMAPPED_MEM, W_N_MMAPS, W_N_MMAPS_MAX, W_SBRK_BASE, W_TOP_PAD } from "./layout.js";
import { do_mremap, do_munmap, map_failed, mmap_anon, morecore, set_errno } from "./syscalls.js";

/** x rounded up to a multiple of the power of two a, as a size_t (wraps as C's size_t does). */
const align_up = (env: Env, x: number, a: number): number => {
  const y = wrap(env, x + a - 1);
  return y - (y % a);
};
/** x rounded down to a multiple of the power of two a (any word). */
const align_down = (x: number, a: number): number => x - (x % a);
/** (x & (x - 1)) == 0 for a value below 2^32 (the callers' are page offsets) */
const powerof2 = (x: number): boolean => (x & (x - 1)) === 0;
/** x & PAGE_MASK for any word */
const page_off = (x: number): number => x % PAGESIZE;

/** A chunk of its own mapping for a request of chunk size nb; MAP_FAILED when mmap fails. */
function sysmalloc_mmap(env: Env, nb: number): number {
  const failed = map_failed(env);
  // with MALLOC_ALIGNMENT == CHUNK_HDR_SZ (x86-64) the user pointer of a page-aligned chunk is aligned already
  const size = align_up(env, nb + env.SIZE_SZ + (MALLOC_ALIGNMENT === env.CHUNK_HDR_SZ ? 0 : MALLOC_ALIGN_MASK), PAGESIZE);
  if (size <= nb) return failed; // wrapped around
  const mm = mmap_anon(env, size);
  if (mm === failed) return mm;
  let p: number;
  const front_misalign = (mm + env.CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK;
  if (front_misalign > 0) {
    const correction = MALLOC_ALIGNMENT - front_misalign;
    p = mm + correction;
    set_prev_size(env, p, correction);
    set_head(env, p, size - correction + IS_MMAPPED);
  } else {
    p = mm;
    set_prev_size(env, p, 0);
    set_head(env, p, size + IS_MMAPPED);
  }
  const mp = env.mp;
  const n = env.mpi[W_N_MMAPS]! + 1;
  env.mpi[W_N_MMAPS] = n;
  if (n > env.mpi[W_MAX_N_MMAPS]!) env.mpi[W_MAX_N_MMAPS] = n;
  mp[W_MMAPPED_MEM] = wrap(env, mp[W_MMAPPED_MEM]! + size);
  if (mp[W_MMAPPED_MEM]! > mp[W_MAX_MMAPPED_MEM]!) mp[W_MAX_MMAPPED_MEM] = mp[W_MMAPPED_MEM]!;
  return wrap(env, p + env.CHUNK_HDR_SZ);
}

/** sysmalloc(nb, av): called when no bin and not the top can serve nb. */
export function sysmalloc(env: Env, nb: number, av: number): number {
  let tried_mmap = false;
  const failed = map_failed(env);
  const minsize = env.MINSIZE;
  const hdr = env.CHUNK_HDR_SZ;
  // av 0: no arena could be had, only a mapping of its own
  if (av === 0 || (nb >= env.mp[W_MMAP_THRESHOLD]! && env.mpi[W_N_MMAPS]! < env.mpi[W_N_MMAPS_MAX]!)) {
    const mm = sysmalloc_mmap(env, nb);
    if (mm !== failed) return mm;
    tried_mmap = true;
  }
  if (av === 0) return 0;

  const old_top = av_top(env, av);
  let old_size = chunksize(env, old_top);
  const old_end = wrap(env, old_top + old_size);
  // the first time the top is the empty initial one; later it is a real chunk ending on a page
  if (
    !((old_top === initial_top(env, av) && old_size === 0) ||
      (old_size >= minsize && prev_inuse(env, old_top) && page_off(old_end) === 0))
  ) {
    malloc_printerr(env, ASSERT_SYSMALLOC_OLD_TOP);
  }
  if (old_size >= nb + minsize) malloc_printerr(env, ASSERT_SYSMALLOC_OLD_SIZE);
  if (av !== env.mainArena) {
    // A non-main arena grows its heap, else maps another one, else tries a mapping of its own
    // (even past M_MMAP_MAX, when the request is too big for a heap).
    const old_heap = heap_for_ptr(env, old_top);
    const old_heap_size = heap_size(env, old_heap);
    const want = wrap(env, minsize + nb - old_size);
    let heap: number;
    if (sword(env, want) > 0 && grow_heap(env, old_heap, want) === 0) {
      const grown = heap_size(env, old_heap);
      set_system_mem(env, av, wrap(env, system_mem(env, av) + grown - old_heap_size));
      set_head(env, old_top, with_prev_inuse(old_heap + grown - old_top));
    } else if ((heap = new_heap(env, wrap(env, nb + (minsize + env.SIZEOF_HEAP_INFO)), env.mp[W_TOP_PAD]!)) !== 0) {
      set_heap_ar_ptr(env, heap, av);
      set_heap_prev(env, heap, old_heap);
      const hs = heap_size(env, heap);
      set_system_mem(env, av, wrap(env, system_mem(env, av) + hs));
      const top = heap + env.SIZEOF_HEAP_INFO;
      set_av_top(env, av, top);
      set_head(env, top, with_prev_inuse(heap_size(env, heap) - env.SIZEOF_HEAP_INFO));
      // The old top is closed by a fencepost of MINSIZE (it may become the top again when heap_trim
      // deletes the new heap: it has a foot, though in use) and what is left of it is freed.
      old_size = align_down(wrap(env, old_size - minsize), MALLOC_ALIGNMENT);
      set_head(env, wrap(env, old_top + old_size + hdr), 0 + PREV_INUSE);
      if (old_size >= minsize) {
        set_head(env, wrap(env, old_top + old_size), hdr + PREV_INUSE);
        set_foot(env, wrap(env, old_top + old_size), hdr);
        set_head(env, old_top, old_size + PREV_INUSE + NON_MAIN_ARENA);
        _int_free(env, av, old_top, true);
      } else {
        set_head(env, old_top, old_size + hdr + PREV_INUSE);
        set_foot(env, old_top, old_size + hdr);
      }
    } else if (!tried_mmap) {
      const mm = sysmalloc_mmap(env, nb);
      if (mm !== failed) return mm;
    }
  } else {
    let brk = 0; // MORECORE_FAILURE
    let snd_brk = 0;

    // size is a signed long in glibc: the request, less the old top when it can be extended
    let size = sword(env, nb + env.mp[W_TOP_PAD]! + minsize);
    if (contiguous(env, av)) size = sword(env, size - old_size);
    size = sword(env, align_up(env, size, PAGESIZE));
    if (size > 0) brk = morecore(env, size);

    if (brk === 0) {
      // mmap as a stand-in for a failed brk (sysmalloc_mmap_fallback).
      // glibc 2.36 passes (pagesize, MMAP_AS_MORECORE_SIZE) where the function takes (minsize,
      // pagesize): while the arena is contiguous the size, old top included, is rounded up to a
      // multiple of 1 MiB; afterwards it stays page-rounded, one page at least.
      let msize = wrap(env, size);
      if (contiguous(env, av)) msize = align_up(env, msize + old_size, MMAP_AS_MORECORE_SIZE);
      if (msize < PAGESIZE) msize = PAGESIZE;
      if (msize > nb) {
        const mbrk = mmap_anon(env, msize);
        if (mbrk !== failed) {
          set_noncontiguous(env, av);
          size = sword(env, msize);
          brk = mbrk;
          snd_brk = wrap(env, brk + msize);
        }
      }
    }

    if (brk !== 0) {
      if (env.mp[W_SBRK_BASE] === 0) env.mp[W_SBRK_BASE] = brk;
      set_system_mem(env, av, wrap(env, system_mem(env, av) + size));

      if (brk === old_end && snd_brk === 0) {
        // the break simply grew the top
        set_head(env, old_top, with_prev_inuse(wrap(env, size) + old_size));
      } else if (contiguous(env, av) && old_size !== 0 && brk < old_end) {
        malloc_printerr(env, BREAK_ADJUSTED);
      } else {
        let correction = 0;
        let aligned_brk = brk;
        if (contiguous(env, av)) {
          // A foreign sbrk moved the break: count the gap as ours.
          if (old_size !== 0) set_system_mem(env, av, wrap(env, system_mem(env, av) + brk - old_end));
          const front_misalign = (brk + hdr) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) {
            correction = MALLOC_ALIGNMENT - front_misalign;
            aligned_brk += correction;
          }
          // the old top cannot be merged: ask again for its size, and round the end to a page
          correction += old_size;
          const end_misalign = wrap(env, brk + wrap(env, size) + correction);
          correction = wrap(env, correction + align_up(env, end_misalign, PAGESIZE) - end_misalign);
          snd_brk = morecore(env, sword(env, correction));
          if (snd_brk === 0) {
            correction = 0;
            snd_brk = morecore(env, 0);
          }
        } else {
          const front_misalign = (brk + hdr) & MALLOC_ALIGN_MASK;
          if (front_misalign > 0) aligned_brk += MALLOC_ALIGNMENT - front_misalign;
          if (snd_brk === 0) snd_brk = morecore(env, 0);
        }

        if (snd_brk !== 0) {
          set_av_top(env, av, aligned_brk);
          set_head(env, aligned_brk, with_prev_inuse(snd_brk - aligned_brk + correction));
          set_system_mem(env, av, wrap(env, system_mem(env, av) + correction));
          if (old_size !== 0) {
            // Two fenceposts close the old top; what is left of it is freed.
            old_size = align_down(wrap(env, old_size - 2 * hdr), MALLOC_ALIGNMENT);
            set_head(env, old_top, old_size + 1);
            set_head(env, old_top + old_size, hdr + 1);
            set_head(env, old_top + old_size + hdr, hdr + 1);
            if (old_size >= minsize) _int_free(env, av, old_top, true);
          }
        }
      }
    }
  }

  if (system_mem(env, av) > max_system_mem(env, av)) set_max_system_mem(env, av, system_mem(env, av));

  const p = av_top(env, av);
  const topsize = chunksize(env, p);
  if (topsize >= nb + minsize) {
    const remainder = p + nb;
    set_av_top(env, av, remainder);
    set_head(env, p, nb + 1 + arena_bit(env, av));
    set_head(env, remainder, with_prev_inuse(topsize - nb));
    return wrap(env, p + hdr);
  }
  set_errno(env, ENOMEM);
  return 0;
}

/** systrim(pad, av): give the top's free whole pages beyond `pad` back to the kernel (the main
 *  arena's: the only one whose top ends at the break). 1 if released. */
export function systrim(env: Env, pad: number, av: number): number {
  const top = av_top(env, av);
  const top_size = chunksize(env, top);
  const top_area = wrap(env, top_size - env.MINSIZE - 1); // a long in glibc, compared as unsigned
  if (top_area <= pad) return 0;
  const extra = align_down(wrap(env, top_area - pad), PAGESIZE);
  if (extra === 0) return 0;
  const current_brk = morecore(env, 0);
  if (current_brk === wrap(env, top + top_size)) {
    morecore(env, -sword(env, extra));
    const new_brk = morecore(env, 0);
    if (new_brk !== 0) {
      const released = wrap(env, current_brk - new_brk);
      if (released !== 0) {
        set_system_mem(env, av, wrap(env, system_mem(env, av) - released));
        set_head(env, top, with_prev_inuse(top_size - released));
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
  const mem = wrap(env, p + env.CHUNK_HDR_SZ);
  const block = wrap(env, p - offset);
  const total_size = wrap(env, offset + size);
  if (page_off(block) !== 0 || page_off(total_size) !== 0 || !powerof2(page_off(mem))) {
    malloc_printerr(env, MUNMAP_CHUNK_INVALID_POINTER);
  }
  env.mpi[W_N_MMAPS] = env.mpi[W_N_MMAPS]! - 1;
  env.mp[W_MMAPPED_MEM] = wrap(env, env.mp[W_MMAPPED_MEM]! - total_size);
  do_munmap(env, block, total_size);
}

/** mremap_chunk: resize an mmapped chunk's mapping (may move); 0 when mremap fails. */
export function mremap_chunk(env: Env, p0: number, nb: number): number {
  const offset = prev_size(env, p0);
  const size = chunksize(env, p0);
  const block = wrap(env, p0 - offset);
  const mem = wrap(env, p0 + env.CHUNK_HDR_SZ);
  const total_size = wrap(env, offset + size);
  if (page_off(block) !== 0 || page_off(total_size) !== 0 || !powerof2(page_off(mem))) {
    malloc_printerr(env, MREMAP_CHUNK_INVALID_POINTER);
  }
  const new_size = align_up(env, nb + offset + env.SIZE_SZ, PAGESIZE);
  if (total_size === new_size) return p0;
  const cp = do_mremap(env, block, total_size, new_size, MREMAP_MAYMOVE);
  if (cp === map_failed(env)) return 0;
  const p = wrap(env, cp + offset);
  set_head(env, p, new_size - offset + IS_MMAPPED);
  const mp = env.mp;
  mp[W_MMAPPED_MEM] = wrap(env, mp[W_MMAPPED_MEM]! + new_size - size - offset);
  if (mp[W_MMAPPED_MEM]! > mp[W_MAX_MMAPPED_MEM]!) mp[W_MAX_MMAPPED_MEM] = mp[W_MMAPPED_MEM]!;
  return p;
}
