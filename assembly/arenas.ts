// Which arena a thread allocates from (arena.c). The main thread uses main_arena. Another thread
// gets an arena at its first call that needs one: an arena a thread left behind (the free list,
// last in first out), else a new one while fewer than the limit exist, else an existing one
// shared round robin. The limit is fixed the first time it matters once more than M_ARENA_TEST
// arenas exist: M_ARENA_MAX if set, else NARENAS_PER_CORE × get_nprocs(), main_arena included.
//
// The arenas form a ring through `next`, starting at main_arena (which links to the newest arena);
// the free list links through `next_free`; `attached_threads` counts the threads using an arena.
// Threads run one at a time here, so every lock glibc takes is free: trylock always succeeds.

import { MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT, NARENAS_PER_CORE, NON_MAIN_ARENA, PREV_INUSE, SIZEOF_HEAP_INFO, SIZEOF_MALLOC_STATE } from "./config";
import {
  attached_threads, av_next, av_next_free, main_arena, mp_, set_attached_threads, set_av_next, set_av_next_free,
  set_av_top, set_max_system_mem, set_system_mem,
} from "./arena";
import { malloc_init_state } from "./bins";
import { chunk2mem, chunksize_nomask, set_head } from "./chunk";
import { heap_ar_ptr, heap_for_ptr, heap_size, new_heap, set_heap_ar_ptr } from "./heap";
import {
  ASSERT_ARENA_THREAD_FREERES, ASSERT_DETACH_ARENA, ASSERT_GET_FREE_LIST, ASSERT_REMOVE_FROM_FREE_LIST,
} from "./messages";
import { malloc_printerr } from "./syscalls";
import { cov, COV_ARENA_DETACH, COV_ARENA_FREE_LIST, COV_ARENA_NEW, COV_ARENA_RETRY, COV_ARENA_REUSE } from "./coverage";

/** arena_for_chunk: main_arena, or the arena named by the heap holding the chunk. */
// @ts-ignore: decorator
@inline export function arena_for_chunk(p: word): word {
  return arena_for_head(p, chunksize_nomask(p));
}

/** arena_for_chunk from p's size word `head`, already loaded by the caller. */
// @ts-ignore: decorator
@inline export function arena_for_head(p: word, head: word): word {
  return (head & NON_MAIN_ARENA) == 0 ? main_arena : heap_ar_ptr(heap_for_ptr(p));
}

/** arena_get: the current thread's arena, or one chosen for it now (0 when none can be had). */
// @ts-ignore: decorator
@inline export function arena_get(bytes: word): word {
  const a = mp_.thread_arena;
  return a != 0 ? a : arena_get2(bytes, 0);
}

/** detach_arena: the thread stops using `replaced` (its attachment count drops; never onto the free list here). */
function detach_arena(replaced: word): void {
  if (replaced != 0) {
    if (attached_threads(replaced) == 0) malloc_printerr(ASSERT_DETACH_ARENA);
    set_attached_threads(replaced, attached_threads(replaced) - 1);
  }
}

/** _int_new_arena: a new heap holding a new arena, attached to the current thread; 0 on failure. */
function _int_new_arena(size: word): word {
  let h = new_heap(size + (SIZEOF_HEAP_INFO + SIZEOF_MALLOC_STATE + MALLOC_ALIGNMENT), mp_.top_pad);
  if (h == 0) {
    // too big for one heap: a minimal arena, and _int_malloc will mmap the request
    h = new_heap(SIZEOF_HEAP_INFO + SIZEOF_MALLOC_STATE + MALLOC_ALIGNMENT, mp_.top_pad);
    if (h == 0) return 0;
  }
  cov(COV_ARENA_NEW);
  const a = h + SIZEOF_HEAP_INFO;
  set_heap_ar_ptr(h, a);
  malloc_init_state(a);
  set_attached_threads(a, 1);
  const hsize = heap_size(h);
  set_system_mem(a, hsize);
  set_max_system_mem(a, hsize);
  // the top chunk: right after the struct, its user pointer aligned
  let ptr = a + SIZEOF_MALLOC_STATE;
  const misalign = chunk2mem(ptr) & MALLOC_ALIGN_MASK;
  if (misalign > 0) ptr += <word>MALLOC_ALIGNMENT - misalign;
  set_av_top(a, ptr);
  set_head(ptr, (h + hsize - ptr) | PREV_INUSE);

  const replaced = mp_.thread_arena;
  mp_.thread_arena = a;
  set_av_next(a, av_next(main_arena));
  set_av_next(main_arena, a);
  detach_arena(replaced);
  return a;
}

/** get_free_list: the arena most recently left by an exiting thread, attached to this one; or 0. */
function get_free_list(): word {
  const replaced = mp_.thread_arena;
  const result = mp_.free_list;
  if (result != 0) {
    mp_.free_list = av_next_free(result);
    if (attached_threads(result) != 0) malloc_printerr(ASSERT_GET_FREE_LIST);
    set_attached_threads(result, 1);
    detach_arena(replaced);
    cov(COV_ARENA_FREE_LIST);
    mp_.thread_arena = result;
  }
  return result;
}

/** remove_from_free_list: unlink `arena` from the free list, if it is there. */
function remove_from_free_list(arena: word): void {
  let previous: word = 0; // 0: the list head (mp_.free_list)
  for (let p = mp_.free_list; p != 0; p = av_next_free(p)) {
    if (attached_threads(p) != 0) malloc_printerr(ASSERT_REMOVE_FROM_FREE_LIST);
    if (p == arena) {
      if (previous == 0) mp_.free_list = av_next_free(p);
      else set_av_next_free(previous, av_next_free(p));
      break;
    }
    previous = p;
  }
}

/**
 * reused_arena: the next arena in the ring after the one handed out last (main_arena the first
 * time). glibc takes the first whose lock is free; with one thread running, that is the first.
 */
function reused_arena(avoid_arena: word): word {
  if (mp_.next_to_use == 0) mp_.next_to_use = main_arena;
  const result = mp_.next_to_use;
  // (avoid_arena would be skipped only if every lock were taken: never, serialized)
  cov(COV_ARENA_REUSE);
  detach_arena(mp_.thread_arena);
  remove_from_free_list(result);
  set_attached_threads(result, attached_threads(result) + 1);
  mp_.thread_arena = result;
  mp_.next_to_use = av_next(result);
  return result;
}

/** arena_get2: an arena for a thread that has none (or whose arena failed): free list, new, or shared. */
export function arena_get2(size: word, avoid_arena: word): word {
  let a = get_free_list();
  if (a == 0) {
    if (mp_.narenas_limit == 0) {
      if (mp_.arena_max != 0) mp_.narenas_limit = mp_.arena_max;
      else if (mp_.narenas > mp_.arena_test) {
        const n = mp_.nprocs;
        mp_.narenas_limit = <word>(NARENAS_PER_CORE * (n >= 1 ? n : 2)); // no answer: assume 2 cores
      }
    }
    const n = mp_.narenas;
    // limit 0 (not fixed yet) wraps to SIZE_MAX: no limit
    if (n <= mp_.narenas_limit - 1) {
      mp_.narenas = n + 1;
      a = _int_new_arena(size);
      if (a == 0) mp_.narenas--;
    } else {
      a = reused_arena(avoid_arena);
    }
  }
  return a;
}

/**
 * arena_get_retry: a request failed in `av`. From a non-main arena try main_arena (perhaps mmap
 * ran out); from main_arena (brk failed) another arena, which can map heaps.
 */
export function arena_get_retry(av: word, bytes: word): word {
  cov(COV_ARENA_RETRY);
  if (av != main_arena) return main_arena;
  return arena_get2(bytes, av);
}

/** __malloc_arena_thread_freeres's second half: the exiting thread leaves its arena (last one out: the free list). */
export function arena_thread_detach(): void {
  const a = mp_.thread_arena;
  mp_.thread_arena = 0;
  if (a != 0) {
    if (attached_threads(a) == 0) malloc_printerr(ASSERT_ARENA_THREAD_FREERES);
    const left = attached_threads(a) - 1;
    set_attached_threads(a, left);
    if (left == 0) {
      cov(COV_ARENA_DETACH);
      set_av_next_free(a, mp_.free_list);
      mp_.free_list = a;
    }
  }
}
