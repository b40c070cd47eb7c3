// The fuzzer's checks of arenas (threads): read straight from the process's memory, as glibc 2.36
// lays them out on i386 or x86-64 (words of SIZE_SZ bytes), whichever build made them.
//
//   main_arena ──next──▶ arena 3 ──next──▶ arena 2 ──next──▶ arena 1 ──next──▶ main_arena   (the ring)
//   free_list ──next_free──▶ …                     (arenas no thread is attached to; arena.c)
//
// A non-main arena lives in its first heap, right after the heap_info; every heap starts on a
// multiple of HEAP_MAX_SIZE (1 MiB on i386, 64 MiB on x86-64), so a chunk's heap is its address
// rounded down.

import type { ArchInfo } from "./arch.js";
import type { Space } from "./space.js";

/** More arenas than any process here makes: a ring or a list longer than this is a loop. */
const MAX_ARENAS = 1024;

/** Where glibc's state is in one process: &main_arena, and mp_'s fields that the checks read (addresses). */
export interface ArenaState {
  arch: ArchInfo;
  mainArena: number;
  narenas: number;
  freeList: number;
}

const hex = (a: number) => `0x${a.toString(16)}`;

/** A plausible arena or heap address: word-aligned and readable. */
function plausible(space: Space, a: number, arch: ArchInfo): boolean {
  return a !== 0 && a % arch.word === 0 && space.base(a, arch.word) >= 0;
}

/** Whether `arena` is main_arena or on the ring that starts there. */
function inRing(space: Space, st: ArenaState, arena: number): boolean {
  const C = st.arch.c;
  let a = st.mainArena;
  for (let n = 0; n < MAX_ARENAS; n++) {
    if (a === arena) return true;
    a = space.word(a + C.AV_NEXT);
    if (a === st.mainArena || !plausible(space, a, st.arch)) return false;
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
export function arenaCheck(space: Space, st: ArenaState, liveThreads: number): string | null {
  const C = st.arch.c;
  const main = st.mainArena;
  const ring: number[] = [main];
  for (let a = space.word(main + C.AV_NEXT); a !== main; a = space.word(a + C.AV_NEXT)) {
    if (!plausible(space, a, st.arch)) return `the arena ring leads to ${hex(a)}`;
    if (ring.includes(a) || ring.length > MAX_ARENAS) return `the arena ring loops at ${hex(a)} without coming back to main_arena`;
    ring.push(a);
  }
  const narenas = space.word(st.narenas);
  if (narenas !== ring.length) return `narenas is ${narenas}, the arena ring has ${ring.length}`;
  const free: number[] = [];
  for (let a = space.word(st.freeList); a !== 0; a = space.word(a + C.AV_NEXT_FREE)) {
    if (!ring.includes(a)) return `the arena free list holds ${hex(a)}, not an arena of the ring`;
    if (free.includes(a)) return `the arena free list loops at ${hex(a)}`;
    const attached = space.word(a + C.AV_ATTACHED_THREADS);
    if (attached !== 0) return `arena ${hex(a)} is on the free list with ${attached} threads attached`;
    free.push(a);
  }
  let attachedSum = 0;
  for (const a of ring) {
    const attached = space.word(a + C.AV_ATTACHED_THREADS);
    attachedSum += attached;
    if (a !== main && attached === 0 && !free.includes(a)) return `arena ${hex(a)} has no thread attached but is not on the free list`;
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
export function heapOfBlock(space: Space, st: ArenaState, ptr: number, usable: number): string | null {
  const C = st.arch.c;
  const heap = ptr - (ptr % C.HEAP_MAX_SIZE);
  const arena = space.word(heap + C.HI_AR_PTR);
  let first = heap;
  for (let depth = 0, prev = space.word(heap + C.HI_PREV); prev !== 0; prev = space.word(prev + C.HI_PREV)) {
    if (++depth > 4096 || prev % C.HEAP_MAX_SIZE !== 0 || !plausible(space, prev, st.arch)) return `the heap chain below ${hex(heap)} leads to ${hex(prev)}`;
    const named = space.word(prev + C.HI_AR_PTR);
    if (named !== arena) return `heap ${hex(prev)} names arena ${hex(named)}, heap ${hex(heap)} above it ${hex(arena)}`;
    first = prev;
  }
  if (arena !== first + C.SIZEOF_HEAP_INFO) return `heap ${hex(heap)} names arena ${hex(arena)}, not the one after its first heap's heap_info (${hex(first + C.SIZEOF_HEAP_INFO)})`;
  if (!inRing(space, st, arena)) return `arena ${hex(arena)} of heap ${hex(heap)} is not on the arena ring`;
  const size = space.word(heap + C.HI_SIZE);
  if (ptr + usable > heap + size) return `it ends at ${hex(ptr + usable)}, beyond its heap's size (${hex(heap)} + ${size})`;
  return null;
}
