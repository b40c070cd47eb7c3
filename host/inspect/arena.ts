// main_arena's scalar fields and mp_ (struct malloc_par plus malloc.c's other statics), read
// from the allocator's static data as pwndbg's `arena` and `mp` commands print them.

import type * as L from "./layout.js";
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

/** mp_'s fields under glibc's names, in declaration order (offsets and sizes per ABI: abi.ts). */
export const MP_FIELDS: readonly string[] = [
  "trim_threshold", "top_pad", "mmap_threshold", "arena_test", "arena_max", "n_mmaps", "n_mmaps_max",
  "max_n_mmaps", "no_dyn_threshold", "mmapped_mem", "max_mmapped_mem", "sbrk_base", "tcache_bins",
  "tcache_max_bytes", "tcache_count", "tcache_unsorted_limit",
  // malloc.c's file-scope statics, kept next to mp_
  "global_max_fast", "perturb_byte", "tcache_key", "tcache", "malloc_initialized",
];

export type MallocPar = Record<string, number>;

export function readArena(mem: MemoryView, addrs: L.StateAddrs): ArenaFields {
  return readArenaAt(mem, addrs.mainArena);
}

/** The fields of the struct malloc_state at `arena` (main_arena, or one at the start of a thread arena's heap). */
export function readArenaAt(mem: MemoryView, arena: number): ArenaFields {
  const C = mem.abi.c;
  const int = (off: number) => mem.u32(arena + off) ?? 0;
  const word = (off: number) => mem.word(arena + off) ?? 0;
  const flags = int(C.AV_FLAGS);
  const binmap: number[] = [];
  for (let i = 0; i < C.BINMAPSIZE; i++) binmap.push(int(C.AV_BINMAP + 4 * i));
  return {
    addr: arena,
    flags,
    contiguous: (flags & C.NONCONTIGUOUS_BIT) === 0,
    haveFastchunks: int(C.AV_HAVE_FASTCHUNKS) !== 0,
    top: word(C.AV_TOP),
    lastRemainder: word(C.AV_LAST_REMAINDER),
    systemMem: word(C.AV_SYSTEM_MEM),
    maxSystemMem: word(C.AV_MAX_SYSTEM_MEM),
    binmap,
  };
}

export function readMp(mem: MemoryView, addrs: L.StateAddrs): MallocPar {
  const out: MallocPar = {};
  for (const name of MP_FIELDS) {
    const f = mem.abi.mp.get(name)!;
    out[name] = (f.signed ? mem.i32(addrs.mp + f.offset) : mem.word(addrs.mp + f.offset)) ?? 0;
  }
  return out;
}

/** Whether binmap marks bin i. */
export function binmapBit(binmap: readonly number[], i: number): boolean {
  return ((binmap[i >>> 5] >>> (i & 31)) & 1) === 1;
}
