// Every free list of the main arena, walked from its head: the tcache (the thread's
// tcache_perthread_struct: u16 counts[64], then entries[64], each pointing at a chunk's user
// memory), fastbinsY (singly linked, safe-linked fd), and bins[] (1 unsorted, 2..63 small,
// 64..126 large with their fd_nextsize/bk_nextsize lists). Each walk is bounded and stops at a
// cycle or a link that leaves the memory, saying why: a corrupted heap must not hang the reader.

import type { Config } from "./abi.js";
import { binAt, chunkFields } from "./layout.js";
import { type MemoryView, alignedDown } from "./memory.js";
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
export const tcacheChunkSize = (C: Config, i: number) => C.MINSIZE + i * C.MALLOC_ALIGNMENT;
/** Chunk size of fastbin i: (i + 2) << FASTBIN_SHIFT (8-byte steps on i386, 16 on x86-64). */
export const fastbinChunkSize = (C: Config, i: number) => (i + 2) * 2 ** C.FASTBIN_SHIFT;
/** Chunk size of small bin i (smallbin_index inverted). */
export const smallbinChunkSize = (C: Config, i: number) => (i - C.SMALLBIN_CORRECTION) * C.SMALLBIN_WIDTH;

/** The size field of the chunk at `chunk`, flags masked (null outside the memory). */
export function sizeAt(mem: MemoryView, chunk: number): number | null {
  const v = mem.word(chunk + chunkFields(mem).SIZE_AT);
  return v === null ? null : alignedDown(v, mem.abi.c.SIZE_BITS + 1);
}

/** The tcache bins that hold something (count or entry), from the tcache_perthread_struct at `tcache`. */
export function readTcache(mem: MemoryView, tcache: number, tcacheBins = mem.abi.c.TCACHE_MAX_BINS): BinList[] {
  const { TCACHE_MAX_BINS, TCACHE_ENTRIES_OFFSET, SIZE_SZ } = mem.abi.c;
  const out: BinList[] = [];
  if (tcache === 0) return out;
  for (let i = 0; i < Math.min(tcacheBins, TCACHE_MAX_BINS); i++) {
    const count = mem.u16(tcache + 2 * i) ?? 0;
    const head = mem.word(tcache + TCACHE_ENTRIES_OFFSET + SIZE_SZ * i) ?? 0;
    if (count === 0 && head === 0) continue;
    const list: BinList = { name: binName("tcache", i), kind: "tcache", index: i, chunkSize: tcacheChunkSize(mem.abi.c, i), count, entries: [] };
    // Entries point at user memory (chunk + 2 words); the list ends at NULL.
    walkSingly(mem, head, 2 * SIZE_SZ, list);
    out.push(list);
  }
  return out;
}

/** Every fastbin (empty ones included: there are only NFASTBINS). */
export function readFastbins(mem: MemoryView, mainArena: number): BinList[] {
  const { NFASTBINS, AV_FASTBINS, SIZE_SZ } = mem.abi.c;
  const out: BinList[] = [];
  for (let i = 0; i < NFASTBINS; i++) {
    const head = mem.word(mainArena + AV_FASTBINS + SIZE_SZ * i) ?? 0;
    const list: BinList = { name: binName("fastbin", i), kind: "fastbin", index: i, chunkSize: fastbinChunkSize(mem.abi.c, i), entries: [] };
    walkSingly(mem, head, 0, list);
    out.push(list);
  }
  return out;
}

/** A safe-linked singly linked list whose links point `bias` bytes past the chunk header. */
function walkSingly(mem: MemoryView, head: number, bias: number, list: BinList): void {
  const { FD_AT } = chunkFields(mem);
  const { SIZE_SZ, MALLOC_ALIGNMENT } = mem.abi.c;
  const hex = (n: number) => mem.hex(n);
  const seen = new Set<number>();
  let link = head;
  while (link !== 0) {
    if (list.entries.length >= MAX_LIST_WALK) return void (list.problem = `stopped after ${MAX_LIST_WALK} links`);
    if (seen.has(link)) return void (list.problem = `cycle back to ${hex(link)}`);
    seen.add(link);
    const chunk = mem.wrap(link - bias);
    const fdPos = chunk + FD_AT;
    const stored = mem.word(fdPos);
    if (stored === null) {
      list.entries.push({ chunk, size: null, fd: 0 });
      return void (list.problem = `${hex(link)} is outside the memory`);
    }
    const next = revealPtr(fdPos, stored);
    list.entries.push({ chunk, size: sizeAt(mem, chunk), fd: next, fdStored: stored });
    // glibc checks the user pointer (chunk + 2 words) of every entry it takes: 16-aligned.
    if ((chunk + 2 * SIZE_SZ) % MALLOC_ALIGNMENT !== 0) return void (list.problem = `${hex(link)} is misaligned`);
    link = next;
  }
}

/** bins[] that are not empty: unsorted (1), small (2..63), large (64..126). */
export function readBins(mem: MemoryView, mainArena: number): BinList[] {
  const { NBINS, NSMALLBINS } = mem.abi.c;
  const { FD_AT, BK_AT, FD_NEXTSIZE_AT, BK_NEXTSIZE_AT } = chunkFields(mem);
  const hex = (n: number) => mem.hex(n);
  const out: BinList[] = [];
  for (let i = 1; i < NBINS; i++) {
    const bin = binAt(mem, mainArena, i);
    const fd = mem.word(bin + FD_AT) ?? bin;
    if (fd === bin) continue;
    const kind: BinKind = i === 1 ? "unsorted" : i < NSMALLBINS ? "small" : "large";
    const list: BinList = { name: binName(kind, i), kind, index: i, chunkSize: kind === "small" ? smallbinChunkSize(mem.abi.c, i) : 0, entries: [] };
    const seen = new Set<number>();
    let p = fd;
    while (p !== bin) {
      if (list.entries.length >= MAX_LIST_WALK) { list.problem = `stopped after ${MAX_LIST_WALK} links`; break; }
      if (seen.has(p)) { list.problem = `cycle back to ${hex(p)} without reaching the bin`; break; }
      seen.add(p);
      const next = mem.word(p + FD_AT);
      if (next === null) { list.problem = `${hex(p)} is outside the memory`; break; }
      const entry: BinEntry = { chunk: p, size: sizeAt(mem, p), fd: next, bk: mem.word(p + BK_AT) ?? 0 };
      if (kind === "large") {
        entry.fdNextsize = mem.word(p + FD_NEXTSIZE_AT) ?? 0;
        entry.bkNextsize = mem.word(p + BK_NEXTSIZE_AT) ?? 0;
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
