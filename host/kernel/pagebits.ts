// The page map's bits (pagemap.ts has the map; assembly/config.ts its picture and constants): one
// reader of a page's bit, shared by the kernel, the TypeScript twin and the tests, and the writers
// of runs of bits in a leaf; and the bits a frame of a far page gets.

import { PAGEMAP_LEAF_SHIFT, PAGEMAP_REGION_SHIFT, PAGEMAP_TOP, PAGEMAP_WRITE_PLANE } from "../../assembly/config.js";
import { PAGE_SIZE } from "../constants.js";
import type { Frames } from "./frames.js";
import { PAGE_ANON } from "./pages.js";
import { VM_EXEC, VM_READ, VM_WRITE, type VmaList } from "./vma.js";

/** x86: any access right makes a page readable (PROT_WRITE or PROT_EXEC alone included). */
export const ANY_ACCESS = VM_READ | VM_WRITE | VM_EXEC;

/**
 * The map's bit for the page holding addr (a u32) in one plane (0: readable, PAGEMAP_WRITE_PLANE:
 * writable): 1 if the map promises the access, 0 if the kernel must be asked. The reader of the
 * map's layout for TypeScript (the twin's ld/st, tests and tools); the Wasm build's is page_bit in
 * assembly/pagemap.ts.
 */
export function pageBit(u8: Uint8Array, addr: number, plane: number): number {
  const leaf = u8[PAGEMAP_TOP + (addr >>> PAGEMAP_REGION_SHIFT)]! << PAGEMAP_LEAF_SHIFT;
  return (u8[leaf + plane + ((addr >>> 15) & 127)]! >>> ((addr >>> 12) & 7)) & 1;
}

/** Sets bits [s, e) of the bitmap at `at` (whole bytes filled at once). */
export function setBits(u8: Uint8Array, at: number, s: number, e: number): void {
  fillBits(u8, at, s, e, true);
}

/** Clears bits [s, e) of the bitmap at `at`. */
export function clearBits(u8: Uint8Array, at: number, s: number, e: number): void {
  fillBits(u8, at, s, e, false);
}

/** Sets (on) or clears bits [s, e) of the bitmap at `at`, whole bytes at once. */
export function fillBits(u8: Uint8Array, at: number, s: number, e: number, on: boolean): void {
  while (s < e && s & 7) {
    if (on) u8[at + (s >>> 3)]! |= 1 << (s & 7);
    else u8[at + (s >>> 3)]! &= ~(1 << (s & 7));
    s++;
  }
  const wholeEnd = e & ~7;
  if (s < wholeEnd) {
    u8.fill(on ? 0xff : 0, at + (s >>> 3), at + (wholeEnd >>> 3));
    s = wholeEnd;
  }
  while (s < e) {
    if (on) u8[at + (s >>> 3)]! |= 1 << (s & 7);
    else u8[at + (s >>> 3)]! &= ~(1 << (s & 7));
    s++;
  }
}

/**
 * The bits frame page `page` gets from the VMA over the far page it backs: 1 readable, 3 also
 * writable (a writable VMA and a resident page, as a present writable PTE), 0 when it is free.
 */
export function frameBits(frames: Frames, vmas: VmaList, state: Uint8Array, page: number): number {
  const vaPage = frames.vaPageOf(page);
  if (vaPage < 0) return 0;
  const v = vmas.find(vaPage * PAGE_SIZE);
  if (v === undefined || !(v.flags & ANY_ACCESS)) return 0;
  return v.flags & VM_WRITE && state[page]! >= PAGE_ANON ? 3 : 1;
}

/** Page i of the leaf at `at` gets `bits` (as frameBits gives them) in both planes. */
export function paintFrame(u8: Uint8Array, at: number, i: number, bits: number): void {
  fillBits(u8, at, i, i + 1, (bits & 1) !== 0);
  fillBits(u8, at + PAGEMAP_WRITE_PLANE, i, i + 1, (bits & 2) !== 0);
}
