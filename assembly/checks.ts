// The whole-heap checker (do_check_malloc_state's role). Debug builds run it after every
// public call when enabled (set_debug_checks(1)); release builds compile it out.
// It walks the heap chunk by chunk and every bin, and aborts with CHECK_MALLOC_STATE_FAILED
// plus the failed rule's number in check_failure() when an invariant does not hold.

import { MALLOC_ALIGN_MASK, MINSIZE, NBINS, NFASTBINS, PREV_INUSE, TCACHE_MAX_BINS } from "./config";
import { av_top, contiguous, fastbin_addr, mp_, system_mem } from "./arena";
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

export function set_debug_checks(on: i32): void { enabled = on != 0; }
export function check_failure(): i32 { return failedRule; }

function fail(rule: i32): void {
  failedRule = rule;
  malloc_printerr(CHECK_MALLOC_STATE_FAILED);
}

// @ts-ignore: decorator
@inline export function maybe_check(): void {
  if (!ASC_NO_ASSERT) {
    if (enabled) check_malloc_state();
  }
}

/** Walk everything; abort on the first broken invariant. */
export function check_malloc_state(): void {
  if (!mp_.malloc_initialized) return;
  const top = av_top();
  if (top == bin_at(1)) return; // no heap yet
  const topsize = chunksize(top);
  if (!prev_inuse(top)) fail(1);
  if (topsize < <usize>MINSIZE) fail(2);

  // bins: well linked, sizes in range, chunks free
  let binned: usize = 0;
  for (let i: usize = 1; i < <usize>NBINS; ++i) {
    const b = bin_at(i);
    let p = bk(b);
    let prev = b;
    let lastSize: usize = 0;
    while (p != b) {
      if (fd(p) != prev) fail(3);
      const sz = chunksize(p);
      if (sz < <usize>MINSIZE || (sz & MALLOC_ALIGN_MASK) != 0) fail(4);
      if (((p + 8) & MALLOC_ALIGN_MASK) != 0) fail(5);
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
  let fastCount: usize = 0;
  for (let i: usize = 0; i < <usize>NFASTBINS; ++i) {
    for (let p = load<usize>(fastbin_addr(i)); p != 0; p = protect_ptr(p + 8, fd(p))) {
      if (fastbin_index(chunksize(p)) != i) fail(12);
      if (!inuse(p)) fail(13);
      ++fastCount;
    }
  }

  // tcache: counts match the lists
  const tc = mp_.tcache;
  if (tc != 0) {
    for (let i: usize = 0; i < <usize>TCACHE_MAX_BINS; ++i) {
      let n: u32 = 0;
      for (let e = tcache_entry(tc, i); e != 0; e = protect_ptr(e, load<usize>(e))) {
        if (load<usize>(e, 4) != mp_.tcache_key) fail(14);
        if (++n > 65535) fail(15);
      }
      if (n != tcache_count(tc, i)) fail(16);
    }
  }

  // the heap, chunk by chunk (contiguous arena only)
  if (contiguous() && mp_.sbrk_base != 0) {
    let p = (mp_.sbrk_base + 8 + MALLOC_ALIGN_MASK & ~(<usize>MALLOC_ALIGN_MASK)) - 8;
    let freeSeen: usize = 0;
    let prevFree = false;
    let steps: usize = 0;
    while (p != top) {
      if (p > top) fail(17);
      const sz = chunksize(p);
      if (sz < 8 || (sz & 7) != 0) fail(18);
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
    if (freeSeen != binned) fail(22);
    if (top + topsize > mp_.sbrk_base + system_mem()) fail(23);
  }
  if (chunksize_nomask(top) & 2) fail(24);
  if (fastCount > 0 && load<u32>(fastbin_addr(0) - 4) == 0) {} // have_fastchunks may lag: not a rule
  if ((chunksize_nomask(top) & PREV_INUSE) == 0) fail(25);
  if (chunk2mem(top) == 0) fail(26);
}
