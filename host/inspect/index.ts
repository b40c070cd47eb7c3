// The inspector: glibc's heap decoded from a process's memory, as pwndbg shows a real one
// (vmmap, vis_heap_chunks, bins, arena, mp, try_free). A client of the public API only: it reads
// proc.memory and parses proc.maps(); it never calls the allocator, so looking changes nothing.

import { readArena, readMp, type ArenaFields, type MallocPar } from "./arena.js";
import { readBins, readFastbins, readTcache, type BinList } from "./bins.js";
import { findMmappedChunks, walkHeap, type Chunk, type HeapWalk } from "./chunks.js";
import { parseMaps, type Vma } from "./maps.js";
import { locateState } from "./layout.js";
import { readThreadArenas, type ThreadArena } from "./arenas.js";
import { type AddressSpace, MemoryView } from "./memory.js";
import { tryFree, type TryFreeResult } from "./tryfree.js";

export { MemoryView, hex, alignedDown, xorWord } from "./memory.js";
export type { AddressSpace } from "./memory.js";
export { ABI_I386, ABI_X86_64, abiOf } from "./abi.js";
export type { Arch, Config, InspectAbi, MpField } from "./abi.js";
export { parseMaps } from "./maps.js";
export type { Vma, VmaKind } from "./maps.js";
export { readArena, readArenaAt, readMp, binmapBit, MP_FIELDS } from "./arena.js";
export { readThreadArenas, heapFor, MAX_ARENAS } from "./arenas.js";
export type { ThreadArena, ThreadHeap } from "./arenas.js";
export type { ArenaFields, MallocPar } from "./arena.js";
export { readBins, readFastbins, readTcache, binName, sizeAt, MAX_LIST_WALK } from "./bins.js";
export type { BinEntry, BinKind, BinList } from "./bins.js";
export { walkHeap, findMmappedChunks, readChunk, MAX_CHUNK_WALK } from "./chunks.js";
export type { Chunk, ChunkState, HeapWalk } from "./chunks.js";
export { protectPtr, revealPtr } from "./safelink.js";
export { tryFree } from "./tryfree.js";
export type { FreeCheck, FreeOutcome, TryFreeResult } from "./tryfree.js";
export { binAt, chunkFields, dataStart, firstChunk, locateState, mpOffset } from "./layout.js";
export type { ChunkFields, StateAddrs } from "./layout.js";

/**
 * What the inspector needs of a process: its memory and its maps, and for an x86_64 process its
 * arch and VA translation (a Process has all of them; without `arch` it is read as i386).
 */
export interface Inspectable extends AddressSpace {
  readonly memory: WebAssembly.Memory;
  maps(): string;
}

/** A view of the process's memory in its own addresses and words. */
export const viewOf = (proc: Inspectable): MemoryView => new MemoryView(proc.memory, proc);

export interface HeapSnapshot {
  /** The memory the snapshot was read from, in the process's addresses and words (abi: its constants). */
  view: MemoryView;
  /** Where main_arena and mp_ are. */
  addrs: { mainArena: number; mp: number };
  vmas: Vma[];
  arena: ArenaFields;
  mp: MallocPar;
  tcache: BinList[];
  fastbins: BinList[];
  /** Non-empty bins[]: unsorted, small, large. */
  bins: BinList[];
  /** Chunk header address → the data-bin name of the list holding it. */
  binOf: Map<number, string>;
  /** null before the first malloc (no heap yet). */
  heap: HeapWalk | null;
  mmapped: Chunk[];
  /** The thread arenas (none until a thread made one), each with its free lists and heaps. */
  arenas: ThreadArena[];
  /** free(mem) as glibc would run it on this heap. */
  tryFree(mem: number): TryFreeResult;
}

/**
 * Decodes the heap. `mapsText` defaults to proc.maps(); pass the text captured earlier to
 * inspect a process that has died (its memory stays readable, its calls do not).
 */
export function inspectHeap(proc: Inspectable, mapsText?: string): HeapSnapshot {
  const mem = viewOf(proc);
  const vmas = parseMaps(mapsText ?? proc.maps());
  const addrs = locateState(mem, proc.memory, vmas);
  const arena = readArena(mem, addrs);
  const mp = readMp(mem, addrs);
  const tcache = readTcache(mem, mp.tcache, mp.tcache_bins);
  const fastbins = readFastbins(mem, addrs.mainArena);
  const bins = readBins(mem, addrs.mainArena);
  const binOf = new Map<number, string>();
  for (const list of [...tcache, ...fastbins, ...bins]) {
    for (const e of list.entries) if (!binOf.has(e.chunk)) binOf.set(e.chunk, list.name);
  }
  let heap: HeapWalk | null = null;
  if (mp.sbrk_base !== 0) {
    const heapVma = vmas.find((v) => v.kind === "heap");
    const end = heapVma ? heapVma.endAddr : arena.top;
    heap = walkHeap(mem, mp.sbrk_base, end, arena.top, binOf);
  }
  const arenas = readThreadArenas(mem, addrs.mainArena, binOf);
  const mmapped = findMmappedChunks(mem, vmas);
  return {
    view: mem, addrs, vmas, arena, mp, tcache, fastbins, bins, binOf, heap, mmapped, arenas,
    tryFree: (addr: number) => tryFree(viewOf(proc), addrs, vmas, addr),
  };
}
