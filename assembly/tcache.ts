// The per-thread cache: 64 bins of up to 7 chunks each, for chunk sizes 16 .. 1024.
// Its struct is carved from the heap by the first malloc (the chunk at the start of the heap):
//
//  tcache ─> +0    uint16_t counts[64]
//            +128  tcache_entry *entries[64]    (sizeof = 384, chunk size 400; x86-64: 640, 656)
//
//  an entry is a chunk's user memory:  +0 next (safe-linked)   +SIZE_SZ key (= tcache_key while cached)
//
// The struct is the allocator's own (reached through mp_.tcache, never through a link), so its
// fields are loaded and stored unchecked (vm.ts: translated on x86-64).

import {
  MALLOC_ALIGNMENT, MINSIZE, SIZE_SZ, SIZEOF_TCACHE, TCACHE_ENTRIES_OFFSET, TCACHE_MAX_BINS,
} from "./config";
import { mp_ } from "./arena";
import { arena_get, arena_get_retry } from "./arenas";
import { libc_free } from "./free";
import { aligned_OK, chunk2mem, ld, protect_ptr, st } from "./chunk";
import { _int_malloc, ptmalloc_init } from "./malloc";
import { MALLOC_UNALIGNED_TCACHE, TCACHE_THREAD_SHUTDOWN_UNALIGNED } from "./messages";
import { malloc_printerr } from "./syscalls";
import { write_ok } from "./pagemap";
import { load_u16, load_word, proven_offset, store_word, va_to_offset, zero_owned } from "./vm";
import { cov, COV_TCACHE_INIT, COV_TCACHE_SHUTDOWN } from "./coverage";

/** csize2tidx: the tcache bin of a chunk size. */
// @ts-ignore: decorator
@inline export function csize2tidx(x: word): word { return (x - MINSIZE + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT; }

// @ts-ignore: decorator
@inline export function tcache_count(tc: word, idx: word): u32 { return load_u16(tc, idx << 1); }
// @ts-ignore: decorator
@inline function entry_slot(tc: word, idx: word): word { return tc + TCACHE_ENTRIES_OFFSET + idx * SIZE_SZ; }
// @ts-ignore: decorator
@inline export function tcache_entry(tc: word, idx: word): word { return load_word(entry_slot(tc, idx)); }

/**
 * tcache_put: cache the chunk (the caller checked the index and the room). The entry's next and
 * key share one 16-byte block when it is aligned: one store-span test settles both stores, else
 * each is checked. `proven`: the caller found that block writable (pagemap.ts: write_ok) with no
 * call into the host since.
 */
// @ts-ignore: decorator
@inline export function tcache_put(chunk: word, idx: word, proven: bool = false): void {
  // the struct lies in one window: translated once (x86_64), its slot and count reached by offset
  const tco = va_to_offset(mp_.tcache);
  const e = chunk2mem(chunk);
  if (!proven) proven = aligned_OK(e) && write_ok(e);
  // a proven block is in the store span, which W0 holds: its offset is w0_offset_of's
  const eo = proven_offset(e);
  if (proven) store<word>(eo + SIZE_SZ, mp_.tcache_key);
  else st(e, SIZE_SZ, mp_.tcache_key);
  const slot = tco + <usize>TCACHE_ENTRIES_OFFSET + <usize>(idx * SIZE_SZ);
  if (proven) store<word>(eo, protect_ptr(e, load<word>(slot)));
  else st(e, 0, protect_ptr(e, load<word>(slot)));
  store<word>(slot, e);
  const cnt = tco + <usize>(idx << 1);
  store<u16>(cnt, load<u16>(cnt) + 1);
}

/** tcache_get: take the most recently cached chunk of the bin (the caller checked the count). */
// @ts-ignore: decorator
@inline export function tcache_get(idx: word): word {
  const tco = va_to_offset(mp_.tcache);
  const slot = tco + <usize>TCACHE_ENTRIES_OFFSET + <usize>(idx * SIZE_SZ);
  const e = load<word>(slot);
  if (!aligned_OK(e)) malloc_printerr(MALLOC_UNALIGNED_TCACHE);
  // e is 16-aligned: next and key share its block, which one store check settles for both
  const proven = write_ok(e);
  const eo = proven_offset(e);
  store<word>(slot, protect_ptr(e, proven ? load<word>(eo) : ld(e, 0)));
  const cnt = tco + <usize>(idx << 1);
  store<u16>(cnt, load<u16>(cnt) - 1);
  if (proven) store<word>(eo + SIZE_SZ, 0);
  else st(e, SIZE_SZ, 0);
  return e;
}

/**
 * tcache_init: carve the struct from the thread's arena (chosen now if it has none: this is
 * where a new thread gets its arena); on failure, try again next call. A free before any malloc
 * gets here with the main arena not yet set up: glibc, finding no thread arena, takes a fresh
 * one (bins initialized); here the main arena is set up first, so that _int_malloc never follows
 * the zero links of uninitialized bins into page 0 (where the page map lives).
 */
export function tcache_init(): void {
  if (mp_.tcache_shutting_down) return;
  if (!mp_.malloc_initialized) ptmalloc_init();
  let av = arena_get(SIZEOF_TCACHE);
  let victim = _int_malloc(av, SIZEOF_TCACHE);
  if (victim == 0 && av != 0) {
    av = arena_get_retry(av, SIZEOF_TCACHE);
    victim = _int_malloc(av, SIZEOF_TCACHE);
  }
  if (victim != 0) {
    cov(COV_TCACHE_INIT);
    mp_.tcache = victim;
    zero_owned(victim, SIZEOF_TCACHE);
  }
}

/**
 * tcache_thread_shutdown: at a thread's exit, every cached chunk goes back to its own arena
 * (through free, the tcache now off for good), then the tcache struct itself.
 */
export function tcache_thread_shutdown(): void {
  const tc = mp_.tcache;
  mp_.tcache_shutting_down = 1;
  if (tc == 0) return;
  mp_.tcache = 0;
  cov(COV_TCACHE_SHUTDOWN);
  for (let i: word = 0; i < <word>TCACHE_MAX_BINS; ++i) {
    const slot = entry_slot(tc, i);
    let e: word;
    while ((e = load_word(slot)) != 0) {
      if (!aligned_OK(e)) malloc_printerr(TCACHE_THREAD_SHUTDOWN_UNALIGNED);
      store_word(slot, protect_ptr(e, ld(e, 0)));
      libc_free(e);
    }
  }
  libc_free(tc);
}

// @ts-ignore: decorator
@inline export function maybe_init_tcache(): void {
  if (mp_.tcache == 0) tcache_init();
}

/**
 * tcache_key: glibc reads it from getrandom(); here it comes from the process seed (set by the
 * host before the first call), mixed so that nearby seeds give unrelated keys.
 */
export function tcache_key_initialize(seed: u32): void {
  let x = seed ^ 0x9e3779b9;
  x ^= x >>> 16; x *= 0x85ebca6b;
  x ^= x >>> 13; x *= 0xc2b2ae35;
  x ^= x >>> 16;
  if (sizeof<word>() == 8) {
    // a 64-bit key (glibc's uintptr_t): a second round for the upper half
    let y = x ^ 0x7f4a7c15;
    y ^= y >>> 16; y *= 0x85ebca6b;
    y ^= y >>> 13; y *= 0xc2b2ae35;
    y ^= y >>> 16;
    mp_.tcache_key = (<word>y << 32) | <word>x;
  } else {
    mp_.tcache_key = x;
  }
}
