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
