// malloc: the tcache fast path, then _int_malloc's search order —
// fastbin (exact) → small bin (exact) → [large request: consolidate fastbins] →
// unsorted bin (exact fits taken or cached, the rest sorted into bins; the last remainder
// serves small runs) → large bin best fit → next non-empty bin via the binmap → top → sysmalloc.

import { BINMAPSHIFT, BINMAPSIZE, ENOMEM } from "../../assembly/config.js";
import {
  ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA, ASSERT_INT_MALLOC_BIT, ASSERT_INT_MALLOC_FWD_MAIN_ARENA, ASSERT_INT_MALLOC_SIZE,
  MALLOC_CORRUPTED_TOP_SIZE, MALLOC_CORRUPTED_UNSORTED, MALLOC_CORRUPTED_UNSORTED_2, MALLOC_CORRUPTED_UNSORTED_3,
  MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED, MALLOC_INVALID_NEXT_SIZE_UNSORTED, MALLOC_INVALID_SIZE_UNSORTED,
  MALLOC_LARGEBIN_CORRUPTED_BK, MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE, MALLOC_MEMORY_CORRUPTION_FAST,
  MALLOC_MISMATCHING_PREV_SIZE_UNSORTED, MALLOC_SMALLBIN_CORRUPTED, MALLOC_UNALIGNED_FASTBIN,
  MALLOC_UNALIGNED_FASTBIN_2, MALLOC_UNALIGNED_FASTBIN_3, MALLOC_UNSORTED_CORRUPTED,
} from "../../assembly/messages.js";
import {
  av_top, binmap, fastbin, have_fastchunks, last_remainder, max_system_mem, set_attached_threads, set_av_next, set_av_top,
  set_binmap, set_fastbin, set_last_remainder, system_mem,
} from "./arena.js";
import { arena_get, arena_get_retry } from "./arenas.js";
import {
  arena_bit, bin_at, fastbin_index, in_smallbin_range, largebin_index_of, malloc_init_state, mark_bin, next_bin,
  smallbin_index, unlink_chunk, unsorted_chunks,
} from "./bins.js";
import {
  checked_request2size, chunk_is_mmapped, chunksize, mem2chunk, misaligned_chunk, protect_ptr, request2size,
  set_non_main_arena, size_of, with_prev_inuse,
} from "./chunk.js";
import { fill_checked, ld, ld16, ldw, malloc_printerr, st, wrap, type Env } from "./env.js";
import { malloc_consolidate } from "./free.js";
import { heap_for_ptr, heap_mprotect_size } from "./heap.js";
import {
  W_GLOBAL_MAX_FAST, W_MALLOC_INITIALIZED, W_MULTIPLE_THREADS, W_PERTURB_BYTE, W_SBRK_BASE, W_TCACHE, W_TCACHE_BINS,
  W_TCACHE_COUNT, W_TCACHE_UNSORTED_LIMIT, W_THREAD_ARENA,
} from "./layout.js";
import { MALLOC_CYCLIC_LARGEBIN_SEARCH, MALLOC_CYCLIC_LARGEBIN_SORT } from "../../assembly/hangs.js";
import { walk_start, walk_step } from "./stats.js";
import { sysmalloc } from "./sysmalloc.js";
import { set_errno } from "./syscalls.js";
import { csize2tidx, tcache_get, tcache_init, tcache_put } from "./tcache.js";

/** ptmalloc_init: once, before the first use of the arena. */
export function ptmalloc_init(env: Env): void {
  if (env.mp[W_MALLOC_INITIALIZED] !== 0) return;
  env.mp[W_MALLOC_INITIALIZED] = 1;
  const main = env.mainArena;
  malloc_init_state(env, main);
  // glibc's static initializer: main_arena alone in the ring, used by the main thread
  set_av_next(env, main, main);
  set_attached_threads(env, main, 1);
  env.mp[W_THREAD_ARENA] = main;
}

/** alloc_perturb: fill fresh user memory with perturb_byte ^ 0xff (M_PERTURB). */
export function alloc_perturb(env: Env, p: number, n: number): void {
  const perturb = env.mpi[W_PERTURB_BYTE]!;
  if (perturb !== 0) {
    fill_checked(env, p, perturb ^ 0xff, n);
  }
}

/** __libc_malloc */
export function libc_malloc(env: Env, bytes: number): number {
  const mp = env.mp;
  if (mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  if (bytes > env.PTRDIFF_MAX) {
    set_errno(env, ENOMEM);
    return 0;
  }
  const tc_idx = csize2tidx(env, request2size(env, bytes));
  let tc = mp[W_TCACHE]!;
  if (tc === 0) {
    tcache_init(env);
    tc = env.mp[W_TCACHE]!;
  }
  if (tc_idx < env.mp[W_TCACHE_BINS]! && tc !== 0 && ld16(env, tc, tc_idx) > 0) return tcache_get(env, tc_idx);
  if (env.mp[W_MULTIPLE_THREADS] === 0) return _int_malloc(env, env.mainArena, bytes);
  return malloc_threaded(env, bytes);
}

/** __libc_malloc past the tcache once threads exist: the thread's arena, and another if that fails. */
function malloc_threaded(env: Env, bytes: number): number {
  let av = arena_get(env, bytes);
  let victim = _int_malloc(env, av, bytes);
  if (victim === 0 && av !== 0) {
    av = arena_get_retry(env, av, bytes);
    victim = _int_malloc(env, av, bytes);
  }
  return victim;
}

/** A split's chunk fields: nextsize cleared on a large remainder, both heads, the remainder's foot. */
function set_split_heads(env: Env, av: number, victim: number, nb: number, remainder: number, remainder_size: number): void {
  if (!in_smallbin_range(env, remainder_size)) {
    st(env, remainder, 16, 0);
    st(env, remainder, 20, 0);
  }
  st(env, victim, 4, nb + 1 + arena_bit(env, av));
  st(env, remainder, 4, remainder_size + 1);
  st(env, wrap(env, remainder + remainder_size), 0, remainder_size);
}

/** Set PREV_INUSE of the chunk at p + size (a load and a store of its size field). */
function set_inuse_after(env: Env, p: number, size: number): void {
  const next = wrap(env, p + size);
  st(env, next, 4, with_prev_inuse(ld(env, next, 4)));
}

/** Split `victim` (already unlinked, size `size`) for a request of `nb`: the remainder goes to
 *  the unsorted bin, or the whole chunk is used when the remainder would be too small. */
function split_to_unsorted(
  env: Env, av: number, victim: number, size: number, nb: number, message: string, setLastRemainder: boolean,
): void {
  const remainder_size = size - nb;
  if (remainder_size < env.MINSIZE) {
    set_inuse_after(env, victim, size);
    if (av !== env.mainArena) set_non_main_arena(env, victim);
  } else {
    const remainder = wrap(env, victim + nb);
    const bck = unsorted_chunks(env, av);
    const fwd = ld(env, bck, 8);
    if (ld(env, fwd, 12) !== bck) malloc_printerr(env, message);
    st(env, remainder, 12, bck);
    st(env, remainder, 8, fwd);
    st(env, bck, 8, remainder);
    st(env, fwd, 12, remainder);
    if (setLastRemainder) set_last_remainder(env, av, remainder);
    set_split_heads(env, av, victim, nb, remainder, remainder_size);
  }
}

/** The next larger non-empty bin after `idx`, by the binmap (stale bits cleared on the way); 0 if none. */
function binmap_search(env: Env, av: number, idx: number): number {
  let bin = bin_at(env, av, idx);
  let block = idx >>> BINMAPSHIFT;
  let map = binmap(env, av, block);
  let bit = (1 << (idx & 31)) >>> 0;
  for (;;) {
    if (bit > map || bit === 0) {
      do {
        if (++block >= BINMAPSIZE) return 0;
      } while ((map = binmap(env, av, block)) === 0);
      bin = bin_at(env, av, block << BINMAPSHIFT);
      bit = 1;
    }
    while ((bit & map) === 0) {
      bin = next_bin(env, bin);
      bit = (bit << 1) >>> 0;
      if (bit === 0) malloc_printerr(env, ASSERT_INT_MALLOC_BIT);
    }
    const victim = ldw(env, bin, 12);
    if (victim !== bin) return victim;
    // a stale bit: clear it and go on
    map = (map & ~bit) >>> 0;
    set_binmap(env, av, block, map);
    bin = next_bin(env, bin);
    bit = (bit << 1) >>> 0;
  }
}

/** _int_malloc(av, bytes) */
export function _int_malloc(env: Env, av: number, bytes: number): number {
  const nb = checked_request2size(env, bytes);
  if (nb === 0) {
    set_errno(env, ENOMEM);
    return 0;
  }
  if (av === 0) {
    // no arena could be had: mmap is all that is left
    const p = sysmalloc(env, nb, 0);
    if (p !== 0) alloc_perturb(env, p, bytes);
    return p;
  }
  const mp = env.mp;
  const tc = mp[W_TCACHE]!;
  const hdr = env.CHUNK_HDR_SZ;
  const main = env.mainArena;

  // ── fastbins ──
  if (nb <= mp[W_GLOBAL_MAX_FAST]!) {
    const idx = fastbin_index(env, nb);
    const victim = fastbin(env, av, idx);
    if (victim !== 0) {
      if (misaligned_chunk(env, victim)) malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN_2);
      const next = protect_ptr(env, victim + hdr, ld(env, victim, 8));
      // with threads, glibc's atomic removal looks at the new head first
      if (next !== 0 && env.mp[W_MULTIPLE_THREADS] !== 0 && misaligned_chunk(env, next)) malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN);
      set_fastbin(env, av, idx, next);
      if (fastbin_index(env, chunksize(env, victim)) !== idx) malloc_printerr(env, MALLOC_MEMORY_CORRUPTION_FAST);
      const tc_idx = csize2tidx(env, nb);
      if (tc !== 0 && tc_idx < env.mp[W_TCACHE_BINS]!) {
        let tc_victim: number;
        while (ld16(env, tc, tc_idx) < env.mp[W_TCACHE_COUNT]! && (tc_victim = fastbin(env, av, idx)) !== 0) {
          if (misaligned_chunk(env, tc_victim)) malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN_3);
          const tc_next = protect_ptr(env, tc_victim + hdr, ld(env, tc_victim, 8));
          if (tc_next !== 0 && env.mp[W_MULTIPLE_THREADS] !== 0 && misaligned_chunk(env, tc_next)) {
            malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN);
          }
          set_fastbin(env, av, idx, tc_next);
          tcache_put(env, tc_victim, tc_idx);
        }
      }
      const p = victim + hdr;
      alloc_perturb(env, p, bytes);
      return p;
    }
  }

  let idx: number;
  // ── small bins ──
  if (in_smallbin_range(env, nb)) {
    idx = smallbin_index(env, nb);
    const bin = bin_at(env, av, idx);
    const victim = ld(env, bin, 12);
    if (victim !== bin) {
      const bck = ld(env, victim, 12);
      if (ld(env, bck, 8) !== victim) malloc_printerr(env, MALLOC_SMALLBIN_CORRUPTED);
      set_inuse_after(env, victim, nb);
      st(env, bin, 12, bck);
      st(env, bck, 8, bin);
      if (av !== main) set_non_main_arena(env, victim);
      const tc_idx = csize2tidx(env, nb);
      if (tc !== 0 && tc_idx < env.mp[W_TCACHE_BINS]!) {
        let tc_victim: number;
        while (ld16(env, tc, tc_idx) < env.mp[W_TCACHE_COUNT]! && (tc_victim = ld(env, bin, 12)) !== bin) {
          const b2 = ld(env, tc_victim, 12);
          set_inuse_after(env, tc_victim, nb);
          if (av !== main) set_non_main_arena(env, tc_victim);
          st(env, bin, 12, b2);
          st(env, b2, 8, bin);
          tcache_put(env, tc_victim, tc_idx);
        }
      }
      const p = victim + hdr;
      alloc_perturb(env, p, bytes);
      return p;
    }
  } else {
    idx = largebin_index_of(env, nb);
    if (have_fastchunks(env, av)) malloc_consolidate(env, av);
  }

  const tc_idx = csize2tidx(env, nb);
  const tcache_nb = tc !== 0 && tc_idx < env.mp[W_TCACHE_BINS]! ? nb : 0;
  let return_cached = false;
  let tcache_unsorted_count = 0;
  const unsorted = unsorted_chunks(env, av);

  for (;;) {
    // ── the unsorted bin ──
    let iters = 0;
    let victim: number;
    while ((victim = ld(env, unsorted, 12)) !== unsorted) {
      let bck = ld(env, victim, 12);
      let size = chunksize(env, victim);
      const next = wrap(env, victim + size);
      const sysmem = system_mem(env, av);
      if (size <= 2 * env.SIZE_SZ || size > sysmem) malloc_printerr(env, MALLOC_INVALID_SIZE_UNSORTED);
      const nextsz = ld(env, next, 4);
      if (nextsz < 2 * env.SIZE_SZ || nextsz > sysmem) malloc_printerr(env, MALLOC_INVALID_NEXT_SIZE_UNSORTED);
      if (size_of(ld(env, next, 0)) !== size) malloc_printerr(env, MALLOC_MISMATCHING_PREV_SIZE_UNSORTED);
      if (ld(env, bck, 8) !== victim || ld(env, victim, 8) !== unsorted) {
        malloc_printerr(env, MALLOC_UNSORTED_CORRUPTED);
      }
      if ((nextsz & 1) !== 0) malloc_printerr(env, MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED);

      // A small request takes from the last remainder when it is the only unsorted chunk.
      if (
        in_smallbin_range(env, nb) && bck === unsorted && victim === last_remainder(env, av) && size > nb + env.MINSIZE
      ) {
        const remainder_size = size - nb;
        const remainder = wrap(env, victim + nb);
        st(env, unsorted, 12, remainder);
        st(env, unsorted, 8, remainder);
        set_last_remainder(env, av, remainder);
        st(env, remainder, 12, unsorted);
        st(env, remainder, 8, unsorted);
        set_split_heads(env, av, victim, nb, remainder, remainder_size);
        const p = victim + hdr;
        alloc_perturb(env, p, bytes);
        return p;
      }

      if (ld(env, bck, 8) !== victim) malloc_printerr(env, MALLOC_CORRUPTED_UNSORTED_3);
      st(env, unsorted, 12, bck);
      st(env, bck, 8, unsorted);

      if (size === nb) {
        set_inuse_after(env, victim, size);
        if (av !== main) set_non_main_arena(env, victim);
        if (tcache_nb !== 0 && ld16(env, tc, tc_idx) < env.mp[W_TCACHE_COUNT]!) {
          tcache_put(env, victim, tc_idx);
          return_cached = true;
          continue;
        }
        const p = victim + hdr;
        alloc_perturb(env, p, bytes);
        return p;
      }

      // Sort the chunk into its bin.
      let victim_index: number;
      let fwd: number;
      if (in_smallbin_range(env, size)) {
        victim_index = smallbin_index(env, size);
        bck = bin_at(env, av, victim_index);
        fwd = ld(env, bck, 8);
      } else {
        victim_index = largebin_index_of(env, size);
        bck = bin_at(env, av, victim_index);
        fwd = ld(env, bck, 8);
        if (fwd !== bck) {
          size = size + 1; // compare with size fields directly (PREV_INUSE always set there)
          const last = ld(env, bck, 12);
          if ((ld(env, last, 4) & 4) !== 0) malloc_printerr(env, ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA);
          if (size < ld(env, last, 4)) {
            // smaller than the smallest: append
            fwd = bck;
            bck = last;
            const first = ld(env, fwd, 8);
            st(env, victim, 16, first);
            st(env, victim, 20, ld(env, first, 20));
            st(env, first, 20, victim);
            st(env, ld(env, victim, 20), 16, victim);
          } else {
            if ((ld(env, fwd, 4) & 4) !== 0) malloc_printerr(env, ASSERT_INT_MALLOC_FWD_MAIN_ARENA);
            walk_start(); // glibc loops forever on a cyclic nextsize list: assembly/hangs.ts
            while (size < ld(env, fwd, 4)) {
              fwd = ld(env, fwd, 16);
              if ((ld(env, fwd, 4) & 4) !== 0) malloc_printerr(env, ASSERT_INT_MALLOC_FWD_MAIN_ARENA);
              walk_step(env, fwd, MALLOC_CYCLIC_LARGEBIN_SORT);
            }
            if (size === ld(env, fwd, 4)) {
              // same size: insert after the first of that size (the skip list is unchanged)
              fwd = ld(env, fwd, 8);
            } else {
              st(env, victim, 16, fwd);
              st(env, victim, 20, ld(env, fwd, 20));
              if (ld(env, ld(env, fwd, 20), 16) !== fwd) malloc_printerr(env, MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE);
              st(env, fwd, 20, victim);
              st(env, ld(env, victim, 20), 16, victim);
            }
            bck = ld(env, fwd, 12);
            if (ld(env, bck, 8) !== fwd) malloc_printerr(env, MALLOC_LARGEBIN_CORRUPTED_BK);
          }
        } else {
          st(env, victim, 16, victim);
          st(env, victim, 20, victim);
        }
      }
      mark_bin(env, av, victim_index);
      st(env, victim, 12, bck);
      st(env, victim, 8, fwd);
      st(env, fwd, 12, victim);
      st(env, bck, 8, victim);

      ++tcache_unsorted_count;
      const limit = env.mp[W_TCACHE_UNSORTED_LIMIT]!;
      if (return_cached && limit > 0 && tcache_unsorted_count > limit) return tcache_get(env, tc_idx);
      if (++iters >= 10000) break;
    }

    if (return_cached) return tcache_get(env, tc_idx);

    // ── large request: best fit in its own bin ──
    if (!in_smallbin_range(env, nb)) {
      const bin = bin_at(env, av, idx);
      victim = ld(env, bin, 8);
      if (victim !== bin && ld(env, victim, 4) >= nb) {
        victim = ld(env, victim, 20);
        let size: number;
        walk_start(); // glibc loops forever on a cyclic nextsize list: assembly/hangs.ts
        while ((size = chunksize(env, victim)) < nb) {
          victim = ld(env, victim, 20);
          walk_step(env, victim, MALLOC_CYCLIC_LARGEBIN_SEARCH);
        }
        // Take the second of equal-sized chunks: the skip list need not be rerouted.
        if (victim !== ld(env, bin, 12) && ld(env, victim, 4) === ld(env, ld(env, victim, 8), 4)) {
          victim = ld(env, victim, 8);
        }
        unlink_chunk(env, av, victim);
        split_to_unsorted(env, av, victim, size, nb, MALLOC_CORRUPTED_UNSORTED, false);
        const p = victim + hdr;
        alloc_perturb(env, p, bytes);
        return p;
      }
    }

    // ── the next larger non-empty bin, by the binmap ──
    ++idx;
    victim = binmap_search(env, av, idx);
    if (victim !== 0) {
      const size = chunksize(env, victim);
      if (size < nb) malloc_printerr(env, ASSERT_INT_MALLOC_SIZE); // bins above nb's hold only larger chunks
      unlink_chunk(env, av, victim);
      split_to_unsorted(env, av, victim, size, nb, MALLOC_CORRUPTED_UNSORTED_2, in_smallbin_range(env, nb));
      const p = victim + hdr;
      alloc_perturb(env, p, bytes);
      return p;
    }

    // ── top ──
    victim = av_top(env, av);
    const size = chunksize(env, victim);
    if (size > system_mem(env, av)) malloc_printerr(env, MALLOC_CORRUPTED_TOP_SIZE);
    if (size >= nb + env.MINSIZE) {
      const remainder = wrap(env, victim + nb);
      set_av_top(env, av, remainder);
      st(env, victim, 4, nb + 1 + arena_bit(env, av));
      st(env, remainder, 4, size - nb + 1);
      const p = victim + hdr;
      alloc_perturb(env, p, bytes);
      return p;
    } else if (have_fastchunks(env, av)) {
      malloc_consolidate(env, av);
      idx = in_smallbin_range(env, nb) ? smallbin_index(env, nb) : largebin_index_of(env, nb);
    } else {
      const p = sysmalloc(env, nb, av);
      if (p !== 0) alloc_perturb(env, p, bytes);
      return p;
    }
  }
}

/** n × size, or -1 when it overflows a ptrdiff_t (__builtin_mul_overflow): exact, whatever the word. */
function mul_checked(env: Env, n: number, size: number): number {
  const product = n * size;
  if (product <= env.PTRDIFF_MAX && Number.isSafeInteger(product)) return product;
  if (!env.wide || product > 2 ** 64) return -1;
  // near the limit a double rounds: decide in exact integers
  const exact = BigInt(n) * BigInt(size);
  return exact > 0x7fffffffffffffffn ? -1 : Number(exact);
}

/** __libc_calloc: no tcache; memory fresh from the kernel is not cleared again. */
export function libc_calloc(env: Env, n: number, elem_size: number): number {
  const sz = mul_checked(env, n, elem_size);
  if (sz < 0) {
    // __builtin_mul_overflow into a ptrdiff_t
    set_errno(env, ENOMEM);
    return 0;
  }
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  if (env.mp[W_TCACHE] === 0) tcache_init(env);

  const threaded = env.mp[W_MULTIPLE_THREADS] !== 0;
  const main = env.mainArena;
  let av = threaded ? arena_get(env, sz) : main;

  let oldtop = 0;
  let oldtopsize = 0;
  if (av !== 0) {
    oldtop = av_top(env, av);
    oldtopsize = chunksize(env, oldtop);
    // Only newly allocated memory is known to be clear (MORECORE_CLEARS == 1): for the main arena,
    // what lies beyond the most the break ever held; in a heap, beyond what was ever read-write.
    if (av === main) {
      const fresh = wrap(env, env.mp[W_SBRK_BASE]! + max_system_mem(env, av) - oldtop);
      if (oldtopsize < fresh) oldtopsize = fresh;
    } else {
      const heap = heap_for_ptr(env, oldtop);
      const fresh = wrap(env, heap + heap_mprotect_size(env, heap) - oldtop);
      if (oldtopsize < fresh) oldtopsize = fresh;
    }
  }

  let mem = _int_malloc(env, av, sz);
  if (threaded && mem === 0 && av !== 0) {
    av = arena_get_retry(env, av, sz);
    mem = _int_malloc(env, av, sz);
  }
  if (mem === 0) return 0;
  const p = mem2chunk(env, mem);
  let csz = chunksize(env, p);
  const perturb = env.mpi[W_PERTURB_BYTE]!;
  if (chunk_is_mmapped(env, p)) {
    if (perturb !== 0) {
      fill_checked(env, mem, 0, sz);
    }
    return mem;
  }
  if (perturb === 0 && p === oldtop && csz > oldtopsize) csz = oldtopsize;
  const clearsize = csz - env.SIZE_SZ;
  fill_checked(env, mem, 0, clearsize); // every page it stores into is faulted in first
  return mem;
}
