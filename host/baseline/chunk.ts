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
// Numbers are JS numbers holding u32 values. Reads from a Uint32Array are already unsigned;
// anything computed that may pass 2^31 (addresses of mmapped chunks, masks) or wrap below 0
// (C's unsigned wrap-around in the integrity checks) is brought back with `>>> 0`. ld/st take
// the address base + offset modulo 2^32, exactly as the Wasm build's address arithmetic does.

import { CHUNK_HDR_SZ, MALLOC_ALIGN_MASK, MINSIZE, NON_MAIN_ARENA, SIZE_SZ } from "../../assembly/config.js";
import { ld, st, type Env } from "./env.js";

// Every access to a chunk's fields goes through ld/st (env.ts), as assembly/chunk.ts's do: a
// chunk's address comes from memory the program can corrupt (a link, a size, a pointer it
// passed), or lies on a page a foreign munmap or mprotect took away, so each load and store
// first consults the kernel's page map and dies of SIGSEGV where the Wasm build and the real
// process do. The hot paths write ld(env, p, 4) for the size field, ld(env, p, 8) for fd, and so
// on, with the offsets of the picture; the helpers below are the ones whose expression is worth a
// name. Each makes the same loads and stores, in the same order, as its namesake in
// assembly/chunk.ts, so that both builds fault at the same access.

const SIZE_MASK = ~7; // ~SIZE_BITS, as an int32: `&` with it needs `>>> 0`
const ALIGN_MASK_NOT = ~MALLOC_ALIGN_MASK;

export const chunk2mem = (p: number): number => (p + CHUNK_HDR_SZ) >>> 0;
export const mem2chunk = (mem: number): number => (mem - CHUNK_HDR_SZ) >>> 0;

export const prev_size = (env: Env, p: number): number => ld(env, p, 0);
export const set_prev_size = (env: Env, p: number, v: number): void => st(env, p, 0, v);
export const chunksize = (env: Env, p: number): number => (ld(env, p, 4) & SIZE_MASK) >>> 0;
export const prev_inuse = (env: Env, p: number): boolean => (ld(env, p, 4) & 1) !== 0;
export const chunk_is_mmapped = (env: Env, p: number): boolean => (ld(env, p, 4) & 2) !== 0;
/** Set the whole size field (flags included). */
export const set_head = (env: Env, p: number, v: number): void => st(env, p, 4, v);
/** Set the size, keeping the three flag bits (a load, then a store). */
export const set_head_size = (env: Env, p: number, s: number): void => st(env, p, 4, (ld(env, p, 4) & 7) | s);
/** Write the size into the next chunk's prev_size (free chunks only). */
export const set_foot = (env: Env, p: number, s: number): void => st(env, (p + s) >>> 0, 0, s);

/** In use = the next chunk's PREV_INUSE bit (the size field read, then the next one's). */
export const inuse = (env: Env, p: number): boolean => (ld(env, (p + chunksize(env, p)) >>> 0, 4) & 1) !== 0;
export const inuse_bit_at_offset = (env: Env, p: number, s: number): boolean => (ld(env, (p + s) >>> 0, 4) & 1) !== 0;
export function set_inuse_bit_at_offset(env: Env, p: number, s: number): void {
  const a = (p + s) >>> 0;
  st(env, a, 4, ld(env, a, 4) | 1);
}

/** Mark a chunk as not from the main arena (its size field read, then stored). */
export const set_non_main_arena = (env: Env, p: number): void => st(env, p, 4, ld(env, p, 4) | NON_MAIN_ARENA);

/** The bytes a user may use in an in-use chunk (it borrows the next chunk's prev_size). */
export const memsize = (env: Env, p: number): number =>
  chunksize(env, p) - CHUNK_HDR_SZ + (chunk_is_mmapped(env, p) ? 0 : SIZE_SZ);

export const aligned_OK = (x: number): boolean => (x & MALLOC_ALIGN_MASK) === 0;
/** With MALLOC_ALIGNMENT != CHUNK_HDR_SZ, the test is on the user pointer. */
export const misaligned_chunk = (p: number): boolean => ((p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) !== 0;

/** request2size: the chunk size for a request of at most PTRDIFF_MAX bytes. */
export const request2size = (req: number): number =>
  req + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE ? MINSIZE : ((req + SIZE_SZ + MALLOC_ALIGN_MASK) & ALIGN_MASK_NOT) >>> 0;

/** checked_request2size: 0 when the request exceeds PTRDIFF_MAX. */
export const checked_request2size = (req: number): number => (req > 0x7fffffff ? 0 : request2size(req));

/** Safe-linking: PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr, and REVEAL_PTR is the same. */
export const protect_ptr = (pos: number, ptr: number): number => ((pos >>> 12) ^ ptr) >>> 0;
