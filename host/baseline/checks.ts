// The whole-heap checker (do_check_malloc_state's role), as assembly/checks.ts: it walks the heap
// chunk by chunk (across the gaps a foreign sbrk leaves) and every bin, and throws the abort error
// built from CHECK_MALLOC_STATE_FAILED with the number of the first broken rule (the same numbers as the Wasm build's check_failure()).
// Tests and the fuzzer call it after every operation; the allocator itself never does.
// As there, every list is first cycle-checked (Brent), and a cyclic list — which glibc 2.36 runs
// with, after a fastbin double free it lets through — is noted in lastCycle() and skipped, not failed.

import { CYCLE_BIN, CYCLE_FASTBIN, CYCLE_TCACHE, MALLOC_ALIGN_MASK, NBINS, TCACHE_MAX_BINS } from "../../assembly/config.js";
import { CHECK_MALLOC_STATE_FAILED } from "../../assembly/messages.js";
import { av_next, av_top, bin_at, contiguous, fastbin, system_mem } from "./arena.js";
import { bin_index, fastbin_index } from "./bins.js";
import { chunksize, inuse, prev_inuse, prev_size, protect_ptr } from "./chunk.js";
import { ld, ld16, ldw, wrap, type Env } from "./env.js";
import { W_MALLOC_INITIALIZED, W_SBRK_BASE, W_TCACHE } from "./layout.js";
import { key_matches, tcache_entry } from "./tcache.js";
import { load64, va_off } from "./wide.js";

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
  if (kind === LINK_FASTBIN) return protect_ptr(env, p + env.CHUNK_HDR_SZ, ld(env, p, 8));
  return protect_ptr(env, p, env.wide ? load64(env, va_off(env, p, false)) : env.u32[p >>> 2]!);
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
  let best = top;
  const consider = (p: number): void => { if (p >= from && p < best) best = p; };
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(env, av, i);
    if (is_cyclic(env, b, b, LINK_BK)) continue;
    for (let p = ldw(env, b, 12); p !== b; p = ld(env, p, 12)) consider(p);
  }
  for (let i = 0; i < env.NFASTBINS; ++i) {
    const first = fastbin(env, av, i);
    if (is_cyclic(env, first, 0, LINK_FASTBIN)) continue;
    for (let p = first; p !== 0; p = next_link(env, LINK_FASTBIN, p)) consider(p);
  }
  const tc = env.mp[W_TCACHE]!;
  if (tc !== 0) {
    for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
      const first = tcache_entry(env, tc, i);
      if (is_cyclic(env, first, 0, LINK_TCACHE)) continue;
      for (let e = first; e !== 0; e = next_link(env, LINK_TCACHE, e)) consider(e - env.CHUNK_HDR_SZ);
    }
  }
  return best;
}

/** Walk all of av; returns 0 when every invariant holds, else the number of the first broken rule. */
export function check_failure_rule(env: Env, av: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) return 0;
  const top = av_top(env, av);
  if (top === bin_at(env, av, 1)) return 0; // no heap yet
  const topsize = chunksize(env, top);
  const minsize = env.MINSIZE;
  const hdr = env.CHUNK_HDR_SZ;
  if (!prev_inuse(env, top)) return 1;
  if (topsize < minsize) return 2;
  cycleFound = 0;
  let cyclicBins = false;

  // bins: well linked, sizes in range, chunks free
  let binned = 0;
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(env, av, i);
    let p = ldw(env, b, 12);
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
      if (sz < minsize || (sz & MALLOC_ALIGN_MASK) !== 0) return 4;
      if (((p + hdr) & MALLOC_ALIGN_MASK) !== 0) return 5;
      if (inuse(env, p)) return 6;
      if (prev_size(env, wrap(env, p + sz)) !== sz) return 7;
      if (i >= 2 && bin_index(env, sz) !== i) return 8;
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
    if (ldw(env, b, 8) !== prev) return 11;
  }

  // fastbins: right sizes, still marked in use
  for (let i = 0; i < env.NFASTBINS; ++i) {
    const first = fastbin(env, av, i);
    if (is_cyclic(env, first, 0, LINK_FASTBIN)) {
      cycleFound = (CYCLE_FASTBIN << 8) | i;
      continue;
    }
    for (let p = first; p !== 0; p = next_link(env, LINK_FASTBIN, p)) {
      if (fastbin_index(env, chunksize(env, p)) !== i) return 12;
      if (!inuse(env, p)) return 13;
    }
  }

  // tcache: counts match the lists
  const tc = env.mp[W_TCACHE]!;
  if (tc !== 0) {
    for (let i = 0; i < TCACHE_MAX_BINS; ++i) {
      const first = tcache_entry(env, tc, i);
      // (rule 15, a list longer than any count, is now a cycle: noted, not a failure)
      if (is_cyclic(env, first, 0, LINK_TCACHE)) {
        cycleFound = (CYCLE_TCACHE << 8) | i;
        continue;
      }
      let n = 0;
      for (let e = first; e !== 0; e = next_link(env, LINK_TCACHE, e)) {
        if (!key_matches(env, e)) return 14;
        ++n;
      }
      if (n !== ld16(env, tc, i)) return 16;
    }
  }

  // the heap, chunk by chunk (a contiguous main arena only: sbrk_base is where its heap starts)
  const sbrk_base = env.mp[W_SBRK_BASE]!;
  if (av === env.mainArena && contiguous(env, av) && sbrk_base !== 0) {
    const up = sbrk_base + hdr + MALLOC_ALIGN_MASK;
    let p = up - (up & MALLOC_ALIGN_MASK) - hdr;
    let freeSeen = 0;
    let prevFree = false;
    let steps = 0;
    while (p !== top) {
      if (p > top) return 17;
      const sz = chunksize(env, p);
      if (sz < hdr || (sz & 7) !== 0) return 18;
      if (sz === hdr) {
        // two fenceposts end a stretch left by a foreign sbrk (as assembly/checks.ts)
        if (chunksize(env, p + hdr) !== hdr || !prev_inuse(env, p + hdr)) return 27;
        p = lowestKnownChunk(env, av, p + 2 * hdr, top);
        prevFree = false;
        continue;
      }
      const isFree = !inuse(env, p);
      if (isFree) {
        if (prevFree) return 19; // two free neighbours were not coalesced
        ++freeSeen;
      }
      if (prev_inuse(env, wrap(env, p + sz)) === isFree && p + sz !== top) return 20;
      prevFree = isFree;
      p += sz;
      if (++steps > 0x10000000) return 21;
    }
    if (freeSeen !== binned && !cyclicBins) return 22;
    if (top + topsize > sbrk_base + system_mem(env, av)) return 23;
  }
  if ((ld(env, top, 4) & 2) !== 0) return 24;
  if ((ld(env, top, 4) & 1) === 0) return 25;
  if (wrap(env, top + hdr) === 0) return 26; // chunk2mem(top) is NULL
  return 0;
}

/** Every arena, the ring from main_arena (before the first call, main_arena alone): 0, or the first broken rule. */
export function check_arenas_rule(env: Env): number {
  if (env.wide && !env.windowsSet) env.setWindows();
  const main = env.mainArena;
  let av = main;
  do {
    const rule = check_failure_rule(env, av);
    if (rule !== 0) return rule;
    av = av_next(env, av);
  } while (av !== main && av !== 0);
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
