// How a JS value becomes the C argument the i386 ABI would have carried, at the public API.
//
// One rule per C type, decided here and documented in docs/bad-input.md (the table there and
// test/api/bad-input.test.ts are generated from the same cases):
//
//   size_t, void *, unsigned long (sizes, pointers, syscall addresses and lengths)
//     - an integer in [0, 2^32)            → itself (-0 is 0)
//     - an integer in [-2^31, 0)           → its two's complement: malloc(-1) is malloc(SIZE_MAX)
//     - any other number (NaN, ±Infinity, fractions, ≥ 2^32, < -2^31)
//                                          → SIZE_MAX: a size no allocation can satisfy (ENOMEM),
//                                            an address in kernel space no pointer can hold
//     - null, for a pointer                → NULL (0)
//   int, intptr_t (mallopt, sbrk, prot, flags, fd, advice, memset's byte, errno)
//     - an integer in [-2^31, 2^31)        → itself
//     - an integer in [2^31, 2^32)         → the same 32 bits as an int (0x80000000 is INT_MIN)
//     - any other number                   → RangeError. There is no int every callee refuses:
//                                            mallopt(M_TOP_PAD, INT_MIN) succeeds and then every
//                                            malloc fails; mmap ignores unknown prot bits. A
//                                            conversion would be a silent, harmful success.
//   rlim_t (setrlimit): see toRlim.
//   Anything that is not a number (undefined, strings, booleans, objects, BigInt, Symbol), and
//   null where no pointer is expected, is a value no C caller could pass: a TypeError naming the
//   call and the argument, thrown before anything happens.

export const SIZE_MAX = 0xffffffff;
const INT_MIN = -0x80000000;

/** How a value reads in an error message: its type and, for primitives, the value itself. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "string":
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case "bigint":
      return `bigint ${value}n`;
    case "symbol":
      return `symbol ${String(value)}`;
    case "boolean":
      return `boolean ${value}`;
    case "function":
      return "a function";
    default:
      return Array.isArray(value) ? "an array" : "an object";
  }
}

/** The TypeError for a value no C caller could pass as `arg` of `fn`. */
export function notACValue(fn: string, arg: string, expected: string, value: unknown): TypeError {
  return new TypeError(`${fn}: ${arg} must be ${expected}, got ${describeValue(value)}`);
}

/** A size_t (or unsigned long) argument. */
export function toSizeT(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (Number.isInteger(value) && value >= INT_MIN && value <= SIZE_MAX) return value >>> 0;
  return SIZE_MAX;
}

/** A pointer argument: a size_t, or null for NULL. */
export function toPtr(value: unknown, fn: string, arg: string): number {
  if (value === null) return 0;
  if (typeof value !== "number") throw notACValue(fn, arg, "a number or null", value);
  if (Number.isInteger(value) && value >= INT_MIN && value <= SIZE_MAX) return value >>> 0;
  return SIZE_MAX;
}

/** The fast check callers do before toSizeT: true for a plain u32 (the common case). */
export function isU32(value: unknown): value is number {
  return typeof value === "number" && value >>> 0 === value;
}

/** An `int` / `intptr_t` argument (i386: 32 bits, signed). */
export function toInt(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (Number.isInteger(value) && value >= INT_MIN && value <= SIZE_MAX) return value | 0;
  throw new RangeError(`${fn}: ${arg} must be an integer in [-2^31, 2^32) (a C int), got ${describeValue(value)}`);
}

/**
 * A 64-bit file offset (mmap's off_t, which glibc widens to off64_t): any safe integer. Only its
 * alignment and sign matter for anonymous mappings.
 */
export function toOffset(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (Number.isSafeInteger(value)) return value + 0; // -0 → 0
  throw new RangeError(`${fn}: ${arg} must be a safe integer (an off64_t), got ${describeValue(value)}`);
}

/**
 * An rlim_t. On i386 rlim_t is 32 bits and RLIM_INFINITY is 0xffffffff; glibc's setrlimit passes
 * it to the kernel as prlimit64's RLIM64_INFINITY, and its getrlimit reads back any 64-bit limit
 * of 2^32 − 1 or more as RLIM_INFINITY (checked with gcc -m32: prlimit64 with 2^32 reads back as
 * 0xffffffff). So: Infinity and every integer ≥ 2^32 − 1 are RLIM_INFINITY (the API spells it
 * Infinity); an integer in [-2^31, 0) is its two's complement (-1 is RLIM_INFINITY, as in C);
 * other numbers (NaN, -Infinity, fractions) are a RangeError.
 */
export function toRlim(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (value === Infinity) return Infinity;
  if (Number.isInteger(value) && value >= INT_MIN) {
    const v = value >= SIZE_MAX ? SIZE_MAX : value >>> 0;
    return v === SIZE_MAX ? Infinity : v;
  }
  throw new RangeError(`${fn}: ${arg} must be an integer or Infinity (an rlim_t), got ${describeValue(value)}`);
}

// ── x86_64 ───────────────────────────────────────────────────────────────────
// size_t, pointers, unsigned long, long and intptr_t have 64 bits; int stays 32. A JS number
// holds every address of the 47-bit user space exactly but not every 64-bit value, so a C value
// at or above 2^63 that a small negative number spells exactly (malloc(-1) is malloc(SIZE_MAX),
// 2^64 − 1, which no double holds) stays that negative number: the allocator and the kernel read
// a negative number as its two's complement. The same three answers as on i386:
//   - an integer in [-2^63, 2^64)                → itself (-0 is 0; negative = two's complement)
//   - any other number (NaN, ±Infinity, fractions, ≥ 2^64, < -2^63)
//                                               → SIZE_MAX, spelt -1: no allocation, no mapping
//   - null, for a pointer                       → NULL (0)

/** SIZE_MAX of x86_64 as the conversions below spell it (2^64 − 1 is no double). */
export const SIZE_MAX_64 = -1;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/** The fast check for an x86_64 size or pointer: a non-negative safe integer (every user address is one). */
export function isUword64(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value <= Number.MAX_SAFE_INTEGER && Math.floor(value) === value;
}

/** An x86_64 size_t (or unsigned long, long, intptr_t: the same 64 bits). */
export function toSizeT64(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (Number.isInteger(value) && value >= -TWO_63 && value < TWO_64) return value + 0;
  return SIZE_MAX_64;
}

/** An x86_64 pointer: a size_t, or null for NULL. */
export function toPtr64(value: unknown, fn: string, arg: string): number {
  if (value === null) return 0;
  if (typeof value !== "number") throw notACValue(fn, arg, "a number or null", value);
  if (Number.isInteger(value) && value >= -TWO_63 && value < TWO_64) return value + 0;
  return SIZE_MAX_64;
}

/**
 * An x86_64 intptr_t (sbrk's increment): an integer in [-2^63, 2^64); other numbers have no
 * honest spelling (a NaN increment is no request every sbrk refuses), so they are a RangeError,
 * as an int's are on i386.
 */
export function toIntptr64(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (Number.isInteger(value) && value >= -TWO_63 && value < TWO_64) return value + 0;
  throw new RangeError(`${fn}: ${arg} must be an integer in [-2^63, 2^64) (a C intptr_t), got ${describeValue(value)}`);
}

/**
 * An x86_64 rlim_t: 64 bits, RLIM_INFINITY is 2^64 − 1. Infinity and every integer ≥ 2^64 − 1
 * (as a double: ≥ 2^64) are RLIM_INFINITY, as is -1; another negative integer is its two's
 * complement (a limit near 2^64, finite). NaN, -Infinity and fractions are a RangeError.
 */
export function toRlim64(value: unknown, fn: string, arg: string): number {
  if (typeof value !== "number") throw notACValue(fn, arg, "a number", value);
  if (value === Infinity) return Infinity;
  if (Number.isInteger(value) && value >= -TWO_63) {
    if (value === -1 || value >= TWO_64) return Infinity;
    return value < 0 ? TWO_64 + value : value + 0;
  }
  throw new RangeError(`${fn}: ${arg} must be an integer or Infinity (an rlim_t), got ${describeValue(value)}`);
}

/** How one ABI turns JS values into C values: the i386 rules above, or x86_64's. */
export interface CAbi {
  /** True for x86_64: C words have 64 bits. */
  readonly wide: boolean;
  /** SIZE_MAX as the conversions spell it (0xffffffff; -1 on x86_64). */
  readonly SIZE_MAX: number;
  toSizeT(value: unknown, fn: string, arg: string): number;
  toPtr(value: unknown, fn: string, arg: string): number;
  /** sbrk's increment: an int on i386 (intptr_t has 32 bits), 64 bits on x86_64. */
  toIntptr(value: unknown, fn: string, arg: string): number;
  toRlim(value: unknown, fn: string, arg: string): number;
  /** The fast check before toSizeT/toPtr: a value that converts to itself. */
  isWord(value: unknown): value is number;
}

export const ABI_I386: CAbi = { wide: false, SIZE_MAX, toSizeT, toPtr, toIntptr: toInt, toRlim, isWord: isU32 };
export const ABI_X86_64: CAbi = {
  wide: true,
  SIZE_MAX: SIZE_MAX_64,
  toSizeT: toSizeT64,
  toPtr: toPtr64,
  toIntptr: toIntptr64,
  toRlim: toRlim64,
  isWord: isUword64,
};
