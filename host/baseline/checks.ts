// The whole-heap checker (do_check_malloc_state's role), as assembly/checks.ts: it walks the heap
// chunk by chunk and every bin, and throws the abort error built from CHECK_MALLOC_STATE_FAILED
// with the number of the first broken rule (the same numbers as the Wasm build's check_failure()).
// Tests and the fuzzer call it after every operation; the allocator itself never does.

import { MALLOC_ALIGN_MASK, MINSIZE, NBINS, NFASTBINS, TCACHE_ENTRIES_OFFSET, TCACHE_MAX_BINS } from "../../assembly/config.js";
import { CHECK_MALLOC_STATE_FAILED } from "../../assembly/messages.js";
import { bin_at, bin_index, fastbin_index } from "./bins.js";
import { chunksize, inuse, protect_ptr } from "./chunk.js";
import type { Env } from "./env.js";
import {
  NONCONTIGUOUS_BIT, W_AV_FLAGS, W_FASTBINS, W_MALLOC_INITIALIZED, W_SBRK_BASE, W_SYSTEM_MEM, W_TCACHE, W_TCACHE_KEY,
  W_TOP,
} from "./layout.js";


/** Walk everything; returns 0 when every invariant holds, else the number of the first broken rule. */
export function check_failure_rule(env: Env): number {
  const m = env.u32;
  if (m[W_MALLOC_INITIALIZED] === 0) return 0;
  const top = m[W_TOP];
  if (top === bin_at(1)) return 0; // no heap yet
  const topsize = chunksize(m, top);
  if ((m[(top + 4) >>> 2] & 1) === 0) return 1;
  if (topsize < MINSIZE) return 2;

  // bins: well linked, sizes in range, chunks free
  let binned = 0;
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(i);
    let p = m[(b + 12) >>> 2];
    let prev = b;
    let lastSize = 0;
    while (p !== b) {
      if (m[(p + 8) >>> 2] !== prev) return 3;
      const sz = chunksize(m, p);
      if (sz < MINSIZE || (sz & MALLOC_ALIGN_MASK) !== 0) return 4;
      if (((p + 8) & MALLOC_ALIGN_MASK) !== 0) return 5;
      if (inuse(m, p)) return 6;
      if (m[(p + sz) >>> 2] !== sz) return 7;
      if (i >= 2 && bin_index(sz) !== i) return 8;
      if (i >= 64) {
        // walking from the back: sizes never decrease
        if (sz < lastSize) return 9;
        const fdn = m[(p + 16) >>> 2];
        if (fdn !== 0 && (m[(fdn + 20) >>> 2] !== p || m[(m[(p + 20) >>> 2] + 16) >>> 2] !== p)) return 10;
      }
      lastSize = sz;
      ++binned;
      prev = p;
      p = m[(p + 12) >>> 2];
    }
    if (m[(b + 8) >>> 2] !== prev) return 11;
  }

  // fastbins: right sizes, still marked in use
  for (let i = 0; i < NFASTBINS; ++i) {
    for (let p = m[W_FASTBINS + i]; p !== 0; p = protect_ptr(p + 8, m[(p + 8) >>> 2])) {
      if (fastbin_index(chunksize(m, p)) !== i) return 12;
      if (!inuse(m, p)) return 13;
    }
  }

  // tcache: counts match the lists
  const tc = m[W_TCACHE];
  if (tc !== 0) {
    for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
      let n = 0;
      for (let e = m[((tc + TCACHE_ENTRIES_OFFSET) >>> 2) + i]; e !== 0; e = protect_ptr(e, m[e >>> 2])) {
        if (m[(e + 4) >>> 2] !== m[W_TCACHE_KEY]) return 14;
        if (++n > 65535) return 15;
      }
      if (n !== env.u16[(tc >>> 1) + i]) return 16;
    }
  }

  // the heap, chunk by chunk (contiguous arena only)
  const sbrk_base = m[W_SBRK_BASE];
  if ((m[W_AV_FLAGS] & NONCONTIGUOUS_BIT) === 0 && sbrk_base !== 0) {
    let p = (((sbrk_base + 8 + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK) >>> 0) - 8;
    let freeSeen = 0;
    let prevFree = false;
    let steps = 0;
    while (p !== top) {
      if (p > top) return 17;
      const sz = chunksize(m, p);
      if (sz < 8 || (sz & 7) !== 0) return 18;
      const isFree = !inuse(m, p);
      if (isFree) {
        if (prevFree) return 19; // two free neighbours were not coalesced
        ++freeSeen;
      }
      if (((m[(p + sz + 4) >>> 2] & 1) !== 0) === isFree && p + sz !== top) return 20;
      prevFree = isFree;
      p += sz;
      if (++steps > 0x10000000) return 21;
    }
    if (freeSeen !== binned) return 22;
    if (top + topsize > sbrk_base + m[W_SYSTEM_MEM]) return 23;
  }
  if ((m[(top + 4) >>> 2] & 2) !== 0) return 24;
  if ((m[(top + 4) >>> 2] & 1) === 0) return 25;
  return 0;
}

/** check_malloc_state: abort (env.onAbort) with CHECK_MALLOC_STATE_FAILED when a rule fails. */
export function check_malloc_state(env: Env): void {
  const rule = check_failure_rule(env);
  if (rule !== 0) {
    const err = env.onAbort(CHECK_MALLOC_STATE_FAILED);
    (err as Error & { rule?: number }).rule = rule;
    throw err;
  }
}
