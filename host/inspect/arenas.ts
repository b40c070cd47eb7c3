// The thread arenas (arena.c): every arena but main_arena, found by following the arena ring
// from main_arena's `next`, each with its free lists and its heaps. A thread arena's struct sits
// at the start of its first heap, after heap_info; every heap is HEAP_MAX_SIZE-aligned, and the
// heap holding the arena's top chunk links to the earlier ones through heap_info.prev.
//
//  heap_info: +0 ar_ptr  +1w prev  +2w size  +3w mprotect_size  +4w pagesize  (w a C word; 24 bytes
//  on i386, 48 on x86-64)

import { readArenaAt, type ArenaFields } from "./arena.js";
import { readBins, readFastbins, type BinList } from "./bins.js";
import { walkHeap, type HeapWalk } from "./chunks.js";
import type { MemoryView } from "./memory.js";

/** Arenas followed at most (a corrupted ring must not loop forever). */
export const MAX_ARENAS = 1024;
/** Heaps of one arena followed at most. */
const MAX_HEAPS = 4096;

export interface ThreadHeap {
  /** The heap's start (its heap_info), HEAP_MAX_SIZE-aligned. */
  addr: number;
  /** Bytes in use from the start (read-write, a page multiple), and bytes ever made read-write. */
  size: number;
  mprotectSize: number;
  /** Its chunks, from the first to the top chunk or to the closing fencepost. */
  walk: HeapWalk;
}

export interface ThreadArena extends ArenaFields {
  /** 1, 2, … in the ring's order after main_arena (the newest arena first), as malloc_stats numbers them. */
  index: number;
  fastbins: BinList[];
  /** Non-empty bins[]. */
  bins: BinList[];
  /** Its heaps, the first (holding the struct) first. */
  heaps: ThreadHeap[];
  /** Why the heaps could not all be read, if so. */
  problem?: string;
}

/** The address of the heap holding `addr` (an address inside a thread arena's heap). */
export const heapFor = (mem: MemoryView, addr: number): number => addr - (addr % mem.abi.c.HEAP_MAX_SIZE);

/**
 * The thread arenas of the process, in the ring's order. `binOf` gains the free lists of each.
 * Reads only memory; an arena whose memory is gone or whose heaps do not chain ends the list
 * there (with a problem noted).
 */
export function readThreadArenas(mem: MemoryView, mainArena: number, binOf: Map<number, string>): ThreadArena[] {
  const { AV_NEXT, HI_AR_PTR, HI_MPROTECT_SIZE, HI_PREV, HI_SIZE, SIZEOF_HEAP_INFO, SIZEOF_MALLOC_STATE } = mem.abi.c;
  const out: ThreadArena[] = [];
  let at = mem.word(mainArena + AV_NEXT) ?? 0;
  while (at !== 0 && at !== mainArena && out.length < MAX_ARENAS) {
    const fields = readArenaAt(mem, at);
    const fastbins = readFastbins(mem, at);
    const bins = readBins(mem, at);
    for (const list of [...fastbins, ...bins]) {
      for (const e of list.entries) if (!binOf.has(e.chunk)) binOf.set(e.chunk, list.name);
    }
    const arena: ThreadArena = { ...fields, index: out.length + 1, fastbins, bins, heaps: [] };
    out.push(arena);
    // the heaps, from the top's back to the first
    const chain: number[] = [];
    for (let h = heapFor(mem, fields.top); h !== 0 && chain.length < MAX_HEAPS; h = mem.word(h + HI_PREV) ?? 0) {
      if (mem.word(h + HI_AR_PTR) !== at) {
        arena.problem = `the heap at 0x${h.toString(16)} does not name this arena`;
        break;
      }
      chain.push(h);
    }
    chain.reverse();
    for (const h of chain) {
      const size = mem.word(h + HI_SIZE) ?? 0;
      const first = h + SIZEOF_HEAP_INFO === at ? at + SIZEOF_MALLOC_STATE : h + SIZEOF_HEAP_INFO;
      const holdsTop = heapFor(mem, fields.top) === h;
      const walk = walkHeap(mem, first, h + size, holdsTop ? fields.top : 0, binOf);
      arena.heaps.push({ addr: h, size, mprotectSize: mem.word(h + HI_MPROTECT_SIZE) ?? 0, walk });
    }
    at = mem.word(at + AV_NEXT) ?? 0;
  }
  return out;
}
