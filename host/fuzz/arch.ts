// The two ABIs a campaign can fuzz (`--arch i386|x86_64`): glibc 2.36's numbers for each (i386's
// from assembly/config.ts, x86-64's from host/generated/config-x86_64.ts: the same names), and how
// a C value travels in a JS number, as the public API spells it:
//
//   i386    size_t has 32 bits: a number in [0, 2^32) is itself.
//   x86_64  size_t has 64 bits. A number below 2^53 is itself; a value at or above 2^63 is spelt
//           as the negative number of its two's complement (SIZE_MAX is -1, 2^63 is -2^63), which
//           holds exactly the values near SIZE_MAX that matter; values in between are those a
//           double holds exactly (2^63 − 1024, PTRDIFF_MAX − 1023, is one; PTRDIFF_MAX is not).
//
// `unsigned(v)` gives the C value as a non-negative number (rounded above 2^53: the shadow only
// compares such values, and no block that large is ever made); `spell(u)` turns such a value back
// into the number that spells it.

import * as I386 from "../../assembly/config.js";
import * as X86_64 from "../generated/config-x86_64.js";

export type Arch = "i386" | "x86_64";
export const ARCHES: readonly Arch[] = ["i386", "x86_64"];

/** The numeric constants of config.ts (the same names on both ABIs). */
export type Config = { readonly [K in keyof typeof I386]: number };

export interface ArchInfo {
  readonly arch: Arch;
  /** 64-bit C words. */
  readonly wide: boolean;
  /** SIZE_SZ: a size field, a pointer. */
  readonly word: 4 | 8;
  readonly c: Config;
  /** 2^32 or 2^64. */
  readonly wordRange: number;
  /** Above this no address space holds a request (2^31 on i386: PTRDIFF_MAX + 1; 2^47 on x86_64: TASK_SIZE). */
  readonly noSpace: number;
  /** The C value of a size_t argument, as a non-negative number. */
  unsigned(v: number): number;
  /** The number that spells the C value `u` (0 ≤ u ≤ SIZE_MAX). */
  spell(u: number): number;
}

const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

export const I386_INFO: ArchInfo = {
  arch: "i386", wide: false, word: 4, c: I386, wordRange: TWO_32, noSpace: 0x80000000,
  // as host/cargs.ts takes a size_t: the i386 generator only ever writes values in [0, 2^32)
  unsigned: (v) => (Number.isInteger(v) && v >= -0x80000000 && v < TWO_32 ? v >>> 0 : TWO_32 - 1),
  spell: (u) => u,
};

export const X86_64_INFO: ArchInfo = {
  arch: "x86_64", wide: true, word: 8, c: X86_64 as unknown as Config, wordRange: TWO_64, noSpace: 2 ** 47,
  unsigned: (v) => (v < 0 ? TWO_64 + v : v),
  // (u − 2^64 is exact for any double u in [2^63, 2^64): both are multiples of 2^11 there)
  spell: (u) => (u >= TWO_63 ? u - TWO_64 : u),
};

export const archInfo = (arch: Arch | undefined): ArchInfo => (arch === "x86_64" ? X86_64_INFO : I386_INFO);

/** A power of two (u as a C value; 0 is not one). */
export function isPow2(u: number): boolean {
  return u > 0 && (u < TWO_32 ? (u & (u - 1)) === 0 : Number.isInteger(Math.log2(u)));
}

/** The smallest power of two ≥ x. */
export function nextPow2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}
