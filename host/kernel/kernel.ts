// The emulated Linux kernel of one 32-bit process (6.1's semantics, and the reference machine's
// newer kernel where the two differ and the oracle shows it): the raw memory syscalls (numbers in,
// result ≥ 0 or −errno out, never a throw on bad input), procfs views, and checked access.

import { EINVAL } from "../constants.js";
import type { SegmentationFault } from "../errors.js";
import { accessFault, fillBytes, readBytes, touchBytes, writeBytes } from "./access.js";
import { ulong } from "./args.js";
import { sysBrk } from "./brk.js";
import { sysMadvise } from "./madvise.js";
import { sysMincore } from "./mincore.js";
import { sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from "./mlock.js";
import { Mm, type KernelOptions } from "./mm.js";
import { sysMmap, sysMunmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { sysMremap } from "./mremap.js";
import { maps, status, statusText, type Status } from "./procfs.js";
import type { Rlimit } from "./limits.js";
import { verify } from "./verify.js";

export type { KernelOptions } from "./mm.js";
export type { Status } from "./procfs.js";
export type { Rlimit } from "./limits.js";

export class Kernel {
  /** @internal The address space, for tests and tools that look deeper than procfs. */
  readonly mm: Mm;
  private readonly faultCounter: { readonly minor: number };

  constructor(options: KernelOptions) {
    this.mm = new Mm(options);
    const pages = this.mm.pages;
    this.faultCounter = {
      get minor() {
        return pages.minorFaults;
      },
    };
  }

  /** The initial break (mm->start_brk). */
  get startBrk(): number {
    return this.mm.startBrk;
  }

  // ── raw syscalls ─────────────────────────────────────────────────────────────
  brk(addr: number): number {
    return sysBrk(this.mm, addr);
  }
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
    return sysMmap(this.mm, addr, length, prot, flags, fd, offset);
  }
  munmap(addr: number, length: number): number {
    return sysMunmap(this.mm, addr, length);
  }
  mremap(oldAddr: number, oldLength: number, newLength: number, flags: number, newAddr?: number): number {
    return sysMremap(this.mm, oldAddr, oldLength, newLength, flags, newAddr ?? 0);
  }
  mprotect(addr: number, length: number, prot: number): number {
    return sysMprotect(this.mm, addr, length, prot);
  }
  madvise(addr: number, length: number, advice: number): number {
    return sysMadvise(this.mm, addr, length, advice);
  }
  mincore(addr: number, length: number, vec: Uint8Array): number {
    return sysMincore(this.mm, addr, length, vec);
  }
  mlock(addr: number, length: number): number {
    return sysMlock(this.mm, addr, length);
  }
  mlock2(addr: number, length: number, flags: number): number {
    return sysMlock2(this.mm, addr, length, flags);
  }
  munlock(addr: number, length: number): number {
    return sysMunlock(this.mm, addr, length);
  }
  mlockall(flags: number): number {
    return sysMlockall(this.mm, flags);
  }
  munlockall(): number {
    return sysMunlockall(this.mm);
  }
  /** {cur, max} in bytes (Infinity = RLIM_INFINITY); a bad resource gives {cur: -EINVAL, max: -EINVAL}. */
  getrlimit(resource: number | string): Rlimit {
    const r = this.mm.rlimits.get(resource);
    return typeof r === "number" ? { cur: -EINVAL, max: -EINVAL } : r;
  }
  setrlimit(resource: number | string, limit: Rlimit): number {
    return this.mm.rlimits.set(resource, limit);
  }

  // ── looking at memory ────────────────────────────────────────────────────────
  maps(): string {
    return maps(this.mm);
  }
  status(): Status {
    return status(this.mm);
  }
  /** The memory lines of /proc/self/status as text. */
  statusText(): string {
    return statusText(status(this.mm));
  }
  get faults(): { readonly minor: number } {
    return this.faultCounter;
  }
  /** Committed_AS of this process, in bytes (what overcommit mode 2 limits). */
  get committedBytes(): number {
    return this.mm.commit.committedPages * 4096;
  }
  /**
   * The allocator's load (write false) or store at addr found a clear bit in the page map: null
   * if the access may go on (a stack grown, or a region the map could not hold), else the SIGSEGV.
   */
  accessFault(addr: number, write: boolean): SegmentationFault | null {
    return accessFault(this.mm, ulong(addr), write);
  }

  read(addr: number, length: number): Uint8Array {
    return readBytes(this.mm, ulong(addr), ulong(length));
  }
  write(addr: number, bytes: ArrayLike<number>): void {
    writeBytes(this.mm, ulong(addr), bytes);
  }
  fill(addr: number, byte: number, length: number): void {
    fillBytes(this.mm, ulong(addr), byte, ulong(length));
  }
  /** Write-faults the pages of [addr, addr + length) without changing a byte (Process.touch). */
  touch(addr: number, length: number): void {
    touchBytes(this.mm, ulong(addr), ulong(length));
  }
  /** Checks every invariant of the address space; throws an Error naming the first violation. */
  verify(): void {
    verify(this.mm);
  }
}
