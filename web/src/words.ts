// The C words of the session's process: 32-bit on i386, 64-bit on x86_64. Statements compute in
// them, variables hold them, and addresses are printed at their width (8 hex digits on i386, 12 on
// x86_64, as maps() prints them).
//
// An i386 value is a u32 (`>>> 0`, as before). An x86_64 value is a JS number that stands for a
// 64-bit word: addresses (below 2^47) and sizes as they are, a negative number for a word with its
// top bit set (-1 is all ones), which is how the public API reads a C value (malloc(-1) is
// malloc(SIZE_MAX)). Anything beyond 2^53 cannot be held exactly and is refused; `|` goes through
// BigInt, since 32-bit operators would cut a 64-bit address.

import { StatementError } from "./statements.js";

export type Arch = "i386" | "x86_64";

export interface Words {
  arch: Arch;
  /** Bytes in a word (a store writes that many). */
  bytes: 4 | 8;
  /** A literal as a word; throws a message when it does not fit. */
  literal(v: number): number;
  /** An arithmetic result brought back to a word. */
  wrap(v: number): number;
  neg(v: number): number;
  add(a: number, b: number): number;
  sub(a: number, b: number): number;
  or(a: number, b: number): number;
  /** An address or word as hex: 0x and 8 or 12 digits (more for the words above the address space). */
  hex(n: number): string;
  /** The little-endian bytes of a word, for a store. */
  storeBytes(v: number): number[];
}

const I386_WORDS: Words = {
  arch: "i386",
  bytes: 4,
  literal(v) {
    if (v > 0xffffffff) throw new StatementError(`${v} does not fit in 32 bits`);
    return v >>> 0;
  },
  wrap: (v) => v >>> 0,
  neg: (v) => -v >>> 0,
  add: (a, b) => (a + b) >>> 0,
  sub: (a, b) => (a - b) >>> 0,
  or: (a, b) => (a | b) >>> 0,
  hex: (n) => "0x" + (n >>> 0).toString(16).padStart(8, "0"),
  storeBytes: (v) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24],
};

/** A number as the signed 64-bit word it stands for (a result beyond 2^53 is refused: it cannot be exact). */
function word64(v: number): number {
  if (Number.isSafeInteger(v)) return v;
  if (!Number.isFinite(v)) throw new StatementError(`${v} is not a 64-bit word`);
  throw new StatementError(`${v} is beyond 2^53 (a JS number holds no more exactly): write a word with its top bit set as a negative number, e.g. -1`);
}

const X86_64_WORDS: Words = {
  arch: "x86_64",
  bytes: 8,
  literal: word64,
  wrap: word64,
  neg: (v) => word64(-v),
  add: (a, b) => word64(a + b),
  sub: (a, b) => word64(a - b),
  or: (a, b) => Number(BigInt.asIntN(64, BigInt(a) | BigInt(b))),
  hex: (n) => "0x" + (n < 0 ? BigInt.asUintN(64, BigInt(n)) : n).toString(16).padStart(12, "0"),
  storeBytes(v) {
    let u = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    for (let i = 0; i < 8; i++, u >>= 8n) out.push(Number(u & 255n));
    return out;
  },
};

export const wordsOf = (arch: Arch | undefined): Words => (arch === "x86_64" ? X86_64_WORDS : I386_WORDS);

/** The arch named by a URL parameter (i386 unless it says x86_64). */
export const archParam = (value: string | null): Arch => (value === "x86_64" ? "x86_64" : "i386");
