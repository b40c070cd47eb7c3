// malloc: the tcache fast path, then _int_malloc's search order —
// fastbin (exact) → small bin (exact) → [large request: consolidate fastbins] →
// unsorted bin (exact fits taken or cached, the rest sorted into bins; the last remainder
// serves small runs) → large bin best fit → next non-empty bin via the binmap → top → sysmalloc.

import { BINMAPSHIFT, BINMAPSIZE, ENOMEM, MINSIZE, SIZE_SZ } from "../../assembly/config.js";
import {
  ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA, ASSERT_INT_MALLOC_BIT, ASSERT_INT_MALLOC_FWD_MAIN_ARENA, ASSERT_INT_MALLOC_SIZE,
  MALLOC_CORRUPTED_TOP_SIZE, MALLOC_CORRUPTED_UNSORTED, MALLOC_CORRUPTED_UNSORTED_2, MALLOC_CORRUPTED_UNSORTED_3,
  MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED, MALLOC_INVALID_NEXT_SIZE_UNSORTED, MALLOC_INVALID_SIZE_UNSORTED,
  MALLOC_LARGEBIN_CORRUPTED_BK, MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE, MALLOC_MEMORY_CORRUPTION_FAST,
  MALLOC_MISMATCHING_PREV_SIZE_UNSORTED, MALLOC_SMALLBIN_CORRUPTED, MALLOC_UNALIGNED_FASTBIN,
  MALLOC_UNALIGNED_FASTBIN_2, MALLOC_UNALIGNED_FASTBIN_3, MALLOC_UNSORTED_CORRUPTED,
} from "../../assembly/messages.js";
import { arena_get, arena_get_retry } from "./arenas.js";
import {
  arena_bit, bin_at, binmap_w, fastbin_index, in_smallbin_range, largebin_index, malloc_init_state, mark_bin, next_bin,
  smallbin_index, unlink_chunk, unsorted_chunks,
} from "./bins.js";
import {
  checked_request2size, chunk_is_mmapped, chunksize, mem2chunk, misaligned_chunk, request2size, set_non_main_arena,
} from "./chunk.js";
import { check_range, ld, malloc_printerr, st, type Env } from "./env.js";
import { malloc_consolidate } from "./free.js";
import { heap_for_ptr, heap_mprotect_size } from "./heap.js";
import {
  AV_ATTACHED_THREADS, AV_FASTBINS, AV_HAVE_FASTCHUNKS, AV_LAST_REMAINDER, AV_MAX_SYSTEM_MEM, AV_NEXT, AV_SYSTEM_MEM,
  AV_TOP, MAIN_ARENA, W_GLOBAL_MAX_FAST, W_MALLOC_INITIALIZED, W_MULTIPLE_THREADS, W_PERTURB_BYTE, W_SBRK_BASE,
  W_TCACHE, W_TCACHE_BINS, W_TCACHE_COUNT, W_TCACHE_UNSORTED_LIMIT, W_THREAD_ARENA,
} from "./layout.js";
import { MALLOC_CYCLIC_LARGEBIN_SEARCH, MALLOC_CYCLIC_LARGEBIN_SORT } from "../../assembly/hangs.js";
import { walk_start, walk_step } from "./stats.js";
import { sysmalloc } from "./sysmalloc.js";
import { set_errno } from "./syscalls.js";
import { csize2tidx, tcache_get, tcache_init, tcache_put } from "./tcache.js";

/** ptmalloc_init: once, before the first use of the arena. */
export function ptmalloc_init(env: Env): void {
  if (env.u32[W_MALLOC_INITIALIZED] !== 0) return;
  env.u32[W_MALLOC_INITIALIZED] = 1;
  malloc_init_state(env, MAIN_ARENA);
  // glibc's static initializer: main_arena alone in the ring, used by the main thread
  const m = env.u32;
  m[(MAIN_ARENA + AV_NEXT) >>> 2] = MAIN_ARENA;
  m[(MAIN_ARENA + AV_ATTACHED_THREADS) >>> 2] = 1;
  m[W_THREAD_ARENA] = MAIN_ARENA;
}

/** alloc_perturb: fill fresh user memory with perturb_byte ^ 0xff (M_PERTURB). */
export function alloc_perturb(env: Env, p: number, n: number): void {
  const perturb = env.i32[W_PERTURB_BYTE];
  if (perturb !== 0) {
    check_range(env, p, n, true);
    env.u8.fill((perturb ^ 0xff) & 0xff, p, p + n);
  }
}

/** __libc_malloc */
export function libc_malloc(env: Env, bytes: number): number {
  let m = env.u32;
  if (m[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  if (bytes > 0x7fffffff) {
    set_errno(env, ENOMEM);
    return 0;
  }
  const tc_idx = csize2tidx(request2size(bytes));
  let tc = m[W_TCACHE];
  if (tc === 0) {
    tcache_init(env);
    m = env.u32;
    tc = m[W_TCACHE];
  }
  if (tc_idx < m[W_TCACHE_BINS] && tc !== 0 && env.u16[(tc >>> 1) + tc_idx] > 0) return tcache_get(env, tc_idx);
  if (m[W_MULTIPLE_THREADS] === 0) return _int_malloc(env, MAIN_ARENA, bytes);
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
  if (!in_smallbin_range(remainder_size)) {
    st(env, remainder, 16, 0);
    st(env, remainder, 20, 0);
  }
  st(env, victim, 4, nb | 1 | arena_bit(av));
  st(env, remainder, 4, remainder_size | 1);
  st(env, (remainder + remainder_size) >>> 0, 0, remainder_size);
}

/** Split `victim` (already unlinked, size `size`) for a request of `nb`: the remainder goes to
 *  the unsorted bin, or the whole chunk is used when the remainder would be too small. */
function split_to_unsorted(
  env: Env, av: number, victim: number, size: number, nb: number, message: string, setLastRemainder: boolean,
): void {
  const m = env.u32;
  const remainder_size = size - nb;
  if (remainder_size < MINSIZE) {
    st(env, (victim + size) >>> 0, 4, ld(env, (victim + size) >>> 0, 4) | 1);
    if (av !== MAIN_ARENA) set_non_main_arena(env, victim);
  } else {
    const remainder = (victim + nb) >>> 0;
    const bck = unsorted_chunks(av);
    const fwd = ld(env, bck, 8);
    if (ld(env, fwd, 12) !== bck) malloc_printerr(env, message);
    st(env, remainder, 12, bck);
    st(env, remainder, 8, fwd);
    st(env, bck, 8, remainder);
    st(env, fwd, 12, remainder);
    if (setLastRemainder) m[(av + AV_LAST_REMAINDER) >>> 2] = remainder;
    set_split_heads(env, av, victim, nb, remainder, remainder_size);
  }
}

/** The next larger non-empty bin after `idx`, by the binmap (stale bits cleared on the way); 0 if none. */
function binmap_search(env: Env, av: number, idx: number): number {
  const m = env.u32;
  let bin = bin_at(av, idx);
  let block = idx >>> BINMAPSHIFT;
  let map = m[binmap_w(av, block)];
  let bit = (1 << (idx & 31)) >>> 0;
  for (;;) {
    if (bit > map || bit === 0) {
      do {
        if (++block >= BINMAPSIZE) return 0;
      } while ((map = m[binmap_w(av, block)]) === 0);
      bin = bin_at(av, block << BINMAPSHIFT);
      bit = 1;
    }
    while ((bit & map) === 0) {
      bin = next_bin(bin);
      bit = (bit << 1) >>> 0;
      if (bit === 0) malloc_printerr(env, ASSERT_INT_MALLOC_BIT);
    }
    const victim = m[(bin + 12) >>> 2];
    if (victim !== bin) return victim;
    // a stale bit: clear it and go on
    map = (map & ~bit) >>> 0;
    m[binmap_w(av, block)] = map;
    bin = next_bin(bin);
    bit = (bit << 1) >>> 0;
  }
}

/** _int_malloc(av, bytes) */
export function _int_malloc(env: Env, av: number, bytes: number): number {
  const nb = checked_request2size(bytes);
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
  const m = env.u32;
  const tc = m[W_TCACHE];

  // ── fastbins ──
  if (nb <= m[W_GLOBAL_MAX_FAST]) {
    const idx = fastbin_index(nb);
    const fbw = ((av + AV_FASTBINS) >>> 2) + idx;
    const victim = m[fbw];
    if (victim !== 0) {
      if (misaligned_chunk(victim)) malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN_2);
      const next = ((victim + 8) >>> 12) ^ ld(env, victim, 8);
      // with threads, glibc's atomic removal looks at the new head first
      if (next !== 0 && m[W_MULTIPLE_THREADS] !== 0 && misaligned_chunk(next)) malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN);
      m[fbw] = next;
      if (fastbin_index(chunksize(env, victim)) !== idx) malloc_printerr(env, MALLOC_MEMORY_CORRUPTION_FAST);
      const tc_idx = csize2tidx(nb);
      if (tc !== 0 && tc_idx < m[W_TCACHE_BINS]) {
        const cnt = (tc >>> 1) + tc_idx;
        let tc_victim: number;
        while (env.u16[cnt] < m[W_TCACHE_COUNT] && (tc_victim = m[fbw]) !== 0) {
          if (misaligned_chunk(tc_victim)) malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN_3);
          const tc_next = ((tc_victim + 8) >>> 12) ^ ld(env, tc_victim, 8);
          if (tc_next !== 0 && m[W_MULTIPLE_THREADS] !== 0 && misaligned_chunk(tc_next)) {
            malloc_printerr(env, MALLOC_UNALIGNED_FASTBIN);
          }
          m[fbw] = tc_next;
          tcache_put(env, tc_victim, tc_idx);
        }
      }
      const p = victim + 8;
      alloc_perturb(env, p, bytes);
      return p;
    }
  }

  let idx: number;
  // ── small bins ──
  if (in_smallbin_range(nb)) {
    idx = smallbin_index(nb);
    const bin = bin_at(av, idx);
    const victim = ld(env, bin, 12);
    if (victim !== bin) {
      const bck = ld(env, victim, 12);
      if (ld(env, bck, 8) !== victim) malloc_printerr(env, MALLOC_SMALLBIN_CORRUPTED);
      st(env, (victim + nb) >>> 0, 4, ld(env, (victim + nb) >>> 0, 4) | 1);
      st(env, bin, 12, bck);
      st(env, bck, 8, bin);
      if (av !== MAIN_ARENA) set_non_main_arena(env, victim);
      const tc_idx = csize2tidx(nb);
      if (tc !== 0 && tc_idx < m[W_TCACHE_BINS]) {
        const cnt = (tc >>> 1) + tc_idx;
        let tc_victim: number;
        while (env.u16[cnt] < m[W_TCACHE_COUNT] && (tc_victim = ld(env, bin, 12)) !== bin) {
          const b2 = ld(env, tc_victim, 12);
          st(env, (tc_victim + nb) >>> 0, 4, ld(env, (tc_victim + nb) >>> 0, 4) | 1);
          if (av !== MAIN_ARENA) set_non_main_arena(env, tc_victim);
          st(env, bin, 12, b2);
          st(env, b2, 8, bin);
          tcache_put(env, tc_victim, tc_idx);
        }
      }
      const p = victim + 8;
      alloc_perturb(env, p, bytes);
      return p;
    }
  } else {
    idx = largebin_index(nb);
    if (m[(av + AV_HAVE_FASTCHUNKS) >>> 2] !== 0) malloc_consolidate(env, av);
  }

  const tc_idx = csize2tidx(nb);
  const tcache_nb = tc !== 0 && tc_idx < m[W_TCACHE_BINS] ? nb : 0;
  let return_cached = false;
  let tcache_unsorted_count = 0;
  const unsorted = unsorted_chunks(av);

  for (;;) {
    // ── the unsorted bin ──
    let iters = 0;
    let victim: number;
    while ((victim = ld(env, unsorted, 12)) !== unsorted) {
      let bck = ld(env, victim, 12);
      let size = chunksize(env, victim);
      const next = (victim + size) >>> 0;
      const sysmem = m[(av + AV_SYSTEM_MEM) >>> 2];
      if (size <= 8 || size > sysmem) malloc_printerr(env, MALLOC_INVALID_SIZE_UNSORTED);
      const nextsz = ld(env, next, 4);
      if (nextsz < 8 || nextsz > sysmem) malloc_printerr(env, MALLOC_INVALID_NEXT_SIZE_UNSORTED);
      if (((ld(env, next, 0) & ~7) >>> 0) !== size) malloc_printerr(env, MALLOC_MISMATCHING_PREV_SIZE_UNSORTED);
      if (ld(env, bck, 8) !== victim || ld(env, victim, 8) !== unsorted) {
        malloc_printerr(env, MALLOC_UNSORTED_CORRUPTED);
      }
      if ((nextsz & 1) !== 0) malloc_printerr(env, MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED);

      // A small request takes from the last remainder when it is the only unsorted chunk.
      if (in_smallbin_range(nb) && bck === unsorted && victim === m[(av + AV_LAST_REMAINDER) >>> 2] && size > nb + MINSIZE) {
        const remainder_size = size - nb;
        const remainder = (victim + nb) >>> 0;
        st(env, unsorted, 12, remainder);
        st(env, unsorted, 8, remainder);
        m[(av + AV_LAST_REMAINDER) >>> 2] = remainder;
        st(env, remainder, 12, unsorted);
        st(env, remainder, 8, unsorted);
        set_split_heads(env, av, victim, nb, remainder, remainder_size);
        const p = victim + 8;
        alloc_perturb(env, p, bytes);
        return p;
      }

      if (ld(env, bck, 8) !== victim) malloc_printerr(env, MALLOC_CORRUPTED_UNSORTED_3);
      st(env, unsorted, 12, bck);
      st(env, bck, 8, unsorted);

      if (size === nb) {
        st(env, (victim + size) >>> 0, 4, ld(env, (victim + size) >>> 0, 4) | 1);
        if (av !== MAIN_ARENA) set_non_main_arena(env, victim);
        if (tcache_nb !== 0 && env.u16[(tc >>> 1) + tc_idx] < m[W_TCACHE_COUNT]) {
          tcache_put(env, victim, tc_idx);
          return_cached = true;
          continue;
        }
        const p = victim + 8;
        alloc_perturb(env, p, bytes);
        return p;
      }

      // Sort the chunk into its bin.
      let victim_index: number;
      let fwd: number;
      if (in_smallbin_range(size)) {
        victim_index = smallbin_index(size);
        bck = bin_at(av, victim_index);
        fwd = ld(env, bck, 8);
      } else {
        victim_index = largebin_index(size);
        bck = bin_at(av, victim_index);
        fwd = ld(env, bck, 8);
        if (fwd !== bck) {
          size = (size | 1) >>> 0; // compare with size fields directly (PREV_INUSE always set there)
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
      mark_bin(m, av, victim_index);
      st(env, victim, 12, bck);
      st(env, victim, 8, fwd);
      st(env, fwd, 12, victim);
      st(env, bck, 8, victim);

      ++tcache_unsorted_count;
      const limit = m[W_TCACHE_UNSORTED_LIMIT];
      if (return_cached && limit > 0 && tcache_unsorted_count > limit) return tcache_get(env, tc_idx);
      if (++iters >= 10000) break;
    }

    if (return_cached) return tcache_get(env, tc_idx);

    // ── large request: best fit in its own bin ──
    if (!in_smallbin_range(nb)) {
      const bin = bin_at(av, idx);
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
        const p = victim + 8;
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
      split_to_unsorted(env, av, victim, size, nb, MALLOC_CORRUPTED_UNSORTED_2, in_smallbin_range(nb));
      const p = victim + 8;
      alloc_perturb(env, p, bytes);
      return p;
    }

    // ── top ──
    victim = m[(av + AV_TOP) >>> 2];
    const size = chunksize(env, victim);
    if (size > m[(av + AV_SYSTEM_MEM) >>> 2]) malloc_printerr(env, MALLOC_CORRUPTED_TOP_SIZE);
    if (size >= nb + MINSIZE) {
      const remainder = (victim + nb) >>> 0;
      m[(av + AV_TOP) >>> 2] = remainder;
      st(env, victim, 4, nb | 1 | arena_bit(av));
      st(env, remainder, 4, (size - nb) | 1);
      const p = victim + 8;
      alloc_perturb(env, p, bytes);
      return p;
    } else if (m[(av + AV_HAVE_FASTCHUNKS) >>> 2] !== 0) {
      malloc_consolidate(env, av);
      idx = in_smallbin_range(nb) ? smallbin_index(nb) : largebin_index(nb);
    } else {
      const p = sysmalloc(env, nb, av);
      if (p !== 0) alloc_perturb(env, p, bytes);
      return p;
    }
  }
}

/** __libc_calloc: no tcache; memory fresh from the kernel is not cleared again. */
export function libc_calloc(env: Env, n: number, elem_size: number): number {
  const product = n * elem_size; // exact below 2^53: both factors are u32
  if (product > 0x7fffffff) {
    // __builtin_mul_overflow into a ptrdiff_t
    set_errno(env, ENOMEM);
    return 0;
  }
  const sz = product;
  let m = env.u32;
  if (m[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  if (m[W_TCACHE] === 0) tcache_init(env);
  m = env.u32;

  const threaded = m[W_MULTIPLE_THREADS] !== 0;
  let av = threaded ? arena_get(env, sz) : MAIN_ARENA;

  let oldtop = 0;
  let oldtopsize = 0;
  if (av !== 0) {
    m = env.u32;
    oldtop = m[(av + AV_TOP) >>> 2];
    oldtopsize = chunksize(env, oldtop);
    // Only newly allocated memory is known to be clear (MORECORE_CLEARS == 1): for the main arena,
    // what lies beyond the most the break ever held; in a heap, beyond what was ever read-write.
    if (av === MAIN_ARENA) {
      const fresh = (m[W_SBRK_BASE] + m[(av + AV_MAX_SYSTEM_MEM) >>> 2] - oldtop) >>> 0;
      if (oldtopsize < fresh) oldtopsize = fresh;
    } else {
      const heap = heap_for_ptr(oldtop);
      const fresh = (heap + heap_mprotect_size(env, heap) - oldtop) >>> 0;
      if (oldtopsize < fresh) oldtopsize = fresh;
    }
  }

  let mem = _int_malloc(env, av, sz);
  if (threaded && mem === 0 && av !== 0) {
    av = arena_get_retry(env, av, sz);
    mem = _int_malloc(env, av, sz);
  }
  if (mem === 0) return 0;
  const p = mem2chunk(mem);
  let csz = chunksize(env, p);
  const perturb = env.i32[W_PERTURB_BYTE];
  if (chunk_is_mmapped(env, p)) {
    if (perturb !== 0) {
      check_range(env, mem, sz, true);
      env.u8.fill(0, mem, mem + sz);
    }
    return mem;
  }
  if (perturb === 0 && p === oldtop && csz > oldtopsize) csz = oldtopsize;
  const clearsize = csz - SIZE_SZ;
  check_range(env, mem, clearsize, true);
  env.u8.fill(0, mem, mem + clearsize); // every page it stores into was faulted in by check_range
  return mem;
}
