// malloc: the tcache fast path, then _int_malloc's search order —
// fastbin (exact) → small bin (exact) → [large request: consolidate fastbins] →
// unsorted bin (exact fits taken or cached, the rest sorted into bins; the last remainder
// serves small runs) → large bin best fit → next non-empty bin via the binmap → top → sysmalloc.

import {
  CHUNK_HDR_SZ, ENOMEM, MINSIZE, NON_MAIN_ARENA, PAGESIZE, PREV_INUSE, PTRDIFF_MAX, SIZE_BITS, SIZE_SZ,
} from "./config";
import {
  av_top, fastbin_addr, have_fastchunks, last_remainder, main_arena, max_system_mem, mp_, set_attached_threads,
  set_av_next, set_av_top, set_last_remainder, system_mem,
} from "./arena";
import { arena_get, arena_get_retry } from "./arenas";
import { heap_for_ptr, heap_mprotect_size } from "./heap";
import {
  bin_at, bin_bk, bin_fd, set_bin_bk, set_bin_fd, in_smallbin_range, largebin_index, malloc_init_state, mark_bin, smallbin_index,
  unlink_chunk, unsorted_chunks, fastbin_index, idx2bit, idx2block, binmap_addr,
} from "./bins";
import {
  bk, bk_nextsize, checked_request2size, chunk2mem, chunk_is_mmapped, chunk_main_arena, chunksize, chunksize_nomask, fd,
  fd_nextsize, mem2chunk, misaligned_chunk, prev_size, protect_ptr, set_bk, set_bk_nextsize,
  set_fd, set_fd_nextsize, set_foot, set_head, set_inuse_bit_at_offset, set_non_main_arena, st_link_next,
} from "./chunk";
import { malloc_consolidate } from "./free";
import {
  ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA, ASSERT_INT_MALLOC_BIT, ASSERT_INT_MALLOC_FWD_MAIN_ARENA, ASSERT_INT_MALLOC_SIZE,
  MALLOC_CORRUPTED_TOP_SIZE, MALLOC_CORRUPTED_UNSORTED, MALLOC_CORRUPTED_UNSORTED_2,
  MALLOC_CORRUPTED_UNSORTED_3, MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED, MALLOC_INVALID_NEXT_SIZE_UNSORTED,
  MALLOC_INVALID_SIZE_UNSORTED, MALLOC_LARGEBIN_CORRUPTED_BK, MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE,
  MALLOC_MEMORY_CORRUPTION_FAST, MALLOC_MISMATCHING_PREV_SIZE_UNSORTED, MALLOC_SMALLBIN_CORRUPTED,
  MALLOC_UNALIGNED_FASTBIN, MALLOC_UNALIGNED_FASTBIN_2, MALLOC_UNALIGNED_FASTBIN_3, MALLOC_UNSORTED_CORRUPTED,
} from "./messages";
import { sysmalloc } from "./sysmalloc";
import { MALLOC_CYCLIC_LARGEBIN_SEARCH, MALLOC_CYCLIC_LARGEBIN_SORT } from "./hangs";
import { walk_start, walk_step } from "./stats";
import { fill_checked, write_ok } from "./pagemap";
import { malloc_printerr, set_errno } from "./syscalls";
import { load_u32, load_word, store_u32, store_word } from "./vm";
import { csize2tidx, maybe_init_tcache, tcache_count, tcache_get, tcache_put } from "./tcache";
import {
  cov, COV_TCACHE_GET, COV_SPLIT_EXHAUST, COV_SPLIT_REMAINDER, COV_MALLOC_ENOMEM, COV_FASTBIN_HIT,
  COV_FASTBIN_TO_TCACHE, COV_SMALLBIN_HIT, COV_SMALLBIN_TO_TCACHE, COV_LARGE_CONSOLIDATE,
  COV_LAST_REMAINDER_SPLIT, COV_UNSORTED_EXACT_TO_TCACHE, COV_UNSORTED_EXACT, COV_UNSORTED_TO_SMALLBIN,
  COV_UNSORTED_TO_LARGE_SMALLEST, COV_UNSORTED_TO_LARGE_SAME_SIZE, COV_UNSORTED_TO_LARGE_NEW_SIZE,
  COV_UNSORTED_TO_LARGE_EMPTY, COV_UNSORTED_CACHED_LIMIT, COV_UNSORTED_ITER_LIMIT, COV_UNSORTED_RETURN_CACHED,
  COV_LARGEBIN_BEST_FIT, COV_LARGEBIN_SECOND_OF_SIZE, COV_BINMAP_STALE_BIT, COV_BINMAP_HIT, COV_TOP_SPLIT,
  COV_TOP_CONSOLIDATE,
} from "./coverage";

/** ptmalloc_init: once, before the first use of the arena. */
export function ptmalloc_init(): void {
  if (mp_.malloc_initialized) return;
  mp_.malloc_initialized = 1;
  malloc_init_state(main_arena);
  // glibc's static initializer: main_arena alone in the ring, used by the main thread
  set_av_next(main_arena, main_arena);
  set_attached_threads(main_arena, 1);
  mp_.thread_arena = main_arena;
}

/** alloc_perturb: fill fresh user memory with perturb_byte ^ 0xff (M_PERTURB). The test is
 *  inlined into every return path; the fill (M_PERTURB set: rare) stays out of line. */
// @ts-ignore: decorator
@inline export function alloc_perturb(p: word, n: word): void {
  if (mp_.perturb_byte != 0) alloc_perturb_fill(p, n);
}

function alloc_perturb_fill(p: word, n: word): void {
  fill_checked(p, <u8>(mp_.perturb_byte ^ 0xff), n);
}

/** __libc_malloc */
export function libc_malloc(bytes: word): word {
  if (!mp_.malloc_initialized) ptmalloc_init();
  const tbytes = checked_request2size(bytes);
  if (tbytes == 0) {
    set_errno(ENOMEM);
    return 0;
  }
  const tc_idx = csize2tidx(tbytes);
  maybe_init_tcache();
  const tc = mp_.tcache;
  if (tc_idx < mp_.tcache_bins && tc != 0 && tcache_count(tc, tc_idx) > 0) {
    cov(COV_TCACHE_GET);
    return tcache_get(tc_idx);
  }
  if (!mp_.multiple_threads) return _int_malloc(main_arena, bytes);
  return malloc_threaded(bytes);
}

/** __libc_malloc past the tcache once threads exist: the thread's arena, and another if that fails. */
function malloc_threaded(bytes: word): word {
  let av = arena_get(bytes);
  let victim = _int_malloc(av, bytes);
  if (victim == 0 && av != 0) {
    av = arena_get_retry(av, bytes);
    victim = _int_malloc(av, bytes);
  }
  return victim;
}

/** A split's chunk fields: nextsize cleared on a large remainder, both heads, the remainder's foot. */
// @ts-ignore: decorator
@inline function set_split_heads(av: word, victim: word, nb: word, remainder: word, remainder_size: word): void {
  if (!in_smallbin_range(remainder_size)) { // right after the remainder's fd and bk
    st_link_next(remainder, 4 * SIZE_SZ, 0);
    st_link_next(remainder, 5 * SIZE_SZ, 0);
  }
  set_head(victim, nb | PREV_INUSE | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
  set_head(remainder, remainder_size | PREV_INUSE);
  set_foot(remainder, remainder_size);
}

/** Split `victim` (already unlinked, size `size`) for a request of `nb`; the remainder goes to
 *  the unsorted bin, or the whole chunk is used when the remainder would be too small. */
// @ts-ignore: decorator
@inline function split_to_unsorted(
  av: word, victim: word, size: word, nb: word, message: string, setLastRemainder: bool,
): void {
  const remainder_size = size - nb;
  if (remainder_size < <word>MINSIZE) {
    cov(COV_SPLIT_EXHAUST);
    set_inuse_bit_at_offset(victim, size);
    if (av != main_arena) set_non_main_arena(victim);
  } else {
    cov(COV_SPLIT_REMAINDER);
    const remainder = victim + nb;
    const bck = unsorted_chunks(av);
    const fwd = bin_fd(bck);
    if (bk(fwd) != bck) malloc_printerr(message);
    set_bk(remainder, bck);
    st_link_next(remainder, 2 * SIZE_SZ, fwd);
    set_bin_fd(bck, remainder);
    set_bk(fwd, remainder);
    if (setLastRemainder) set_last_remainder(av, remainder);
    set_split_heads(av, victim, nb, remainder, remainder_size);
  }
}

/** _int_malloc */
export function _int_malloc(av: word, bytes: word): word {
  const nb = checked_request2size(bytes);
  if (nb == 0) {
    cov(COV_MALLOC_ENOMEM);
    set_errno(ENOMEM);
    return 0;
  }
  if (av == 0) {
    // no arena could be had: mmap is all that is left
    const p = sysmalloc(nb, 0);
    if (p != 0) alloc_perturb(p, bytes);
    return p;
  }
  const tc = mp_.tcache;

  // ── fastbins ──
  if (nb <= mp_.global_max_fast) {
    const idx = fastbin_index(nb);
    const fb = fastbin_addr(av, idx);
    const victim = load_word(fb);
    if (victim != 0) {
      cov(COV_FASTBIN_HIT);
      if (misaligned_chunk(victim)) malloc_printerr(MALLOC_UNALIGNED_FASTBIN_2);
      const next = protect_ptr(victim + CHUNK_HDR_SZ, fd(victim));
      // with threads, glibc's atomic removal looks at the new head first
      if (mp_.multiple_threads && next != 0 && misaligned_chunk(next)) malloc_printerr(MALLOC_UNALIGNED_FASTBIN);
      store_word(fb, next);
      if (fastbin_index(chunksize(victim)) != idx) malloc_printerr(MALLOC_MEMORY_CORRUPTION_FAST);
      const tc_idx = csize2tidx(nb);
      if (tc != 0 && tc_idx < mp_.tcache_bins) {
        let tc_victim: word;
        while (<word>tcache_count(tc, tc_idx) < mp_.tcache_count && (tc_victim = load_word(fb)) != 0) {
          cov(COV_FASTBIN_TO_TCACHE);
          if (misaligned_chunk(tc_victim)) malloc_printerr(MALLOC_UNALIGNED_FASTBIN_3);
          // chunk2mem(tc_victim) is 16-aligned: its fd and the entry tcache_put writes share that block
          const proven = write_ok(tc_victim + CHUNK_HDR_SZ);
          const tc_next = protect_ptr(tc_victim + CHUNK_HDR_SZ, proven ? load_word(tc_victim, CHUNK_HDR_SZ) : fd(tc_victim));
          if (mp_.multiple_threads && tc_next != 0 && misaligned_chunk(tc_next)) malloc_printerr(MALLOC_UNALIGNED_FASTBIN);
          store_word(fb, tc_next);
          tcache_put(tc_victim, tc_idx, proven);
        }
      }
      const p = chunk2mem(victim);
      alloc_perturb(p, bytes);
      return p;
    }
  }

  let idx: word;
  // ── small bins ──
  if (in_smallbin_range(nb)) {
    idx = smallbin_index(nb);
    const bin = bin_at(av, idx);
    const victim = bin_bk(bin);
    if (victim != bin) {
      cov(COV_SMALLBIN_HIT);
      const bck = bk(victim);
      if (fd(bck) != victim) malloc_printerr(MALLOC_SMALLBIN_CORRUPTED);
      set_inuse_bit_at_offset(victim, nb);
      set_bin_bk(bin, bck);
      set_fd(bck, bin);
      if (av != main_arena) set_non_main_arena(victim);
      const tc_idx = csize2tidx(nb);
      if (tc != 0 && tc_idx < mp_.tcache_bins) {
        let tc_victim: word;
        while (<word>tcache_count(tc, tc_idx) < mp_.tcache_count && (tc_victim = bin_bk(bin)) != bin) {
          cov(COV_SMALLBIN_TO_TCACHE);
          const b2 = bk(tc_victim);
          set_inuse_bit_at_offset(tc_victim, nb);
          if (av != main_arena) set_non_main_arena(tc_victim);
          set_bin_bk(bin, b2);
          set_fd(b2, bin);
          tcache_put(tc_victim, tc_idx);
        }
      }
      const p = chunk2mem(victim);
      alloc_perturb(p, bytes);
      return p;
    }
  } else {
    idx = largebin_index(nb);
    if (have_fastchunks(av)) {
      cov(COV_LARGE_CONSOLIDATE);
      malloc_consolidate(av);
    }
  }

  let tcache_nb: word = 0;
  const tc_idx = csize2tidx(nb);
  if (tc != 0 && tc_idx < mp_.tcache_bins) tcache_nb = nb;
  let return_cached = false;
  let tcache_unsorted_count: word = 0;

  for (;;) {
    // ── the unsorted bin ──
    let iters = 0;
    const unsorted = unsorted_chunks(av);
    let victim: word;
    while ((victim = bin_bk(unsorted)) != unsorted) {
      let bck = bk(victim);
      let size = chunksize(victim);
      const next = victim + size;
      const sysmem = system_mem(av);
      if (size <= <word>CHUNK_HDR_SZ || size > sysmem) malloc_printerr(MALLOC_INVALID_SIZE_UNSORTED);
      const nextsz = chunksize_nomask(next);
      if (nextsz < <word>CHUNK_HDR_SZ || nextsz > sysmem) malloc_printerr(MALLOC_INVALID_NEXT_SIZE_UNSORTED);
      if ((prev_size(next) & ~(<word>SIZE_BITS)) != size) malloc_printerr(MALLOC_MISMATCHING_PREV_SIZE_UNSORTED);
      if (fd(bck) != victim || fd(victim) != unsorted) malloc_printerr(MALLOC_UNSORTED_CORRUPTED);
      if ((nextsz & PREV_INUSE) != 0) malloc_printerr(MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED); // next->size as read above (no store since)

      // A small request takes from the last remainder when it is the only unsorted chunk.
      if (in_smallbin_range(nb) && bck == unsorted && victim == last_remainder(av) && size > nb + MINSIZE) {
        cov(COV_LAST_REMAINDER_SPLIT);
        const remainder_size = size - nb;
        const remainder = victim + nb;
        set_bin_bk(unsorted, remainder);
        set_bin_fd(unsorted, remainder);
        set_last_remainder(av, remainder);
        set_bk(remainder, unsorted);
        st_link_next(remainder, 2 * SIZE_SZ, unsorted);
        set_split_heads(av, victim, nb, remainder, remainder_size);
        const p = chunk2mem(victim);
        alloc_perturb(p, bytes);
        return p;
      }

      if (fd(bck) != victim) malloc_printerr(MALLOC_CORRUPTED_UNSORTED_3);
      set_bin_bk(unsorted, bck);
      set_fd(bck, unsorted);

      if (size == nb) {
        set_inuse_bit_at_offset(victim, size);
        if (av != main_arena) set_non_main_arena(victim);
        if (tcache_nb != 0 && <word>tcache_count(tc, tc_idx) < mp_.tcache_count) {
          cov(COV_UNSORTED_EXACT_TO_TCACHE);
          tcache_put(victim, tc_idx);
          return_cached = true;
          continue;
        }
        cov(COV_UNSORTED_EXACT);
        const p = chunk2mem(victim);
        alloc_perturb(p, bytes);
        return p;
      }

      // Sort the chunk into its bin.
      let victim_index: word;
      let fwd: word;
      if (in_smallbin_range(size)) {
        cov(COV_UNSORTED_TO_SMALLBIN);
        victim_index = smallbin_index(size);
        bck = bin_at(av, victim_index);
        fwd = bin_fd(bck);
      } else {
        victim_index = largebin_index(size);
        bck = bin_at(av, victim_index);
        fwd = bin_fd(bck);
        if (fwd != bck) {
          size |= PREV_INUSE; // compare with size fields directly (PREV_INUSE always set there)
          if (!chunk_main_arena(bin_bk(bck))) malloc_printerr(ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA);
          if (size < chunksize_nomask(bin_bk(bck))) {
            // smaller than the smallest: append
            cov(COV_UNSORTED_TO_LARGE_SMALLEST);
            fwd = bck;
            bck = bin_bk(bck);
            set_fd_nextsize(victim, fd(fwd));
            set_bk_nextsize(victim, bk_nextsize(fd(fwd)));
            set_bk_nextsize(fd(fwd), victim);
            set_fd_nextsize(bk_nextsize(victim), victim);
          } else {
            if (!chunk_main_arena(fwd)) malloc_printerr(ASSERT_INT_MALLOC_FWD_MAIN_ARENA);
            walk_start(); // glibc loops forever on a cyclic nextsize list: hangs.ts
            while (size < chunksize_nomask(fwd)) {
              fwd = fd_nextsize(fwd);
              if (!chunk_main_arena(fwd)) malloc_printerr(ASSERT_INT_MALLOC_FWD_MAIN_ARENA);
              walk_step(fwd, MALLOC_CYCLIC_LARGEBIN_SORT);
            }
            if (size == chunksize_nomask(fwd)) {
              // same size: insert after the first of that size (the skip list is unchanged)
              cov(COV_UNSORTED_TO_LARGE_SAME_SIZE);
              fwd = fd(fwd);
            } else {
              cov(COV_UNSORTED_TO_LARGE_NEW_SIZE);
              set_fd_nextsize(victim, fwd);
              set_bk_nextsize(victim, bk_nextsize(fwd));
              if (fd_nextsize(bk_nextsize(fwd)) != fwd) malloc_printerr(MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE);
              set_bk_nextsize(fwd, victim);
              set_fd_nextsize(bk_nextsize(victim), victim);
            }
            bck = bk(fwd);
            if (fd(bck) != fwd) malloc_printerr(MALLOC_LARGEBIN_CORRUPTED_BK);
          }
        } else {
          cov(COV_UNSORTED_TO_LARGE_EMPTY);
          set_fd_nextsize(victim, victim);
          st_link_next(victim, 5 * SIZE_SZ, victim);
        }
      }
      mark_bin(av, victim_index);
      set_bk(victim, bck);
      st_link_next(victim, 2 * SIZE_SZ, fwd);
      set_bk(fwd, victim);
      set_fd(bck, victim);

      ++tcache_unsorted_count;
      if (return_cached && mp_.tcache_unsorted_limit > 0 && tcache_unsorted_count > mp_.tcache_unsorted_limit) {
        cov(COV_UNSORTED_CACHED_LIMIT);
        return tcache_get(tc_idx);
      }
      if (++iters >= 10000) {
        cov(COV_UNSORTED_ITER_LIMIT);
        break;
      }
    }

    if (return_cached) {
      cov(COV_UNSORTED_RETURN_CACHED);
      return tcache_get(tc_idx);
    }

    // ── large request: best fit in its own bin ──
    if (!in_smallbin_range(nb)) {
      const bin = bin_at(av, idx);
      victim = bin_fd(bin);
      if (victim != bin && chunksize_nomask(victim) >= nb) {
        cov(COV_LARGEBIN_BEST_FIT);
        victim = bk_nextsize(victim);
        let size: word;
        walk_start(); // glibc loops forever on a cyclic nextsize list: hangs.ts
        while ((size = chunksize(victim)) < nb) {
          victim = bk_nextsize(victim);
          walk_step(victim, MALLOC_CYCLIC_LARGEBIN_SEARCH);
        }
        // Take the second of equal-sized chunks: the skip list need not be rerouted.
        if (victim != bin_bk(bin) && chunksize_nomask(victim) == chunksize_nomask(fd(victim))) {
          cov(COV_LARGEBIN_SECOND_OF_SIZE);
          victim = fd(victim);
        }
        unlink_chunk(av, victim);
        split_to_unsorted(av, victim, size, nb, MALLOC_CORRUPTED_UNSORTED, false);
        const p = chunk2mem(victim);
        alloc_perturb(p, bytes);
        return p;
      }
    }

    // ── the next larger non-empty bin, by the binmap ──
    // glibc walks bit by bit to the next set bit of the block; a count of trailing zeros finds
    // the same bin in one step.
    ++idx;
    let block = idx2block(idx);
    let map = load_u32(binmap_addr(av, block));
    let bit = idx2bit(idx);
    let found = false;
    for (;;) {
      if (bit > map || bit == 0) {
        let exhausted = false;
        do {
          if (++block >= 4) { exhausted = true; break; }
        } while ((map = load_u32(binmap_addr(av, block))) == 0);
        if (exhausted) break;
        bit = 1;
      }
      const rest = map & ~(bit - 1); // the set bits from `bit` up: never empty once bit <= map
      if (rest == 0) malloc_printerr(ASSERT_INT_MALLOC_BIT);
      const pos = ctz<u32>(rest);
      bit = <u32>1 << pos;
      const bin = bin_at(av, (block << 5) + <word>pos);
      victim = bin_bk(bin);
      if (victim == bin) {
        // a stale bit: clear it and go on
        cov(COV_BINMAP_STALE_BIT);
        map &= ~bit;
        store_u32(binmap_addr(av, block), map);
        bit <<= 1;
      } else {
        found = true;
        break;
      }
    }
    if (found) {
      cov(COV_BINMAP_HIT);
      const size = chunksize(victim);
      if (size < nb) malloc_printerr(ASSERT_INT_MALLOC_SIZE); // bins above nb's hold only larger chunks
      unlink_chunk(av, victim);
      split_to_unsorted(av, victim, size, nb, MALLOC_CORRUPTED_UNSORTED_2, in_smallbin_range(nb));
      const p = chunk2mem(victim);
      alloc_perturb(p, bytes);
      return p;
    }

    // ── top ──
    victim = av_top(av);
    const size = chunksize(victim);
    if (size > system_mem(av)) malloc_printerr(MALLOC_CORRUPTED_TOP_SIZE);
    if (size >= nb + MINSIZE) {
      cov(COV_TOP_SPLIT);
      const remainder = victim + nb;
      set_av_top(av, remainder);
      set_head(victim, nb | PREV_INUSE | (av != main_arena ? <word>NON_MAIN_ARENA : 0));
      set_head(remainder, (size - nb) | PREV_INUSE);
      const p = chunk2mem(victim);
      alloc_perturb(p, bytes);
      return p;
    } else if (have_fastchunks(av)) {
      cov(COV_TOP_CONSOLIDATE);
      malloc_consolidate(av);
      idx = in_smallbin_range(nb) ? smallbin_index(nb) : largebin_index(nb);
    } else {
      const p = sysmalloc(nb, av);
      if (p != 0) alloc_perturb(p, bytes);
      return p;
    }
  }
  return 0; // not reached
}

/** __libc_calloc: no tcache; memory fresh from the kernel is not cleared again. */
export function libc_calloc(n: word, elem_size: word): word {
  let sz: word;
  if (sizeof<word>() == 8) {
    // __builtin_mul_overflow into a ptrdiff_t: n × elem_size > PTRDIFF_MAX, without the product
    if (n != 0 && elem_size > <word>PTRDIFF_MAX / n) {
      set_errno(ENOMEM);
      return 0;
    }
    sz = n * elem_size;
  } else {
    const product = <u64>n * <u64>elem_size;
    if (product > <u64>PTRDIFF_MAX) { // __builtin_mul_overflow into a ptrdiff_t
      set_errno(ENOMEM);
      return 0;
    }
    sz = <word>product;
  }
  if (!mp_.malloc_initialized) ptmalloc_init();
  maybe_init_tcache();
  let av = mp_.multiple_threads ? arena_get(sz) : main_arena;

  let oldtop: word = 0;
  let oldtopsize: word = 0;
  if (av != 0) {
    oldtop = av_top(av);
    oldtopsize = chunksize(oldtop);
    // Only newly allocated memory is known to be clear (MORECORE_CLEARS == 1): for main_arena,
    // what lies beyond the most the break ever held; in a heap, beyond what was ever read-write.
    if (av == main_arena) {
      const fresh = mp_.sbrk_base + max_system_mem(av) - oldtop;
      if (oldtopsize < fresh) oldtopsize = fresh;
    } else {
      const heap = heap_for_ptr(oldtop);
      const fresh = heap + heap_mprotect_size(heap) - oldtop;
      if (oldtopsize < fresh) oldtopsize = fresh;
    }
  }

  let mem = _int_malloc(av, sz);
  if (mp_.multiple_threads && mem == 0 && av != 0) {
    av = arena_get_retry(av, sz);
    mem = _int_malloc(av, sz);
  }
  if (mem == 0) return 0;
  const p = mem2chunk(mem);
  let csz = chunksize(p);
  if (chunk_is_mmapped(p)) {
    if (mp_.perturb_byte != 0) {
      fill_checked(mem, 0, sz);
    }
    return mem;
  }
  if (mp_.perturb_byte == 0 && p == oldtop && csz > oldtopsize) csz = oldtopsize;
  const clearsize = csz - SIZE_SZ;
  fill_checked(mem, 0, clearsize); // every page it stores into is faulted in first
  return mem;
}
