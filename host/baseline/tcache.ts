// The per-thread cache: 64 bins of up to 7 chunks each, for chunk sizes 16 .. 1024.
// Its struct is carved from the heap by the first malloc (the chunk at the start of the heap):
//
//  tcache ─> +0    uint16_t counts[64]
//            +128  tcache_entry *entries[64]    (sizeof = 384, chunk size 400)
//
//  an entry is a chunk's user memory:  +0 next (safe-linked)   +4 key (= tcache_key while cached)

import {
  MALLOC_ALIGNMENT, MINSIZE, SIZEOF_TCACHE, TCACHE_ENTRIES_OFFSET, TCACHE_MAX_BINS,
} from "../../assembly/config.js";
import { MALLOC_UNALIGNED_TCACHE, TCACHE_THREAD_SHUTDOWN_UNALIGNED } from "../../assembly/messages.js";
import { arena_get, arena_get_retry } from "./arenas.js";
import { aligned_OK } from "./chunk.js";
import { ld, malloc_printerr, st, type Env } from "./env.js";
import { libc_free } from "./free.js";
import { W_TCACHE, W_TCACHE_KEY, W_TCACHE_SHUTTING_DOWN } from "./layout.js";
import { _int_malloc, ptmalloc_init } from "./malloc.js";

/** entries[] in words from the struct's start. */
export const ENTRIES_W = TCACHE_ENTRIES_OFFSET >>> 2;

const ALIGN_SHIFT = Math.log2(MALLOC_ALIGNMENT);

/** csize2tidx: the tcache bin of a chunk size (x >= MINSIZE: the callers checked). */
export const csize2tidx = (x: number): number => (x - MINSIZE + MALLOC_ALIGNMENT - 1) >>> ALIGN_SHIFT;

// counts[idx] is env.u16[(tc >>> 1) + idx]; entries[idx] is env.u32[(tc >>> 2) + ENTRIES_W + idx].

/** tcache_put: cache the chunk (the caller checked the index and the room). */
export function tcache_put(env: Env, chunk: number, idx: number): void {
  const m = env.u32;
  const tc = m[W_TCACHE];
  const e = chunk + 8;
  st(env, e, 4, m[W_TCACHE_KEY]);
  const slot = (tc >>> 2) + ENTRIES_W + idx;
  st(env, e, 0, (e >>> 12) ^ m[slot]);
  m[slot] = e;
  env.u16[(tc >>> 1) + idx]++;
}

/** tcache_get: take the most recently cached chunk of the bin (the caller checked the count). */
export function tcache_get(env: Env, idx: number): number {
  const m = env.u32;
  const tc = m[W_TCACHE];
  const slot = (tc >>> 2) + ENTRIES_W + idx;
  const e = m[slot];
  if (!aligned_OK(e)) malloc_printerr(env, MALLOC_UNALIGNED_TCACHE);
  // A poisoned entry may point anywhere: its link is loaded and its key stored as checked accesses.
  m[slot] = ((e >>> 12) ^ ld(env, e, 0)) >>> 0;
  env.u16[(tc >>> 1) + idx]--;
  st(env, e, 4, 0);
  return e;
}

/** tcache_init: carve the struct from the thread's arena (chosen now if it has none: this is where
 *  a new thread gets its arena; the main arena set up first if a free comes before any malloc:
 *  assembly/tcache.ts says why); on failure, try again next call. */
export function tcache_init(env: Env): void {
  if (env.u32[W_TCACHE_SHUTTING_DOWN] !== 0) return;
  ptmalloc_init(env);
  let av = arena_get(env, SIZEOF_TCACHE);
  let victim = _int_malloc(env, av, SIZEOF_TCACHE);
  if (victim === 0 && av !== 0) {
    av = arena_get_retry(env, av, SIZEOF_TCACHE);
    victim = _int_malloc(env, av, SIZEOF_TCACHE);
  }
  if (victim !== 0) {
    env.u32[W_TCACHE] = victim;
    env.u8.fill(0, victim, victim + SIZEOF_TCACHE);
  }
}

/**
 * tcache_thread_shutdown: at a thread's exit, every cached chunk goes back to its own arena
 * (through free, the tcache now off for good), then the tcache struct itself.
 */
export function tcache_thread_shutdown(env: Env): void {
  const tc = env.u32[W_TCACHE];
  env.u32[W_TCACHE_SHUTTING_DOWN] = 1;
  if (tc === 0) return;
  env.u32[W_TCACHE] = 0;
  for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
    const slot = (tc >>> 2) + ENTRIES_W + i;
    let e: number;
    // (env.u32 read afresh: a free may unmap and map)
    while ((e = env.u32[slot]) !== 0) {
      if (!aligned_OK(e)) malloc_printerr(env, TCACHE_THREAD_SHUTDOWN_UNALIGNED);
      const next = ((e >>> 12) ^ ld(env, e, 0)) >>> 0;
      env.u32[slot] = next;
      libc_free(env, e);
    }
  }
  libc_free(env, tc);
}

/**
 * tcache_key: glibc reads it from getrandom(); the Wasm build derives it from the process seed
 * (assembly/tcache.ts, tcache_key_initialize) and so does this one, bit for bit, so that twins
 * agree even in the key words of cached chunks.
 */
export function tcache_key_initialize(env: Env, seed: number): void {
  let x = (seed ^ 0x9e3779b9) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  env.u32[W_TCACHE_KEY] = x;
}
