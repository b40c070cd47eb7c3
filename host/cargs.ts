// How a JS number becomes the C argument the i386 ABI would have carried.
//
// The C library takes `size_t` (u32) sizes and `void *` (u32) pointers. A JS caller can pass
// anything; the rule (API.md) is that a value a 32-bit C caller could have written behaves as
// glibc behaves with it, and any other value behaves as a size glibc must refuse:
//   - an integer in [0, 2^32)          → itself
//   - a negative integer in [-2^31, 0) → its two's-complement u32 (malloc(-1) is malloc(SIZE_MAX))
//   - anything else (NaN, ±Infinity, fractions, ≥ 2^32, < -2^31, non-numbers)
//                                      → SIZE_MAX, which every allocation refuses with ENOMEM
// For `int` arguments (mallopt's value, sbrk's increment is intptr_t) see toInt.

export const SIZE_MAX = 0xffffffff;

/** A size_t or pointer argument. */
export function toSizeT(value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value)) {
    if (value >= 0 && value <= SIZE_MAX) return value;
    if (value < 0 && value >= -0x80000000) return value >>> 0;
  }
  return SIZE_MAX;
}

/** The fast check callers do before toSizeT: true for a plain u32 (the common case). */
export function isU32(value: number): boolean {
  return value >>> 0 === value;
}

/**
 * An `int` / `intptr_t` argument (i386: 32 bits, signed). Values outside the range, fractions and
 * NaN have no C spelling; they become `fallback` (a value the callee rejects, chosen per call).
 */
export function toInt(value: unknown, fallback: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) {
    return value;
  }
  return fallback;
}
