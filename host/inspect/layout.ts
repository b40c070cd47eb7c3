// Where glibc's state sits in a process's memory, and the few address formulas the inspector
// needs. The allocator's static data starts at PROGRAM_DATA_START and holds main_arena and then
// mp_ (16-aligned right after it: both are declared in that order in assembly/arena.ts, and the
// TypeScript twin lays them out the same way, host/baseline/layout.ts). Where exactly the linker
// puts them depends on what else the module keeps in static data, so the inspector does not
// assume an address: it finds mp_ by the values glibc's initializer gives its tcache fields
// (tcache_bins 64, tcache_max_bytes 1020, tcache_count 7; nothing in this process changes them:
// glibc sets them only from tunables) and takes main_arena from there. mp_'s field offsets are
// those of host/baseline/layout.ts; struct malloc_state's come from assembly/config.ts.

import {
  AV_BINS, CHUNK_HDR_SZ, MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT, MAX_TCACHE_SIZE, SIZE_SZ, SIZEOF_MALLOC_STATE,
  TCACHE_FILL_COUNT, TCACHE_MAX_BINS,
} from "../../assembly/config.js";
import { PROGRAM_DATA_START } from "../constants.js";
import { MP_TCACHE_BINS, MP_TCACHE_COUNT, MP_TCACHE_MAX_BYTES } from "../baseline/layout.js";
import type { MemoryView } from "./memory.js";

export {
  MP_TRIM_THRESHOLD, MP_TOP_PAD, MP_MMAP_THRESHOLD, MP_ARENA_TEST, MP_ARENA_MAX, MP_N_MMAPS,
  MP_N_MMAPS_MAX, MP_MAX_N_MMAPS, MP_NO_DYN_THRESHOLD, MP_MMAPPED_MEM, MP_MAX_MMAPPED_MEM, MP_SBRK_BASE,
  MP_TCACHE_BINS, MP_TCACHE_MAX_BYTES, MP_TCACHE_COUNT, MP_TCACHE_UNSORTED_LIMIT, MP_GLOBAL_MAX_FAST,
  MP_PERTURB_BYTE, MP_TCACHE_KEY, MP_TCACHE, MP_MALLOC_INITIALIZED,
} from "../baseline/layout.js";

/** The addresses of glibc's two state structures in one process. */
export interface StateAddrs {
  /** &main_arena */
  mainArena: number;
  /** &mp_ */
  mp: number;
}

/** How far above PROGRAM_DATA_START mp_ is looked for: the program's whole data segment and more. */
const SEARCH_BYTES = 0x10000;
const found = new WeakMap<object, StateAddrs>();

/**
 * Finds main_arena and mp_ in the memory (cached per memory: the module's static data does not
 * move). Throws when mp_ is nowhere, which only a memory without the allocator can cause.
 */
export function locateState(mem: MemoryView, key: object): StateAddrs {
  const known = found.get(key);
  if (known !== undefined) return known;
  const end = Math.min(mem.byteLength, PROGRAM_DATA_START + SEARCH_BYTES);
  for (let at = PROGRAM_DATA_START; at + MP_TCACHE_COUNT + 4 <= end; at += MALLOC_ALIGNMENT) {
    if (mem.u32(at + MP_TCACHE_BINS) !== TCACHE_MAX_BINS) continue;
    if (mem.u32(at + MP_TCACHE_MAX_BYTES) !== MAX_TCACHE_SIZE || mem.u32(at + MP_TCACHE_COUNT) !== TCACHE_FILL_COUNT) continue;
    const addrs = { mp: at, mainArena: at - ((SIZEOF_MALLOC_STATE + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK) };
    found.set(key, addrs);
    return addrs;
  }
  throw new Error("inspect: glibc's mp_ is not in this memory");
}

/**
 * bin_at(i): the fake chunk whose fd/bk are bins[2(i-1)], bins[2(i-1)+1] (i = 1 is the unsorted
 * bin). An empty bin's fd and bk point back at this address.
 */
export function binAt(mainArena: number, i: number): number {
  return mainArena + AV_BINS + (i - 1) * 2 * SIZE_SZ - 2 * SIZE_SZ;
}

/**
 * The first chunk of the brk heap: sysmalloc starts it where its user pointer (chunk + 8) is
 * 16-aligned, so on i386 a page-aligned sbrk_base gives sbrk_base + 8.
 */
export function firstChunk(sbrkBase: number): number {
  const misalign = (sbrkBase + CHUNK_HDR_SZ) & MALLOC_ALIGN_MASK;
  return misalign === 0 ? sbrkBase : sbrkBase + (MALLOC_ALIGN_MASK + 1 - misalign);
}

/** The offsets of a chunk's fields (struct malloc_chunk on i386). */
export const PREV_SIZE_AT = 0;
export const SIZE_AT = SIZE_SZ;
export const FD_AT = 2 * SIZE_SZ;
export const BK_AT = 3 * SIZE_SZ;
export const FD_NEXTSIZE_AT = 4 * SIZE_SZ;
export const BK_NEXTSIZE_AT = 5 * SIZE_SZ;
/** A tcache entry (at the user pointer): next (safe-linked), then key. */
export const TCACHE_KEY_AT = SIZE_SZ;
