// The numbers that differ between the two word sizes, for the twin's one source: i386's from
// assembly/config.ts, x86-64's from the same file's `// x86_64:` values (host/generated/config-x86_64.ts).
// An Env (env.ts) carries its process's set as plain fields, chosen once when the twin is loaded.
// Numbers the two ABIs share (MALLOC_ALIGNMENT, PAGESIZE, NBINS, the flag bits, ...) are imported
// from config.ts directly; struct malloc_state's offsets have their own accessors (arena.ts).

import * as C32 from "../../assembly/config.js";
import * as C64 from "../generated/config-x86_64.js";

const pick = (c: typeof C32, wordMod: number) => ({
  SIZE_SZ: c.SIZE_SZ,
  CHUNK_HDR_SZ: c.CHUNK_HDR_SZ,
  MIN_CHUNK_SIZE: c.MIN_CHUNK_SIZE,
  MINSIZE: c.MINSIZE,
  SIZEOF_MALLOC_CHUNK: c.SIZEOF_MALLOC_CHUNK,
  /** Requests above it fail at once (x86-64: the largest double below 2^63, so that `>` tells 2^63 and up). */
  PTRDIFF_MAX: c.PTRDIFF_MAX,
  /** SIZE_MAX + 1: C's size_t arithmetic is modulo this. */
  WORD_MOD: wordMod,
  SMALLBIN_CORRECTION: c.SMALLBIN_CORRECTION,
  MIN_LARGE_SIZE: c.MIN_LARGE_SIZE,
  MAX_FAST_SIZE: c.MAX_FAST_SIZE,
  DEFAULT_MXFAST: c.DEFAULT_MXFAST,
  FASTBIN_SHIFT: c.FASTBIN_SHIFT,
  NFASTBINS: c.NFASTBINS,
  MAX_TCACHE_SIZE: c.MAX_TCACHE_SIZE,
  SIZEOF_TCACHE: c.SIZEOF_TCACHE,
  TCACHE_ENTRIES_OFFSET: c.TCACHE_ENTRIES_OFFSET,
  DEFAULT_MMAP_THRESHOLD_MAX: c.DEFAULT_MMAP_THRESHOLD_MAX,
  DEFAULT_ARENA_TEST: c.DEFAULT_ARENA_TEST,
  HEAP_MAX_SIZE: c.HEAP_MAX_SIZE,
  SIZEOF_HEAP_INFO: c.SIZEOF_HEAP_INFO,
  NARENAS_PER_CORE: c.NARENAS_PER_CORE,
  SIZEOF_MALLOC_STATE: c.SIZEOF_MALLOC_STATE,
  SIZEOF_TLS: c.SIZEOF_TLS,
});

/** One ABI's numbers. */
export type Abi = Readonly<ReturnType<typeof pick>>;

export const ABI_I386: Abi = pick(C32, 2 ** 32);
export const ABI_X86_64: Abi = pick(C64 as unknown as typeof C32, 2 ** 64);
