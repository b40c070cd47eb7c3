// Where glibc's state sits in a process's memory, and the few address formulas the inspector
// needs. The allocator's static data starts at PROGRAM_DATA_START: main_arena first, then mp_
// (16-aligned), as the Wasm module's linker lays them out. Those addresses and mp_'s field offsets
// are defined once, in host/baseline/layout.ts (the twin claims the same static data so that both
// builds hold the same bytes); struct malloc_state's offsets come from assembly/config.ts. The
// inspector only reads them: it decodes memory, it never calls into the allocator.

import { AV_BINS, CHUNK_HDR_SZ, MALLOC_ALIGN_MASK, SIZE_SZ } from "../../assembly/config.js";

export {
  MAIN_ARENA, MP, MP_TRIM_THRESHOLD, MP_TOP_PAD, MP_MMAP_THRESHOLD, MP_ARENA_TEST, MP_ARENA_MAX, MP_N_MMAPS,
  MP_N_MMAPS_MAX, MP_MAX_N_MMAPS, MP_NO_DYN_THRESHOLD, MP_MMAPPED_MEM, MP_MAX_MMAPPED_MEM, MP_SBRK_BASE,
  MP_TCACHE_BINS, MP_TCACHE_MAX_BYTES, MP_TCACHE_COUNT, MP_TCACHE_UNSORTED_LIMIT, MP_GLOBAL_MAX_FAST,
  MP_PERTURB_BYTE, MP_TCACHE_KEY, MP_TCACHE, MP_MALLOC_INITIALIZED,
} from "../baseline/layout.js";
import { MAIN_ARENA } from "../baseline/layout.js";

/**
 * bin_at(i): the fake chunk whose fd/bk are bins[2(i-1)], bins[2(i-1)+1] (i = 1 is the unsorted
 * bin). An empty bin's fd and bk point back at this address.
 */
export function binAt(i: number): number {
  return MAIN_ARENA + AV_BINS + (i - 1) * 2 * SIZE_SZ - 2 * SIZE_SZ;
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
