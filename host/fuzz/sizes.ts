// Request sizes that reach every path of glibc's malloc, per ABI, and the profiles that mix them.
//
// Everything derives from the ABI's constants (arch.ts: SIZE_SZ 4 or 8, MALLOC_ALIGNMENT 16): a
// request of n bytes needs the chunk (n + SIZE_SZ + 15) & ~15 (at least MINSIZE: 16 or 32), so a
// chunk of C bytes serves requests C − 15 − SIZE_SZ … C − SIZE_SZ.
//
//                      i386                                x86_64
//   fast chunks        ≤ 64 (M_MXFAST up to 80)            ≤ 128 (M_MXFAST up to 160)
//   tcache             requests ≤ 1020 (chunks ≤ 1024)     requests ≤ 1032 (chunks ≤ 1040)
//   small bins         chunks < 1008                       chunks < 1024
//   large bins         largebin_index_32_big               largebin_index_64
//   mmap threshold     128 KiB, rising up to 512 KiB       128 KiB, rising up to 32 MiB
//   no address space   above PTRDIFF_MAX (2^31 − 1)        from 2^47 (TASK_SIZE) on
//
// The large-bin index (C: the chunk size), i386 / x86_64:
//
//   (C >> 6) ≤ 45 / 48 ? 49 / 48 + (C >> 6) : (C >> 9) ≤ 20 ? 91 + (C >> 9) : (C >> 12) ≤ 10 ? 110 + (C >> 12)
//   : (C >> 15) ≤ 4 ? 119 + (C >> 15) : (C >> 18) ≤ 2 ? 124 + (C >> 18) : 126
//
// An x86_64 size is a 64-bit C value spelt as arch.ts says (SIZE_MAX is -1). The i386 tables are
// the ones the fuzzer had before it knew x86_64, value for value and in the same order, so that a
// seed still names the same sequence.

import { largebin_index, largebin_index_64 } from "../baseline/bins.js";
import { type ArchInfo, I386_INFO, X86_64_INFO } from "./arch.js";
import type { Prng } from "./prng.js";

const MiB = 1 << 20;
const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;

/**
 * The size classes the generator reports (by the chunk a request needs, at default settings):
 * fast chunks, other small ones (all of these also go to the tcache), the tcache's upper limit
 * (requests within 16 bytes of it), large-bin edges, other large ones, requests that extend the
 * top, mmapped ones up to the dynamic threshold's ceiling and beyond, huge (≥ 64 MiB), overflowing
 * or beyond any address space; and alignments, mremap'd reallocs, regions.
 */
export const CLASSES = [
  "zero", "fast", "small", "tcache-edge", "large", "large-bin-edge", "top-extend", "mmap", "mmap-above-max",
  "huge", "overflow", "align>page", "align-1MiB", "realloc-mremap", "kernel-region",
] as const;
export type SizeClass = (typeof CLASSES)[number];
export const CLASS_ID: Readonly<Record<SizeClass, number>> = Object.fromEntries(CLASSES.map((c, i) => [c, i])) as Record<SizeClass, number>;

export type Profile = "tiny" | "mixed" | "large" | "adversarial";
export const PROFILES: readonly Profile[] = ["tiny", "mixed", "large", "adversarial"];

/** What the size draw may not produce (the oracles cannot follow layout-dependent outcomes). */
export interface SizeLimits {
  /** Largest successful-looking size (requests above it that some address space could hold are brought down to it). */
  maxHuge: number;
  /** x86_64: requests beyond 32 bits that no window may hold (4 GiB and up) are drawn and kept (not with the oracle). */
  beyond32?: boolean;
  /** x86_64: sizes stay below 2^32 (the threads oracle's op lists carry 32-bit sizes only). */
  narrow?: boolean;
}

/** One ABI's sizes. */
export interface SizeTable {
  readonly arch: ArchInfo;
  /** SIZE_MAX as spelt (0xffffffff; -1 on x86_64). */
  readonly SIZE_MAX: number;
  /** The largest chunk M_MXFAST can make fast ((MAX_FAST_SIZE + SIZE_SZ) & ~15: 80 or 160). */
  readonly fastMaxChunk: number;
  /** The chunk sizes at which a new large bin starts (the first is MIN_LARGE_SIZE), up to 1 MiB. */
  readonly largeBinStarts: readonly number[];
  /** Requests at every boundary of the size classes (minimum chunk, fast, tcache, small/large, large bins, mmap, address space). */
  readonly boundaryRequests: readonly number[];
  /** Sizes glibc must refuse (ENOMEM) on every machine: request2size overflows, or no address space holds them. */
  readonly failingSizes: readonly number[];
  /** calloc / reallocarray pairs whose product overflows size_t or exceeds PTRDIFF_MAX (or, x86_64, the address space). */
  readonly overflowPairs: readonly (readonly [number, number])[];
  /** The same with both factors below 2^32 (x86_64, narrow). */
  readonly narrowOverflowPairs: readonly (readonly [number, number])[];
  /** The chunk glibc uses for a request (request2size). */
  chunkFor(request: number): number;
  /** The large bin of a chunk of `size` bytes. */
  largebinIndex(size: number): number;
  /** The class of a plain request. */
  classOf(request: number): number;
}

function makeTable(arch: ArchInfo): SizeTable {
  const C = arch.c;
  const SZ = C.SIZE_SZ;
  const MASK = C.MALLOC_ALIGN_MASK;
  // (arithmetic, not & ~15: x86_64 requests go past 32 bits)
  const chunkFor = (request: number): number => {
    const padded = request + SZ + MASK;
    return padded < C.MINSIZE ? C.MINSIZE : padded - (padded % C.MALLOC_ALIGNMENT);
  };
  const largebinIndex = arch.wide ? largebin_index_64 : largebin_index;
  const largeBinStarts = [C.MIN_LARGE_SIZE];
  for (let c = C.MIN_LARGE_SIZE + 16; c <= MiB; c += 16) if (largebinIndex(c) !== largebinIndex(c - 16)) largeBinStarts.push(c);
  /** Requests whose chunks sit on either side of a boundary: the largest request of the chunk below, the smallest and largest of the chunk at it. */
  const edges = (chunk: number): number[] => [chunk - 16 - SZ, chunk - MASK - SZ, chunk - SZ];
  const fastMaxChunk = (C.MAX_FAST_SIZE + SZ) & ~MASK;
  // the default fast limit (M_MXFAST 128: chunks ≤ 128) is an edge of its own on x86_64; i386 keeps
  // the list it always had (a seed names the same sequence)
  const defaultFastChunk = (C.DEFAULT_MXFAST + SZ) & ~MASK;
  const fastEdgeChunks = arch.wide ? [defaultFastChunk, defaultFastChunk + 16, fastMaxChunk, fastMaxChunk + 16] : [fastMaxChunk, fastMaxChunk + 16];
  const boundaryRequests = [
    0, 1, C.MINSIZE - SZ, C.MINSIZE - SZ + 1, C.MINSIZE + 16 - SZ, C.MINSIZE + 16 - SZ + 1,
    ...fastEdgeChunks.flatMap(edges),
    C.MAX_TCACHE_SIZE, C.MAX_TCACHE_SIZE + 1,
    ...largeBinStarts.flatMap(edges),
    C.DEFAULT_MMAP_THRESHOLD - 1, C.DEFAULT_MMAP_THRESHOLD, C.DEFAULT_MMAP_THRESHOLD + 1,
    C.DEFAULT_MMAP_THRESHOLD_MAX - 1, C.DEFAULT_MMAP_THRESHOLD_MAX, C.DEFAULT_MMAP_THRESHOLD_MAX + 1,
    4096 - SZ, 4096, 65536 - SZ, 65536,
    // PTRDIFF_MAX (i386: 2^31 − 1 and just below); x86_64: where 32 bits end (4 GiB: a size a
    // truncation to 32 bits would shrink), and the exact doubles either side of PTRDIFF_MAX
    ...(arch.wide ? [TWO_32 - 1, TWO_32, TWO_32 + 16, 2 ** 63 - 1024, -(2 ** 63)] : [0x7fffffff - 32, 0x7fffffff]),
  ];
  const SIZE_MAX = arch.spell(arch.wordRange - 1);
  const failingSizes = arch.wide
    ? // SIZE_MAX and just below, SIZE_MAX − 4095, 2^64 − 2^32, PTRDIFF_MAX + 1, PTRDIFF_MAX − 1023 (it
      // passes request2size; no mapping or break holds it), and sizes no 47-bit address space holds
      [-1, -2, -16, -17, -4096, -TWO_32, -(2 ** 63), 2 ** 63 - 1024, 2 ** 62, 2 ** 48, 2 ** 47 + 16]
    : [SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 4095, 0xfffff000, 0xf0000000, 0x80000000, 0x7fffffff + 16];
  const overflowPairs: Array<readonly [number, number]> = arch.wide
    ? [
        [TWO_32, TWO_32], [-1, 2], [2, -(2 ** 63)], [2 ** 62, 4], [3, 0x5555555555556000], [0x1000, TWO_53 / 2 + 1],
        // no overflow, but beyond PTRDIFF_MAX
        [2, 2 ** 63 - 1024], [0xffffffff, 0xffffffff],
      ]
    : [[0x10000, 0x10000], [0xffffffff, 2], [2, 0x80000000], [0x40000000, 4], [3, 0x55555556], [0x1000, 0x80001]];
  // (x86_64, both factors below 2^32: products past PTRDIFF_MAX, or past any address space)
  const narrowOverflowPairs: Array<readonly [number, number]> = [[0xffffffff, 0xffffffff], [0x80000000, 0xffffffff], [0x80000000, 0x80000000], [0xfffff000, 0x10000000]];
  const edgeSet = new Set(largeBinStarts.flatMap(edges));
  const overflowFrom = arch.wide ? arch.noSpace : 0x7fffffff;
  const classOf = (request: number): number => {
    const u = arch.unsigned(request);
    if (u === 0) return CLASS_ID.zero;
    if (u >= overflowFrom) return CLASS_ID.overflow;
    const chunk = chunkFor(u);
    if (chunk <= fastMaxChunk) return CLASS_ID.fast;
    if (edgeSet.has(u)) return CLASS_ID["large-bin-edge"];
    if (u > C.MAX_TCACHE_SIZE - 16 && u <= C.MAX_TCACHE_SIZE + 16) return CLASS_ID["tcache-edge"];
    if (chunk < C.MIN_LARGE_SIZE) return CLASS_ID.small;
    if (u < 65536) return CLASS_ID.large;
    if (u < C.DEFAULT_MMAP_THRESHOLD) return CLASS_ID["top-extend"];
    if (u <= C.DEFAULT_MMAP_THRESHOLD_MAX) return CLASS_ID.mmap;
    if (u < 64 * MiB) return CLASS_ID["mmap-above-max"];
    return CLASS_ID.huge;
  };
  return { arch, SIZE_MAX, fastMaxChunk, largeBinStarts, boundaryRequests, failingSizes, overflowPairs, narrowOverflowPairs, chunkFor, largebinIndex, classOf };
}

export const SIZES_I386 = makeTable(I386_INFO);
export const SIZES_X86_64 = makeTable(X86_64_INFO);
export const sizeTable = (arch: ArchInfo): SizeTable => (arch.wide ? SIZES_X86_64 : SIZES_I386);

/**
 * A request size for `profile`. Requests past PTRDIFF_MAX fail in glibc before any system call;
 * below, sizes beyond `limits.maxHuge` that some address space could hold are brought down to it
 * (x86_64: those of 4 GiB and up stay when `limits.beyond32`; with `limits.narrow` every size
 * stays below 2^32).
 */
export function drawSize(rng: Prng, T: SizeTable, profile: Profile, limits: SizeLimits): number {
  const size = drawRaw(rng, T, profile, limits);
  if (!T.arch.wide) return size > limits.maxHuge && size <= 0x7fffffff ? limits.maxHuge : size;
  const u = T.arch.unsigned(size);
  if (u <= limits.maxHuge) return size;
  if (limits.narrow || u < TWO_32 || (u < T.arch.noSpace && !limits.beyond32)) return limits.maxHuge;
  return size;
}

function drawRaw(rng: Prng, T: SizeTable, profile: Profile, limits: SizeLimits): number {
  const C = T.arch.c;
  const SZ = C.SIZE_SZ;
  const r = rng.below(1000);
  switch (profile) {
    case "tiny":
      if (r < 700) return rng.range(0, T.fastMaxChunk);
      if (r < 950) return rng.range(T.fastMaxChunk + 1, 1100);
      if (r < 990) return rng.logUniform(1100, 16384);
      return rng.pick(T.boundaryRequests.filter((s) => s >= 0 && s <= 4096));
    case "mixed":
      // big blocks are few: each mmapped chunk costs the kernel a pass over its pages when it
      // goes (it looks for raw writes), so they would dominate the run; "large" has them often
      if (r < 420) return rng.range(0, C.DEFAULT_MXFAST);
      if (r < 680) return rng.range(C.DEFAULT_MXFAST + 1, C.MAX_TCACHE_SIZE + 12);
      if (r < 850) return rng.logUniform(1024, 8192);
      if (r < 930) return rng.pick(T.largeBinStarts) - SZ - rng.below(2) * 16;
      if (r < 990) return rng.logUniform(8192, C.DEFAULT_MMAP_THRESHOLD - 1);
      if (r < 995) return rng.logUniform(C.DEFAULT_MMAP_THRESHOLD - 4096, 1 << 20);
      if (r < 999 || !rng.chance(0.5)) return special(rng, T, { ...limits, maxHuge: Math.min(limits.maxHuge, 0x7fffffff) }, true);
      return rng.logUniform(1 << 20, 16 << 20);
    case "large":
      if (r < 150) return rng.range(0, 1100);
      if (r < 500) return rng.logUniform(1008, C.DEFAULT_MMAP_THRESHOLD - 1);
      if (r < 650) return rng.pick(T.largeBinStarts) - SZ - rng.below(2) * 16;
      if (r < 900) return rng.logUniform(C.DEFAULT_MMAP_THRESHOLD - 4096, 4 << 20);
      if (r < 990) return rng.logUniform(4 << 20, 32 << 20);
      return special(rng, T, limits);
    case "adversarial": {
      if (r < 450) return rng.pick(T.boundaryRequests);
      if (r < 600) return rng.range(0, 96);
      if (r < 750) return rng.logUniform(97, 1 << 20);
      if (r < 900) return special(rng, T, limits);
      const at = rng.pick(T.boundaryRequests);
      const by = rng.range(-3, 3);
      // x86_64: a boundary a few bytes off, in 64-bit arithmetic (0 − 3 is SIZE_MAX − 2); the
      // boundaries beyond 2^53 stay as they are (their neighbours are no doubles)
      if (T.arch.wide) return Math.abs(at) < TWO_53 ? at + by : at;
      return (at + by) >>> 0;
    }
  }
}

/** The far ends: sizes glibc must refuse, huge ones it may serve, and (x86_64) ones beyond 32 bits. */
function special(rng: Prng, T: SizeTable, limits: SizeLimits, failing = false): number {
  if (failing || rng.chance(0.6)) return rng.pick(T.failingSizes);
  if (T.arch.wide && limits.beyond32 && rng.chance(0.15)) return rng.logUniform(TWO_32 - 4096, 2 ** 36);
  return rng.logUniform(16 << 20, limits.maxHuge);
}

/**
 * Alignments for the memalign family: powers of two up to 1 MiB, and odd values glibc rounds or
 * refuses. `narrow` (x86_64): none of 2^32 or more, and none that needs gigabytes of a 64-bit
 * address space (which the real machine may grant and the windows do not hold).
 */
export function drawAlign(rng: Prng, T: SizeTable, profile: Profile, maxAlign: number, narrow = false): number {
  const r = rng.below(100);
  if (profile === "adversarial" && r < 15) {
    // x86_64: 2^47 (no address space holds it), 2^63 (SIZE_MAX / 2 + 1, the largest glibc takes), SIZE_MAX − 15
    if (narrow) return rng.pick([0, 1, 3, 24, 100]);
    return rng.pick(T.arch.wide ? [0, 1, 3, 24, 100, 2 ** 47, -(2 ** 63), -16] : [0, 1, 3, 24, 100, 0x80000000, 0xfffffff0]);
  }
  if (r < 60) return Math.min(maxAlign, 1 << rng.range(3, 8));
  if (r < 85) return Math.min(maxAlign, 1 << rng.range(9, 12));
  return Math.min(maxAlign, 1 << rng.range(13, 20));
}
