// A read-only view of a process's memory for the inspector. Raw reads through proc.memory: they
// neither fault nor make pages resident, so looking changes nothing (proc.read would count a
// minor fault and map the zero page). A word outside the memory reads as null, which is where a
// real load would take SIGSEGV; every walker treats null as the end of what it can follow.
//
// Addresses are the process's: an i386 address is the byte offset itself; an x86_64 one is a
// 64-bit VA, translated through the process's windows (proc.offsetOf), and one outside them reads
// as null. A C word is 4 or 8 bytes (`word`); an 8-byte one comes back as a JS number, exact below
// 2^53 (every address is), rounded above (only garbage is that large). Nothing here applies a
// 32-bit bitwise operator to an address: masks and alignment are arithmetic (see `alignedDown`).

import { type Arch, type InspectAbi, abiOf } from "./abi.js";

/** What the view needs of a process beyond its memory: its ABI and (x86_64) its VA translation. */
export interface AddressSpace {
  readonly arch?: Arch;
  offsetOf?(addr: number): number;
}

const PAGE = 4096;
const TWO_32 = 2 ** 32;

export class MemoryView {
  readonly #view: DataView;
  readonly byteLength: number;
  readonly abi: InspectAbi;
  readonly #translate: ((addr: number) => number) | null;
  /** The last page translated and its offset minus its address (windows are page-aligned). */
  #page = -1;
  #delta = 0;

  constructor(memory: WebAssembly.Memory, space?: AddressSpace) {
    this.#view = new DataView(memory.buffer);
    this.byteLength = memory.buffer.byteLength;
    this.abi = abiOf(space?.arch);
    if (this.abi.arch === "x86_64" && typeof space?.offsetOf !== "function") throw new TypeError("inspect: an x86_64 process needs offsetOf");
    this.#translate = this.abi.arch === "x86_64" ? (a) => space!.offsetOf!(a) : null;
  }

  /** The offset of the `n` bytes at addr in the memory, or -1 when any of them is outside it. */
  offsetOf(addr: number, n = 1): number {
    if (!Number.isInteger(addr) || addr < 0) return -1;
    let off = addr;
    if (this.#translate !== null) {
      const page = Math.floor(addr / PAGE);
      if (page !== this.#page) {
        const o = this.#translate(page * PAGE);
        if (o < 0) return -1;
        this.#page = page;
        this.#delta = o - page * PAGE;
      }
      off = addr + this.#delta;
      // bytes running into the next page may be in another window, or in none
      if ((addr % PAGE) + n > PAGE && this.#translate(addr + n - 1) !== off + n - 1) return -1;
    }
    return off + n <= this.byteLength ? off : -1;
  }

  /** The little-endian u32 at addr, or null when any of its bytes lies outside the memory. */
  u32(addr: number): number | null {
    const at = this.offsetOf(addr, 4);
    return at < 0 ? null : this.#view.getUint32(at, true);
  }

  /** The u16 at addr, or null outside the memory. */
  u16(addr: number): number | null {
    const at = this.offsetOf(addr, 2);
    return at < 0 ? null : this.#view.getUint16(at, true);
  }

  /** The unsigned C word (SIZE_SZ bytes) at addr, or null outside the memory. */
  word(addr: number): number | null {
    const n = this.abi.wordBytes;
    const at = this.offsetOf(addr, n);
    if (at < 0) return null;
    const lo = this.#view.getUint32(at, true);
    return n === 4 ? lo : this.#view.getUint32(at + 4, true) * TWO_32 + lo;
  }

  /** The signed C int (4 bytes) at addr, or null. */
  i32(addr: number): number | null {
    const at = this.offsetOf(addr, 4);
    return at < 0 ? null : this.#view.getInt32(at, true);
  }

  /** A copy of up to `length` bytes at addr (fewer where the memory ends, none outside). */
  bytes(addr: number, length: number): Uint8Array {
    const out: number[] = [];
    for (let a = addr; a < addr + Math.max(0, length); ) {
      const at = this.offsetOf(a);
      if (at < 0) break;
      const run = Math.min(addr + length - a, PAGE - (a % PAGE), this.byteLength - at);
      for (let i = 0; i < run; i++) out.push(this.#view.getUint8(at + i));
      a += run;
    }
    return Uint8Array.from(out);
  }

  /** v as an unsigned C word: modulo 2^32 or 2^64 (what `>>> 0` did for i386 addresses). */
  wrap(v: number): number {
    const r = this.abi.wordRange;
    if (v >= 0 && v < r) return v;
    const m = v % r;
    // a small negative word on x86_64 (2^64 - 32) rounds to 2^64: keep it the largest word below
    return m >= 0 ? m : Math.min(r + m, r - r * 2 ** -53);
  }

  /** An address as maps() prints it: 0x and 8 hex digits on i386, 12 on x86_64. */
  hex(n: number): string {
    return hex(n, this.abi.addrDigits);
  }
}

/** 0x-prefixed hex of `digits` digits at least (8: as /proc/self/maps and pwndbg print i386 addresses). */
export function hex(n: number, digits = 8): string {
  const v = digits <= 8 ? n >>> 0 : n;
  return "0x" + v.toString(16).padStart(digits, "0");
}

/** v rounded down to a multiple of `unit` (v & ~(unit - 1) for a power of two, without 32-bit operators). */
export const alignedDown = (v: number, unit: number): number => v - (v % unit);

/** v XOR w for words below 2^64, in two 32-bit halves (exact below 2^53). */
export function xorWord(v: number, w: number): number {
  const hi = (Math.floor(v / TWO_32) ^ Math.floor(w / TWO_32)) >>> 0;
  return hi * TWO_32 + (((v % TWO_32) ^ (w % TWO_32)) >>> 0);
}
