// What the allocator tells about itself: mallinfo2, malloc_stats (its stderr text),
// malloc_info (XML), malloc_usable_size, and malloc_trim (mtrim: whole free pages inside
// the heap are dropped with MADV_DONTNEED, then the top is trimmed). The texts are glibc's,
// byte for byte, as the Wasm build writes them through its `write` import.

import { MADV_DONTNEED, MALLOC_ALIGNMENT, NBINS, NFASTBINS, PAGESIZE, SIZEOF_MALLOC_CHUNK } from "../../assembly/config.js";
import {
  MALLINFO2_CYCLIC_BIN, MALLINFO2_CYCLIC_FASTBIN, MALLOC_INFO_CYCLIC_BIN, MALLOC_INFO_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN,
  MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_TRIM_CYCLIC_BIN,
} from "../../assembly/hangs.js";
import { MALLINFO_UNALIGNED_FASTBIN, MALLOC_INFO_UNALIGNED_FASTBIN } from "../../assembly/messages.js";
import type { Mallinfo2 } from "../libc.js";
import { bin_at, bin_index } from "./bins.js";
import { chunksize, inuse, memsize, misaligned_chunk } from "./chunk.js";
import { ld, malloc_printerr, type Env } from "./env.js";
import { malloc_consolidate } from "./free.js";
import { heap_for_ptr, heap_mprotect_size, heap_prev, heap_size } from "./heap.js";
import {
  AV_FASTBINS, AV_MAX_SYSTEM_MEM, AV_NEXT, AV_SYSTEM_MEM, AV_TOP, MAIN_ARENA, W_MALLOC_INITIALIZED, W_MAX_MMAPPED_MEM,
  W_MAX_N_MMAPS, W_MMAPPED_MEM, W_N_MMAPS,
} from "./layout.js";
import { ptmalloc_init } from "./malloc.js";
import { systrim } from "./sysmalloc.js";
import { do_madvise } from "./syscalls.js";

// The walks below follow links read from memory, so they load as the Wasm build does (ld: a link
// past the end of the memory traps, the process dies of SIGSEGV).

/** The next arena in the ring (main_arena's next is the newest; the last links back to main_arena). */
const av_next = (env: Env, av: number): number => env.u32[(av + AV_NEXT) >>> 2];

/** The next chunk of a fastbin (safe-linked). */
const fastbin_next = (env: Env, p: number): number => (((p + 8) >>> 12) ^ ld(env, p, 8)) >>> 0;

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
  const m = env.u32;
  let avail = chunksize(env, m[(av + AV_TOP) >>> 2]);
  let nblocks = 1;
  let nfastblocks = 0;
  let fastavail = 0;
  const fb0 = (av + AV_FASTBINS) >>> 2;
  for (let i = 0; i < NFASTBINS; ++i) {
    walk_start();
    for (let p = m[fb0 + i]; p !== 0; p = fastbin_next(env, p)) {
      if (misaligned_chunk(p)) malloc_printerr(env, MALLINFO_UNALIGNED_FASTBIN);
      walk_step(env, p, fastHang);
      ++nfastblocks;
      fastavail = (fastavail + chunksize(env, p)) >>> 0;
    }
  }
  avail = (avail + fastavail) >>> 0;
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(av, i);
    walk_start();
    for (let p = m[(b + 12) >>> 2]; p !== b; p = ld(env, p, 12)) {
      walk_step(env, p, binHang);
      ++nblocks;
      avail = (avail + chunksize(env, p)) >>> 0;
    }
  }
  const system = m[(av + AV_SYSTEM_MEM) >>> 2];
  mi.smblks = (mi.smblks + nfastblocks) >>> 0;
  mi.ordblks = (mi.ordblks + nblocks) >>> 0;
  mi.fordblks = (mi.fordblks + avail) >>> 0;
  mi.uordblks = (mi.uordblks + system - avail) >>> 0;
  mi.arena = (mi.arena + system) >>> 0;
  mi.fsmblks = (mi.fsmblks + fastavail) >>> 0;
  // The mmapped chunks belong to no arena: they are counted once, with the main arena.
  if (av === MAIN_ARENA) {
    mi.hblks = m[W_N_MMAPS];
    mi.hblkhd = m[W_MMAPPED_MEM];
    mi.usmblks = 0;
    mi.keepcost = chunksize(env, m[(av + AV_TOP) >>> 2]); // read again at the end, as glibc does
  }
}

/** __libc_mallinfo2 */
export function libc_mallinfo2(env: Env): Mallinfo2 {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const mi = emptyMallinfo2();
  let av = MAIN_ARENA;
  do {
    int_mallinfo(env, av, mi, MALLINFO2_CYCLIC_FASTBIN, MALLINFO2_CYCLIC_BIN);
    av = av_next(env, av);
  } while (av !== MAIN_ARENA);
  return mi;
}

const u10 = (v: number): string => String(v >>> 0).padStart(10);

/** __malloc_stats: glibc's exact text (what it writes to stderr). */
export function libc_malloc_stats(env: Env): string {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const mmapped = env.u32[W_MMAPPED_MEM];
  let system_b = mmapped;
  let in_use_b = mmapped;
  let out = "";
  let av = MAIN_ARENA;
  let i = 0;
  do {
    const mi = emptyMallinfo2();
    int_mallinfo(env, av, mi, MALLOC_STATS_CYCLIC_FASTBIN, MALLOC_STATS_CYCLIC_BIN);
    out += `Arena ${i++}:\nsystem bytes     = ${u10(mi.arena)}\nin use bytes     = ${u10(mi.uordblks)}\n`;
    system_b = (system_b + mi.arena) >>> 0;
    in_use_b = (in_use_b + mi.uordblks) >>> 0;
    av = av_next(env, av);
  } while (av !== MAIN_ARENA);
  const m = env.u32;
  return (
    out +
    "Total (incl. mmap):\n" +
    `system bytes     = ${u10(system_b)}\n` +
    `in use bytes     = ${u10(in_use_b)}\n` +
    `max mmap regions = ${u10(m[W_MAX_N_MMAPS])}\n` +
    `max mmap bytes   = ${u10(m[W_MAX_MMAPPED_MEM])}\n`
  );
}

const sizeLine = (tag: string, from: number, to: number, total: number, count: number): string =>
  `  <${tag} from="${from >>> 0}" to="${to >>> 0}" total="${total >>> 0}" count="${count >>> 0}"/>\n`;
const totalLine = (type: string, count: number, size: number): string =>
  `<total type="${type}" count="${count >>> 0}" size="${size >>> 0}"/>\n`;
const sizedLine = (elem: string, type: string, size: number): string => `<${elem} type="${type}" size="${size >>> 0}"/>\n`;

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
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  const t: InfoTotals = { nblocks: 0, nfastblocks: 0, avail: 0, fastavail: 0, system: 0, maxSystem: 0, aspace: 0, aspaceMprotect: 0 };
  let out = '<malloc version="1">\n';
  let av = MAIN_ARENA;
  let n = 0;
  do {
    out += info_heap(env, av, n++, t);
    av = av_next(env, av);
  } while (av !== MAIN_ARENA);
  const m = env.u32;
  out += totalLine("fast", t.nfastblocks, t.fastavail) + totalLine("rest", t.nblocks, t.avail);
  out += `<total type="mmap" count="${env.i32[W_N_MMAPS]}" size="${m[W_MMAPPED_MEM]}"/>\n`;
  out +=
    sizedLine("system", "current", t.system) +
    sizedLine("system", "max", t.maxSystem) +
    sizedLine("aspace", "total", t.aspace) +
    sizedLine("aspace", "mprotect", t.aspaceMprotect);
  return out + "</malloc>\n";
}

/** One arena's <heap nr="n">, its counts added to the totals. */
function info_heap(env: Env, av: number, nr: number, t: InfoTotals): string {
  const m = env.u32;
  let out = `<heap nr="${nr}">\n<sizes>\n`;
  let avail = chunksize(env, m[(av + AV_TOP) >>> 2]);
  let nblocks = 1;
  let nfastblocks = 0;
  let fastavail = 0;
  // fastbins: one line each (from = size - 15, to = size)
  for (let i = 0; i < NFASTBINS; ++i) {
    let p = m[((av + AV_FASTBINS) >>> 2) + i];
    if (p === 0) continue;
    let n = 0;
    const thissize = chunksize(env, p);
    walk_start();
    while (p !== 0) {
      if (misaligned_chunk(p)) malloc_printerr(env, MALLOC_INFO_UNALIGNED_FASTBIN);
      walk_step(env, p, MALLOC_INFO_CYCLIC_FASTBIN);
      ++n;
      p = fastbin_next(env, p);
    }
    fastavail = (fastavail + n * thissize) >>> 0;
    nfastblocks += n;
    out += sizeLine("size", thissize - (MALLOC_ALIGNMENT - 1), thissize, n * thissize, n);
  }
  // regular bins (bin 1, the unsorted bin, is printed last)
  let unsortedLine = "";
  for (let i = 1; i < NBINS; ++i) {
    const b = bin_at(av, i);
    let from = 0xffffffff;
    let to = 0;
    let total = 0;
    let count = 0;
    let r = m[(b + 8) >>> 2];
    walk_start();
    if (r !== 0) {
      while (r !== b) {
        walk_step(env, r, MALLOC_INFO_CYCLIC_BIN);
        const rs = ld(env, r, 4);
        ++count;
        total = (total + rs) >>> 0;
        if (rs < from) from = rs;
        if (rs > to) to = rs;
        r = ld(env, r, 8);
      }
    }
    if (count === 0) from = 0;
    nblocks += count;
    avail = (avail + total) >>> 0;
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
  if (av !== MAIN_ARENA) {
    let heap = heap_for_ptr(env.u32[(av + AV_TOP) >>> 2]);
    do {
      heapTotal = (heapTotal + heap_size(env, heap)) >>> 0;
      heapMprotect = (heapMprotect + heap_mprotect_size(env, heap)) >>> 0;
      heap = heap_prev(env, heap);
      ++heapCount;
    } while (heap !== 0);
  }
  t.nfastblocks = (t.nfastblocks + nfastblocks) >>> 0;
  t.fastavail = (t.fastavail + fastavail) >>> 0;
  t.nblocks = (t.nblocks + nblocks) >>> 0;
  t.avail = (t.avail + avail) >>> 0;
  const system = env.u32[(av + AV_SYSTEM_MEM) >>> 2];
  const maxSystem = env.u32[(av + AV_MAX_SYSTEM_MEM) >>> 2];
  t.system = (t.system + system) >>> 0;
  t.maxSystem = (t.maxSystem + maxSystem) >>> 0;
  out += unsortedLine + "</sizes>\n";
  out += totalLine("fast", nfastblocks, fastavail) + totalLine("rest", nblocks, avail);
  out += sizedLine("system", "current", system) + sizedLine("system", "max", maxSystem);
  if (av !== MAIN_ARENA) {
    out +=
      sizedLine("aspace", "total", heapTotal) +
      sizedLine("aspace", "mprotect", heapMprotect) +
      sizedLine("aspace", "subheaps", heapCount);
    t.aspace = (t.aspace + heapTotal) >>> 0;
    t.aspaceMprotect = (t.aspaceMprotect + heapMprotect) >>> 0;
  } else {
    out += sizedLine("aspace", "total", system) + sizedLine("aspace", "mprotect", system);
    t.aspace = (t.aspace + system) >>> 0;
    t.aspaceMprotect = (t.aspaceMprotect + system) >>> 0;
  }
  return out + "</heap>\n";
}

/** __malloc_usable_size */
export function libc_malloc_usable_size(env: Env, mem: number): number {
  if (mem === 0) return 0;
  const p = (mem - 8) >>> 0;
  // chunk_is_mmapped(p) and chunksize(p): one word (a bad pointer's may be misaligned: ld reads
  // it unaligned, as the Wasm build does); then inuse(p) and memsize(p) read their words again.
  const head = ld(env, p, 4);
  if ((head & 2) !== 0) return (((head & ~7) >>> 0) - 8) >>> 0;
  if (inuse(env, p)) return memsize(env, p);
  return 0;
}

/** __malloc_trim: mtrim on every arena. */
export function libc_malloc_trim(env: Env, pad: number): number {
  if (env.u32[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  let result = 0;
  let av = MAIN_ARENA;
  do {
    result |= mtrim(env, av, pad);
    av = av_next(env, av);
  } while (av !== MAIN_ARENA);
  return result;
}

/** mtrim(av, pad): whole free pages inside av's chunks dropped, then (main arena) the top trimmed. */
function mtrim(env: Env, av: number, pad: number): number {
  malloc_consolidate(env, av);
  const m = env.u32;
  const psm1 = PAGESIZE - 1;
  const psindex = bin_index(PAGESIZE);
  let result = 0;
  for (let i = 1; i < NBINS; ++i) {
    if (i !== 1 && i < psindex) continue;
    const b = bin_at(av, i);
    walk_start();
    for (let p = m[(b + 12) >>> 2]; p !== b; p = ld(env, p, 12)) {
      walk_step(env, p, MALLOC_TRIM_CYCLIC_BIN);
      let size = chunksize(env, p);
      if (size > psm1 + SIZEOF_MALLOC_CHUNK) {
        // the chunk holds at least one whole unused page
        const paligned_mem = ((p + SIZEOF_MALLOC_CHUNK + psm1) & ~psm1) >>> 0;
        size -= paligned_mem - p;
        if (size > psm1) {
          do_madvise(env, paligned_mem, (size & ~psm1) >>> 0, MADV_DONTNEED);
          result = 1;
        }
      }
    }
  }
  return result | (av === MAIN_ARENA ? systrim(env, pad, av) : 0);
}
