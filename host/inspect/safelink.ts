// Safe-linking (glibc 2.32+): tcache and fastbin `next` pointers are stored as
// PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr, where pos is the address of the link itself.
// Decoding is the same operation.

/** The stored (mangled) value of a link at `pos` that points to `ptr`. */
export function protectPtr(pos: number, ptr: number): number {
  return ((pos >>> 12) ^ ptr) >>> 0;
}

/** REVEAL_PTR: the real pointer of a mangled link stored at `pos`. */
export function revealPtr(pos: number, stored: number): number {
  return ((pos >>> 12) ^ stored) >>> 0;
}
