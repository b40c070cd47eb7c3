// What the allocator tells about itself: mallinfo2, malloc_stats (stderr text),
// malloc_info (XML), malloc_usable_size, and malloc_trim (mtrim: whole free pages inside
// the heap are dropped with MADV_DONTNEED, then the top is trimmed).

import {
  MADV_DONTNEED, MALLOC_ALIGNMENT, MALLOC_INFO_FD, NBINS, NFASTBINS, PAGESIZE, SIZEOF_MALLOC_CHUNK, STDERR_FILENO,
} from "./config";
import { av_next, av_top, fastbin_addr, main_arena, max_system_mem, mp_, system_mem } from "./arena";
import { heap_for_ptr, heap_mprotect_size, heap_prev, heap_size } from "./heap";
import { bin_at, bin_index } from "./bins";
import { bk, chunk_is_mmapped, chunksize, chunksize_nomask, fd, inuse, mem2chunk, memsize, misaligned_chunk, protect_ptr } from "./chunk";
import { malloc_consolidate } from "./free";
import { ptmalloc_init } from "./malloc";
import { MALLINFO_UNALIGNED_FASTBIN, MALLOC_INFO_UNALIGNED_FASTBIN } from "./messages";
import {
  MALLINFO2_CYCLIC_BIN, MALLINFO2_CYCLIC_FASTBIN, MALLOC_INFO_CYCLIC_BIN, MALLOC_INFO_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN,
  MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_TRIM_CYCLIC_BIN,
} from "./hangs";
import { out_begin, out_flush, out_i32, out_str, out_u32 } from "./format";
import { systrim } from "./sysmalloc";
import { do_madvise, malloc_printerr } from "./syscalls";

/**
 * struct mallinfo2, filled by mallinfo2():
 * arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost (u32 each).
 */
export const MALLINFO2: usize = memory.data(40, 16);

// Cycle finding for the walks below (Brent's algorithm). glibc walks each list until its end and
// loops forever on a cycle; a walk here keeps a mark — the link it was at when its step count last
// reached a power of two — and meets the mark again only on a cycle, once every link of the cycle
// has been visited (so any check glibc makes on the way has fired first). Then the process hangs:
// the abort import ends it with a message of hangs.ts. One compare per link. malloc's large-bin
// loops use it too; walks never nest.
let walkMark: usize = 0; // a walk that reaches link 0 (a null bk: the null page) counts as a cycle at once
let walkPower: u32 = 1;
let walkSteps: u32 = 0;

// @ts-ignore: decorator
@inline export function walk_start(): void {
  walkMark = 0;
  walkPower = 1;
  walkSteps = 0;
}

/** Called at each link p of a walk begun by walk_start: ends the process if p closes a cycle. */
// @ts-ignore: decorator
@inline export function walk_step(p: usize, hang: string): void {
  if (p == walkMark) malloc_printerr(hang);
  if (++walkSteps == walkPower) {
    walkMark = p;
    walkPower <<= 1;
    walkSteps = 0;
  }
}

/** int_mallinfo: add av's counts to the struct mallinfo2 at m (the caller clears it first). */
function int_mallinfo(av: usize, m: usize, fastHang: string, binHang: string): void {
  let avail = chunksize(av_top(av));
  let nblocks: usize = 1;
  let nfastblocks: usize = 0;
  let fastavail: usize = 0;
  for (let i: usize = 0; i < <usize>NFASTBINS; ++i) {
    walk_start();
    for (let p = load<usize>(fastbin_addr(av, i)); p != 0; p = protect_ptr(p + 8, fd(p))) {
      if (misaligned_chunk(p)) malloc_printerr(MALLINFO_UNALIGNED_FASTBIN);
      walk_step(p, fastHang);
      ++nfastblocks;
      fastavail += chunksize(p);
    }
  }
  avail += fastavail;
  for (let i: usize = 1; i < <usize>NBINS; ++i) {
    const b = bin_at(av, i);
    walk_start();
    for (let p = bk(b); p != b; p = bk(p)) {
      walk_step(p, binHang);
      ++nblocks;
      avail += chunksize(p);
    }
  }
  store<u32>(m, load<u32>(m, 8) + <u32>nfastblocks, 8);
  store<u32>(m, load<u32>(m, 4) + <u32>nblocks, 4);
  store<u32>(m, load<u32>(m, 32) + <u32>avail, 32);
  store<u32>(m, load<u32>(m, 28) + <u32>(system_mem(av) - avail), 28);
  store<u32>(m, load<u32>(m, 0) + <u32>system_mem(av), 0);
  store<u32>(m, load<u32>(m, 24) + <u32>fastavail, 24);
  // the mmapped chunks and the keepcost (main_arena's top) are counted once, with main_arena
  if (av == main_arena) {
    store<u32>(m, mp_.n_mmaps, 12);
    store<u32>(m, mp_.mmapped_mem, 16);
    store<u32>(m, 0, 20);
    store<u32>(m, chunksize(av_top(av)), 36);
  }
}

/** __libc_mallinfo2: fills MALLINFO2 and returns its address. */
export function libc_mallinfo2(): usize {
  if (!mp_.malloc_initialized) ptmalloc_init();
  memory.fill(MALLINFO2, 0, 40);
  let av = main_arena;
  do {
    int_mallinfo(av, MALLINFO2, MALLINFO2_CYCLIC_FASTBIN, MALLINFO2_CYCLIC_BIN);
    av = av_next(av);
  } while (av != main_arena);
  return MALLINFO2;
}

/** __malloc_stats: glibc's exact text, to fd 2. */
export function libc_malloc_stats(): void {
  if (!mp_.malloc_initialized) ptmalloc_init();
  let in_use_b = <u32>mp_.mmapped_mem;
  let system_b = in_use_b;
  out_begin(STDERR_FILENO);
  let av = main_arena;
  let i = 0;
  do {
    memory.fill(MALLINFO2, 0, 40);
    int_mallinfo(av, MALLINFO2, MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN);
    const arena = load<u32>(MALLINFO2, 0);
    const uord = load<u32>(MALLINFO2, 28);
    out_str("Arena "); out_i32(i++); out_str(":\n");
    out_str("system bytes     = "); out_u32(arena, 10); out_str("\n");
    out_str("in use bytes     = "); out_u32(uord, 10); out_str("\n");
    system_b += arena;
    in_use_b += uord;
    av = av_next(av);
  } while (av != main_arena);
  out_str("Total (incl. mmap):\n");
  out_str("system bytes     = "); out_u32(system_b, 10); out_str("\n");
  out_str("in use bytes     = "); out_u32(in_use_b, 10); out_str("\n");
  out_str("max mmap regions = "); out_u32(<u32>mp_.max_n_mmaps, 10); out_str("\n");
  out_str("max mmap bytes   = "); out_u32(<u32>mp_.max_mmapped_mem, 10); out_str("\n");
  out_flush();
}

function size_line(tag: string, from: u32, to: u32, total: u32, count: u32): void {
  out_str("  <"); out_str(tag);
  out_str(" from=\""); out_u32(from);
  out_str("\" to=\""); out_u32(to);
  out_str("\" total=\""); out_u32(total);
  out_str("\" count=\""); out_u32(count);
  out_str("\"/>\n");
}

function total_line(type: string, count: u32, size: u32): void {
  out_str("<total type=\""); out_str(type);
  out_str("\" count=\""); out_u32(count);
  out_str("\" size=\""); out_u32(size);
  out_str("\"/>\n");
}

function sized_line(elem: string, type: string, size: u32): void {
  out_str("<"); out_str(elem); out_str(" type=\""); out_str(type);
  out_str("\" size=\""); out_u32(size); out_str("\"/>\n");
}

// malloc_info's totals over the arenas
let info_nblocks: u32 = 0;
let info_nfastblocks: u32 = 0;
let info_avail: u32 = 0;
let info_fastavail: u32 = 0;
let info_system: u32 = 0;
let info_max_system: u32 = 0;
let info_aspace: u32 = 0;
let info_aspace_mprotect: u32 = 0;

/** __malloc_info(0, fp): the XML report, one <heap> per arena. */
export function libc_malloc_info(options: i32): i32 {
  if (options != 0) return 22; // EINVAL
  if (!mp_.malloc_initialized) ptmalloc_init();
  out_begin(MALLOC_INFO_FD);
  out_str("<malloc version=\"1\">\n");
  info_nblocks = 0; info_nfastblocks = 0; info_avail = 0; info_fastavail = 0;
  info_system = 0; info_max_system = 0; info_aspace = 0; info_aspace_mprotect = 0;
  let av = main_arena;
  let n = 0;
  do {
    info_heap(av, n++);
    av = av_next(av);
  } while (av != main_arena);
  total_line("fast", info_nfastblocks, info_fastavail);
  total_line("rest", info_nblocks, info_avail);
  out_str("<total type=\"mmap\" count=\""); out_i32(mp_.n_mmaps);
  out_str("\" size=\""); out_u32(<u32>mp_.mmapped_mem); out_str("\"/>\n");
  sized_line("system", "current", info_system);
  sized_line("system", "max", info_max_system);
  sized_line("aspace", "total", info_aspace);
  sized_line("aspace", "mprotect", info_aspace_mprotect);
  out_str("</malloc>\n");
  out_flush();
  return 0;
}

/** One arena's <heap nr="n">, its counts added to the totals. */
function info_heap(av: usize, n: i32): void {
  out_str("<heap nr=\""); out_i32(n); out_str("\">\n<sizes>\n");

  let avail = chunksize(av_top(av));
  let nblocks: u32 = 1;
  let nfastblocks: u32 = 0;
  let fastavail: u32 = 0;
  // fastbins: one line each (from = size - 15, to = size)
  for (let i: usize = 0; i < <usize>NFASTBINS; ++i) {
    let p = load<usize>(fastbin_addr(av, i));
    if (p == 0) continue;
    let n: u32 = 0;
    const thissize = <u32>chunksize(p);
    walk_start();
    while (p != 0) {
      if (misaligned_chunk(p)) malloc_printerr(MALLOC_INFO_UNALIGNED_FASTBIN);
      walk_step(p, MALLOC_INFO_CYCLIC_FASTBIN);
      ++n;
      p = protect_ptr(p + 8, fd(p));
    }
    fastavail += n * thissize;
    nfastblocks += n;
    size_line("size", thissize - (MALLOC_ALIGNMENT - 1), thissize, n * thissize, n);
  }
  // regular bins (bin 1, the unsorted bin, is printed last)
  let uFrom: u32 = 0, uTo: u32 = 0, uTotal: u32 = 0, uCount: u32 = 0;
  for (let i: usize = 1; i < <usize>NBINS; ++i) {
    const b = bin_at(av, i);
    let from: u32 = 0xffffffff, to: u32 = 0, total: u32 = 0, count: u32 = 0;
    let r = fd(b);
    walk_start();
    if (r != 0) {
      while (r != b) {
        walk_step(r, MALLOC_INFO_CYCLIC_BIN);
        const rs = <u32>chunksize_nomask(r);
        ++count;
        total += rs;
        if (rs < from) from = rs;
        if (rs > to) to = rs;
        r = fd(r);
      }
    }
    if (count == 0) from = 0;
    nblocks += count;
    avail += total;
    if (i == 1) {
      uFrom = from; uTo = to; uTotal = total; uCount = count;
    } else if (count != 0) {
      size_line("size", from, to, total, count);
    }
  }
  // a non-main arena's address space: its heaps, from the top's back to the first
  let heap_total: u32 = 0, heap_mprotect: u32 = 0, heap_count: u32 = 0;
  if (av != main_arena) {
    let heap = heap_for_ptr(av_top(av));
    do {
      heap_total += <u32>heap_size(heap);
      heap_mprotect += <u32>heap_mprotect_size(heap);
      heap = heap_prev(heap);
      ++heap_count;
    } while (heap != 0);
  }
  info_nfastblocks += nfastblocks;
  info_fastavail += fastavail;
  info_nblocks += nblocks;
  info_avail += <u32>avail;
  if (uCount != 0) size_line("unsorted", uFrom, uTo, uTotal, uCount);
  info_system += <u32>system_mem(av);
  info_max_system += <u32>max_system_mem(av);
  out_str("</sizes>\n");
  total_line("fast", nfastblocks, fastavail);
  total_line("rest", nblocks, <u32>avail);
  sized_line("system", "current", <u32>system_mem(av));
  sized_line("system", "max", <u32>max_system_mem(av));
  if (av != main_arena) {
    sized_line("aspace", "total", heap_total);
    sized_line("aspace", "mprotect", heap_mprotect);
    sized_line("aspace", "subheaps", heap_count);
    info_aspace += heap_total;
    info_aspace_mprotect += heap_mprotect;
  } else {
    sized_line("aspace", "total", <u32>system_mem(av));
    sized_line("aspace", "mprotect", <u32>system_mem(av));
    info_aspace += <u32>system_mem(av);
    info_aspace_mprotect += <u32>system_mem(av);
  }
  out_str("</heap>\n");
}

/** __malloc_usable_size */
export function libc_malloc_usable_size(mem: usize): usize {
  if (mem == 0) return 0;
  const p = mem2chunk(mem);
  if (chunk_is_mmapped(p)) return chunksize(p) - 8;
  if (inuse(p)) return memsize(p);
  return 0;
}

/** __malloc_trim */
export function libc_malloc_trim(pad: usize): i32 {
  if (!mp_.malloc_initialized) ptmalloc_init();
  let result = 0;
  let av = main_arena;
  do {
    result |= mtrim(av, pad);
    av = av_next(av);
  } while (av != main_arena);
  return result;
}

/** mtrim: whole free pages inside av's bins go back (MADV_DONTNEED); main_arena's top is trimmed. */
function mtrim(av: usize, pad: usize): i32 {
  malloc_consolidate(av);
  const psm1: usize = PAGESIZE - 1;
  const psindex = bin_index(PAGESIZE);
  let result = 0;
  for (let i: usize = 1; i < <usize>NBINS; ++i) {
    if (i != 1 && i < psindex) continue;
    const b = bin_at(av, i);
    walk_start();
    for (let p = bk(b); p != b; p = bk(p)) {
      walk_step(p, MALLOC_TRIM_CYCLIC_BIN);
      let size = chunksize(p);
      if (size > psm1 + SIZEOF_MALLOC_CHUNK) {
        // the chunk holds at least one whole unused page
        const paligned_mem = (p + SIZEOF_MALLOC_CHUNK + psm1) & ~psm1;
        size -= paligned_mem - p;
        if (size > psm1) {
          do_madvise(paligned_mem, size & ~psm1, MADV_DONTNEED);
          result = 1;
        }
      }
    }
  }
  return result | (av == main_arena ? systrim(pad, av) : 0);
}
