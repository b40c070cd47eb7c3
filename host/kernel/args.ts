// How a JS value becomes the argument a 32-bit (i386) C caller would have put in a register.
//
// The raw syscalls take `unsigned long` (u32 on i386) addresses, lengths and flags, and `int`
// prots, fds and advice. A JS caller can pass anything; the kernel must never throw on it. The
// rule, decided once here: a value is narrowed exactly as C narrows a wider integer to a 32-bit
// one, i.e. modulo 2^32 after truncating toward zero (ECMAScript ToUint32 / ToInt32):
//   - an integer in [0, 2^32)        → itself
//   - a negative integer             → its two's complement (a length of -1 is 0xffffffff: huge)
//   - a fraction                     → truncated toward zero first (4096.7 → 4096)
//   - an integer ≥ 2^32              → its low 32 bits (what a 64-bit value cast to u32 keeps)
//   - NaN, ±Infinity                 → 0 (no bits survive the narrowing)
//   - bigint                         → its low 32 bits
//   - boolean                        → 0 / 1
//   - anything else (string, object, undefined, null, symbol) → 0, as NaN
// The kernel (64-bit, compat task) then computes with these u32 values in 64-bit arithmetic,
// which is why callers of these helpers do sums like `addr + len` on plain JS numbers and never
// wrap them again.

/** An `unsigned long` argument of the i386 ABI: an integer in [0, 2^32). */
export function ulong(value: unknown): number {
  if (typeof value === "number") return value >>> 0;
  if (typeof value === "bigint") return Number(BigInt.asUintN(32, value));
  if (typeof value === "boolean") return value ? 1 : 0;
  return 0;
}

/**
 * An `unsigned long` argument of the x86-64 ABI: a 64-bit C value. An integer in [0, 2^64) is
 * itself and a negative one in [-2^63, 0) its two's complement (a length of -1 is SIZE_MAX), both
 * as the nearest double: addresses (below 2^47) and page-aligned values are exact, SIZE_MAX reads
 * as 2^64. A fraction is truncated toward zero. Anything no 64-bit register could hold (≥ 2^64,
 * < -2^63, ±Infinity) is ULONG_UNREPRESENTABLE, a value no range check passes; NaN and non-numbers
 * narrow as `ulong` does (0). bigint: its low 64 bits.
 */
export function ulong64(value: unknown): number {
  if (typeof value === "number") {
    if (value >= 0 && value < TWO_64) return Math.trunc(value);
    if (value < 0 && value >= -TWO_63) {
      const v = Math.trunc(value);
      return v === 0 ? 0 : TWO_64 + v;
    }
    return Number.isNaN(value) ? 0 : ULONG_UNREPRESENTABLE;
  }
  if (typeof value === "bigint") return Number(BigInt.asUintN(64, value));
  if (typeof value === "boolean") return value ? 1 : 0;
  return 0;
}

const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;
/** What a value out of the 64-bit range becomes: above every user address and every length. */
export const ULONG_UNREPRESENTABLE = TWO_64;

/** An `int` argument of the i386 ABI: an integer in [-2^31, 2^31). */
export function int(value: unknown): number {
  if (typeof value === "number") return value | 0;
  if (typeof value === "bigint") return Number(BigInt.asIntN(32, value));
  if (typeof value === "boolean") return value ? 1 : 0;
  return 0;
}

/**
 * A 64-bit file offset (off64_t, as glibc's mmap64 takes it). Only its alignment and sign
 * matter for anonymous mappings; non-integers and non-numbers narrow as `ulong` does.
 */
export function offset64(value: unknown): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return 0;
    return Math.trunc(value);
  }
  if (typeof value === "bigint") return Number(BigInt.asIntN(64, value));
  if (typeof value === "boolean") return value ? 1 : 0;
  return 0;
}

/**
 * An rlim_t of the 32-bit ABI (glibc's i386 setrlimit widens it for prlimit64): the API spells
 * RLIM_INFINITY as Infinity, and the i386 all-ones value means the same. A number of 2^32 or
 * more is a prlimit64 value beyond any 32-bit address space, which i386 glibc's getrlimit reads
 * back as RLIM_INFINITY: it is that, not its low 32 bits (2^32 meant as 4 GiB is no limit, not 0).
 */
export function rlim(value: unknown): number {
  if (typeof value === "number" && value >= 0xffffffff) return Infinity;
  const v = ulong(value);
  return v === 0xffffffff ? Infinity : v;
}

/**
 * An rlim_t of the x86-64 ABI: 64 bits, RLIM_INFINITY all ones (2^64 − 1, which a double reads
 * as 2^64) or Infinity. Negative values are their two's complement, as in `ulong64`.
 */
export function rlim64(value: unknown): number {
  if (value === Infinity) return Infinity;
  const v = ulong64(value);
  return v >= TWO_64 ? Infinity : v;
}
