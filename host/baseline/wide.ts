// The twin's x86-64 words (assembly/vm.ts's twin): a C word of 64 bits is a JS number, exact below
// 2^53 — every address of the 47-bit user space, every size a 4 GiB memory can hold — and the
// nearest double above (a corrupted link, a request near SIZE_MAX). No 32-bit bitwise operator
// touches such a number: a word is stored and loaded as two u32 halves, and the arithmetic the
// algorithm needs is written so that it holds for both word sizes (flags added and subtracted,
// not or-ed; wrap() for C's modular sums).
//
// A VA reaches the memory through the kernel's windows: W0 (the program, its static data and the
// brk heap, where most chunks are) inline with a subtraction and a compare, W1 and W2 out of line,
// and a VA in none of them is the process's SIGSEGV, as the Wasm build's va_to_offset. The page-map
// checks then run on the offset, as on i386; a page the map does not promise is asked of the kernel
// by its VA.

import { PAGEMAP_WRITE_PLANE } from "../../assembly/config.js";
import { PAGE_SIZE } from "../constants.js";
import { pageBit } from "../kernel/pagemap.js";
import { access_slow, type Env, HOT_LEN_W, HOT_START_W, STORE_LEN_W, STORE_START_W, trap } from "./env.js";

const TWO_32 = 2 ** 32;
const TWO_64 = 2 ** 64;

/** x modulo 2^64 (x a sum or difference of words: within one modulus of the range). */
export function wrap64(x: number): number {
  return x >= 0 ? (x < TWO_64 ? x : x - TWO_64) : x + TWO_64;
}

/** The Wasm offset of a VA an access at it reaches; a VA outside every window faults. */
export function va_off(env: Env, va: number, write: boolean): number {
  const d = va - env.w0va;
  if (d >= 0 && d < env.w0len) return d + env.w0off;
  return va_off_slow(env, va, write);
}

function va_off_slow(env: Env, va: number, write: boolean): number {
  let d = va - env.w1va;
  if (d >= 0 && d < env.w1len) return d + env.w1off;
  d = va - env.w2va;
  if (d >= 0 && d < env.w2len) return d + env.w2off;
  return far_off(env, va, write);
}

/** A far page's frame: the kernel faults the page in, or the access is the process's SIGSEGV. */
function far_off(env: Env, va: number, write: boolean): number {
  // a kernel without far pages maps nothing outside its windows: the access faults
  const off = env.kernel.farOffset?.(va, write) ?? -1;
  return off >= 0 ? off : va_fault(env, va, write);
}

/** The offset of a VA, or 0 (the page map's first page: in no span) when no window holds it. Never faults. */
export function va_off_or_0(env: Env, va: number): number {
  let d = va - env.w0va;
  if (d >= 0 && d < env.w0len) return d + env.w0off;
  d = va - env.w1va;
  if (d >= 0 && d < env.w1len) return d + env.w1off;
  d = va - env.w2va;
  if (d >= 0 && d < env.w2len) return d + env.w2off;
  return 0;
}

/** The process's SIGSEGV at a VA the kernel refused (it names the fault). */
function va_fault(env: Env, va: number, write: boolean): never {
  const fault = env.kernel.accessFault(va, write);
  if (fault !== null) throw env.onFault(fault);
  throw new Error(`baseline: the kernel let an access at 0x${va.toString(16)} (outside every window) go on`);
}

/** A page the map does not promise, at a Wasm offset: the kernel is asked by the VA there. */
export function va_fault_at_offset(env: Env, offset: number, write: boolean): void {
  const toVa = env.kernel.offsetToVa;
  if (toVa === undefined) throw new Error("baseline: an x86_64 kernel must give offsetToVa");
  const fault = env.kernel.accessFault(toVa.call(env.kernel, offset), write);
  if (fault !== null) throw env.onFault(fault);
}

/** A word at a Wasm offset, as two u32 halves. */
export function load64(env: Env, a: number): number {
  if ((a & 7) === 0) {
    const i = a >>> 2;
    return env.u32[i + 1]! * TWO_32 + env.u32[i]!;
  }
  if (a + 8 > env.u8.length) trap();
  return env.dv.getUint32(a + 4, true) * TWO_32 + env.dv.getUint32(a, true);
}

/** Store a word (a number in [0, 2^64)) at a Wasm offset. */
export function store64(env: Env, a: number, v: number): void {
  const lo = v >>> 0; // ToUint32 is exact modulo 2^32, whatever the size of v
  const hi = Math.floor(v / TWO_32) >>> 0;
  if ((a & 7) === 0) {
    const i = a >>> 2;
    env.u32[i] = lo;
    env.u32[i + 1] = hi;
    return;
  }
  if (a + 8 > env.u8.length) trap();
  env.dv.setUint32(a, lo, true);
  env.dv.setUint32(a + 4, hi, true);
}

/** The checked load of a chunk word at base + offset (x86-64 offsets), as assembly/chunk.ts's ld. */
export function ld64(env: Env, base: number, offset: number): number {
  const a = va_off(env, wrap64(base + offset), false);
  const m = env.u32;
  // check_read: the hot span, else the map's bit for a word that stays in its page, else the static data
  if (
    ((a - m[HOT_START_W]!) >>> 0) >= m[HOT_LEN_W]! &&
    !(pageBit(env.u8, a, 0) !== 0 && (a & 7) === 0) &&
    ((a - env.staticStart) >>> 0) >= env.staticLen
  ) {
    access_slow(env, a, 4, false);
  }
  return load64(env, a);
}

/** The checked store of a chunk word, as assembly/chunk.ts's st. */
export function st64(env: Env, base: number, offset: number, value: number): void {
  const a = va_off(env, wrap64(base + offset), true);
  const m = env.u32;
  if (
    ((a - m[STORE_START_W]!) >>> 0) >= m[STORE_LEN_W]! &&
    !(pageBit(env.u8, a, PAGEMAP_WRITE_PLANE) !== 0 && (a & 7) === 0) &&
    ((a - env.staticStart) >>> 0) >= env.staticLen
  ) {
    access_slow(env, a, 4, true);
  }
  store64(env, a, value);
}

/**
 * How many of [va, va + len) (len ≥ 1) lie at consecutive offsets from va's: up to the end of va's
 * window, or of its page when no window holds it (a far page), as the Wasm build's run_length.
 */
export function run_length64(env: Env, va: number, len: number): number {
  let end: number;
  if (va - env.w0va >= 0 && va - env.w0va < env.w0len) end = env.w0va + env.w0len;
  else if (va - env.w1va >= 0 && va - env.w1va < env.w1len) end = env.w1va + env.w1len;
  else if (va - env.w2va >= 0 && va - env.w2va < env.w2len) end = env.w2va + env.w2len;
  else end = (Math.floor(va / PAGE_SIZE) + 1) * PAGE_SIZE;
  return Math.min(len, end - va);
}

/** The offset of [va, va + len) (len ≥ 1), which must be contiguous (run_length64): else the first VA past it faults. No page check. */
export function va_range_off(env: Env, va: number, len: number, write: boolean): number {
  const off = va_off(env, va, write);
  const run = run_length64(env, va, len);
  if (run < len) va_fault(env, va + run, write);
  return off;
}

/** check_range on x86-64: the range's offset (va_range_off), each of its pages checked. */
export function check_range64(env: Env, addr: number, len: number, write: boolean): number {
  const off = va_range_off(env, addr, len, write);
  access_slow(env, off, len, write);
  return off;
}

/** (a ^ b) for two words (exact below 2^53): safe-linking's PROTECT_PTR. */
export function xor64(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0;
  return hi * TWO_32 + ((a ^ b) >>> 0);
}

/** x >> n for a word (n < 32). */
export function shr64(x: number, n: number): number {
  return Math.floor(x / 2 ** n);
}

/** C's (int) x: the low 32 bits of a word, signed. */
export function low32(x: number): number {
  return x | 0;
}
