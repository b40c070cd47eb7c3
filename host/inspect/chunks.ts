// The chunks themselves, as pwndbg's vis_heap_chunks walks them: the brk heap from its first chunk
// (just above sbrk_base) to the top chunk, each chunk's size field leading to the next; and the
// mmapped chunks, found at the start of the anonymous mappings that hold them (a chunk's
// prev_size is its offset into the mapping). Walks are bounded and stop, saying why, at a size
// that cannot be right.
//
//   chunk → +0   prev_size   (the previous chunk's last word while that chunk is in use)
//           +1w  size | A M P            (w: a C word, 4 bytes on i386, 8 on x86-64)
//   mem   → +2w  fd          (user data while in use)
//           +3w  bk
//           +4w  fd_nextsize (large free chunks)
//           +5w  bk_nextsize

import { chunkFields, firstChunk } from "./layout.js";
import type { Vma } from "./maps.js";
import { type MemoryView, alignedDown } from "./memory.js";

/** No walk records more chunks than this. */
export const MAX_CHUNK_WALK = 1 << 20;

export type ChunkState = "inuse" | "free" | "top" | "mmapped" | "fencepost";

export interface Chunk {
  /** Header address (what data-chunk-addr shows). */
  addr: number;
  prevSize: number;
  /** The raw size field, flags included. */
  sizeField: number;
  /** Flags masked. */
  size: number;
  prevInuse: boolean;
  isMmapped: boolean;
  nonMainArena: boolean;
  /** What malloc_usable_size would say for an in-use chunk. */
  usableSize: number;
  state: ChunkState;
  /** The free list holding it (data-bin), if any. */
  bin?: string;
}

export interface HeapWalk {
  /** sbrk_base: where the heap begins. */
  startAddr: number;
  /** The end of the walk's range (the [heap] mapping's end). */
  endAddr: number;
  chunks: Chunk[];
  /** Why the walk stopped before the top chunk, if it did. */
  problem?: string;
}

export function readChunk(mem: MemoryView, addr: number): Chunk | null {
  const { SIZE_AT } = chunkFields(mem);
  const { CHUNK_HDR_SZ, IS_MMAPPED, NON_MAIN_ARENA, PREV_INUSE, SIZE_BITS, SIZE_SZ } = mem.abi.c;
  const prevSize = mem.word(addr);
  const sizeField = mem.word(addr + SIZE_AT);
  if (prevSize === null || sizeField === null) return null;
  // the flag bits are in the size word's first byte (little-endian), exact whatever the word's size
  const flags = (mem.u32(addr + SIZE_AT) ?? 0) & SIZE_BITS;
  const size = alignedDown(sizeField, SIZE_BITS + 1);
  const isMmapped = (flags & IS_MMAPPED) !== 0;
  return {
    addr, prevSize, sizeField, size,
    prevInuse: (flags & PREV_INUSE) !== 0,
    isMmapped,
    nonMainArena: (flags & NON_MAIN_ARENA) !== 0,
    usableSize: Math.max(0, size - (isMmapped ? CHUNK_HDR_SZ : SIZE_SZ)),
    state: isMmapped ? "mmapped" : "inuse",
  };
}

/**
 * The brk heap's chunks in address order, from the first chunk above `sbrkBase` up to and
 * including the top chunk. `binOf` names the free list of each chunk found in one; a chunk in no
 * list is free when the next chunk's PREV_INUSE is clear. A thread arena's heap is walked the
 * same way from its first chunk; `top` 0 for a heap that does not hold the top: it ends at the
 * fencepost header (size 0) sysmalloc left when the arena moved on to a new heap.
 */
export function walkHeap(
  mem: MemoryView, sbrkBase: number, heapEnd: number, top: number, binOf: ReadonlyMap<number, string>,
): HeapWalk {
  const { MALLOC_ALIGNMENT, MINSIZE, SIZE_SZ } = mem.abi.c;
  const hex = (n: number) => mem.hex(n);
  const walk: HeapWalk = { startAddr: sbrkBase, endAddr: heapEnd, chunks: [] };
  if (sbrkBase === 0) return walk;
  let addr = firstChunk(mem, sbrkBase);
  let prev: Chunk | null = null;
  while (addr < heapEnd) {
    if (walk.chunks.length >= MAX_CHUNK_WALK) return (walk.problem = `stopped after ${MAX_CHUNK_WALK} chunks`), walk;
    const c = readChunk(mem, addr);
    if (c === null) return (walk.problem = `${hex(addr)} is outside the memory`), walk;
    if (prev !== null && prev.state === "inuse" && !prev.bin && !c.prevInuse) prev.state = "free";
    const bin = binOf.get(addr);
    if (bin !== undefined) {
      c.bin = bin;
      c.state = "free";
    }
    walk.chunks.push(c);
    if (addr === top) {
      c.state = "top";
      return walk;
    }
    if (top === 0 && c.size === 0 && c.prevInuse) {
      // the header closing a full heap of a thread arena (the top is in a later heap)
      c.state = "fencepost";
      return walk;
    }
    if (c.size === 2 * SIZE_SZ && c.prevInuse) {
      // sysmalloc's fenceposts at the end of an old top, when the break moved under it.
      c.state = "fencepost";
    } else if (c.size < MINSIZE || c.size % MALLOC_ALIGNMENT !== 0) {
      return (walk.problem = `bad size 0x${c.size.toString(16)} at ${hex(addr)}`), walk;
    }
    if (addr + c.size > heapEnd) return (walk.problem = `${hex(addr)}'s size runs past the heap's end`), walk;
    prev = c;
    addr += c.size;
  }
  if (top !== 0) walk.problem = `the walk did not meet the top chunk ${hex(top)}`;
  return walk;
}

/**
 * The mmapped chunks inside anonymous mappings: sysmalloc puts one at the start of its mapping
 * (offset two words, 8 on i386 and 16 on x86-64; memalign's further in), with prev_size = that
 * offset and IS_MMAPPED set, and prev_size + size = the mapping's length. Neighbouring chunks'
 * mappings may have merged into one VMA, so each VMA is followed chunk by chunk.
 */
export function findMmappedChunks(mem: MemoryView, vmas: readonly Vma[]): Chunk[] {
  const out: Chunk[] = [];
  for (const vma of vmas) {
    if (vma.kind !== "anon" || !vma.perms.startsWith("rw")) continue;
    let block = vma.startAddr;
    while (block < vma.endAddr && out.length < MAX_CHUNK_WALK) {
      const c = mmappedChunkAt(mem, block, vma.endAddr);
      if (c === null) break;
      out.push(c);
      block = c.addr + c.size;
    }
  }
  return out;
}

function mmappedChunkAt(mem: MemoryView, block: number, end: number): Chunk | null {
  const { PAGESIZE, SIZE_SZ } = mem.abi.c;
  // The chunk sits at block + k, k its prev_size: 2 words for malloc, up to a page for memalign's.
  for (let k = 0; k < PAGESIZE; k += 2 * SIZE_SZ) {
    if (mem.word(block + k) !== k) continue;
    const c = readChunk(mem, block + k);
    if (c === null || !c.isMmapped) continue;
    const total = k + c.size;
    if (total === 0 || total % PAGESIZE !== 0 || block + total > end) continue;
    return c;
  }
  return null;
}
