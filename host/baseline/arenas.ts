// Which arena a thread allocates from (arena.c), as assembly/arenas.ts. The main thread uses
// main_arena. Another thread gets an arena at its first call that needs one: an arena a thread
// left behind (the free list, last in first out), else a new one while fewer than the limit
// exist, else an existing one shared round robin. The limit is fixed the first time it matters
// once more than M_ARENA_TEST arenas exist: M_ARENA_MAX if set, else NARENAS_PER_CORE ×
// get_nprocs(), main_arena included.
//
// The arenas form a ring through `next`, starting at main_arena (which links to the newest arena);
// the free list links through `next_free`; `attached_threads` counts the threads using an arena.
// Threads run one at a time here, so every lock glibc takes is free: trylock always succeeds.
// The fields of an arena are read and written raw, as the Wasm build's accessors do.

import { MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT, NON_MAIN_ARENA, PREV_INUSE } from "../../assembly/config.js";
import {
  ASSERT_ARENA_THREAD_FREERES, ASSERT_DETACH_ARENA, ASSERT_GET_FREE_LIST, ASSERT_REMOVE_FROM_FREE_LIST,
} from "../../assembly/messages.js";
import {
  attached_threads, av_next, av_next_free, set_attached_threads, set_av_next, set_av_next_free, set_av_top,
  set_max_system_mem, set_system_mem,
} from "./arena.js";
import { malloc_init_state } from "./bins.js";
import { set_head } from "./chunk.js";
import { ld, malloc_printerr, wrap, type Env } from "./env.js";
import { heap_ar_ptr, heap_for_ptr, heap_size, new_heap, set_heap_ar_ptr } from "./heap.js";
import {
  W_ARENA_MAX, W_ARENA_TEST, W_FREE_LIST, W_NARENAS, W_NARENAS_LIMIT, W_NEXT_TO_USE, W_NPROCS, W_THREAD_ARENA, W_TOP_PAD,
} from "./layout.js";

/** arena_for_chunk: main_arena, or the arena named by the heap holding the chunk. */
export function arena_for_chunk(env: Env, p: number): number {
  return arena_for_head(env, p, ld(env, p, 4));
}

/** arena_for_chunk from p's size word `head`, already loaded by the caller. */
export function arena_for_head(env: Env, p: number, head: number): number {
  return (head & NON_MAIN_ARENA) === 0 ? env.mainArena : heap_ar_ptr(env, heap_for_ptr(env, p));
}

/** arena_get: the current thread's arena, or one chosen for it now (0 when none can be had). */
export function arena_get(env: Env, bytes: number): number {
  const a = env.mp[W_THREAD_ARENA]!;
  return a !== 0 ? a : arena_get2(env, bytes, 0);
}

/** detach_arena: the thread stops using `replaced` (its attachment count drops; never onto the free list here). */
function detach_arena(env: Env, replaced: number): void {
  if (replaced !== 0) {
    const n = attached_threads(env, replaced);
    if (n === 0) malloc_printerr(env, ASSERT_DETACH_ARENA);
    set_attached_threads(env, replaced, n - 1);
  }
}

/** _int_new_arena: a new heap holding a new arena, attached to the current thread; 0 on failure. */
function _int_new_arena(env: Env, size: number): number {
  const top_pad = env.mp[W_TOP_PAD]!;
  const minimal = env.SIZEOF_HEAP_INFO + env.SIZEOF_MALLOC_STATE + MALLOC_ALIGNMENT;
  let h = new_heap(env, wrap(env, size + minimal), top_pad);
  if (h === 0) {
    // too big for one heap: a minimal arena, and _int_malloc will mmap the request
    h = new_heap(env, minimal, top_pad);
    if (h === 0) return 0;
  }
  const a = h + env.SIZEOF_HEAP_INFO;
  set_heap_ar_ptr(env, h, a);
  malloc_init_state(env, a);
  const hsize = heap_size(env, h);
  set_attached_threads(env, a, 1);
  set_system_mem(env, a, hsize);
  set_max_system_mem(env, a, hsize);
  // the top chunk: right after the struct, its user pointer aligned
  let ptr = a + env.SIZEOF_MALLOC_STATE;
  const misalign = (ptr + env.CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK;
  if (misalign > 0) ptr += MALLOC_ALIGNMENT - misalign;
  set_av_top(env, a, ptr);
  set_head(env, ptr, h + hsize - ptr + PREV_INUSE);

  const mp = env.mp;
  const replaced = mp[W_THREAD_ARENA]!;
  mp[W_THREAD_ARENA] = a;
  set_av_next(env, a, av_next(env, env.mainArena));
  set_av_next(env, env.mainArena, a);
  detach_arena(env, replaced);
  return a;
}

/** get_free_list: the arena most recently left by an exiting thread, attached to this one; or 0. */
function get_free_list(env: Env): number {
  const mp = env.mp;
  const replaced = mp[W_THREAD_ARENA]!;
  const result = mp[W_FREE_LIST]!;
  if (result !== 0) {
    mp[W_FREE_LIST] = av_next_free(env, result);
    if (attached_threads(env, result) !== 0) malloc_printerr(env, ASSERT_GET_FREE_LIST);
    set_attached_threads(env, result, 1);
    detach_arena(env, replaced);
    mp[W_THREAD_ARENA] = result;
  }
  return result;
}

/** remove_from_free_list: unlink `arena` from the free list, if it is there. */
function remove_from_free_list(env: Env, arena: number): void {
  const mp = env.mp;
  let previous = 0; // 0: the list head (mp_'s free_list)
  for (let p = mp[W_FREE_LIST]!; p !== 0; p = av_next_free(env, p)) {
    if (attached_threads(env, p) !== 0) malloc_printerr(env, ASSERT_REMOVE_FROM_FREE_LIST);
    if (p === arena) {
      if (previous === 0) mp[W_FREE_LIST] = av_next_free(env, p);
      else set_av_next_free(env, previous, av_next_free(env, p));
      break;
    }
    previous = p;
  }
}

/**
 * reused_arena: the next arena in the ring after the one handed out last (main_arena the first
 * time). glibc takes the first whose lock is free; with one thread running, that is the first.
 */
function reused_arena(env: Env, _avoid_arena: number): number {
  const mp = env.mp;
  if (mp[W_NEXT_TO_USE] === 0) mp[W_NEXT_TO_USE] = env.mainArena;
  const result = mp[W_NEXT_TO_USE]!;
  // (avoid_arena would be skipped only if every lock were taken: never, serialized)
  detach_arena(env, mp[W_THREAD_ARENA]!);
  remove_from_free_list(env, result);
  set_attached_threads(env, result, attached_threads(env, result) + 1);
  mp[W_THREAD_ARENA] = result;
  mp[W_NEXT_TO_USE] = av_next(env, result);
  return result;
}

/** arena_get2: an arena for a thread that has none (or whose arena failed): free list, new, or shared. */
export function arena_get2(env: Env, size: number, avoid_arena: number): number {
  let a = get_free_list(env);
  if (a === 0) {
    const mp = env.mp;
    if (mp[W_NARENAS_LIMIT] === 0) {
      if (mp[W_ARENA_MAX] !== 0) mp[W_NARENAS_LIMIT] = mp[W_ARENA_MAX]!;
      else if (mp[W_NARENAS]! > mp[W_ARENA_TEST]!) {
        const n = env.mpi[W_NPROCS]!;
        mp[W_NARENAS_LIMIT] = env.NARENAS_PER_CORE * (n >= 1 ? n : 2); // no answer: assume 2 cores
      }
    }
    const n = mp[W_NARENAS]!;
    // limit 0 (not fixed yet) wraps to SIZE_MAX: no limit
    if (n <= wrap(env, mp[W_NARENAS_LIMIT]! - 1)) {
      mp[W_NARENAS] = n + 1;
      a = _int_new_arena(env, size);
      if (a === 0) env.mp[W_NARENAS] = env.mp[W_NARENAS]! - 1;
    } else {
      a = reused_arena(env, avoid_arena);
    }
  }
  return a;
}

/**
 * arena_get_retry: a request failed in `av`. From a non-main arena try main_arena (perhaps mmap
 * ran out); from main_arena (brk failed) another arena, which can map heaps.
 */
export function arena_get_retry(env: Env, av: number, bytes: number): number {
  if (av !== env.mainArena) return env.mainArena;
  return arena_get2(env, bytes, av);
}

/** __malloc_arena_thread_freeres's second half: the exiting thread leaves its arena (last one out: the free list). */
export function arena_thread_detach(env: Env): void {
  const mp = env.mp;
  const a = mp[W_THREAD_ARENA]!;
  mp[W_THREAD_ARENA] = 0;
  if (a !== 0) {
    const n = attached_threads(env, a);
    if (n === 0) malloc_printerr(env, ASSERT_ARENA_THREAD_FREERES);
    const left = n - 1;
    set_attached_threads(env, a, left);
    if (left === 0) {
      set_av_next_free(env, a, mp[W_FREE_LIST]!);
      mp[W_FREE_LIST] = a;
    }
  }
}
