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
// (C's unsigned wrap-around in the integrity checks) is brought back with `>>> 0`. An index
// `(p + k) >>> 2` wraps modulo 2^32 exactly as the Wasm build's address arithmetic does.

import { CHUNK_HDR_SZ, MALLOC_ALIGN_MASK, MINSIZE, SIZE_SZ } from "../../assembly/config.js";
import { ld, trap, type Env } from "./env.js";

// The allocator's code indexes the word view with the offsets of the picture directly —
// m[p >>> 2] prev_size, m[(p + 4) >>> 2] size, m[(p + 8) >>> 2] fd, m[(p + 12) >>> 2] bk,
// m[(p + 16) >>> 2] fd_nextsize, m[(p + 20) >>> 2] bk_nextsize — rather than through one small
// function per field: the hot paths then depend on no inlining budget. The helpers below are the
// few whose expression is worth a name.

const SIZE_MASK = ~7; // ~SIZE_BITS, as an int32: `&` with it needs `>>> 0`
const ALIGN_MASK_NOT = ~MALLOC_ALIGN_MASK;

export const chunk2mem = (p: number): number => (p + CHUNK_HDR_SZ) >>> 0;
export const mem2chunk = (mem: number): number => (mem - CHUNK_HDR_SZ) >>> 0;

export const chunksize = (m: Uint32Array, p: number): number => (m[(p + 4) >>> 2] & SIZE_MASK) >>> 0;
/** chunksize of a chunk reached through a link: read with ld (bounded as a Wasm load). */
export const chunksize_ld = (env: Env, p: number): number => (ld(env, p, 4) & SIZE_MASK) >>> 0;
export const chunk_is_mmapped = (m: Uint32Array, p: number): boolean => (m[(p + 4) >>> 2] & 2) !== 0;
/** In use = the next chunk's PREV_INUSE bit. */
export const inuse = (m: Uint32Array, p: number): boolean => (m[(p + chunksize(m, p) + 4) >>> 2] & 1) !== 0;

/** The bytes a user may use in an in-use chunk (it borrows the next chunk's prev_size). */
export const memsize = (m: Uint32Array, p: number): number =>
  chunksize(m, p) - CHUNK_HDR_SZ + (chunk_is_mmapped(m, p) ? 0 : SIZE_SZ);

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

/**
 * A u32 load at an address that came from the user (a bad pointer may be misaligned, or point past
 * the end of the memory): read as the Wasm build reads it — unaligned if need be, and trapping
 * ("memory access out of bounds") where a Wasm load would, with no wrap-around.
 */
export function load_u32(env: Env, addr: number): number {
  if (addr + 4 > env.u8.length) trap();
  return (addr & 3) === 0 ? env.u32[addr >>> 2] : env.dv.getUint32(addr, true);
}

/** The size field of a chunk whose address the user gave: the fast aligned read, else load_u32. */
export function user_head(env: Env, p: number): number {
  if ((p & 3) === 0) {
    const v = env.u32[(p + 4) >>> 2];
    if (v !== undefined && p < 0xfffffff8) return v;
  }
  return load_u32(env, p + 4);
}
