// Where glibc's state sits in a process's memory, and the few address formulas the inspector
// needs. The allocator's static data holds main_arena and then mp_ (16-aligned right after it:
// both are declared in that order in assembly/arena.ts, and the TypeScript twin lays them out the
// same way, host/baseline/layout.ts). It starts at PROGRAM_DATA_START in an i386 process (address
// = offset), and at Wasm offset WASM_DATA_START_X86_64 in an x86_64 one, which the program's
// window puts at loadBase + 0x4000 (its address is found from maps(): the program's first
// mapping is loadBase). Where exactly the linker puts the two structs depends on what else the
// module keeps in static data, so the inspector does not assume an address: it finds mp_ by the
// values glibc's initializer gives its tcache fields (tcache_bins 64, tcache_max_bytes 1020 on
// i386 and 1032 on x86-64, tcache_count 7; nothing in this process changes them: glibc sets them
// only from tunables) and takes main_arena from there. mp_'s field offsets are abi.ts's;
// struct malloc_state's come from the ABI's config.

import type { MemoryView } from "./memory.js";
import type { Vma } from "./maps.js";

/** The addresses of glibc's two state structures in one process. */
export interface StateAddrs {
  /** &main_arena */
  mainArena: number;
  /** &mp_ */
  mp: number;
}

/** How far above the data's start mp_ is looked for: the program's whole data segment and more. */
const SEARCH_BYTES = 0x10000;
const found = new WeakMap<object, StateAddrs>();

/** The offset of mp_'s field `name` (abi.ts). */
export function mpOffset(mem: MemoryView, name: string): number {
  const f = mem.abi.mp.get(name);
  if (f === undefined) throw new Error(`inspect: mp_ has no field ${name}`);
  return f.offset;
}

/**
 * The address where the allocator's static data starts: PROGRAM_DATA_START on i386; on x86_64 the
 * VA of WASM_DATA_START_X86_64, from the program's first mapping (loadBase) and its offset.
 */
export function dataStart(mem: MemoryView, vmas: readonly Vma[] | null): number {
  const abi = mem.abi;
  if (abi.arch === "i386") return abi.dataStartOffset;
  const program = (vmas ?? []).filter((v) => v.kind === "program");
  if (program.length === 0) throw new Error("inspect: the program's mappings are not in maps()");
  const loadBase = Math.min(...program.map((v) => v.startAddr));
  const at = mem.offsetOf(loadBase);
  if (at < 0) throw new Error("inspect: the program's first page is in no window");
  return loadBase + (abi.dataStartOffset - at);
}

/**
 * Finds main_arena and mp_ in the memory (cached per memory: the module's static data does not
 * move). `vmas` (maps()) are needed on x86_64 only. Throws when mp_ is nowhere, which only a
 * memory without the allocator can cause.
 */
export function locateState(mem: MemoryView, key: object, vmas: readonly Vma[] | null = null): StateAddrs {
  const known = found.get(key);
  if (known !== undefined) return known;
  const C = mem.abi.c;
  const [bins, maxBytes, count] = ["tcache_bins", "tcache_max_bytes", "tcache_count"].map((n) => mpOffset(mem, n));
  const start = dataStart(mem, vmas);
  for (let at = start; at < start + SEARCH_BYTES; at += C.MALLOC_ALIGNMENT) {
    const first = mem.word(at + bins);
    if (first === null) break;
    if (first !== C.TCACHE_MAX_BINS) continue;
    if (mem.word(at + maxBytes) !== C.MAX_TCACHE_SIZE || mem.word(at + count) !== C.TCACHE_FILL_COUNT) continue;
    const addrs = { mp: at, mainArena: at - Math.ceil(C.SIZEOF_MALLOC_STATE / C.MALLOC_ALIGNMENT) * C.MALLOC_ALIGNMENT };
    found.set(key, addrs);
    return addrs;
  }
  throw new Error("inspect: glibc's mp_ is not in this memory");
}

/**
 * bin_at(i): the fake chunk whose fd/bk are bins[2(i-1)], bins[2(i-1)+1] (i = 1 is the unsorted
 * bin). An empty bin's fd and bk point back at this address.
 */
export function binAt(mem: MemoryView, mainArena: number, i: number): number {
  const C = mem.abi.c;
  return mainArena + C.AV_BINS + (i - 1) * 2 * C.SIZE_SZ - 2 * C.SIZE_SZ;
}

/**
 * The first chunk of the brk heap: sysmalloc starts it where its user pointer (chunk + 2 words)
 * is 16-aligned, so on i386 a page-aligned sbrk_base gives sbrk_base + 8, on x86-64 sbrk_base.
 */
export function firstChunk(mem: MemoryView, sbrkBase: number): number {
  const C = mem.abi.c;
  const misalign = (sbrkBase + C.CHUNK_HDR_SZ) % C.MALLOC_ALIGNMENT;
  return misalign === 0 ? sbrkBase : sbrkBase + (C.MALLOC_ALIGNMENT - misalign);
}

/** The offsets of a chunk's fields (struct malloc_chunk), in the view's words. */
export interface ChunkFields {
  PREV_SIZE_AT: number;
  SIZE_AT: number;
  FD_AT: number;
  BK_AT: number;
  FD_NEXTSIZE_AT: number;
  BK_NEXTSIZE_AT: number;
  /** A tcache entry (at the user pointer): next (safe-linked), then key. */
  TCACHE_KEY_AT: number;
}

const fieldsOf = (w: number): ChunkFields => ({
  PREV_SIZE_AT: 0, SIZE_AT: w, FD_AT: 2 * w, BK_AT: 3 * w, FD_NEXTSIZE_AT: 4 * w, BK_NEXTSIZE_AT: 5 * w, TCACHE_KEY_AT: w,
});
const FIELDS_4 = fieldsOf(4);
const FIELDS_8 = fieldsOf(8);

/** The chunk field offsets for the view's word size. */
export const chunkFields = (mem: MemoryView): ChunkFields => (mem.abi.wordBytes === 8 ? FIELDS_8 : FIELDS_4);
