// The baseline's static data: what the Wasm build keeps in its data segment (main_arena, mp_,
// errno, __curbrk), placed at fixed addresses from PROGRAM_DATA_START, as a C program's .data.
// Free chunks point into it (bin headers are fake chunks inside their arena), so it must live in
// the emulated memory, not in JS objects.
//
//  PROGRAM_DATA_START  0x11000  main_arena  (struct malloc_state, 1116 bytes; picture below)
//                      0x11460  mp_         (struct malloc_par + the other statics, 88 bytes)
//                      0x114b8  errno
//                      0x114bc  __curbrk
//  BASELINE_DATA_END   0x114c0  the program's data segment ends here (heapBase)
//
//  main_arena  +0     mutex (unused: one thread)
//              +4     flags (NONCONTIGUOUS_BIT)
//              +8     have_fastchunks
//              +12    fastbinsY[NFASTBINS]     singly linked, LIFO, safe-linked fd
//              +56    top                      ┐ bin 1 (unsorted) seen as a chunk starts here:
//              +60    last_remainder           ┘ its prev_size/size overlay top/last_remainder
//              +64    bins[2*NBINS-2]            fd, bk of bins 1..127
//              +1080  binmap[BINMAPSIZE]
//              +1096  next, next_free, attached_threads
//              +1108  system_mem, max_system_mem
//
// main_arena and mp_ sit where the Wasm build's sit (its linker puts them first), so a heap
// of one build and of the other hold the same bytes, bin pointers included.
//
// struct malloc_par's offsets repeat assembly/arena.ts's mp_ class (AssemblyScript-only syntax,
// which TypeScript cannot import); everything else comes from config.ts.

import { PROGRAM_DATA_START } from "../constants.js";
import { SIZEOF_MALLOC_STATE } from "../../assembly/config.js";

// struct malloc_state's field offsets are shared with the Wasm build (assembly/config.ts).
export {
  AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_FASTBINS, AV_TOP, AV_LAST_REMAINDER, AV_BINS, AV_BINMAP, AV_NEXT,
  AV_SYSTEM_MEM, AV_MAX_SYSTEM_MEM, SIZEOF_MALLOC_STATE, NONCONTIGUOUS_BIT,
} from "../../assembly/config.js";

/** &main_arena */
export const MAIN_ARENA = PROGRAM_DATA_START;
/** &mp_ (16-aligned after main_arena) */
export const MP = (MAIN_ARENA + SIZEOF_MALLOC_STATE + 15) & ~15;

// ── struct malloc_par and the other statics of malloc.c (offsets in bytes) ──
export const MP_TRIM_THRESHOLD = 0;
export const MP_TOP_PAD = 4;
export const MP_MMAP_THRESHOLD = 8;
export const MP_ARENA_TEST = 12;
export const MP_ARENA_MAX = 16;
export const MP_N_MMAPS = 20;
export const MP_N_MMAPS_MAX = 24;
export const MP_MAX_N_MMAPS = 28;
export const MP_NO_DYN_THRESHOLD = 32;
export const MP_MMAPPED_MEM = 36;
export const MP_MAX_MMAPPED_MEM = 40;
export const MP_SBRK_BASE = 44;
export const MP_TCACHE_BINS = 48;
export const MP_TCACHE_MAX_BYTES = 52;
export const MP_TCACHE_COUNT = 56;
export const MP_TCACHE_UNSORTED_LIMIT = 60;
export const MP_GLOBAL_MAX_FAST = 64;
export const MP_PERTURB_BYTE = 68;
export const MP_TCACHE_KEY = 72;
export const MP_TCACHE = 76;
export const MP_MALLOC_INITIALIZED = 80;
export const MP_TCACHE_SHUTTING_DOWN = 84;
export const SIZEOF_MP = 88;

export const ERRNO_ADDR = MP + SIZEOF_MP;
export const CURBRK_ADDR = ERRNO_ADDR + 4;
/** The end of the baseline program's static data: its __heap_base. */
export const BASELINE_DATA_END = CURBRK_ADDR + 4;

// ── word indices into a Uint32Array over the whole memory ───────────────────
// Every field above is 4-aligned; the hot paths index the view with these constants. They are
// process-wide, as glibc's mp_ is. struct malloc_state's fields have none: they are indexed from
// the arena the code works on, (av + AV_TOP) >>> 2, as glibc reaches them through `mstate av`.
const W = (addr: number) => addr >>> 2;

export const W_TRIM_THRESHOLD = W(MP + MP_TRIM_THRESHOLD);
export const W_TOP_PAD = W(MP + MP_TOP_PAD);
export const W_MMAP_THRESHOLD = W(MP + MP_MMAP_THRESHOLD);
export const W_ARENA_TEST = W(MP + MP_ARENA_TEST);
export const W_ARENA_MAX = W(MP + MP_ARENA_MAX);
export const W_N_MMAPS = W(MP + MP_N_MMAPS);
export const W_N_MMAPS_MAX = W(MP + MP_N_MMAPS_MAX);
export const W_MAX_N_MMAPS = W(MP + MP_MAX_N_MMAPS);
export const W_NO_DYN_THRESHOLD = W(MP + MP_NO_DYN_THRESHOLD);
export const W_MMAPPED_MEM = W(MP + MP_MMAPPED_MEM);
export const W_MAX_MMAPPED_MEM = W(MP + MP_MAX_MMAPPED_MEM);
export const W_SBRK_BASE = W(MP + MP_SBRK_BASE);
export const W_TCACHE_BINS = W(MP + MP_TCACHE_BINS);
export const W_TCACHE_MAX_BYTES = W(MP + MP_TCACHE_MAX_BYTES);
export const W_TCACHE_COUNT = W(MP + MP_TCACHE_COUNT);
export const W_TCACHE_UNSORTED_LIMIT = W(MP + MP_TCACHE_UNSORTED_LIMIT);
export const W_GLOBAL_MAX_FAST = W(MP + MP_GLOBAL_MAX_FAST);
export const W_PERTURB_BYTE = W(MP + MP_PERTURB_BYTE);
export const W_TCACHE_KEY = W(MP + MP_TCACHE_KEY);
export const W_TCACHE = W(MP + MP_TCACHE);
export const W_MALLOC_INITIALIZED = W(MP + MP_MALLOC_INITIALIZED);
export const W_TCACHE_SHUTTING_DOWN = W(MP + MP_TCACHE_SHUTTING_DOWN);
export const W_ERRNO = W(ERRNO_ADDR);
export const W_CURBRK = W(CURBRK_ADDR);
