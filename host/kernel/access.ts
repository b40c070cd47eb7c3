// Checked access to the process's memory, as a user-space load or store would fault: an
// unmapped address is SEGV_MAPERR, a missing permission SEGV_ACCERR, and an access just below
// a VM_GROWSDOWN VMA grows it first (expand_downwards), as the x86 fault handler does.
// Addresses are VAs; the bytes are read and written at their Wasm offsets: in one run when a
// window holds the whole range, else part by part, a far page's bytes in its frame (far.ts).

import { PAGE_SIZE } from "../constants.js";
import { SegmentationFault } from "../errors.js";
import { STACK_GUARD_GAP, pageDown } from "./aslr.js";
import { forEachByteRun } from "./far.js";
import { MMAP_MIN_ADDR, type Mm } from "./mm.js";
import {
  VM_ACCESS_FLAGS, VM_ACCOUNT, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_READ, VM_WRITE, pagesOf, type Vma,
} from "./vma.js";

/** expand_downwards + acct_stack_growth; true if the VMA at `index` now reaches addr. */
function expandStack(mm: Mm, index: number, addr: number): boolean {
  const v = mm.vmas.list[index]!;
  const address = pageDown(addr);
  if (address < MMAP_MIN_ADDR) return false;
  const prev = mm.vmas.list[index - 1];
  if (prev !== undefined && !(prev.flags & VM_GROWSDOWN) && prev.flags & VM_ACCESS_FLAGS) {
    if (address - prev.end < STACK_GUARD_GAP) return false;
  }
  const grow = pagesOf(v.start - address);
  if (!mm.mayExpandVm(v.flags, grow)) return false;
  if (v.end - address > mm.rlimits.cur(3)) return false;
  if (v.flags & VM_LOCKED && !mm.mlockFutureOk(v.flags, grow * PAGE_SIZE)) return false;
  if (v.flags & VM_ACCOUNT && !mm.chargeCommit(grow)) return false;
  mm.vmas.resize(index, address, v.end);
  if (v.flags & VM_LOCKED) mm.lockedVm += grow;
  return true;
}

/**
 * What an access at a meets: the VMA that holds it with the right (after growing a stack just
 * above it, as the x86 fault handler does), or the SIGSEGV — SEGV_MAPERR where nothing is mapped,
 * SEGV_ACCERR where the right is missing (x86: any access right makes a page readable).
 */
function accessAt(mm: Mm, a: number, write: boolean): Vma | SegmentationFault {
  const vmas = mm.vmas;
  for (;;) {
    const i = vmas.lowerBound(a);
    const v = vmas.list[i];
    if (v === undefined || v.start > a) {
      if (v !== undefined && v.flags & VM_GROWSDOWN && a < mm.layout.taskSize && expandStack(mm, i, a)) continue;
      return new SegmentationFault("SEGV_MAPERR", a);
    }
    if (!(v.flags & (write ? VM_WRITE : VM_READ | VM_WRITE | VM_EXEC))) return new SegmentationFault("SEGV_ACCERR", a);
    return v;
  }
}

/**
 * Checks [addr, addr + len) for the access and faults its accessible prefix in (write faults
 * make pages resident; read faults map the zero page). Returns the fault to raise after the
 * prefix, or null: a store instruction sequence (memset, memcpy) writes every byte before the
 * first bad one, then the signal arrives.
 */
function faultIn(mm: Mm, addr: number, len: number, write: boolean): { okEnd: number; fault: SegmentationFault | null } {
  const end = addr + len;
  const vmas = mm.vmas;
  let a = addr;
  let fault: SegmentationFault | null = null;
  while (a < end) {
    const v = accessAt(mm, a, write);
    if (v instanceof SegmentationFault) {
      fault = v;
      break;
    }
    a = Math.min(v.end, end);
  }
  const okEnd = Math.min(a, end);
  for (let i = vmas.lowerBound(addr); i < vmas.count && okEnd > addr; i++) {
    const v = vmas.list[i]!;
    if (v.start >= okEnd) break;
    const s = pageDown(Math.max(v.start, addr));
    const e = Math.min(v.end, Math.ceil(okEnd / PAGE_SIZE) * PAGE_SIZE);
    if (write) mm.writeFault(i, s, e);
    else {
      mm.scanVma(i, s, e);
      mm.readFault(i, s, e);
    }
  }
  return { okEnd, fault };
}

export function readBytes(mm: Mm, addr: number, len: number): Uint8Array {
  const { fault } = faultIn(mm, addr, len, false);
  if (fault) throw fault;
  if (len === 0) return new Uint8Array(0);
  const at = mm.identity ? addr : mm.runOffset(addr, addr + len);
  if (at >= 0) return mm.pages.u8().slice(at, at + len);
  const out = new Uint8Array(len);
  const u8 = mm.pages.u8();
  forEachByteRun(mm, addr, len, (offset, k, n) => out.set(u8.subarray(offset, offset + n), k));
  return out;
}

export function writeBytes(mm: Mm, addr: number, bytes: ArrayLike<number>): void {
  const { okEnd, fault } = faultIn(mm, addr, bytes.length, true);
  const n = okEnd - addr;
  const u8 = mm.pages.u8();
  if (n > 0) {
    const at = mm.identity ? addr : mm.runOffset(addr, okEnd);
    if (at < 0) forEachByteRun(mm, addr, n, (offset, k, m) => copyIn(u8, offset, bytes, k, m));
    else if (n === bytes.length) u8.set(bytes, at);
    else for (let k = 0; k < n; k++) u8[at + k] = bytes[k]!;
  }
  if (fault) throw fault;
}

export function fillBytes(mm: Mm, addr: number, byte: number, len: number): void {
  const { okEnd, fault } = faultIn(mm, addr, len, true);
  if (okEnd > addr) {
    const u8 = mm.pages.u8();
    const at = mm.identity ? addr : mm.runOffset(addr, okEnd);
    if (at >= 0) u8.fill(byte & 0xff, at, at + (okEnd - addr));
    else forEachByteRun(mm, addr, okEnd - addr, (offset, _k, n) => u8.fill(byte & 0xff, offset, offset + n));
  }
  if (fault) throw fault;
}

/** bytes[k, k + n) into the memory at offset. */
function copyIn(u8: Uint8Array, offset: number, bytes: ArrayLike<number>, k: number, n: number): void {
  for (let i = 0; i < n; i++) u8[offset + i] = bytes[k + i]!;
}

/** Process.touch: [addr, addr + len) was written behind the kernel's back; fault it in as those stores would have. */
export function touchBytes(mm: Mm, addr: number, len: number): void {
  // The common case, a store into a page already written: nothing to do.
  if (mm.identity) {
    if (len > 0 && (addr & (PAGE_SIZE - 1)) + len <= PAGE_SIZE && mm.pageMap.storeReady(addr)) return;
  } else if (len > 0 && (addr % PAGE_SIZE) + len <= PAGE_SIZE) {
    const at = mm.vaToOffset(addr);
    if (at >= 0 && mm.pageMap.storeReady(at)) return;
  }
  const { fault } = faultIn(mm, addr, len, true);
  if (fault) throw fault;
}

/**
 * The allocator's own load (or store) at addr met a clear bit in the page map (pagemap.ts): what
 * the fault handler does with it. An address just below a VM_GROWSDOWN VMA grows the stack as
 * any access there does on Linux; a store into a writable page that is not resident faults it
 * in (the page map then promises it); the access goes on (null). Else the SIGSEGV the process
 * dies of — SEGV_MAPERR where nothing is mapped, SEGV_ACCERR where the access right is missing.
 * A page of a region the map had no leaf for is also answered here. Loads fault nothing in.
 */
export function accessFault(mm: Mm, addr: number, write: boolean): SegmentationFault | null {
  const v = accessAt(mm, addr, write);
  if (v instanceof SegmentationFault) return v;
  if (write) {
    const page = pageDown(addr);
    mm.writeFault(mm.vmas.lowerBound(addr), page, page + PAGE_SIZE);
  }
  return null;
}
