// main_arena's scalar fields and mp_ (struct malloc_par plus malloc.c's other statics), read
// from the allocator's static data as pwndbg's `arena` and `mp` commands print them.

import {
  AV_BINMAP, AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_LAST_REMAINDER, AV_MAX_SYSTEM_MEM, AV_SYSTEM_MEM, AV_TOP,
  BINMAPSIZE, NONCONTIGUOUS_BIT,
} from "../../assembly/config.js";
import * as L from "./layout.js";
import type { MemoryView } from "./memory.js";

export interface ArenaFields {
  /** The struct's address (&main_arena for the main arena). */
  addr: number;
  flags: number;
  /** False after the mmap fallback (NONCONTIGUOUS_BIT). */
  contiguous: boolean;
  haveFastchunks: boolean;
  top: number;
  lastRemainder: number;
  systemMem: number;
  maxSystemMem: number;
  /** binmap[BINMAPSIZE]: bit i set when bin i may be non-empty (glibc clears bits lazily). */
  binmap: number[];
}

/** mp_'s fields under glibc's names, in declaration order. Signed ones are read as int. */
export const MP_FIELDS: readonly [name: string, offset: number, signed: boolean][] = [
  ["trim_threshold", L.MP_TRIM_THRESHOLD, false],
  ["top_pad", L.MP_TOP_PAD, false],
  ["mmap_threshold", L.MP_MMAP_THRESHOLD, false],
  ["arena_test", L.MP_ARENA_TEST, false],
  ["arena_max", L.MP_ARENA_MAX, false],
  ["n_mmaps", L.MP_N_MMAPS, true],
  ["n_mmaps_max", L.MP_N_MMAPS_MAX, true],
  ["max_n_mmaps", L.MP_MAX_N_MMAPS, true],
  ["no_dyn_threshold", L.MP_NO_DYN_THRESHOLD, true],
  ["mmapped_mem", L.MP_MMAPPED_MEM, false],
  ["max_mmapped_mem", L.MP_MAX_MMAPPED_MEM, false],
  ["sbrk_base", L.MP_SBRK_BASE, false],
  ["tcache_bins", L.MP_TCACHE_BINS, false],
  ["tcache_max_bytes", L.MP_TCACHE_MAX_BYTES, false],
  ["tcache_count", L.MP_TCACHE_COUNT, false],
  ["tcache_unsorted_limit", L.MP_TCACHE_UNSORTED_LIMIT, false],
  // malloc.c's file-scope statics, kept next to mp_
  ["global_max_fast", L.MP_GLOBAL_MAX_FAST, false],
  ["perturb_byte", L.MP_PERTURB_BYTE, true],
  ["tcache_key", L.MP_TCACHE_KEY, false],
  ["tcache", L.MP_TCACHE, false],
  ["malloc_initialized", L.MP_MALLOC_INITIALIZED, true],
];

export type MallocPar = Record<string, number>;

export function readArena(mem: MemoryView, addrs: L.StateAddrs): ArenaFields {
  return readArenaAt(mem, addrs.mainArena);
}

/** The fields of the struct malloc_state at `arena` (main_arena, or one at the start of a thread arena's heap). */
export function readArenaAt(mem: MemoryView, arena: number): ArenaFields {
  const at = (off: number) => mem.u32(arena + off) ?? 0;
  const flags = at(AV_FLAGS);
  const binmap: number[] = [];
  for (let i = 0; i < BINMAPSIZE; i++) binmap.push(at(AV_BINMAP + 4 * i));
  return {
    addr: arena,
    flags,
    contiguous: (flags & NONCONTIGUOUS_BIT) === 0,
    haveFastchunks: at(AV_HAVE_FASTCHUNKS) !== 0,
    top: at(AV_TOP),
    lastRemainder: at(AV_LAST_REMAINDER),
    systemMem: at(AV_SYSTEM_MEM),
    maxSystemMem: at(AV_MAX_SYSTEM_MEM),
    binmap,
  };
}

export function readMp(mem: MemoryView, addrs: L.StateAddrs): MallocPar {
  const out: MallocPar = {};
  for (const [name, offset, signed] of MP_FIELDS) {
    const v = mem.u32(addrs.mp + offset) ?? 0;
    out[name] = signed ? v | 0 : v;
  }
  return out;
}

/** Whether binmap marks bin i. */
export function binmapBit(binmap: readonly number[], i: number): boolean {
  return ((binmap[i >>> 5] >>> (i & 31)) & 1) === 1;
}
