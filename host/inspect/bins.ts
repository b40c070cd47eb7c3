// Every free list of the main arena, walked from its head: the tcache (the thread's
// tcache_perthread_struct: u16 counts[64], then entries[64], each pointing at a chunk's user
// memory), fastbinsY (singly linked, safe-linked fd), and bins[] (1 unsorted, 2..63 small,
// 64..126 large with their fd_nextsize/bk_nextsize lists). Each walk is bounded and stops at a
// cycle or a link that leaves the memory, saying why: a corrupted heap must not hang the reader.

import {
  MALLOC_ALIGN_MASK, MINSIZE, MALLOC_ALIGNMENT, NBINS, NFASTBINS, NSMALLBINS, SIZE_BITS, SIZE_SZ,
  SMALLBIN_CORRECTION, SMALLBIN_WIDTH, TCACHE_ENTRIES_OFFSET, TCACHE_MAX_BINS, AV_FASTBINS,
} from "../../assembly/config.js";
import { BK_AT, BK_NEXTSIZE_AT, FD_AT, FD_NEXTSIZE_AT, SIZE_AT, binAt } from "./layout.js";
import { type MemoryView, hex } from "./memory.js";
import { revealPtr } from "./safelink.js";

/** No list is followed further than this many links. */
export const MAX_LIST_WALK = 1 << 16;

export type BinKind = "tcache" | "fastbin" | "unsorted" | "small" | "large";

export interface BinEntry {
  /** The chunk's header address. */
  chunk: number;
  /** Its size field, flags masked (null when the header is outside the memory). */
  size: number | null;
  /** The real next (tcache, fastbins) or fd (bins); for tcache/fastbins `fdStored` is the mangled value in memory. */
  fd: number;
  fdStored?: number;
  bk?: number;
  fdNextsize?: number;
  bkNextsize?: number;
}

export interface BinList {
  /** The data-bin name: tcache[3], fastbin[1], unsorted, small[12], large[70]. */
  name: string;
  kind: BinKind;
  /** glibc's index: tcache/fastbin index, or the bin number i of bin_at(i). */
  index: number;
  /** The chunk size the bin holds (tcache, fastbins, small bins), or the smallest (large bins). */
  chunkSize: number;
  /** The tcache's own count (the walk's length may differ on a corrupted heap). */
  count?: number;
  entries: BinEntry[];
  /** Why the walk stopped before the list's end, if it did. */
  problem?: string;
}

/** Bin names in the explorer's data-bin format. */
export function binName(kind: BinKind, index: number): string {
  return kind === "unsorted" ? "unsorted" : `${kind}[${index}]`;
}

/** Chunk size of tcache bin i: tidx2usize's chunk, MINSIZE + i * MALLOC_ALIGNMENT. */
export const tcacheChunkSize = (i: number) => MINSIZE + i * MALLOC_ALIGNMENT;
/** Chunk size of fastbin i: (i + 2) << 3 on a 32-bit build. */
export const fastbinChunkSize = (i: number) => (i + 2) * 2 * SIZE_SZ;
/** Chunk size of small bin i (smallbin_index inverted). */
export const smallbinChunkSize = (i: number) => (i - SMALLBIN_CORRECTION) * SMALLBIN_WIDTH;

function sizeAt(mem: MemoryView, chunk: number): number | null {
  const v = mem.u32(chunk + SIZE_AT);
  return v === null ? null : (v & ~SIZE_BITS) >>> 0;
}

/** The tcache bins that hold something (count or entry), from the tcache_perthread_struct at `tcache`. */
export function readTcache(mem: MemoryView, tcache: number, tcacheBins = TCACHE_MAX_BINS): BinList[] {
  const out: BinList[] = [];
  if (tcache === 0) return out;
  for (let i = 0; i < Math.min(tcacheBins, TCACHE_MAX_BINS); i++) {
    const count = mem.u16(tcache + 2 * i) ?? 0;
    const head = mem.u32(tcache + TCACHE_ENTRIES_OFFSET + SIZE_SZ * i) ?? 0;
    if (count === 0 && head === 0) continue;
    const list: BinList = { name: binName("tcache", i), kind: "tcache", index: i, chunkSize: tcacheChunkSize(i), count, entries: [] };
    // Entries point at user memory (chunk + 8); the list ends at NULL.
    walkSingly(mem, head, 2 * SIZE_SZ, list);
    out.push(list);
  }
  return out;
}

/** Every fastbin (empty ones included: there are only NFASTBINS). */
export function readFastbins(mem: MemoryView, mainArena: number): BinList[] {
  const out: BinList[] = [];
  for (let i = 0; i < NFASTBINS; i++) {
    const head = mem.u32(mainArena + AV_FASTBINS + SIZE_SZ * i) ?? 0;
    const list: BinList = { name: binName("fastbin", i), kind: "fastbin", index: i, chunkSize: fastbinChunkSize(i), entries: [] };
    walkSingly(mem, head, 0, list);
    out.push(list);
  }
  return out;
}

/** A safe-linked singly linked list whose links point `bias` bytes past the chunk header. */
function walkSingly(mem: MemoryView, head: number, bias: number, list: BinList): void {
  const seen = new Set<number>();
  let link = head;
  while (link !== 0) {
    if (list.entries.length >= MAX_LIST_WALK) return void (list.problem = `stopped after ${MAX_LIST_WALK} links`);
    if (seen.has(link)) return void (list.problem = `cycle back to ${hex(link)}`);
    seen.add(link);
    const chunk = (link - bias) >>> 0;
    const fdPos = chunk + FD_AT;
    const stored = mem.u32(fdPos);
    if (stored === null) {
      list.entries.push({ chunk, size: null, fd: 0 });
      return void (list.problem = `${hex(link)} is outside the memory`);
    }
    const next = revealPtr(fdPos, stored);
    list.entries.push({ chunk, size: sizeAt(mem, chunk), fd: next, fdStored: stored });
    // glibc checks the user pointer (chunk + 8) of every entry it takes: 16-aligned.
    if (((chunk + 2 * SIZE_SZ) & MALLOC_ALIGN_MASK) !== 0) return void (list.problem = `${hex(link)} is misaligned`);
    link = next;
  }
}

/** bins[] that are not empty: unsorted (1), small (2..63), large (64..126). */
export function readBins(mem: MemoryView, mainArena: number): BinList[] {
  const out: BinList[] = [];
  for (let i = 1; i < NBINS; i++) {
    const bin = binAt(mainArena, i);
    const fd = mem.u32(bin + FD_AT) ?? bin;
    if (fd === bin) continue;
    const kind: BinKind = i === 1 ? "unsorted" : i < NSMALLBINS ? "small" : "large";
    const list: BinList = { name: binName(kind, i), kind, index: i, chunkSize: kind === "small" ? smallbinChunkSize(i) : 0, entries: [] };
    const seen = new Set<number>();
    let p = fd;
    while (p !== bin) {
      if (list.entries.length >= MAX_LIST_WALK) { list.problem = `stopped after ${MAX_LIST_WALK} links`; break; }
      if (seen.has(p)) { list.problem = `cycle back to ${hex(p)} without reaching the bin`; break; }
      seen.add(p);
      const next = mem.u32(p + FD_AT);
      if (next === null) { list.problem = `${hex(p)} is outside the memory`; break; }
      const entry: BinEntry = { chunk: p, size: sizeAt(mem, p), fd: next, bk: mem.u32(p + BK_AT) ?? 0 };
      if (kind === "large") {
        entry.fdNextsize = mem.u32(p + FD_NEXTSIZE_AT) ?? 0;
        entry.bkNextsize = mem.u32(p + BK_NEXTSIZE_AT) ?? 0;
      }
      list.entries.push(entry);
      p = next;
    }
    if (kind === "large" && list.entries.length > 0) {
      list.chunkSize = list.entries.reduce((m, e) => Math.min(m, e.size ?? m), list.entries[0].size ?? 0);
    }
    out.push(list);
  }
  return out;
}
