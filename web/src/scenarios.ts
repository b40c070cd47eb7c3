// Built-in scenarios: classic lessons of glibc's heap, each a list of statements (URL: ?scenario=NAME).
// Each runs on both processes; where the x86-64 numbers differ (a 135168-byte first break move,
// 32-byte minimum chunks, fastbins 16 bytes apart, 8-byte size fields), the scenario says so in its
// `x86_64` version: the same lesson, with the statements or notes that are true there.

import type { Arch } from "./words.js";

export interface Scenario {
  name: string;
  title: string;
  statements: string[];
  /** What differs in an x86_64 process (the rest is the same). */
  x86_64?: { title?: string; statements: string[] };
}

const tcacheFill = (n: number, size: number, prefix = "t") =>
  Array.from({ length: n }, (_, i) => `${prefix}${i} = malloc(${size})`);
const freeAll = (n: number, prefix = "t") => Array.from({ length: n }, (_, i) => `free(${prefix}${i})`);

/** The first malloc, with the break's move and the smallest chunk of the arch. */
const walkthrough = (breakMove: number, minChunk: number) => [
  `a = malloc(8)       // the tcache struct is carved first; the break moves by ${breakMove}`,
  "b = malloc(4083)    // from the top chunk",
  `c = malloc(3)       // a ${minChunk}-byte chunk, the smallest there is`,
  "d = malloc(136168)  // over the 128 KiB mmap threshold: a mapping of its own, the break stays",
  "e = malloc(1048576) // another mapping, just below the first (the mmap zone grows down)",
];

/** Three neighbours merging into one chunk of `merged` bytes. */
const consolidate = (merged: number) => [
  "a = malloc(1100)",
  "b = malloc(1100)",
  "c = malloc(1100)",
  "g = malloc(16)      // a guard between c and the top",
  "free(a)             // unsorted",
  "free(c)             // unsorted",
  `free(b)             // merges with a and c: one ${merged}-byte chunk`,
  "free(g)             // tcache: it stays in use as far as its neighbours know",
  "d = malloc(4000)    // nothing fits: the unsorted chunk goes to a large bin, d comes from the top",
];

/** A 24-byte block freed twice at the head of fastbin[`bin`]. */
const fastbinDoubleFree = (bin: number) => [
  ...tcacheFill(7, 24),
  "a = malloc(24)",
  ...freeAll(7),
  `free(a)             // the tcache bin is full: a heads fastbin[${bin}]`,
  "free(a)             // double free or corruption (fasttop)",
];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "walkthrough",
    title: "The first malloc: tcache struct, a 139264-byte break move, then mmap",
    statements: walkthrough(139264, 16),
    x86_64: { title: "The first malloc: tcache struct, a 135168-byte break move, then mmap", statements: walkthrough(135168, 32) },
  },
  {
    name: "first-fit",
    title: "First fit: a freed chunk is reused by the next request that fits",
    statements: [
      "a = malloc(1298)    // too big for the tcache",
      "b = malloc(598)     // keeps a from merging into the top",
      "free(a)             // a goes to the unsorted bin",
      "c = malloc(1280)    // sorted into a large bin, then carved out of a: c == a",
    ],
  },
  {
    name: "tcache-fastbins",
    title: "The tcache holds 7 chunks of a size; the 8th and 9th go to a fastbin",
    statements: [
      ...tcacheFill(9, 24),
      ...freeAll(9),
      "x = malloc(24)      // the tcache is served first, LIFO",
      "y = malloc(24)",
    ],
  },
  {
    name: "consolidate",
    title: "Freed neighbours merge into one chunk, and into the top",
    statements: consolidate(3312),
    x86_64: { statements: consolidate(3360) },
  },
  {
    name: "trim",
    title: "A free that leaves a large top gives memory back to the kernel",
    statements: [
      "a = malloc(100000)",
      "b = malloc(100000)  // the break moves up",
      "free(b)             // merges into the top; top > trim_threshold: the break moves down",
      "free(a)",
      "malloc_trim(0)",
    ],
  },
  {
    name: "mmap-threshold",
    title: "The mmap threshold and its dynamic growth",
    statements: [
      "a = malloc(200000)  // above 128 KiB: mmapped",
      "free(a)             // unmapped; the threshold rises to this chunk's size",
      "b = malloc(200000)  // now below the threshold: from the heap",
      "mallopt(M_MMAP_THRESHOLD, 65536)",
      "c = malloc(100000)  // above the new fixed threshold: mmapped",
    ],
  },
  {
    name: "tcache-double-free",
    title: "A double free caught by the tcache's key",
    statements: ["a = malloc(24)", "free(a)", "free(a)             // free(): double free detected in tcache 2"],
  },
  {
    name: "fastbin-double-free",
    title: "A double free at a fastbin's head: fasttop",
    statements: fastbinDoubleFree(2),
    x86_64: { statements: fastbinDoubleFree(0) },
  },
  {
    name: "house-of-force",
    title: "House of force, caught on 2.36 by the top size check",
    statements: [
      "a = malloc(24)",
      "*(a+28) = 0xffffffff // overwrite the top chunk's size",
      "b = malloc(4096)    // malloc(): corrupted top size",
    ],
    x86_64: {
      statements: [
        "a = malloc(24)",
        "*(a+24) = -1        // overwrite the top chunk's 8-byte size with all ones",
        "b = malloc(4096)    // malloc(): corrupted top size",
      ],
    },
  },
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** The scenario's statements for a process of `arch`. */
export function scenarioStatements(sc: Scenario, arch: Arch): string[] {
  return arch === "x86_64" && sc.x86_64 ? sc.x86_64.statements : sc.statements;
}

/** The scenario's title for a process of `arch`. */
export function scenarioTitle(sc: Scenario, arch: Arch): string {
  return (arch === "x86_64" ? sc.x86_64?.title : undefined) ?? sc.title;
}
