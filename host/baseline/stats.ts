// What the allocator tells about itself: mallinfo2, malloc_stats (its stderr text),
// malloc_info (XML), malloc_usable_size, and malloc_trim (mtrim: whole free pages inside
// the heap are dropped with MADV_DONTNEED, then the top is trimmed). The texts are glibc's,
// byte for byte, as the Wasm build writes them through its `write` import.

import { MADV_DONTNEED, MALLOC_ALIGNMENT, NBINS, PAGESIZE } from "../../assembly/config.js";
import {
  MALLINFO2_CYCLIC_BIN, MALLINFO2_CYCLIC_FASTBIN, MALLOC_INFO_CYCLIC_BIN, MALLOC_INFO_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN,
  MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_TRIM_CYCLIC_BIN,
} from "../../assembly/hangs.js";
import { MALLINFO_UNALIGNED_FASTBIN, MALLOC_INFO_UNALIGNED_FASTBIN } from "../../assembly/messages.js";
import type { Mallinfo2 } from "../libc.js";
import { av_next, av_top, bin_at, fastbin, max_system_mem, system_mem } from "./arena.js";
import { bin_index } from "./bins.js";
import { chunksize, inuse, memsize, misaligned_chunk, protect_ptr, size_of } from "./chunk.js";
import { ld, ldw, malloc_printerr, wrap, type Env } from "./env.js";
import { malloc_consolidate } from "./free.js";
import { heap_for_ptr, heap_mprotect_size, heap_prev, heap_size } from "./heap.js";
import { W_MALLOC_INITIALIZED, W_MAX_MMAPPED_MEM, W_MAX_N_MMAPS, W_MMAPPED_MEM, W_N_MMAPS } from "./layout.js";
import { ptmalloc_init } from "./malloc.js";
import { systrim } from "./sysmalloc.js";
import { do_madvise } from "./syscalls.js";

// The walks below follow links read from memory, so they load as the Wasm build does (ld: a link
// past the end of the memory traps, the process dies of SIGSEGV).

/** The next chunk of a fastbin (safe-linked). */
const fastbin_next = (env: Env, p: number): number => protect_ptr(env, p + env.CHUNK_HDR_SZ, ld(env, p, 8));

// Cycle finding for the walks (Brent's algorithm), as the Wasm build's stats.ts does it: glibc
// loops forever on a cyclic list; a walk here meets its mark again only on a cycle, after every
// link of it was visited, and the process hangs (assembly/hangs.ts). Also used by malloc's
// large-bin loops. Module state, as in the Wasm build: walks never nest.
let walkMark = 0; // as the Wasm build: a walk that reaches link 0 (a null bk) counts as a cycle at once
let walkPower = 1;
let walkSteps = 0;

export function walk_start(): void {
  walkMark = 0;
  walkPower = 1;
  walkSteps = 0;
}

/** Called at each link p of a walk begun by walk_start: ends the process if p closes a cycle. */
export function walk_step(env: Env, p: number, hang: string): void {
  if (p === walkMark) malloc_printerr(env, hang);
  if (++walkSteps === walkPower) {
    walkMark = p;
    walkPower *= 2;
    walkSteps = 0;
  }
}

const emptyMallinfo2 = (): Mallinfo2 => ({
  arena: 0, ordblks: 0, smblks: 0, hblks: 0, hblkhd: 0, usmblks: 0, fsmblks: 0, uordblks: 0, fordblks: 0, keepcost: 0,
});

/** int_mallinfo(av, mi): adds av's counts to mi; the main arena also sets the mmapped ones. */
function int_mallinfo(env: Env, av: number, mi: Mallinfo2, fastHang: string, binHang: string): void {
  let avail = chunksize(env, av_top(env, av));
  let nblocks = 1;
  let nfastblocks = 0;
  let fastavail = 0;
  const nfastbins = env.NFASTBINS;
  for (let i = 0; i < nfastbins; ++i) {
    walk_start();
    for (let p = fastbin(env, av, i); p !== 0; p = fastbin_next(env, p)) {
      if (misaligned_chunk(env, p)) malloc_printerr(env, MALLINFO_UNALIGNED_FASTBIN);
      walk_step(env, p, fastHang);
      ++nfastblocks;
      fastavail = wrap(env, fastavail + chunksize(env, p));
    }
  }
  avail = wrap(env, avail + fastavail);
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(env, av, i);
    walk_start();
    for (let p = ldw(env, b, 12); p !== b; p = ld(env, p, 12)) {
      walk_step(env, p, binHang);
      ++nblocks;
      avail = wrap(env, avail + chunksize(env, p));
    }
  }
  const system = system_mem(env, av);
  mi.smblks = wrap(env, mi.smblks + nfastblocks);
  mi.ordblks = wrap(env, mi.ordblks + nblocks);
  mi.fordblks = wrap(env, mi.fordblks + avail);
  mi.uordblks = wrap(env, mi.uordblks + system - avail);
  mi.arena = wrap(env, mi.arena + system);
  mi.fsmblks = wrap(env, mi.fsmblks + fastavail);
  // The mmapped chunks belong to no arena: they are counted once, with the main arena.
  if (av === env.mainArena) {
    mi.hblks = wrap(env, env.mpi[W_N_MMAPS]!);
    mi.hblkhd = env.mp[W_MMAPPED_MEM]!;
    mi.usmblks = 0;
    mi.keepcost = chunksize(env, av_top(env, av)); // read again at the end, as glibc does
  }
}

/** __libc_mallinfo2 */
export function libc_mallinfo2(env: Env): Mallinfo2 {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const mi = emptyMallinfo2();
  const main = env.mainArena;
  let av = main;
  do {
    int_mallinfo(env, av, mi, MALLINFO2_CYCLIC_FASTBIN, MALLINFO2_CYCLIC_BIN);
    av = av_next(env, av);
  } while (av !== main);
  return mi;
}

const u10 = (v: number): string => String(v >>> 0).padStart(10);

/** __malloc_stats: glibc's exact text (what it writes to stderr): "%10u" of (unsigned int) values, the last "%10lu". */
export function libc_malloc_stats(env: Env): string {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const mmapped = env.mp[W_MMAPPED_MEM]! >>> 0;
  let system_b = mmapped;
  let in_use_b = mmapped;
  let out = "";
  const main = env.mainArena;
  let av = main;
  let i = 0;
  do {
    const mi = emptyMallinfo2();
    int_mallinfo(env, av, mi, MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN);
    out += `Arena ${i++}:\nsystem bytes     = ${u10(mi.arena)}\nin use bytes     = ${u10(mi.uordblks)}\n`;
    system_b = (system_b + (mi.arena >>> 0)) >>> 0;
    in_use_b = (in_use_b + (mi.uordblks >>> 0)) >>> 0;
    av = av_next(env, av);
  } while (av !== main);
  return (
    out +
    "Total (incl. mmap):\n" +
    `system bytes     = ${u10(system_b)}\n` +
    `in use bytes     = ${u10(in_use_b)}\n` +
    `max mmap regions = ${u10(env.mp[W_MAX_N_MMAPS]!)}\n` +
    `max mmap bytes   = ${String(env.wide ? env.mp[W_MAX_MMAPPED_MEM]! : env.mp[W_MAX_MMAPPED_MEM]! >>> 0).padStart(10)}\n`
  );
}

// (every number a word the callers brought into range with wrap)
const sizeLine = (tag: string, from: number, to: number, total: number, count: number): string =>
  `  <${tag} from="${from}" to="${to}" total="${total}" count="${count}"/>\n`;
const totalLine = (type: string, count: number, size: number): string => `<total type="${type}" count="${count}" size="${size}"/>\n`;
const sizedLine = (elem: string, type: string, size: number): string => `<${elem} type="${type}" size="${size}"/>\n`;

/** malloc_info's totals over the arenas. */
interface InfoTotals {
  nblocks: number;
  nfastblocks: number;
  avail: number;
  fastavail: number;
  system: number;
  maxSystem: number;
  aspace: number;
  aspaceMprotect: number;
}

/** __malloc_info(0, fp): the XML report, one <heap> per arena. */
export function libc_malloc_info(env: Env): string {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const t: InfoTotals = { nblocks: 0, nfastblocks: 0, avail: 0, fastavail: 0, system: 0, maxSystem: 0, aspace: 0, aspaceMprotect: 0 };
  let out = '<malloc version="1">\n';
  const main = env.mainArena;
  let av = main;
  let n = 0;
  do {
    out += info_heap(env, av, n++, t);
    av = av_next(env, av);
  } while (av !== main);
  out += totalLine("fast", t.nfastblocks, t.fastavail) + totalLine("rest", t.nblocks, t.avail);
  out += `<total type="mmap" count="${env.mpi[W_N_MMAPS]}" size="${env.mp[W_MMAPPED_MEM]}"/>\n`;
  out +=
    sizedLine("system", "current", t.system) +
    sizedLine("system", "max", t.maxSystem) +
    sizedLine("aspace", "total", t.aspace) +
    sizedLine("aspace", "mprotect", t.aspaceMprotect);
  return out + "</malloc>\n";
}

/** One arena's <heap nr="n">, its counts added to the totals. */
function info_heap(env: Env, av: number, nr: number, t: InfoTotals): string {
  let out = `<heap nr="${nr}">\n<sizes>\n`;
  let avail = chunksize(env, av_top(env, av));
  let nblocks = 1;
  let nfastblocks = 0;
  let fastavail = 0;
  // fastbins: one line each (from = size - 15, to = size)
  const nfastbins = env.NFASTBINS;
  for (let i = 0; i < nfastbins; ++i) {
    let p = fastbin(env, av, i);
    if (p === 0) continue;
    let n = 0;
    const thissize = chunksize(env, p);
    walk_start();
    while (p !== 0) {
      if (misaligned_chunk(env, p)) malloc_printerr(env, MALLOC_INFO_UNALIGNED_FASTBIN);
      walk_step(env, p, MALLOC_INFO_CYCLIC_FASTBIN);
      ++n;
      p = fastbin_next(env, p);
    }
    fastavail = wrap(env, fastavail + n * thissize);
    nfastblocks += n;
    out += sizeLine("size", wrap(env, thissize - (MALLOC_ALIGNMENT - 1)), thissize, wrap(env, n * thissize), n);
  }
  // regular bins (bin 1, the unsorted bin, is printed last)
  let unsortedLine = "";
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(env, av, i);
    let from = env.WORD_MOD - 1;
    let to = 0;
    let total = 0;
    let count = 0;
    let r = ldw(env, b, 8);
    walk_start();
    if (r !== 0) {
      while (r !== b) {
        walk_step(env, r, MALLOC_INFO_CYCLIC_BIN);
        const rs = ld(env, r, 4);
        ++count;
        total = wrap(env, total + rs);
        if (rs < from) from = rs;
        if (rs > to) to = rs;
        r = ld(env, r, 8);
      }
    }
    if (count === 0) from = 0;
    nblocks += count;
    avail = wrap(env, avail + total);
    if (i === 1) {
      if (count !== 0) unsortedLine = sizeLine("unsorted", from, to, total, count);
    } else if (count !== 0) {
      out += sizeLine("size", from, to, total, count);
    }
  }
  // a non-main arena's address space: its heaps, from the top's back to the first
  let heapTotal = 0;
  let heapMprotect = 0;
  let heapCount = 0;
  const main = av === env.mainArena;
  if (!main) {
    let heap = heap_for_ptr(env, av_top(env, av));
    do {
      heapTotal = wrap(env, heapTotal + heap_size(env, heap));
      heapMprotect = wrap(env, heapMprotect + heap_mprotect_size(env, heap));
      heap = heap_prev(env, heap);
      ++heapCount;
    } while (heap !== 0);
  }
  t.nfastblocks = wrap(env, t.nfastblocks + nfastblocks);
  t.fastavail = wrap(env, t.fastavail + fastavail);
  t.nblocks = wrap(env, t.nblocks + nblocks);
  t.avail = wrap(env, t.avail + avail);
  const system = system_mem(env, av);
  const maxSystem = max_system_mem(env, av);
  t.system = wrap(env, t.system + system);
  t.maxSystem = wrap(env, t.maxSystem + maxSystem);
  out += unsortedLine + "</sizes>\n";
  out += totalLine("fast", nfastblocks, fastavail) + totalLine("rest", nblocks, avail);
  out += sizedLine("system", "current", system) + sizedLine("system", "max", maxSystem);
  if (!main) {
    out +=
      sizedLine("aspace", "total", heapTotal) +
      sizedLine("aspace", "mprotect", heapMprotect) +
      sizedLine("aspace", "subheaps", heapCount);
    t.aspace = wrap(env, t.aspace + heapTotal);
    t.aspaceMprotect = wrap(env, t.aspaceMprotect + heapMprotect);
  } else {
    out += sizedLine("aspace", "total", system) + sizedLine("aspace", "mprotect", system);
    t.aspace = wrap(env, t.aspace + system);
    t.aspaceMprotect = wrap(env, t.aspaceMprotect + system);
  }
  return out + "</heap>\n";
}

/** __malloc_usable_size */
export function libc_malloc_usable_size(env: Env, mem: number): number {
  if (mem === 0) return 0;
  const p = wrap(env, mem - env.CHUNK_HDR_SZ);
  // chunk_is_mmapped(p) and chunksize(p): one word (a bad pointer's may be misaligned: ld reads
  // it unaligned, as the Wasm build does); then inuse(p) and memsize(p) read their words again.
  const head = ld(env, p, 4);
  if ((head & 2) !== 0) return wrap(env, size_of(head) - env.CHUNK_HDR_SZ);
  if (inuse(env, p)) return memsize(env, p);
  return 0;
}

/** __malloc_trim: mtrim on every arena. */
export function libc_malloc_trim(env: Env, pad: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  let result = 0;
  const main = env.mainArena;
  let av = main;
  do {
    result |= mtrim(env, av, pad);
    av = av_next(env, av);
  } while (av !== main);
  return result;
}

/** mtrim(av, pad): whole free pages inside av's chunks dropped, then (main arena) the top trimmed. */
function mtrim(env: Env, av: number, pad: number): number {
  malloc_consolidate(env, av);
  const psm1 = PAGESIZE - 1;
  const psindex = bin_index(env, PAGESIZE);
  let result = 0;
  for (let i = 1; i < NBINS; ++i) {
    if (i !== 1 && i < psindex) continue;
    const b = bin_at(env, av, i);
    walk_start();
    for (let p = ldw(env, b, 12); p !== b; p = ld(env, p, 12)) {
      walk_step(env, p, MALLOC_TRIM_CYCLIC_BIN);
      let size = chunksize(env, p);
      if (size > psm1 + env.SIZEOF_MALLOC_CHUNK) {
        // the chunk holds at least one whole unused page
        const up = wrap(env, p + env.SIZEOF_MALLOC_CHUNK + psm1);
        const paligned_mem = up - (up % PAGESIZE);
        size -= paligned_mem - p;
        if (size > psm1) {
          do_madvise(env, paligned_mem, size - (size % PAGESIZE), MADV_DONTNEED);
          result = 1;
        }
      }
    }
  }
  return result | (av === env.mainArena ? systrim(env, pad, av) : 0);
}
