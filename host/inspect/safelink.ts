// Safe-linking (glibc 2.32+): tcache and fastbin `next` pointers are stored as
// PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr, where pos is the address of the link itself.
// Decoding is the same operation. Words of either size (a 64-bit VA is XORed in halves).

import { xorWord } from "./memory.js";

/** The stored (mangled) value of a link at `pos` that points to `ptr`. */
export function protectPtr(pos: number, ptr: number): number {
  return xorWord(Math.floor(pos / 4096), ptr);
}

/** REVEAL_PTR: the real pointer of a mangled link stored at `pos`. */
export function revealPtr(pos: number, stored: number): number {
  return xorWord(Math.floor(pos / 4096), stored);
}
