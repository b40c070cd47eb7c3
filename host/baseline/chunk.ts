// A chunk: glibc's boundary-tagged block, i386 layout (SIZE_SZ 4, MALLOC_ALIGNMENT 16).
//
//     chunk ──> +0  ┌──────────────────────────────────────────┐
//                   │ prev_size: size of the previous chunk,   │  (only while that one is free;
//                   │   else the tail of its user data)        │   an mmapped chunk: its offset
//                   ├──────────────────────────────────┬─┬─┬─┤   from the mapping's start)
//               +4  │ size (multiple of 16)             │A│M│P│  A NON_MAIN_ARENA, M IS_MMAPPED,
//       mem ──> +8  ├──────────────────────────────────┴─┴─┴─┤  P PREV_INUSE (previous in use)
//                   │ fd   (free: next in bin; tcache: next, │  user data starts here:
//              +12  │ bk    safe-linked; tcache: key)        │  chunk2mem(p) = p + 8,
//              +16  │ fd_nextsize (free large chunks only)   │  16-aligned
//              +20  │ bk_nextsize                            │
// next chunk ─> +size ┤ prev_size = size, when this one is free (the "foot")
//                   └──────────────────────────────────────────┘
//
// Numbers are JS numbers holding C words: u32 values on i386, and on x86-64 numbers below 2^64
// (wide.ts). Reads from a Uint32Array are already unsigned; anything computed that may pass the
// word's range or wrap below 0 (C's unsigned wrap-around in the integrity checks) is brought back
// with wrap(). The flag bits are added and subtracted rather than or-ed and masked, which holds
// for both word sizes. ld/st take the address base + offset modulo 2^32 (2^64), exactly as the
// Wasm build's address arithmetic does. On x86-64 every field is 8 bytes (offsets 0, 8, 16, 24,
// 32, 40; the user pointer at chunk + 16): the offsets written here are i386's, which ld and st
// double (env.ts).

import { MALLOC_ALIGN_MASK, NON_MAIN_ARENA } from "../../assembly/config.js";
import { ld, st, wrap, type Env } from "./env.js";
import { xor64 } from "./wide.js";

// Every access to a chunk's fields goes through ld/st (env.ts), as assembly/chunk.ts's do: a
// chunk's address comes from memory the program can corrupt (a link, a size, a pointer it
// passed), or lies on a page a foreign munmap or mprotect took away, so each load and store
// first consults the kernel's page map and dies of SIGSEGV where the Wasm build and the real
// process do. The hot paths write ld(env, p, 4) for the size field, ld(env, p, 8) for fd, and so
// on, with the offsets of the picture; the helpers below are the ones whose expression is worth a
// name. Each makes the same loads and stores, in the same order, as its namesake in
// assembly/chunk.ts, so that both builds fault at the same access.

/** The size of a size field: its flag bits taken off (holds for any word). */
export const size_of = (head: number): number => head - (head & 7);

export const chunk2mem = (env: Env, p: number): number => wrap(env, p + env.CHUNK_HDR_SZ);
export const mem2chunk = (env: Env, mem: number): number => wrap(env, mem - env.CHUNK_HDR_SZ);

export const prev_size = (env: Env, p: number): number => ld(env, p, 0);
export const set_prev_size = (env: Env, p: number, v: number): void => st(env, p, 0, v);
export const chunksize = (env: Env, p: number): number => size_of(ld(env, p, 4));
export const prev_inuse = (env: Env, p: number): boolean => (ld(env, p, 4) & 1) !== 0;
export const chunk_is_mmapped = (env: Env, p: number): boolean => (ld(env, p, 4) & 2) !== 0;
/** Set the whole size field (flags included). */
export const set_head = (env: Env, p: number, v: number): void => st(env, p, 4, v);
/** Set the size, keeping the three flag bits (a load, then a store); s may carry flag bits of its own, or-ed in. */
export function set_head_size(env: Env, p: number, s: number): void {
  const h = ld(env, p, 4);
  st(env, p, 4, size_of(s) + ((h | s) & 7));
}
/** Write the size into the next chunk's prev_size (free chunks only). */
export const set_foot = (env: Env, p: number, s: number): void => st(env, wrap(env, p + s), 0, s);

/** In use = the next chunk's PREV_INUSE bit (the size field read, then the next one's). */
export const inuse = (env: Env, p: number): boolean => (ld(env, wrap(env, p + chunksize(env, p)), 4) & 1) !== 0;
export const inuse_bit_at_offset = (env: Env, p: number, s: number): boolean => (ld(env, wrap(env, p + s), 4) & 1) !== 0;
export function set_inuse_bit_at_offset(env: Env, p: number, s: number): void {
  const a = wrap(env, p + s);
  const h = ld(env, a, 4);
  st(env, a, 4, h + 1 - (h & 1));
}
/** The size field with PREV_INUSE cleared. */
export const without_prev_inuse = (head: number): number => head - (head & 1);
/** A size field with PREV_INUSE set. */
export const with_prev_inuse = (head: number): number => head + 1 - (head & 1);

/** Mark a chunk as not from the main arena (its size field read, then stored). */
export function set_non_main_arena(env: Env, p: number): void {
  const h = ld(env, p, 4);
  st(env, p, 4, h + NON_MAIN_ARENA - (h & NON_MAIN_ARENA));
}

/** The bytes a user may use in an in-use chunk (it borrows the next chunk's prev_size). */
export const memsize = (env: Env, p: number): number =>
  chunksize(env, p) - env.CHUNK_HDR_SZ + (chunk_is_mmapped(env, p) ? 0 : env.SIZE_SZ);

export const aligned_OK = (x: number): boolean => (x & MALLOC_ALIGN_MASK) === 0;
/** With MALLOC_ALIGNMENT != CHUNK_HDR_SZ (i386), the test is on the user pointer; on x86-64 it is the same test. */
export const misaligned_chunk = (env: Env, p: number): boolean => ((p + env.CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) !== 0;

/** request2size: the chunk size for a request of at most PTRDIFF_MAX bytes. */
export function request2size(env: Env, req: number): number {
  const r = req + env.SIZE_SZ + MALLOC_ALIGN_MASK;
  return r < env.MINSIZE ? env.MINSIZE : r - (r & MALLOC_ALIGN_MASK);
}

/** checked_request2size: 0 when the request exceeds PTRDIFF_MAX. */
export const checked_request2size = (env: Env, req: number): number => (req > env.PTRDIFF_MAX ? 0 : request2size(env, req));

/** Safe-linking: PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr, and REVEAL_PTR is the same. */
export function protect_ptr(env: Env, pos: number, ptr: number): number {
  if (env.wide) return xor64(Math.floor(pos / 4096), ptr);
  return ((pos >>> 12) ^ ptr) >>> 0;
}
