// The baseline's static data: what the Wasm build keeps in its data segment (main_arena, mp_,
// the main thread's TLS block, errno, __curbrk), placed at fixed addresses from
// PROGRAM_DATA_START, as a C program's .data. Free chunks point into it (bin headers are fake
// chunks inside their arena), so it must live in the emulated memory, not in JS objects.
//
//  PROGRAM_DATA_START  0x11000  main_arena  (struct malloc_state, 1116 bytes; picture below)
//                      0x11460  mp_         (struct malloc_par + the other statics, 128 bytes)
//                      0x114e0  main_tls    (the main thread's TLS block, 16 bytes: thread.ts)
//                      0x114f0  errno
//                      0x114f4  __curbrk
//  BASELINE_DATA_END   0x114f8  the program's data segment ends here (heapBase)
//
//  main_arena  +0     mutex (unused: threads run one at a time)
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
// main_arena, mp_ and main_tls sit where the Wasm build's sit (its linker puts them first, in
// that order), so a heap of one build and of the other hold the same bytes, bin pointers included.
// The other arenas live at the start of their first heap (heap.ts), in mappings.
//
// struct malloc_par's offsets repeat assembly/arena.ts's mp_ class (AssemblyScript-only syntax,
// which TypeScript cannot import); everything else comes from config.ts.

import { PROGRAM_DATA_START } from "../constants.js";
import { SIZEOF_MALLOC_STATE, SIZEOF_TLS } from "../../assembly/config.js";
import { SIZEOF_MALLOC_STATE as SIZEOF_MALLOC_STATE_X86_64 } from "../generated/config-x86_64.js";
import { WASM_DATA_START_X86_64 } from "../generated/wasm-layout.js";

// struct malloc_state's field offsets are shared with the Wasm build (assembly/config.ts).
export {
  AV_FLAGS, AV_HAVE_FASTCHUNKS, AV_FASTBINS, AV_TOP, AV_LAST_REMAINDER, AV_BINS, AV_BINMAP, AV_NEXT,
  AV_NEXT_FREE, AV_ATTACHED_THREADS, AV_SYSTEM_MEM, AV_MAX_SYSTEM_MEM, SIZEOF_MALLOC_STATE, NONCONTIGUOUS_BIT,
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
// the current thread's arena (glibc's __thread thread_arena; thread.ts swaps it per thread)
export const MP_THREAD_ARENA = 88;
// arena.c's statics: the arena count, the free list, the limit fixed once, reused_arena's cursor,
// new_heap's hint, and whether a second thread was ever made (SINGLE_THREAD_P false)
export const MP_NARENAS = 92;
export const MP_FREE_LIST = 96;
export const MP_NARENAS_LIMIT = 100;
export const MP_NEXT_TO_USE = 104;
export const MP_ALIGNED_HEAP_AREA = 108;
export const MP_MULTIPLE_THREADS = 112;
// what get_nprocs() returns (the host sets it), and the current thread's TLS block (0: the main thread's)
export const MP_NPROCS = 116;
export const MP_CUR_TLS = 120;
// vm.overcommit_memory is 2 (glibc's check_may_shrink_heap): shrink_heap remaps PROT_NONE
export const MP_MAY_SHRINK_HEAP = 124;
export const SIZEOF_MP = 128;

/** The main thread's TLS block (thread.ts): its malloc state while another thread runs. */
export const MAIN_TLS = MP + SIZEOF_MP;
export const ERRNO_ADDR = MAIN_TLS + SIZEOF_TLS;
export const CURBRK_ADDR = ERRNO_ADDR + 4;
/** The end of the baseline program's static data: its __heap_base. */
export const BASELINE_DATA_END = CURBRK_ADDR + 4;

// ── slots: mp_'s fields and the statics after it, by number ───────────────────
// Every field above is 4-aligned; the code reads them as env.mp[W_*] (env.mpi[W_*] for the int
// fields): on i386 a view of the words from MP on, so a slot is a field's offset from MP / 4; on
// x86-64 a slot holds a number (env.ts). They are process-wide, as glibc's mp_ is. struct
// malloc_state's fields have none: they are reached from the arena the code works on (arena.ts),
// as glibc reaches them through `mstate av`.
const W = (offset: number) => offset >>> 2;

export const W_TRIM_THRESHOLD = W(MP_TRIM_THRESHOLD);
export const W_TOP_PAD = W(MP_TOP_PAD);
export const W_MMAP_THRESHOLD = W(MP_MMAP_THRESHOLD);
export const W_ARENA_TEST = W(MP_ARENA_TEST);
export const W_ARENA_MAX = W(MP_ARENA_MAX);
export const W_N_MMAPS = W(MP_N_MMAPS);
export const W_N_MMAPS_MAX = W(MP_N_MMAPS_MAX);
export const W_MAX_N_MMAPS = W(MP_MAX_N_MMAPS);
export const W_NO_DYN_THRESHOLD = W(MP_NO_DYN_THRESHOLD);
export const W_MMAPPED_MEM = W(MP_MMAPPED_MEM);
export const W_MAX_MMAPPED_MEM = W(MP_MAX_MMAPPED_MEM);
export const W_SBRK_BASE = W(MP_SBRK_BASE);
export const W_TCACHE_BINS = W(MP_TCACHE_BINS);
export const W_TCACHE_MAX_BYTES = W(MP_TCACHE_MAX_BYTES);
export const W_TCACHE_COUNT = W(MP_TCACHE_COUNT);
export const W_TCACHE_UNSORTED_LIMIT = W(MP_TCACHE_UNSORTED_LIMIT);
export const W_GLOBAL_MAX_FAST = W(MP_GLOBAL_MAX_FAST);
export const W_PERTURB_BYTE = W(MP_PERTURB_BYTE);
export const W_TCACHE_KEY = W(MP_TCACHE_KEY);
export const W_TCACHE = W(MP_TCACHE);
export const W_MALLOC_INITIALIZED = W(MP_MALLOC_INITIALIZED);
export const W_TCACHE_SHUTTING_DOWN = W(MP_TCACHE_SHUTTING_DOWN);
export const W_THREAD_ARENA = W(MP_THREAD_ARENA);
export const W_NARENAS = W(MP_NARENAS);
export const W_FREE_LIST = W(MP_FREE_LIST);
export const W_NARENAS_LIMIT = W(MP_NARENAS_LIMIT);
export const W_NEXT_TO_USE = W(MP_NEXT_TO_USE);
export const W_ALIGNED_HEAP_AREA = W(MP_ALIGNED_HEAP_AREA);
export const W_MULTIPLE_THREADS = W(MP_MULTIPLE_THREADS);
export const W_NPROCS = W(MP_NPROCS);
export const W_CUR_TLS = W(MP_CUR_TLS);
export const W_MAY_SHRINK_HEAP = W(MP_MAY_SHRINK_HEAP);
export const W_ERRNO = W(ERRNO_ADDR - MP);
export const W_CURBRK = W(CURBRK_ADDR - MP);
/** x86-64: the tcache key's upper half (the key has 64 bits; W_TCACHE_KEY holds the lower). */
export const W_TCACHE_KEY_HI = W_CURBRK + 1;
/** How many slots a process's env.mp has (i386: up to __curbrk; x86-64: one more). */
export const MP_SLOTS_I386 = W_CURBRK + 1;
export const MP_SLOTS_X86_64 = W_TCACHE_KEY_HI + 1;

// ── x86-64: where the Wasm build's x86-64 module has its statics ───────────
// Its linker puts main_arena first at the module's memoryBase, then mp_ (16-aligned), then the
// main TLS block: the twin puts main_arena and the main TLS block at the same offsets, so that
// the same seed gives the same VAs and heap bytes (bin pointers, the main thread's TLS address).
// mp_ stays on the host side (env.mp): no chunk points into it.
export const MAIN_ARENA_OFFSET_X86_64 = WASM_DATA_START_X86_64;
/** sizeof(struct malloc_par) and the statics after it in the x86-64 module (assembly/arena.ts's MallocPar: 220 bytes, padded). */
const SIZEOF_MP_X86_64 = 224;
const MP_OFFSET_X86_64 = (MAIN_ARENA_OFFSET_X86_64 + SIZEOF_MALLOC_STATE_X86_64 + 15) & ~15;
export const MAIN_TLS_OFFSET_X86_64 = MP_OFFSET_X86_64 + SIZEOF_MP_X86_64;
