// The fuzzer's checks of arenas (threads): read straight from the process's memory, as glibc 2.36
// lays them out on i386, whichever build made them.
//
//   main_arena ──next──▶ arena 3 ──next──▶ arena 2 ──next──▶ arena 1 ──next──▶ main_arena   (the ring)
//   free_list ──next_free──▶ …                     (arenas no thread is attached to; arena.c)
//
// A non-main arena lives in its first heap, right after the heap_info; every heap starts on a
// multiple of HEAP_MAX_SIZE (1 MiB), so a chunk's heap is its address rounded down.

import { AV_ATTACHED_THREADS, AV_NEXT, AV_NEXT_FREE, HEAP_MAX_SIZE, HI_AR_PTR, HI_PREV, HI_SIZE, SIZEOF_HEAP_INFO } from "../../assembly/config.js";
import { MAIN_ARENA, MP, MP_FREE_LIST, MP_NARENAS } from "../baseline/layout.js";

/** More arenas than any process here makes: a ring or a list longer than this is a loop. */
const MAX_ARENAS = 1024;

/** Whether `arena` is main_arena or on the ring that starts there. */
function inRing(words: Uint32Array, arena: number): boolean {
  let a = MAIN_ARENA;
  for (let n = 0; n < MAX_ARENAS; n++) {
    if (a === arena) return true;
    a = words[(a + AV_NEXT) >>> 2];
    if (a === MAIN_ARENA || a === 0 || a % 4 !== 0 || (a >>> 2) >= words.length) return false;
  }
  return false;
}

/**
 * The arena ring and the free list, as arena.c keeps them: the ring comes back to main_arena and
 * has `narenas` arenas; the free list holds arenas of the ring, each once, none with a thread
 * attached; a non-main arena no thread is attached to is on the free list (the main thread never
 * exits, so main_arena never needs to be); and the threads attached add up to at most the main
 * thread plus the live threads. Returns what is wrong, or null.
 */
export function arenaCheck(words: Uint32Array, liveThreads: number): string | null {
  const ring: number[] = [MAIN_ARENA];
  for (let a = words[(MAIN_ARENA + AV_NEXT) >>> 2]; a !== MAIN_ARENA; a = words[(a + AV_NEXT) >>> 2]) {
    if (a === 0 || a % 4 !== 0 || (a >>> 2) >= words.length) return `the arena ring leads to 0x${a.toString(16)}`;
    if (ring.includes(a) || ring.length > MAX_ARENAS) return `the arena ring loops at 0x${a.toString(16)} without coming back to main_arena`;
    ring.push(a);
  }
  const narenas = words[(MP + MP_NARENAS) >>> 2];
  if (narenas !== ring.length) return `narenas is ${narenas}, the arena ring has ${ring.length}`;
  const free: number[] = [];
  for (let a = words[(MP + MP_FREE_LIST) >>> 2]; a !== 0; a = words[(a + AV_NEXT_FREE) >>> 2]) {
    if (!ring.includes(a)) return `the arena free list holds 0x${a.toString(16)}, not an arena of the ring`;
    if (free.includes(a)) return `the arena free list loops at 0x${a.toString(16)}`;
    const attached = words[(a + AV_ATTACHED_THREADS) >>> 2];
    if (attached !== 0) return `arena 0x${a.toString(16)} is on the free list with ${attached} threads attached`;
    free.push(a);
  }
  let attachedSum = 0;
  for (const a of ring) {
    const attached = words[(a + AV_ATTACHED_THREADS) >>> 2];
    attachedSum += attached;
    if (a !== MAIN_ARENA && attached === 0 && !free.includes(a)) return `arena 0x${a.toString(16)} has no thread attached but is not on the free list`;
  }
  if (attachedSum < 1 || attachedSum > 1 + liveThreads) return `${attachedSum} threads attached to arenas, with ${liveThreads} live threads besides the main one`;
  return null;
}

/**
 * A block whose chunk has NON_MAIN_ARENA set (`ptr`, `usable` bytes): its heap (the address rounded
 * down to HEAP_MAX_SIZE) and every heap before it in the chain name the same arena, which sits
 * right after the first heap's heap_info and is on the ring; the block lies inside its heap's
 * current size. Returns what is wrong, or null.
 */
export function heapOfBlock(words: Uint32Array, ptr: number, usable: number): string | null {
  const heap = ptr - (ptr % HEAP_MAX_SIZE);
  const arena = words[(heap + HI_AR_PTR) >>> 2];
  let first = heap;
  for (let depth = 0, prev = words[(heap + HI_PREV) >>> 2]; prev !== 0; prev = words[(prev + HI_PREV) >>> 2]) {
    if (++depth > 4096 || prev % HEAP_MAX_SIZE !== 0 || (prev >>> 2) >= words.length) return `the heap chain below 0x${heap.toString(16)} leads to 0x${prev.toString(16)}`;
    if (words[(prev + HI_AR_PTR) >>> 2] !== arena) return `heap 0x${prev.toString(16)} names arena 0x${words[(prev + HI_AR_PTR) >>> 2].toString(16)}, heap 0x${heap.toString(16)} above it 0x${arena.toString(16)}`;
    first = prev;
  }
  if (arena !== first + SIZEOF_HEAP_INFO) return `heap 0x${heap.toString(16)} names arena 0x${arena.toString(16)}, not the one after its first heap's heap_info (0x${(first + SIZEOF_HEAP_INFO).toString(16)})`;
  if (!inRing(words, arena)) return `arena 0x${arena.toString(16)} of heap 0x${heap.toString(16)} is not on the arena ring`;
  const size = words[(heap + HI_SIZE) >>> 2];
  if (ptr + usable > heap + size) return `it ends at 0x${(ptr + usable).toString(16)}, beyond its heap's size (0x${heap.toString(16)} + ${size})`;
  return null;
}
