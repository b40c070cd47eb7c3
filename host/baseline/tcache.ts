// The per-thread cache: 64 bins of up to 7 chunks each, for chunk sizes 16 .. 1024.
// Its struct is carved from the heap by the first malloc (the chunk at the start of the heap):
//
//  tcache ─> +0    uint16_t counts[64]
//            +128  tcache_entry *entries[64]    (sizeof = 384, chunk size 400)
//
//  an entry is a chunk's user memory:  +0 next (safe-linked)   +4 key (= tcache_key while cached)

import { MALLOC_ALIGNMENT, TCACHE_MAX_BINS } from "../../assembly/config.js";
import { MALLOC_UNALIGNED_TCACHE, TCACHE_THREAD_SHUTDOWN_UNALIGNED } from "../../assembly/messages.js";
import { arena_get, arena_get_retry } from "./arenas.js";
import { aligned_OK, protect_ptr } from "./chunk.js";
import { ld, ld16, ldw, malloc_printerr, st, st16, stw, zero_owned, type Env } from "./env.js";
import { libc_free } from "./free.js";
import { W_TCACHE, W_TCACHE_KEY, W_TCACHE_KEY_HI, W_TCACHE_SHUTTING_DOWN } from "./layout.js";
import { _int_malloc, ptmalloc_init } from "./malloc.js";
import { va_off } from "./wide.js";

const ALIGN_SHIFT = Math.log2(MALLOC_ALIGNMENT);

/** csize2tidx: the tcache bin of a chunk size (x >= MINSIZE: the callers checked; on x86-64 x may pass 2^32). */
export const csize2tidx = (env: Env, x: number): number =>
  env.wide ? Math.floor((x - env.MINSIZE + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT) : (x - env.MINSIZE + MALLOC_ALIGNMENT - 1) >>> ALIGN_SHIFT;

// counts[idx] is a u16 at tc + 2 idx (ld16); entries[idx] the word at tc + TCACHE_ENTRIES_OFFSET +
// idx × SIZE_SZ: in i386's units (ldw doubles) TCACHE_ENTRIES_OFFSET / 2 + idx × 4 on x86-64.
const entry_off = (env: Env, idx: number): number => (env.wide ? 64 : 128) + 4 * idx;
export const tcache_entry = (env: Env, tc: number, idx: number): number => ldw(env, tc, entry_off(env, idx));
export const set_tcache_entry = (env: Env, tc: number, idx: number, e: number): void => stw(env, tc, entry_off(env, idx), e);

/** e->key = tcache_key (checked: e comes from a chunk the program may have corrupted). */
export function set_key(env: Env, e: number): void {
  if (!env.wide) {
    st(env, e, 4, env.mp[W_TCACHE_KEY]!);
    return;
  }
  // 64 bits, written as its two exact halves (a double holds no 64-bit key): the store is
  // checked as one word, then made
  st(env, e, 4, 0);
  const a = va_off(env, e + 8, true);
  env.dv.setUint32(a, env.mp[W_TCACHE_KEY]!, true);
  env.dv.setUint32(a + 4, env.mp[W_TCACHE_KEY_HI]!, true);
}

/** e->key == tcache_key (the load checked). */
export function key_matches(env: Env, e: number): boolean {
  if (!env.wide) return ld(env, e, 4) === env.mp[W_TCACHE_KEY];
  ld(env, e, 4);
  const a = va_off(env, e + 8, false);
  return env.dv.getUint32(a, true) === env.mp[W_TCACHE_KEY] && env.dv.getUint32(a + 4, true) === env.mp[W_TCACHE_KEY_HI];
}

/** tcache_put: cache the chunk (the caller checked the index and the room). */
export function tcache_put(env: Env, chunk: number, idx: number): void {
  const tc = env.mp[W_TCACHE]!;
  const e = chunk + env.CHUNK_HDR_SZ;
  set_key(env, e);
  st(env, e, 0, protect_ptr(env, e, tcache_entry(env, tc, idx)));
  set_tcache_entry(env, tc, idx, e);
  st16(env, tc, idx, ld16(env, tc, idx) + 1);
}

/** tcache_get: take the most recently cached chunk of the bin (the caller checked the count). */
export function tcache_get(env: Env, idx: number): number {
  const tc = env.mp[W_TCACHE]!;
  const e = tcache_entry(env, tc, idx);
  if (!aligned_OK(e)) malloc_printerr(env, MALLOC_UNALIGNED_TCACHE);
  // A poisoned entry may point anywhere: its link is loaded and its key stored as checked accesses.
  set_tcache_entry(env, tc, idx, protect_ptr(env, e, ld(env, e, 0)));
  st16(env, tc, idx, ld16(env, tc, idx) - 1);
  st(env, e, 4, 0);
  return e;
}

/** tcache_init: carve the struct from the thread's arena (chosen now if it has none: this is where
 *  a new thread gets its arena; the main arena set up first if a free comes before any malloc:
 *  assembly/tcache.ts says why); on failure, try again next call. */
export function tcache_init(env: Env): void {
  if (env.mp[W_TCACHE_SHUTTING_DOWN] !== 0) return;
  ptmalloc_init(env);
  const size = env.SIZEOF_TCACHE;
  let av = arena_get(env, size);
  let victim = _int_malloc(env, av, size);
  if (victim === 0 && av !== 0) {
    av = arena_get_retry(env, av, size);
    victim = _int_malloc(env, av, size);
  }
  if (victim !== 0) {
    env.mp[W_TCACHE] = victim;
    zero_owned(env, victim, size);
  }
}

/**
 * tcache_thread_shutdown: at a thread's exit, every cached chunk goes back to its own arena
 * (through free, the tcache now off for good), then the tcache struct itself.
 */
export function tcache_thread_shutdown(env: Env): void {
  const tc = env.mp[W_TCACHE]!;
  env.mp[W_TCACHE_SHUTTING_DOWN] = 1;
  if (tc === 0) return;
  env.mp[W_TCACHE] = 0;
  for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
    let e: number;
    // (the entry read afresh: a free may unmap and map)
    while ((e = tcache_entry(env, tc, i)) !== 0) {
      if (!aligned_OK(e)) malloc_printerr(env, TCACHE_THREAD_SHUTDOWN_UNALIGNED);
      set_tcache_entry(env, tc, i, protect_ptr(env, e, ld(env, e, 0)));
      libc_free(env, e);
    }
  }
  libc_free(env, tc);
}

/** One round of the seed's mix (assembly/tcache.ts). */
function mix(seed: number): number {
  let x = seed >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * tcache_key: glibc reads it from getrandom(); the Wasm build derives it from the process seed
 * (assembly/tcache.ts, tcache_key_initialize) and so does this one, bit for bit, so that twins
 * agree even in the key words of cached chunks. x86-64's key has 64 bits: a second round gives
 * the upper half.
 */
export function tcache_key_initialize(env: Env, seed: number): void {
  const x = mix(seed ^ 0x9e3779b9);
  env.mp[W_TCACHE_KEY] = x;
  if (env.wide) env.mp[W_TCACHE_KEY_HI] = mix(x ^ 0x7f4a7c15);
}
