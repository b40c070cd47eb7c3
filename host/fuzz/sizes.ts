// Request sizes that reach every path of glibc's malloc on i386, and the profiles that mix them.
//
// Everything derives from the i386 constants (SIZE_SZ 4, MALLOC_ALIGNMENT 16) in assembly/config:
// a request of n bytes needs the chunk (n + 4 + 15) & ~15 (at least 16), so a chunk of C bytes
// serves requests C−19 … C−4. Chunks up to 80 bytes are fast (M_MXFAST 64), up to 1024 go to the
// tcache (requests ≤ 1020), below 1008 to small bins; from 1008 on, large bins, whose index is
// glibc's largebin_index_32_big (MALLOC_ALIGNMENT 16 on a 32-bit target):
//
//   (C >> 6) ≤ 45 ? 49 + (C >> 6) : (C >> 9) ≤ 20 ? 91 + (C >> 9) : (C >> 12) ≤ 10 ? 110 + (C >> 12)
//   : (C >> 15) ≤ 4 ? 119 + (C >> 15) : (C >> 18) ≤ 2 ? 124 + (C >> 18) : 126
//
// Requests from the mmap threshold (128 KiB, rising with frees of mmapped chunks up to 512 KiB)
// are mmapped.

import {
  DEFAULT_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD_MAX, DEFAULT_MXFAST, MALLOC_ALIGN_MASK, MAX_TCACHE_SIZE,
  MIN_LARGE_SIZE, MINSIZE, SIZE_SZ,
} from "../../assembly/config.js";
import { largebin_index } from "../baseline/bins.js";
import type { Prng } from "./prng.js";

export const SIZE_MAX = 0xffffffff;

/** The chunk size glibc uses for a request (request2size). */
export function chunkFor(request: number): number {
  return request + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE ? MINSIZE : (request + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK;
}

/** glibc's largebin_index_32_big: the large bin of a chunk of `size` bytes (the baseline's). */
export const largebinIndex = largebin_index;

/** The chunk sizes at which a new large bin starts (the first is MIN_LARGE_SIZE). */
export const LARGE_BIN_STARTS: readonly number[] = (() => {
  const starts = [MIN_LARGE_SIZE];
  for (let c = MIN_LARGE_SIZE + 16; c <= 1 << 20; c += 16) {
    if (largebinIndex(c) !== largebinIndex(c - 16)) starts.push(c);
  }
  return starts;
})();

/** Requests whose chunks sit on either side of a boundary: the largest request of the chunk below, the smallest and largest of the chunk at it. */
function edges(chunk: number): number[] {
  return [chunk - 16 - SIZE_SZ, chunk - MALLOC_ALIGN_MASK - SIZE_SZ, chunk - SIZE_SZ];
}

const FAST_MAX_CHUNK = chunkFor(DEFAULT_MXFAST); // 80
/** Requests at every boundary of the size classes (fast, tcache, small/large, large bins, mmap). */
export const BOUNDARY_REQUESTS: readonly number[] = [
  0, 1, 12, 13, 28, 29,
  ...edges(FAST_MAX_CHUNK), ...edges(FAST_MAX_CHUNK + 16),
  MAX_TCACHE_SIZE, MAX_TCACHE_SIZE + 1,
  ...LARGE_BIN_STARTS.flatMap(edges),
  DEFAULT_MMAP_THRESHOLD - 1, DEFAULT_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD + 1,
  DEFAULT_MMAP_THRESHOLD_MAX - 1, DEFAULT_MMAP_THRESHOLD_MAX, DEFAULT_MMAP_THRESHOLD_MAX + 1,
  4096 - SIZE_SZ, 4096, 65536 - SIZE_SZ, 65536, 0x7fffffff - 32, 0x7fffffff,
];

/** Sizes glibc must refuse (ENOMEM): request2size overflows, or no address space holds them. */
export const FAILING_SIZES: readonly number[] = [
  SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 4095, 0xfffff000, 0xf0000000, 0x80000000, 0x7fffffff + 16,
];

/**
 * The size classes the generator reports (by the chunk a request needs, at default settings):
 * fast chunks (≤ 80 bytes), other small ones (< 1008; all of these also go to the tcache), the
 * tcache's upper limit (requests 1005–1036), large-bin edges, other large ones, requests that
 * extend the top, mmapped ones up to the dynamic threshold's ceiling (512 KiB) and beyond, huge
 * (≥ 64 MiB), overflowing or above PTRDIFF_MAX; and alignments, mremap'd reallocs, regions.
 */
export const CLASSES = [
  "zero", "fast", "small", "tcache-edge", "large", "large-bin-edge", "top-extend", "mmap", "mmap-above-max",
  "huge", "overflow", "align>page", "align-1MiB", "realloc-mremap", "kernel-region",
] as const;
export type SizeClass = (typeof CLASSES)[number];
export const CLASS_ID: Readonly<Record<SizeClass, number>> = Object.fromEntries(CLASSES.map((c, i) => [c, i])) as Record<SizeClass, number>;

const EDGE_SET = new Set(LARGE_BIN_STARTS.flatMap(edges));

/** The class of a plain request. */
export function classOf(request: number): number {
  if (request === 0) return CLASS_ID.zero;
  if (request >= 0x7fffffff) return CLASS_ID.overflow;
  const chunk = chunkFor(request);
  if (chunk <= FAST_MAX_CHUNK) return CLASS_ID.fast;
  if (EDGE_SET.has(request)) return CLASS_ID["large-bin-edge"];
  if (request > MAX_TCACHE_SIZE - 16 && request <= MAX_TCACHE_SIZE + 16) return CLASS_ID["tcache-edge"];
  if (chunk < MIN_LARGE_SIZE) return CLASS_ID.small;
  if (request < 65536) return CLASS_ID.large;
  if (request < DEFAULT_MMAP_THRESHOLD) return CLASS_ID["top-extend"];
  if (request <= DEFAULT_MMAP_THRESHOLD_MAX) return CLASS_ID.mmap;
  if (request < 64 << 20) return CLASS_ID["mmap-above-max"];
  return CLASS_ID.huge;
}

export type Profile = "tiny" | "mixed" | "large" | "adversarial";
export const PROFILES: readonly Profile[] = ["tiny", "mixed", "large", "adversarial"];

/** What the size draw may not produce (the oracle cannot follow layout-dependent outcomes). */
export interface SizeLimits {
  /** Largest successful-looking size (requests above it, up to FAILING_SIZES, are skipped). */
  maxHuge: number;
}

/**
 * A request size for `profile`. Requests above PTRDIFF_MAX fail in glibc before any system call;
 * below it, sizes beyond `limits.maxHuge` are brought down to it.
 */
export function drawSize(rng: Prng, profile: Profile, limits: SizeLimits): number {
  const size = drawRaw(rng, profile, limits);
  return size > limits.maxHuge && size <= 0x7fffffff ? limits.maxHuge : size;
}

function drawRaw(rng: Prng, profile: Profile, limits: SizeLimits): number {
  const r = rng.below(1000);
  switch (profile) {
    case "tiny":
      if (r < 700) return rng.range(0, 80);
      if (r < 950) return rng.range(81, 1100);
      if (r < 990) return rng.logUniform(1100, 16384);
      return rng.pick(BOUNDARY_REQUESTS.filter((s) => s <= 4096));
    case "mixed":
      // big blocks are few: each mmapped chunk costs the kernel a pass over its pages when it
      // goes (it looks for raw writes), so they would dominate the run; "large" has them often
      if (r < 420) return rng.range(0, 64);
      if (r < 680) return rng.range(65, MAX_TCACHE_SIZE + 12);
      if (r < 850) return rng.logUniform(1024, 8192);
      if (r < 930) return rng.pick(LARGE_BIN_STARTS) - SIZE_SZ - rng.below(2) * 16;
      if (r < 990) return rng.logUniform(8192, DEFAULT_MMAP_THRESHOLD - 1);
      if (r < 995) return rng.logUniform(DEFAULT_MMAP_THRESHOLD - 4096, 1 << 20);
      if (r < 999 || !rng.chance(0.5)) return special(rng, { maxHuge: Math.min(limits.maxHuge, 0x7fffffff) }, true);
      return rng.logUniform(1 << 20, 16 << 20);
    case "large":
      if (r < 150) return rng.range(0, 1100);
      if (r < 500) return rng.logUniform(1008, DEFAULT_MMAP_THRESHOLD - 1);
      if (r < 650) return rng.pick(LARGE_BIN_STARTS) - SIZE_SZ - rng.below(2) * 16;
      if (r < 900) return rng.logUniform(DEFAULT_MMAP_THRESHOLD - 4096, 4 << 20);
      if (r < 990) return rng.logUniform(4 << 20, 32 << 20);
      return special(rng, limits);
    case "adversarial":
      if (r < 450) return rng.pick(BOUNDARY_REQUESTS);
      if (r < 600) return rng.range(0, 96);
      if (r < 750) return rng.logUniform(97, 1 << 20);
      if (r < 900) return special(rng, limits);
      return rng.pick(BOUNDARY_REQUESTS) + rng.range(-3, 3) >>> 0;
  }
}

/** The far ends: sizes glibc must refuse, and huge ones it may serve. */
function special(rng: Prng, limits: SizeLimits, failing = false): number {
  if (failing || rng.chance(0.6)) return rng.pick(FAILING_SIZES);
  return rng.logUniform(16 << 20, limits.maxHuge);
}

/** Alignments for the memalign family: powers of two up to 1 MiB, and odd values glibc rounds. */
export function drawAlign(rng: Prng, profile: Profile, maxAlign: number): number {
  const r = rng.below(100);
  if (profile === "adversarial" && r < 15) return rng.pick([0, 1, 3, 24, 100, 0x80000000, 0xfffffff0]);
  if (r < 60) return Math.min(maxAlign, 1 << rng.range(3, 8));
  if (r < 85) return Math.min(maxAlign, 1 << rng.range(9, 12));
  return Math.min(maxAlign, 1 << rng.range(13, 20));
}
