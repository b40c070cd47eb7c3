// A chunk: glibc's boundary-tagged block, i386 layout (SIZE_SZ 4, MALLOC_ALIGNMENT 16); on x86-64
// every field is 8 bytes (offsets 0, 8, 16, 24, 32, 40; the user pointer at chunk + 16).
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
//                   │ ...                                    │
// next chunk ─> +size ┤ prev_size = size, when this one is free (the "foot")
//                   └──────────────────────────────────────────┘
// In use, a chunk gives its user size - 8 + 4 bytes: it borrows the next chunk's prev_size.

import {
  CHUNK_HDR_SZ, IS_MMAPPED, MALLOC_ALIGN_MASK, MINSIZE, NON_MAIN_ARENA, PREV_INUSE, PTRDIFF_MAX, SIZE_BITS, SIZE_SZ,
} from "./config";
import { check_read, check_write, hot_span_has, map_readable, map_writable, static_data_has, store_span_has } from "./pagemap";
import { load_word, store_word, va_to_offset, w0_holds, w0_offset_of } from "./vm";

// Every field access below goes through ld/st: a chunk's address comes from memory the program
// can corrupt (a link, a size, a pointer it passed), so each load and store first checks the
// page map (pagemap.ts) and dies of SIGSEGV where the real process would. The address is
// p + offset modulo 2^32 (2^64), as the C code computes it, translated to its offset (vm.ts).

/** A chunk word: the load of a C `p->field`. */
// @ts-ignore: decorator
@inline export function ld(p: word, offset: word): word {
  if (sizeof<word>() == 8) {
    // x86_64: a VA in the brk heap is translated and checked by one test (hot_span_has), one in
    // the static data (the bins) by a second, one elsewhere in W0 by the page map's bit as on
    // i386; any other (the mmap zone, a page the map does not allow, a wild link) takes the
    // general path, out of line
    const w = w0_offset_of(p + offset);
    if (hot_span_has(w)) return load<word>(<usize>w);
    if (static_data_has(w) || (w0_holds(w) && map_readable(<usize>w))) return load<word>(<usize>w);
    return ld_far(p + offset);
  }
  const a = va_to_offset(p + offset);
  check_read(a);
  return load<word>(a);
}
/** A chunk word: the store of a C `p->field = v`. */
// @ts-ignore: decorator
@inline export function st(p: word, offset: word, v: word): void {
  if (sizeof<word>() == 8) {
    const w = w0_offset_of(p + offset);
    if (store_span_has(w) || static_data_has(w) || (w0_holds(w) && map_writable(<usize>w))) store<word>(<usize>w, v);
    else st_far(p + offset, v);
    return;
  }
  const a = va_to_offset(p + offset, true);
  check_write(a);
  store<word>(a, v);
}
/** x86_64: ld of a VA outside the hot span: translated through its window, then checked. */
function ld_far(va: word): word {
  const a = va_to_offset(va);
  check_read(a);
  return load<word>(a);
}
/** x86_64: st of a VA outside the store span. */
function st_far(va: word, v: word): void {
  const a = va_to_offset(va, true);
  check_write(a);
  store<word>(a, v);
}

// @ts-ignore: decorator
@inline export function chunk2mem(p: word): word { return p + CHUNK_HDR_SZ; }
// @ts-ignore: decorator
@inline export function mem2chunk(mem: word): word { return mem - CHUNK_HDR_SZ; }

// @ts-ignore: decorator
@inline export function prev_size(p: word): word { return ld(p, 0); }
// @ts-ignore: decorator
@inline export function set_prev_size(p: word, v: word): void { st(p, 0, v); }
// @ts-ignore: decorator
@inline export function chunksize_nomask(p: word): word { return ld(p, SIZE_SZ); }
// @ts-ignore: decorator
@inline export function chunksize(p: word): word { return ld(p, SIZE_SZ) & ~(<word>SIZE_BITS); }
/** Set the whole size field (flags included). */
// @ts-ignore: decorator
@inline export function set_head(p: word, v: word): void { st(p, SIZE_SZ, v); }
/**
 * A load and a store of the same word (p->field = f(p->field)). An aligned word lies in one page,
 * where the store's check settles the load too and faults as the load would have (the same
 * address and si_code; a page the load would find readable is made writable or faults on the
 * store all the same), so it alone is made, first; a misaligned one gets both, in order.
 */
// @ts-ignore: decorator
@inline function update_word(p: word, offset: word, and_mask: word, or_bits: word): void {
  const va = p + offset;
  if (sizeof<word>() == 8) {
    const w = w0_offset_of(va);
    if (store_span_has(w) || static_data_has(w)) {
      store<word>(<usize>w, (load<word>(<usize>w) & and_mask) | or_bits);
      return;
    }
  }
  if ((va & (SIZE_SZ - 1)) == 0) {
    const a = va_to_offset(va, true);
    check_write(a);
    store<word>(a, (load<word>(a) & and_mask) | or_bits);
  } else {
    st(p, offset, (ld(p, offset) & and_mask) | or_bits);
  }
}
/** Set the size, keeping the three flag bits. */
// @ts-ignore: decorator
@inline export function set_head_size(p: word, s: word): void {
  update_word(p, SIZE_SZ, SIZE_BITS, s);
}
/** Mark a chunk as belonging to an arena other than main_arena. */
// @ts-ignore: decorator
@inline export function set_non_main_arena(p: word): void {
  update_word(p, SIZE_SZ, ~(<word>0), NON_MAIN_ARENA);
}
/** Write the size into the next chunk's prev_size (free chunks only). */
// @ts-ignore: decorator
@inline export function set_foot(p: word, s: word): void { st(p + s, 0, s); }

// @ts-ignore: decorator
@inline export function prev_inuse(p: word): bool { return (ld(p, SIZE_SZ) & PREV_INUSE) != 0; }
// @ts-ignore: decorator
@inline export function chunk_is_mmapped(p: word): bool { return (ld(p, SIZE_SZ) & IS_MMAPPED) != 0; }
// @ts-ignore: decorator
@inline export function chunk_main_arena(p: word): bool { return (ld(p, SIZE_SZ) & NON_MAIN_ARENA) == 0; }
// @ts-ignore: decorator
@inline export function chunk_at_offset(p: word, s: word): word { return p + s; }
// @ts-ignore: decorator
@inline export function next_chunk(p: word): word { return p + chunksize(p); }

/** In use = the next chunk's PREV_INUSE bit. */
// @ts-ignore: decorator
@inline export function inuse(p: word): bool {
  return (ld(p + chunksize(p), SIZE_SZ) & PREV_INUSE) != 0;
}
// @ts-ignore: decorator
@inline export function inuse_bit_at_offset(p: word, s: word): bool {
  return (ld(p + s, SIZE_SZ) & PREV_INUSE) != 0;
}
// @ts-ignore: decorator
@inline export function set_inuse_bit_at_offset(p: word, s: word): void {
  update_word(p + s, SIZE_SZ, ~(<word>0), PREV_INUSE);
}
// @ts-ignore: decorator
@inline export function clear_inuse_bit_at_offset(p: word, s: word): void {
  update_word(p + s, SIZE_SZ, ~(<word>PREV_INUSE), 0);
}

// Free-list links (offsets 8, 12, 16, 20 on i386). When p + 8 is 16-aligned, as a chunk's is,
// the four share one 16-byte block: right after a checked access to one of them (no call into the
// host in between), the next access to another needs no check of its own (pagemap.ts). On x86-64
// (offsets 16, 24, 32, 40, p 16-aligned) only fd and bk share a block: a nextsize link is checked.
// @ts-ignore: decorator
@inline function links_in_one_block(p: word, offset: word): bool {
  if (SIZE_SZ == 4) return (p & 15) == 8;
  else return ((p & 15) == 0) & (offset < 4 * SIZE_SZ);
}
/** Load a link of p right after a checked access to another of its links (fd or bk on x86-64). */
// @ts-ignore: decorator
@inline export function ld_link_next(p: word, offset: word): word {
  return links_in_one_block(p, offset) ? load_word(p, offset) : ld(p, offset);
}
/** Store a link of p right after a checked store to another of its links (fd or bk on x86-64). */
// @ts-ignore: decorator
@inline export function st_link_next(p: word, offset: word, v: word): void {
  if (links_in_one_block(p, offset)) store_word(p, v, offset);
  else st(p, offset, v);
}
// @ts-ignore: decorator
@inline export function fd(p: word): word { return ld(p, 2 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function bk(p: word): word { return ld(p, 3 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function fd_nextsize(p: word): word { return ld(p, 4 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function bk_nextsize(p: word): word { return ld(p, 5 * SIZE_SZ); }
// @ts-ignore: decorator
@inline export function set_fd(p: word, v: word): void { st(p, 2 * SIZE_SZ, v); }
// @ts-ignore: decorator
@inline export function set_bk(p: word, v: word): void { st(p, 3 * SIZE_SZ, v); }
// @ts-ignore: decorator
@inline export function set_fd_nextsize(p: word, v: word): void { st(p, 4 * SIZE_SZ, v); }
// @ts-ignore: decorator
@inline export function set_bk_nextsize(p: word, v: word): void { st(p, 5 * SIZE_SZ, v); }

/** memsize: the bytes a user may use in an in-use chunk. */
// @ts-ignore: decorator
@inline export function memsize(p: word): word {
  return chunksize(p) - CHUNK_HDR_SZ + (chunk_is_mmapped(p) ? 0 : SIZE_SZ);
}

// @ts-ignore: decorator
@inline export function aligned_OK(m: word): bool { return (m & MALLOC_ALIGN_MASK) == 0; }
/** With MALLOC_ALIGNMENT != CHUNK_HDR_SZ, the test is on the user pointer. */
// @ts-ignore: decorator
@inline export function misaligned_chunk(p: word): bool { return ((p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) != 0; }

/** request2size: the chunk size for a request (no overflow check). */
// @ts-ignore: decorator
@inline export function request2size(req: word): word {
  return req + SIZE_SZ + MALLOC_ALIGN_MASK < <word>MINSIZE
    ? <word>MINSIZE
    : (req + SIZE_SZ + MALLOC_ALIGN_MASK) & ~(<word>MALLOC_ALIGN_MASK);
}

/** checked_request2size: 0 when the request exceeds PTRDIFF_MAX. */
// @ts-ignore: decorator
@inline export function checked_request2size(req: word): word {
  if (req > <word>PTRDIFF_MAX) return 0;
  return request2size(req);
}

/** Safe-linking: PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr; REVEAL_PTR is the same. */
// @ts-ignore: decorator
@inline export function protect_ptr(pos: word, ptr: word): word { return (pos >> 12) ^ ptr; }
