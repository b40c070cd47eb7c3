// The whole-heap checker (do_check_malloc_state's role). Debug builds run it after every
// public call when enabled (set_debug_checks(1)); release builds compile it out.
// It walks the heap chunk by chunk (across the gaps a foreign sbrk leaves) and every bin, and aborts with CHECK_MALLOC_STATE_FAILED
// plus the failed rule's number in check_failure() when an invariant does not hold.
//
// Every list is first cycle-checked (is_cyclic), so no walk runs forever. A cycle is not a
// failure: glibc 2.36 lets some double frees through (free a, b, a into a fastbin while the
// tcache is full) and keeps running with a cyclic list — whose chunks are then handed out while
// still linked, so no rule about the list's entries can hold. The checker notes it in
// check_cycle() (CYCLE_BIN/CYCLE_FASTBIN/CYCLE_TCACHE << 8 | the list's index), skips that list,
// and skips the free-chunk tally that needs every bin.

import { CHUNK_HDR_SZ, CYCLE_BIN, CYCLE_FASTBIN, CYCLE_TCACHE, MALLOC_ALIGN_MASK, MINSIZE, NBINS, NFASTBINS, PREV_INUSE, SIZE_SZ, TCACHE_MAX_BINS } from "./config";
import { load_word } from "./vm";
import { av_next, av_top, contiguous, fastbin_addr, main_arena, mp_, system_mem } from "./arena";
import { bin_at, bin_index, fastbin_index, in_smallbin_range } from "./bins";
import {
  bk, bk_nextsize, chunk2mem, chunksize, chunksize_nomask, fd, fd_nextsize, inuse, prev_inuse, prev_size,
  protect_ptr,
} from "./chunk";
import { CHECK_MALLOC_STATE_FAILED } from "./messages";
import { malloc_printerr } from "./syscalls";
import { tcache_count, tcache_entry } from "./tcache";

let enabled = false;
let failedRule: i32 = 0;
let cycleFound: i32 = 0;

export function set_debug_checks(on: i32): void { enabled = on != 0; }
export function check_failure(): i32 { return failedRule; }
/** 0, or the last cyclic list the checker found: kind << 8 | index (CYCLE_*). */
export function check_cycle(): i32 { return cycleFound; }

function fail(rule: i32): void {
  failedRule = rule;
  malloc_printerr(CHECK_MALLOC_STATE_FAILED);
}

// How each kind of list links to its next node.
const LINK_BK: i32 = 0; // a bin, walked from the back
const LINK_FASTBIN: i32 = 1; // safe-linked fd
const LINK_TCACHE: i32 = 2; // safe-linked next at the mem pointer

// @ts-ignore: decorator
@inline function next_link(kind: i32, p: word): word {
  if (kind == LINK_BK) return bk(p);
  if (kind == LINK_FASTBIN) return protect_ptr(p + CHUNK_HDR_SZ, fd(p));
  return protect_ptr(p, load_word(p));
}

/**
 * Whether the list from `first` runs into a cycle before it reaches `end` (Brent's algorithm:
 * one saved node, moved at powers of two; stops within about twice the list's length). Only
 * links are read, so the rules are then applied to an acyclic list alone.
 */
function is_cyclic(first: word, end: word, kind: i32): bool {
  if (first == end) return false;
  let saved = first;
  let power: u32 = 1;
  let steps: u32 = 0;
  let p = first;
  while (true) {
    p = next_link(kind, p);
    if (p == end) return false;
    if (p == saved) return true;
    if (++steps == power) { saved = p; power <<= 1; steps = 0; }
  }
  return false;
}

// @ts-ignore: decorator
@inline export function maybe_check(): void {
  if (!ASC_NO_ASSERT) {
    if (enabled) check_malloc_state();
  }
}

/**
 * The lowest chunk at or above `from` that the arena knows of: binned, in a fastbin or the tcache,
 * or the top (lists found cyclic are left out).
 */
function lowest_known_chunk(av: word, from: word, top: word): word {
  let best = top;
  for (let i: word = 1; i < <word>NBINS; ++i) {
    const b = bin_at(av, i);
    if (is_cyclic(b, b, LINK_BK)) continue;
    for (let p = bk(b); p != b; p = bk(p)) if (p >= from && p < best) best = p;
  }
  for (let i: word = 0; i < <word>NFASTBINS; ++i) {
    let p = load_word(fastbin_addr(av, i));
    if (is_cyclic(p, 0, LINK_FASTBIN)) continue;
    for (; p != 0; p = next_link(LINK_FASTBIN, p)) if (p >= from && p < best) best = p;
  }
  const tc = mp_.tcache;
  if (tc != 0) {
    for (let i: word = 0; i < <word>TCACHE_MAX_BINS; ++i) {
      let e = tcache_entry(tc, i);
      if (is_cyclic(e, 0, LINK_TCACHE)) continue;
      for (; e != 0; e = next_link(LINK_TCACHE, e)) if (e - CHUNK_HDR_SZ >= from && e - CHUNK_HDR_SZ < best) best = e - CHUNK_HDR_SZ;
    }
  }
  return best;
}

/** Check every arena (the ring from main_arena; before the first call, main_arena alone). */
export function check_malloc_state(): void {
  let av = main_arena;
  do {
    do_check_malloc_state(av);
    av = av_next(av);
  } while (av != main_arena && av != 0);
}

/** Walk everything of av; abort on the first broken invariant. */
function do_check_malloc_state(av: word): void {
  if (!mp_.malloc_initialized) return;
  const top = av_top(av);
  if (top == bin_at(av, 1)) return; // no heap yet
  const topsize = chunksize(top);
  if (!prev_inuse(top)) fail(1);
  if (topsize < <word>MINSIZE) fail(2);
  cycleFound = 0;
  let cyclicBins = false;

  // bins: well linked, sizes in range, chunks free
  let binned: word = 0;
  for (let i: word = 1; i < <word>NBINS; ++i) {
    const b = bin_at(av, i);
    let p = bk(b);
    let prev = b;
    let lastSize: word = 0;
    if (is_cyclic(b, b, LINK_BK)) {
      cycleFound = CYCLE_BIN << 8 | <i32>i;
      cyclicBins = true;
      continue;
    }
    while (p != b) {
      if (fd(p) != prev) fail(3);
      const sz = chunksize(p);
      if (sz < <word>MINSIZE || (sz & MALLOC_ALIGN_MASK) != 0) fail(4);
      if (((p + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK) != 0) fail(5);
      if (inuse(p)) fail(6);
      if (prev_size(p + sz) != sz) fail(7);
      if (i >= 2 && bin_index(sz) != i) fail(8);
      if (i >= 64) {
        // walking from the back: sizes never decrease
        if (sz < lastSize) fail(9);
        if (fd_nextsize(p) != 0 && (bk_nextsize(fd_nextsize(p)) != p || fd_nextsize(bk_nextsize(p)) != p)) fail(10);
      }
      lastSize = sz;
      ++binned;
      prev = p;
      p = bk(p);
    }
    if (fd(b) != prev) fail(11);
  }

  // fastbins: right sizes, still marked in use
  let fastCount: word = 0;
  for (let i: word = 0; i < <word>NFASTBINS; ++i) {
    let p = load_word(fastbin_addr(av, i));
    if (is_cyclic(p, 0, LINK_FASTBIN)) {
      cycleFound = CYCLE_FASTBIN << 8 | <i32>i;
      continue;
    }
    for (; p != 0; p = next_link(LINK_FASTBIN, p)) {
      if (fastbin_index(chunksize(p)) != i) fail(12);
      if (!inuse(p)) fail(13);
      ++fastCount;
    }
  }

  // tcache: counts match the lists
  const tc = mp_.tcache;
  if (tc != 0) {
    for (let i: word = 0; i < <word>TCACHE_MAX_BINS; ++i) {
      let e = tcache_entry(tc, i);
      // (rule 15, a list longer than any count, is now a cycle: noted, not a failure)
      if (is_cyclic(e, 0, LINK_TCACHE)) {
        cycleFound = CYCLE_TCACHE << 8 | <i32>i;
        continue;
      }
      let n: u32 = 0;
      for (; e != 0; e = next_link(LINK_TCACHE, e)) {
        if (load_word(e, SIZE_SZ) != mp_.tcache_key) fail(14);
        ++n;
      }
      if (n != tcache_count(tc, i)) fail(16);
    }
  }

  // the heap, chunk by chunk (main_arena while contiguous: its chunks start at sbrk_base)
  if (av == main_arena && contiguous(av) && mp_.sbrk_base != 0) {
    let p = (mp_.sbrk_base + CHUNK_HDR_SZ + MALLOC_ALIGN_MASK & ~(<word>MALLOC_ALIGN_MASK)) - CHUNK_HDR_SZ;
    let freeSeen: word = 0;
    let prevFree = false;
    let steps: word = 0;
    while (p != top) {
      if (p > top) fail(17);
      const sz = chunksize(p);
      if (sz < <word>CHUNK_HDR_SZ || (sz & (CHUNK_HDR_SZ - 1)) != 0) fail(18);
      if (sz == <word>CHUNK_HDR_SZ) {
        // Two CHUNK_HDR_SZ fenceposts end a stretch of the heap: sysmalloc found the break moved by a
        // foreign sbrk, fenced the old top off and went on from the new break. Nothing records
        // where that is; the walk goes on from the lowest chunk the arena knows above.
        if (chunksize(p + CHUNK_HDR_SZ) != <word>CHUNK_HDR_SZ || !prev_inuse(p + CHUNK_HDR_SZ)) fail(27);
        p = lowest_known_chunk(av, p + 2 * CHUNK_HDR_SZ, top);
        prevFree = false;
        continue;
      }
      const isFree = !inuse(p);
      if (isFree) {
        if (prevFree) fail(19); // two free neighbours were not coalesced
        ++freeSeen;
      }
      if (prev_inuse(p + sz) == isFree && (p + sz) != top) fail(20);
      prevFree = isFree;
      p += sz;
      if (++steps > 0x10000000) fail(21);
    }
    if (freeSeen != binned && !cyclicBins) fail(22);
    if (top + topsize > mp_.sbrk_base + system_mem(av)) fail(23);
  }
  if (chunksize_nomask(top) & 2) fail(24);
  if ((chunksize_nomask(top) & PREV_INUSE) == 0) fail(25);
  if (chunk2mem(top) == 0) fail(26);
}
