// What free(mem) would do, without doing it (pwndbg's try_free): the checks glibc 2.36's
// __libc_free and _int_free run on this heap, in their order, each passed or failed, and where the
// chunk would go — or the message glibc would abort with, or the SIGSEGV of a header that is not
// readable memory. Read-only: it decodes memory and never calls the allocator.
//
// Not simulated: a free that grows a chunk to FASTBIN_CONSOLIDATION_THRESHOLD runs
// malloc_consolidate (which has checks of its own) and may trim the top; the result says so.

import * as M from "../../assembly/messages.js";
import { readArena, readMp } from "./arena.js";
import { binName } from "./bins.js";
import { binAt, chunkFields, type StateAddrs } from "./layout.js";
import type { Vma } from "./maps.js";
import { type MemoryView, alignedDown } from "./memory.js";
import { revealPtr } from "./safelink.js";

export interface FreeCheck {
  /** What glibc tests, in words. */
  check: string;
  passed: boolean;
}

export type FreeOutcome =
  | { kind: "noop" }
  | { kind: "abort"; message: string }
  | { kind: "segv"; addr: number }
  /** Where the chunk goes: tcache[i], fastbin[i], unsorted, top, or munmap. */
  | { kind: "ok"; into: string; consolidates?: boolean };

export interface TryFreeResult {
  mem: number;
  chunk: number;
  checks: FreeCheck[];
  outcome: FreeOutcome;
}

/** Thrown inside the simulation to stop at the first failing check or fault. */
class Stop {
  constructor(readonly outcome: FreeOutcome) {}
}

/**
 * free(mem) on the heap in `mem` as it is now. `vmas` (maps()) decide which loads and stores
 * fault, as the process's page map does: a load needs a page with any access right (x86), a store
 * a writable one.
 */
export function tryFree(view: MemoryView, addrs: StateAddrs, vmas: readonly Vma[], memAddr: number): TryFreeResult {
  const {
    AV_FASTBINS, CHUNK_HDR_SZ, FASTBIN_CONSOLIDATION_THRESHOLD, FASTBIN_SHIFT, MALLOC_ALIGNMENT, MINSIZE, MIN_LARGE_SIZE,
    PAGESIZE, PREV_INUSE, SIZE_BITS, SIZE_SZ, TCACHE_ENTRIES_OFFSET,
  } = view.abi.c;
  const { BK_AT, BK_NEXTSIZE_AT, FD_AT, FD_NEXTSIZE_AT, PREV_SIZE_AT, SIZE_AT, TCACHE_KEY_AT } = chunkFields(view);
  const wrap = (v: number) => view.wrap(v);
  const hex = (n: number) => view.hex(n);
  const checks: FreeCheck[] = [];
  const mem = wrap(memAddr);
  const result: TryFreeResult = { mem, chunk: wrap(mem - CHUNK_HDR_SZ), checks, outcome: { kind: "noop" } };
  if (mem === 0) return result;
  const mapped = (at: number, right: (perms: string) => boolean) =>
    vmas.some((v) => right(v.perms) && v.startAddr <= at && at < v.endAddr);
  const readable = (perms: string) => perms[0] === "r" || perms[1] === "w" || perms[2] === "x";
  const word = (addr: number): number => {
    const at = wrap(addr);
    // the first byte that faults, as the page map names it (a misaligned word may span two pages)
    for (const b of [at, wrap(at + SIZE_SZ - 1)]) if (!mapped(b, readable)) throw new Stop({ kind: "segv", addr: b === at ? at : alignedDown(b, PAGESIZE) });
    const v = view.word(at);
    if (v === null) throw new Stop({ kind: "segv", addr: at });
    return v;
  };
  /** The flag bits of the size word at `addr` (its first byte: exact whatever the word's size). */
  const flagsAt = (addr: number): number => {
    word(addr);
    return (view.u32(wrap(addr)) ?? 0) & SIZE_BITS;
  };
  const check = (text: string, ok: boolean, message: string) => {
    checks.push({ check: text, passed: ok });
    if (!ok) throw new Stop({ kind: "abort", message });
  };
  const sizeOf = (c: number) => alignedDown(word(c + SIZE_AT), SIZE_BITS + 1);
  const mp = readMp(view, addrs);
  const arena = readArena(view, addrs);
  try {
    const p = result.chunk;
    const sizeAddr = wrap(mem - SIZE_SZ);
    if (!vmas.some((v) => v.perms[0] === "r" && v.startAddr <= sizeAddr && sizeAddr + SIZE_SZ <= v.endAddr)) {
      throw new Stop({ kind: "segv", addr: sizeAddr });
    }
    const sizeField = word(p + SIZE_AT);
    const flags = flagsAt(p + SIZE_AT);
    const size = alignedDown(sizeField, SIZE_BITS + 1);
    if (flags & 2) {
      // munmap_chunk: the mapping must start and end on page boundaries.
      const prevSize = word(p + PREV_SIZE_AT);
      const block = wrap(p - prevSize);
      const total = wrap(prevSize + size);
      const offset = mem % PAGESIZE;
      check("mmapped: block and length page-aligned, mem's page offset a power of two",
        block % PAGESIZE === 0 && total % PAGESIZE === 0 && offset !== 0 && (offset & (offset - 1)) === 0,
        M.MUNMAP_CHUNK_INVALID_POINTER);
      throw new Stop({ kind: "ok", into: "munmap" });
    }
    // (uintptr_t) p > (uintptr_t) -size: with size 0, -size is 0 and every pointer fails.
    check(`p ≤ -size (p + size does not wrap), mem ${MALLOC_ALIGNMENT}-aligned`, (size === 0 ? p === 0 : p + size <= view.abi.wordRange) && mem % MALLOC_ALIGNMENT === 0, M.FREE_INVALID_POINTER);
    check(`size ≥ MINSIZE (${MINSIZE}) and a multiple of ${MALLOC_ALIGNMENT}`,
      size >= MINSIZE && size % MALLOC_ALIGNMENT === 0, M.FREE_INVALID_SIZE);

    // tcache
    const tcIdx = Math.floor((size - MINSIZE + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT);
    if (mp.tcache !== 0 && tcIdx < mp.tcache_bins) {
      if (word(mem + TCACHE_KEY_AT) === mp.tcache_key) {
        // e->key == tcache_key: probably a double free; glibc walks the bin to make sure.
        let tmp = word(mp.tcache + TCACHE_ENTRIES_OFFSET + SIZE_SZ * tcIdx);
        for (let cnt = 0; tmp !== 0; cnt++) {
          check(`tcache[${tcIdx}] walk: at most tcache_count (${mp.tcache_count}) entries`, cnt < mp.tcache_count, M.FREE_TCACHE_TOO_MANY);
          check(`tcache[${tcIdx}] entry ${hex(tmp)} aligned`, tmp % MALLOC_ALIGNMENT === 0, M.FREE_TCACHE_UNALIGNED);
          check(`tcache[${tcIdx}] entry ${hex(tmp)} is not this chunk`, tmp !== mem, M.FREE_TCACHE_DOUBLE_FREE);
          tmp = revealPtr(tmp, word(tmp));
        }
      }
      const count = view.u16(mp.tcache + 2 * tcIdx) ?? 0;
      if (count < mp.tcache_count) throw new Stop({ kind: "ok", into: binName("tcache", tcIdx) });
    }

    // fastbins
    if (size <= mp.global_max_fast) {
      const next = wrap(p + size);
      const nextField = word(next + SIZE_AT);
      check(`next chunk's size > ${CHUNK_HDR_SZ} and < system_mem`,
        nextField > CHUNK_HDR_SZ && alignedDown(nextField, SIZE_BITS + 1) < arena.systemMem, M.FREE_INVALID_NEXT_SIZE_FAST);
      const idx = Math.floor(size / 2 ** FASTBIN_SHIFT) - 2;
      const old = word(arena.addr + AV_FASTBINS + SIZE_SZ * idx);
      check(`not already at the head of fastbin[${idx}]`, old !== p, M.DOUBLE_FREE_FASTTOP);
      throw new Stop({ kind: "ok", into: binName("fastbin", idx) });
    }

    // coalescing
    const next = wrap(p + size);
    const top = arena.top;
    check("p is not the top chunk", p !== top, M.DOUBLE_FREE_TOP);
    check("next chunk inside the arena", !(arena.contiguous && next >= top + sizeOf(top)), M.DOUBLE_FREE_OUT);
    const nextField = word(next + SIZE_AT);
    check("next chunk's PREV_INUSE set", (flagsAt(next + SIZE_AT) & PREV_INUSE) !== 0, M.DOUBLE_FREE_PREV);
    const nextSize = alignedDown(nextField, SIZE_BITS + 1);
    check(`next chunk's size > ${CHUNK_HDR_SZ} and < system_mem`, nextField > CHUNK_HDR_SZ && nextSize < arena.systemMem, M.FREE_INVALID_NEXT_SIZE_NORMAL);
    let merged = size;
    let start = p;
    if ((flags & PREV_INUSE) === 0) {
      const prevSize = word(p + PREV_SIZE_AT);
      start = wrap(p - prevSize);
      merged += prevSize;
      check(`previous chunk ${hex(start)}'s size = prev_size`, sizeOf(start) === prevSize, M.CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING);
      unlink(start, "previous");
    }
    let into = "top";
    if (next !== top) {
      const nextInuse = (flagsAt(next + nextSize + SIZE_AT) & PREV_INUSE) !== 0;
      if (!nextInuse) {
        unlink(next, "next");
        merged += nextSize;
      }
      const bck = binAt(view, addrs.mainArena, 1);
      const fwd = word(bck + FD_AT);
      check("unsorted bin's first chunk links back to the bin", word(fwd + BK_AT) === bck, M.FREE_CORRUPTED_UNSORTED);
      into = "unsorted";
    } else {
      merged += nextSize;
    }
    const consolidates = merged >= FASTBIN_CONSOLIDATION_THRESHOLD && arena.haveFastchunks;
    throw new Stop(consolidates ? { kind: "ok", into, consolidates } : { kind: "ok", into });
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    result.outcome = e.outcome;
  }
  return result;

  function unlink(c: number, which: string): void {
    const size = sizeOf(c);
    check(`${which} chunk ${hex(c)}: size = next chunk's prev_size`, size === word(c + size + PREV_SIZE_AT), M.CORRUPTED_SIZE_VS_PREV_SIZE);
    const fd = word(c + FD_AT);
    const bk = word(c + BK_AT);
    check(`${which} chunk: fd->bk and bk->fd point back to it`, word(fd + BK_AT) === c && word(bk + FD_AT) === c, M.CORRUPTED_DOUBLE_LINKED_LIST);
    // its stores, fd->bk = bk then bk->fd = fd, fault where the page is not writable
    for (const at of [wrap(fd + BK_AT), wrap(bk + FD_AT)]) {
      if (!vmas.some((v) => v.perms[1] === "w" && v.startAddr <= at && at + SIZE_SZ <= v.endAddr)) throw new Stop({ kind: "segv", addr: at });
    }
    // A large chunk's nextsize links are read only when it is one (chunksize_nomask, flags included).
    if (word(c + SIZE_AT) < MIN_LARGE_SIZE) return;
    const fdn = word(c + FD_NEXTSIZE_AT);
    if (fdn !== 0) {
      const bkn = word(c + BK_NEXTSIZE_AT);
      check(`${which} chunk: nextsize links point back to it`,
        word(fdn + BK_NEXTSIZE_AT) === c && word(bkn + FD_NEXTSIZE_AT) === c, M.CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL);
    }
  }
}
