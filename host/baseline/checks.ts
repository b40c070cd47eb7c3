// The whole-heap checker (do_check_malloc_state's role), as assembly/checks.ts: it walks the heap
// chunk by chunk (across the gaps a foreign sbrk leaves) and every bin, and throws the abort error
// built from CHECK_MALLOC_STATE_FAILED with the number of the first broken rule (the same numbers as the Wasm build's check_failure()).
// Tests and the fuzzer call it after every operation; the allocator itself never does.
// As there, every list is first cycle-checked (Brent), and a cyclic list — which glibc 2.36 runs
// with, after a fastbin double free it lets through — is noted in lastCycle() and skipped, not failed.

import { CYCLE_BIN, CYCLE_FASTBIN, CYCLE_TCACHE, MALLOC_ALIGN_MASK, MINSIZE, NBINS, NFASTBINS, TCACHE_ENTRIES_OFFSET, TCACHE_MAX_BINS } from "../../assembly/config.js";
import { CHECK_MALLOC_STATE_FAILED } from "../../assembly/messages.js";
import { bin_at, bin_index, fastbin_index } from "./bins.js";
import { chunksize, inuse, prev_inuse, prev_size, protect_ptr } from "./chunk.js";
import { ld, type Env } from "./env.js";
import {
  AV_FASTBINS, AV_FLAGS, AV_NEXT, AV_SYSTEM_MEM, AV_TOP, MAIN_ARENA, NONCONTIGUOUS_BIT, W_MALLOC_INITIALIZED, W_SBRK_BASE,
  W_TCACHE, W_TCACHE_KEY,
} from "./layout.js";

let cycleFound = 0;
/** 0, or the last cyclic list the last walk found: kind << 8 | index (as the Wasm build's check_cycle()). */
export function lastCycle(): number { return cycleFound; }

const LINK_BK = 0; // a bin, walked from the back
const LINK_FASTBIN = 1; // safe-linked fd
const LINK_TCACHE = 2; // safe-linked next at the mem pointer

// Bin and fastbin links are chunk fields, read with ld as the Wasm build's bk/fd; a tcache entry's
// next pointer is a plain load there (assembly/checks.ts), and a plain read here.
function next_link(env: Env, kind: number, p: number): number {
  if (kind === LINK_BK) return ld(env, p, 12);
  if (kind === LINK_FASTBIN) return protect_ptr(p + 8, ld(env, p, 8));
  return protect_ptr(p, env.u32[p >>> 2]);
}

/** Whether the list from `first` runs into a cycle before `end` (Brent, as assembly/checks.ts). */
function is_cyclic(env: Env, first: number, end: number, kind: number): boolean {
  if (first === end) return false;
  let saved = first;
  let power = 1;
  let steps = 0;
  for (let p = first; ;) {
    p = next_link(env, kind, p);
    if (p === end) return false;
    if (p === saved) return true;
    if (++steps === power) { saved = p; power *= 2; steps = 0; }
  }
}

/** The lowest chunk at or above `from` the arena knows of: binned, fastbin, tcache, or the top. */
function lowestKnownChunk(env: Env, av: number, from: number, top: number): number {
  const m = env.u32;
  let best = top;
  const consider = (p: number): void => { if (p >= from && p < best) best = p; };
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(av, i);
    if (is_cyclic(env, b, b, LINK_BK)) continue;
    for (let p = m[(b + 12) >>> 2]; p !== b; p = ld(env, p, 12)) consider(p);
  }
  for (let i = 0; i < NFASTBINS; ++i) {
    const first = m[((av + AV_FASTBINS) >>> 2) + i];
    if (is_cyclic(env, first, 0, LINK_FASTBIN)) continue;
    for (let p = first; p !== 0; p = next_link(env, LINK_FASTBIN, p)) consider(p);
  }
  const tc = m[W_TCACHE];
  if (tc !== 0) {
    for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
      const first = m[((tc + TCACHE_ENTRIES_OFFSET) >>> 2) + i];
      if (is_cyclic(env, first, 0, LINK_TCACHE)) continue;
      for (let e = first; e !== 0; e = next_link(env, LINK_TCACHE, e)) consider(e - 8);
    }
  }
  return best;
}

/** Walk all of av; returns 0 when every invariant holds, else the number of the first broken rule. */
export function check_failure_rule(env: Env, av: number): number {
  const m = env.u32;
  if (m[W_MALLOC_INITIALIZED] === 0) return 0;
  const top = m[(av + AV_TOP) >>> 2];
  if (top === bin_at(av, 1)) return 0; // no heap yet
  const topsize = chunksize(env, top);
  if (!prev_inuse(env, top)) return 1;
  if (topsize < MINSIZE) return 2;
  cycleFound = 0;
  let cyclicBins = false;

  // bins: well linked, sizes in range, chunks free
  let binned = 0;
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(av, i);
    let p = m[(b + 12) >>> 2];
    let prev = b;
    let lastSize = 0;
    if (is_cyclic(env, b, b, LINK_BK)) {
      cycleFound = (CYCLE_BIN << 8) | i;
      cyclicBins = true;
      continue;
    }
    while (p !== b) {
      if (ld(env, p, 8) !== prev) return 3;
      const sz = chunksize(env, p);
      if (sz < MINSIZE || (sz & MALLOC_ALIGN_MASK) !== 0) return 4;
      if (((p + 8) & MALLOC_ALIGN_MASK) !== 0) return 5;
      if (inuse(env, p)) return 6;
      if (prev_size(env, (p + sz) >>> 0) !== sz) return 7;
      if (i >= 2 && bin_index(sz) !== i) return 8;
      if (i >= 64) {
        // walking from the back: sizes never decrease
        if (sz < lastSize) return 9;
        if (
          ld(env, p, 16) !== 0 &&
          (ld(env, ld(env, p, 16), 20) !== p || ld(env, ld(env, p, 20), 16) !== p)
        ) return 10;
      }
      lastSize = sz;
      ++binned;
      prev = p;
      p = ld(env, p, 12);
    }
    if (m[(b + 8) >>> 2] !== prev) return 11;
  }

  // fastbins: right sizes, still marked in use
  for (let i = 0; i < NFASTBINS; ++i) {
    const first = m[((av + AV_FASTBINS) >>> 2) + i];
    if (is_cyclic(env, first, 0, LINK_FASTBIN)) {
      cycleFound = (CYCLE_FASTBIN << 8) | i;
      continue;
    }
    for (let p = first; p !== 0; p = next_link(env, LINK_FASTBIN, p)) {
      if (fastbin_index(chunksize(env, p)) !== i) return 12;
      if (!inuse(env, p)) return 13;
    }
  }

  // tcache: counts match the lists
  const tc = m[W_TCACHE];
  if (tc !== 0) {
    for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
      const first = m[((tc + TCACHE_ENTRIES_OFFSET) >>> 2) + i];
      // (rule 15, a list longer than any count, is now a cycle: noted, not a failure)
      if (is_cyclic(env, first, 0, LINK_TCACHE)) {
        cycleFound = (CYCLE_TCACHE << 8) | i;
        continue;
      }
      let n = 0;
      for (let e = first; e !== 0; e = next_link(env, LINK_TCACHE, e)) {
        if (m[(e + 4) >>> 2] !== m[W_TCACHE_KEY]) return 14;
        ++n;
      }
      if (n !== env.u16[(tc >>> 1) + i]) return 16;
    }
  }

  // the heap, chunk by chunk (a contiguous main arena only: sbrk_base is where its heap starts)
  const sbrk_base = m[W_SBRK_BASE];
  if (av === MAIN_ARENA && (m[(av + AV_FLAGS) >>> 2] & NONCONTIGUOUS_BIT) === 0 && sbrk_base !== 0) {
    let p = (((sbrk_base + 8 + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK) >>> 0) - 8;
    let freeSeen = 0;
    let prevFree = false;
    let steps = 0;
    while (p !== top) {
      if (p > top) return 17;
      const sz = chunksize(env, p);
      if (sz < 8 || (sz & 7) !== 0) return 18;
      if (sz === 8) {
        // two fenceposts end a stretch left by a foreign sbrk (as assembly/checks.ts)
        if (chunksize(env, p + 8) !== 8 || !prev_inuse(env, p + 8)) return 27;
        p = lowestKnownChunk(env, av, p + 16, top);
        prevFree = false;
        continue;
      }
      const isFree = !inuse(env, p);
      if (isFree) {
        if (prevFree) return 19; // two free neighbours were not coalesced
        ++freeSeen;
      }
      if (prev_inuse(env, (p + sz) >>> 0) === isFree && p + sz !== top) return 20;
      prevFree = isFree;
      p += sz;
      if (++steps > 0x10000000) return 21;
    }
    if (freeSeen !== binned && !cyclicBins) return 22;
    if (top + topsize > sbrk_base + m[(av + AV_SYSTEM_MEM) >>> 2]) return 23;
  }
  if ((ld(env, top, 4) & 2) !== 0) return 24;
  if ((ld(env, top, 4) & 1) === 0) return 25;
  if (((top + 8) >>> 0) === 0) return 26; // chunk2mem(top) is NULL
  return 0;
}

/** Every arena, the ring from main_arena (before the first call, main_arena alone): 0, or the first broken rule. */
export function check_arenas_rule(env: Env): number {
  let av = MAIN_ARENA;
  do {
    const rule = check_failure_rule(env, av);
    if (rule !== 0) return rule;
    av = env.u32[(av + AV_NEXT) >>> 2];
  } while (av !== MAIN_ARENA && av !== 0);
  return 0;
}

/** check_malloc_state: abort (env.onAbort) with CHECK_MALLOC_STATE_FAILED when a rule fails in any arena. */
export function check_malloc_state(env: Env): void {
  const rule = check_arenas_rule(env);
  if (rule !== 0) {
    const err = env.onAbort(CHECK_MALLOC_STATE_FAILED);
    (err as Error & { rule?: number }).rule = rule;
    throw err;
  }
}
