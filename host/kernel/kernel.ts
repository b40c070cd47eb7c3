// The emulated Linux kernel of one process, 32-bit (i386) or 64-bit (x86_64) (6.1's semantics,
// and the reference machine's newer kernel where the two differ and the oracle shows it): the raw
// memory syscalls (numbers in, result ≥ 0 or −errno out, never a throw on bad input), procfs
// views, and checked access. Every address in and out is a virtual address; where it lives in the
// Wasm memory the windows say, or for a far page its frame (vaToOffset / offsetToVa / farOffset;
// docs/x86_64-layout.md).

import { EINVAL } from "../constants.js";
import type { SegmentationFault } from "../errors.js";
import { accessFault, fillBytes, readBytes, touchBytes, writeBytes } from "./access.js";
import { sysBrk } from "./brk.js";
import { sysMadvise } from "./madvise.js";
import { sysMincore } from "./mincore.js";
import { sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from "./mlock.js";
import { Mm, type KernelOptions } from "./mm.js";
import { computeLayout, initialMemoryBytes, pageDown, type Arch, type FramePool, type Window } from "./aslr.js";
import { Rlimits } from "./limits.js";
import { sysMmap, sysMunmap } from "./mmap.js";
import { sysMprotect } from "./mprotect.js";
import { sysMremap } from "./mremap.js";
import { maps, status, statusText, type Status } from "./procfs.js";
import type { Rlimit } from "./limits.js";

/**
 * The windows and the memory size a kernel made with these options will have, before it exists:
 * the windows depend only on the architecture, the seed, aslr and RLIMIT_STACK (not on the
 * program), so a process can size its memory and hand the windows to its allocator first.
 * `memoryBytes`: what the memory must hold at once (4 GiB on x86_64; the stack's page on i386).
 * `framePool`: the offsets whose pages back far pages (empty on i386).
 */
export function kernelWindows(
  options: Pick<KernelOptions, "arch" | "aslr" | "seed" | "rlimits" | "taskSize">,
): { windows: readonly Window[]; memoryBytes: number; framePool: FramePool } {
  const arch = options.arch ?? "i386";
  const stackRlimitCur = new Rlimits(0, options.rlimits, arch).cur(3);
  const layout = computeLayout({ arch, aslr: options.aslr, seed: options.seed, stackRlimitCur, dataEnd: 0, taskSize: options.taskSize });
  return { windows: layout.windows, memoryBytes: initialMemoryBytes(layout), framePool: layout.framePool };
}
import { verify } from "./verify.js";

export type { KernelOptions } from "./mm.js";
export type { Arch, FramePool, Window } from "./aslr.js";
export type { Status } from "./procfs.js";
export type { Rlimit } from "./limits.js";

export class Kernel {
  /** @internal The address space, for tests and tools that look deeper than procfs. */
  readonly mm: Mm;
  readonly arch: Arch;
  /** Where the address space lives in the memory: one identity window (i386) or three (x86_64). */
  readonly windows: readonly Window[];
  private readonly faultCounter: { readonly minor: number };

  constructor(options: KernelOptions) {
    this.mm = new Mm(options);
    this.arch = this.mm.arch;
    this.windows = this.mm.windows;
    const pages = this.mm.pages;
    this.faultCounter = {
      get minor() {
        return pages.minorFaults;
      },
    };
  }

  /**
   * The Wasm offset holding the byte at va: through its window, or in its frame for a far page
   * that is present; -1 for a far page that is not (or an address nothing could map). Only a
   * look-up: nothing is faulted in.
   */
  vaToOffset(va: number): number {
    return this.mm.vaToOffset(va);
  }
  /** The VA of the byte at Wasm offset `offset` (a window's, or a frame's far page), or -1 (a free frame, the page map). */
  offsetToVa(offset: number): number {
    return this.mm.offsetToVa(offset);
  }

  /**
   * For the allocator's access at va (write: a store) where no window holds va, or anywhere: the
   * Wasm offset of the byte at va after the fault that access takes on Linux, or -1 when the
   * access is refused (then accessFault(va, write) gives its SIGSEGV, with nothing changed).
   *
   * - A store faults the page in as any store does (resident, its page-map write bit set; a stack
   *   just above grows first). A load of a far page that is not present maps it (a read fault: a
   *   frame of zeros, the zero page as far as RSS and mincore tell); a load in a window faults
   *   nothing, as the allocator's loads never do.
   * - The offset is good for the bytes from va to the end of va's 4 KiB page only: the next page
   *   may be another frame, or in a window. It stays good until the next system call (munmap,
   *   mremap, madvise, brk, a MAP_FIXED mmap can take the frame away or give it to another VA):
   *   ask again after any.
   * - A frame is never handed out while the pool has none free: the process is OOM killed
   *   (ProcessKilled) instead, as it is when its resident pages pass RAM and swap.
   */
  farOffset(va: number, write: boolean): number {
    const mm = this.mm;
    const a = mm.word(va);
    if (accessFault(mm, a, write) !== null) return -1;
    const offset = mm.vaToOffset(a);
    if (offset >= 0) return offset;
    const page = pageDown(a);
    mm.readFault(mm.vmas.indexOf(a), page, page + 4096);
    return mm.vaToOffset(a);
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
    return accessFault(this.mm, this.mm.word(addr), write);
  }

  /** Reads [addr, addr + length) (VAs) as a load would: SIGSEGV where it is not readable. */
  read(addr: number, length: number): Uint8Array {
    const mm = this.mm;
    return readBytes(mm, mm.word(addr), mm.word(length));
  }
  write(addr: number, bytes: ArrayLike<number>): void {
    writeBytes(this.mm, this.mm.word(addr), bytes);
  }
  fill(addr: number, byte: number, length: number): void {
    const mm = this.mm;
    fillBytes(mm, mm.word(addr), byte, mm.word(length));
  }
  /** Write-faults the pages of [addr, addr + length) without changing a byte (Process.touch). */
  touch(addr: number, length: number): void {
    const mm = this.mm;
    touchBytes(mm, mm.word(addr), mm.word(length));
  }

  /** Checks every invariant of the address space; throws an Error naming the first violation. */
  verify(): void {
    verify(this.mm);
  }
}
