// What the allocator tells about itself: mallinfo2, malloc_stats (stderr text),
// malloc_info (XML), malloc_usable_size, and malloc_trim (mtrim: whole free pages inside
// the heap are dropped with MADV_DONTNEED, then the top is trimmed).

import {
  CHUNK_HDR_SZ, MADV_DONTNEED, MALLOC_ALIGNMENT, MALLOC_INFO_FD, NBINS, NFASTBINS, PAGESIZE, SIZEOF_MALLOC_CHUNK, STDERR_FILENO,
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
import { out_begin, out_flush, out_i32, out_str, out_u32, out_word } from "./format";
import { load_word } from "./vm";
import { systrim } from "./sysmalloc";
import { do_madvise, malloc_printerr } from "./syscalls";

/**
 * struct mallinfo2, filled by mallinfo2() (a Wasm offset):
 * arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost (a size_t each).
 */
export const MALLINFO2: usize = memory.data(10 * sizeof<word>(), 16);
const MI_ARENA: usize = 0;
const MI_ORDBLKS: usize = sizeof<word>();
const MI_SMBLKS: usize = 2 * sizeof<word>();
const MI_HBLKS: usize = 3 * sizeof<word>();
const MI_HBLKHD: usize = 4 * sizeof<word>();
const MI_USMBLKS: usize = 5 * sizeof<word>();
const MI_FSMBLKS: usize = 6 * sizeof<word>();
const MI_UORDBLKS: usize = 7 * sizeof<word>();
const MI_FORDBLKS: usize = 8 * sizeof<word>();
const MI_KEEPCOST: usize = 9 * sizeof<word>();
// @ts-ignore: decorator
@inline function mi_add(m: usize, field: usize, v: word): void { store<word>(m + field, load<word>(m + field) + v); }

// Cycle finding for the walks below (Brent's algorithm). glibc walks each list until its end and
// loops forever on a cycle; a walk here keeps a mark — the link it was at when its step count last
// reached a power of two — and meets the mark again only on a cycle, once every link of the cycle
// has been visited (so any check glibc makes on the way has fired first). Then the process hangs:
// the abort import ends it with a message of hangs.ts. One compare per link. malloc's large-bin
// loops use it too; walks never nest.
let walkMark: word = 0; // a walk that reaches link 0 (a null bk: the null page) counts as a cycle at once
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
@inline export function walk_step(p: word, hang: string): void {
  if (p == walkMark) malloc_printerr(hang);
  if (++walkSteps == walkPower) {
    walkMark = p;
    walkPower <<= 1;
    walkSteps = 0;
  }
}

/** int_mallinfo: add av's counts to the struct mallinfo2 at m (the caller clears it first). */
function int_mallinfo(av: word, m: usize, fastHang: string, binHang: string): void {
  let avail = chunksize(av_top(av));
  let nblocks: word = 1;
  let nfastblocks: word = 0;
  let fastavail: word = 0;
  for (let i: word = 0; i < <word>NFASTBINS; ++i) {
    walk_start();
    for (let p = load_word(fastbin_addr(av, i)); p != 0; p = protect_ptr(p + CHUNK_HDR_SZ, fd(p))) {
      if (misaligned_chunk(p)) malloc_printerr(MALLINFO_UNALIGNED_FASTBIN);
      walk_step(p, fastHang);
      ++nfastblocks;
      fastavail += chunksize(p);
    }
  }
  avail += fastavail;
  for (let i: word = 1; i < <word>NBINS; ++i) {
    const b = bin_at(av, i);
    walk_start();
    for (let p = bk(b); p != b; p = bk(p)) {
      walk_step(p, binHang);
      ++nblocks;
      avail += chunksize(p);
    }
  }
  mi_add(m, MI_SMBLKS, nfastblocks);
  mi_add(m, MI_ORDBLKS, nblocks);
  mi_add(m, MI_FORDBLKS, avail);
  mi_add(m, MI_UORDBLKS, system_mem(av) - avail);
  mi_add(m, MI_ARENA, system_mem(av));
  mi_add(m, MI_FSMBLKS, fastavail);
  // the mmapped chunks and the keepcost (main_arena's top) are counted once, with main_arena
  if (av == main_arena) {
    store<word>(m + MI_HBLKS, <word>mp_.n_mmaps);
    store<word>(m + MI_HBLKHD, mp_.mmapped_mem);
    store<word>(m + MI_USMBLKS, 0);
    store<word>(m + MI_KEEPCOST, chunksize(av_top(av)));
  }
}

/** __libc_mallinfo2: fills MALLINFO2 and returns its address. */
export function libc_mallinfo2(): usize {
  if (!mp_.malloc_initialized) ptmalloc_init();
  memory.fill(MALLINFO2, 0, 10 * sizeof<word>());
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
    memory.fill(MALLINFO2, 0, 10 * sizeof<word>());
    int_mallinfo(av, MALLINFO2, MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN);
    // printed as unsigned int ("%10u", (unsigned int) mi.arena), the totals summed as such
    const arena = <u32>load<word>(MALLINFO2 + MI_ARENA);
    const uord = <u32>load<word>(MALLINFO2 + MI_UORDBLKS);
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
  out_str("max mmap bytes   = "); out_word(mp_.max_mmapped_mem, 10); out_str("\n"); // "%10lu"
  out_flush();
}

function size_line(tag: string, from: word, to: word, total: word, count: word): void {
  out_str("  <"); out_str(tag);
  out_str(" from=\""); out_word(from);
  out_str("\" to=\""); out_word(to);
  out_str("\" total=\""); out_word(total);
  out_str("\" count=\""); out_word(count);
  out_str("\"/>\n");
}

function total_line(type: string, count: word, size: word): void {
  out_str("<total type=\""); out_str(type);
  out_str("\" count=\""); out_word(count);
  out_str("\" size=\""); out_word(size);
  out_str("\"/>\n");
}

function sized_line(elem: string, type: string, size: word): void {
  out_str("<"); out_str(elem); out_str(" type=\""); out_str(type);
  out_str("\" size=\""); out_word(size); out_str("\"/>\n");
}

// malloc_info's totals over the arenas
let info_nblocks: word = 0;
let info_nfastblocks: word = 0;
let info_avail: word = 0;
let info_fastavail: word = 0;
let info_system: word = 0;
let info_max_system: word = 0;
let info_aspace: word = 0;
let info_aspace_mprotect: word = 0;

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
  out_str("\" size=\""); out_word(mp_.mmapped_mem); out_str("\"/>\n");
  sized_line("system", "current", info_system);
  sized_line("system", "max", info_max_system);
  sized_line("aspace", "total", info_aspace);
  sized_line("aspace", "mprotect", info_aspace_mprotect);
  out_str("</malloc>\n");
  out_flush();
  return 0;
}

/** One arena's <heap nr="n">, its counts added to the totals. */
function info_heap(av: word, n: i32): void {
  out_str("<heap nr=\""); out_i32(n); out_str("\">\n<sizes>\n");

  let avail = chunksize(av_top(av));
  let nblocks: word = 1;
  let nfastblocks: word = 0;
  let fastavail: word = 0;
  // fastbins: one line each (from = size - 15, to = size)
  for (let i: word = 0; i < <word>NFASTBINS; ++i) {
    let p = load_word(fastbin_addr(av, i));
    if (p == 0) continue;
    let n: word = 0;
    const thissize = <word>chunksize(p);
    walk_start();
    while (p != 0) {
      if (misaligned_chunk(p)) malloc_printerr(MALLOC_INFO_UNALIGNED_FASTBIN);
      walk_step(p, MALLOC_INFO_CYCLIC_FASTBIN);
      ++n;
      p = protect_ptr(p + CHUNK_HDR_SZ, fd(p));
    }
    fastavail += n * thissize;
    nfastblocks += n;
    size_line("size", thissize - (MALLOC_ALIGNMENT - 1), thissize, n * thissize, n);
  }
  // regular bins (bin 1, the unsorted bin, is printed last)
  let uFrom: word = 0, uTo: word = 0, uTotal: word = 0, uCount: word = 0;
  for (let i: word = 1; i < <word>NBINS; ++i) {
    const b = bin_at(av, i);
    let from: word = <word>-1, to: word = 0, total: word = 0, count: word = 0;
    let r = fd(b);
    walk_start();
    if (r != 0) {
      while (r != b) {
        walk_step(r, MALLOC_INFO_CYCLIC_BIN);
        const rs = <word>chunksize_nomask(r);
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
  let heap_total: word = 0, heap_mprotect: word = 0, heap_count: word = 0;
  if (av != main_arena) {
    let heap = heap_for_ptr(av_top(av));
    do {
      heap_total += <word>heap_size(heap);
      heap_mprotect += <word>heap_mprotect_size(heap);
      heap = heap_prev(heap);
      ++heap_count;
    } while (heap != 0);
  }
  info_nfastblocks += nfastblocks;
  info_fastavail += fastavail;
  info_nblocks += nblocks;
  info_avail += <word>avail;
  if (uCount != 0) size_line("unsorted", uFrom, uTo, uTotal, uCount);
  info_system += <word>system_mem(av);
  info_max_system += <word>max_system_mem(av);
  out_str("</sizes>\n");
  total_line("fast", nfastblocks, fastavail);
  total_line("rest", nblocks, <word>avail);
  sized_line("system", "current", <word>system_mem(av));
  sized_line("system", "max", <word>max_system_mem(av));
  if (av != main_arena) {
    sized_line("aspace", "total", heap_total);
    sized_line("aspace", "mprotect", heap_mprotect);
    sized_line("aspace", "subheaps", heap_count);
    info_aspace += heap_total;
    info_aspace_mprotect += heap_mprotect;
  } else {
    sized_line("aspace", "total", <word>system_mem(av));
    sized_line("aspace", "mprotect", <word>system_mem(av));
    info_aspace += <word>system_mem(av);
    info_aspace_mprotect += <word>system_mem(av);
  }
  out_str("</heap>\n");
}

/** __malloc_usable_size */
export function libc_malloc_usable_size(mem: word): word {
  if (mem == 0) return 0;
  const p = mem2chunk(mem);
  if (chunk_is_mmapped(p)) return chunksize(p) - CHUNK_HDR_SZ;
  if (inuse(p)) return memsize(p);
  return 0;
}

/** __malloc_trim */
export function libc_malloc_trim(pad: word): i32 {
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
function mtrim(av: word, pad: word): i32 {
  malloc_consolidate(av);
  const psm1: word = PAGESIZE - 1;
  const psindex = bin_index(PAGESIZE);
  let result = 0;
  for (let i: word = 1; i < <word>NBINS; ++i) {
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
