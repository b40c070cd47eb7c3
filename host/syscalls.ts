// The public `sys` table of a process: the raw Linux 6.1 system calls, each argument turned into the
// C value of its type (cargs.ts) before the kernel sees it.

import { ABI_I386, notACValue, toInt, toOffset, type CAbi } from "./cargs.js";
import type { Kernel } from "./kernel/kernel.js";
import { RLIMIT_NAMES } from "./kernel/limits.js";
import type { Rlimit } from "./options.js";
/**
 * The raw Linux 6.1 system calls of a 32-bit process, as `syscall(2)` returns them: a result ≥ 0,
 * or −errno (−4095..−1). Addresses and lengths are `unsigned long` (a number that is no u32 is
 * 0xffffffff; negative integers are their two's complement), prot/flags/fd/advice are `int`s (a
 * number with no int spelling is a RangeError). Bad C values never throw: they give −errno. A
 * value no C caller could pass (undefined, a string, an object, BigInt, Symbol) is a TypeError
 * and nothing happens. See docs/bad-input.md. Only anonymous memory exists. In an x86_64 process
 * addresses and lengths have 64 bits: a negative integer stands for its two's complement, and a
 * number that is no integer in [−2^63, 2^64) is SIZE_MAX.
 */
export interface Syscalls {
  /**
   * brk(2): moves the break to `addr` (bytes, page-rounded) and returns the new break; on
   * failure (RLIMIT_DATA, another mapping in the way, below the start) the old one, as the raw
   * syscall does (glibc's brk() turns that into -1/ENOMEM). `brk(0)` reads the break.
   */
  brk(addr: number | null): number;
  /**
   * mmap(2) (mmap2 underneath, so `offset` must be page-aligned): the address of a new mapping
   * of `length` bytes (rounded up to 4 KiB pages), placed top-down below mmap_base unless
   * MAP_FIXED / MAP_FIXED_NOREPLACE or a free hint says otherwise. `fd` must be -1 with
   * MAP_ANONYMOUS (else −EBADF). −EINVAL bad flags/length 0/unaligned fixed address, −ENOMEM no
   * room / RLIMIT_AS / overcommit / too many mappings, −EEXIST MAP_FIXED_NOREPLACE over a mapping,
   * −EPERM below vm.mmap_min_addr, −EAGAIN MAP_LOCKED beyond RLIMIT_MEMLOCK.
   */
  mmap(addr: number | null, length: number, prot: number, flags: number, fd: number, offset: number): number;
  /** munmap(2): unmaps the pages of [addr, addr + length); 0, or −EINVAL (unaligned addr, length 0, out of user space). */
  munmap(addr: number | null, length: number): number;
  /**
   * mremap(2): shrinks, grows in place, or (MREMAP_MAYMOVE) moves a mapping; MREMAP_FIXED puts
   * it at `newAddr` (0 when left out), MREMAP_DONTUNMAP leaves the old range mapped and empty.
   * The new address, or −EINVAL / −EFAULT (no mapping at oldAddr) / −ENOMEM (no room, limits).
   */
  mremap(oldAddr: number | null, oldLength: number, newLength: number, flags: number, newAddr?: number | null): number;
  /** mprotect(2): changes PROT_* of whole pages; 0, −EINVAL (unaligned, unknown bits), −ENOMEM (a hole in the range). */
  mprotect(addr: number | null, length: number, prot: number): number;
  /**
   * madvise(2): MADV_DONTNEED drops pages (they read as zero again, RSS falls), MADV_FREE,
   * MADV_WILLNEED, MADV_POPULATE_*, … ; 0, −EINVAL (unknown advice, unaligned), −ENOMEM (a hole).
   */
  madvise(addr: number | null, length: number, advice: number): number;
  /**
   * mincore(2): writes one byte per page of [addr, addr + length) into `vec` (1 = resident or
   * mapped to the zero page); 0, −EINVAL (unaligned), −ENOMEM (a hole), −EFAULT (`vec` null or
   * too short: the bytes before stay written).
   */
  mincore(addr: number | null, length: number, vec: Uint8Array | null): number;
  /** mlock(2): locks (and faults in) the pages; −ENOMEM beyond RLIMIT_MEMLOCK (unless `privileged`) or over a hole. */
  mlock(addr: number | null, length: number): number;
  /** mlock2(2): mlock, or with MLOCK_ONFAULT locking pages only as they are touched; −EINVAL for unknown flags. */
  mlock2(addr: number | null, length: number, flags: number): number;
  /** munlock(2): unlocks the pages; 0 or −ENOMEM (a hole). */
  munlock(addr: number | null, length: number): number;
  /** mlockall(2): MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT; −EINVAL for other bits or none, −ENOMEM beyond RLIMIT_MEMLOCK. */
  mlockall(flags: number): number;
  /** munlockall(2): always 0. */
  munlockall(): number;
  /**
   * getrlimit(2): `{ cur, max }` in bytes (Infinity is RLIM_INFINITY). `resource` is its number
   * (RLIMIT_AS is 9) or its name ("RLIMIT_AS"; an unknown name is a TypeError). A bad number
   * gives `{ cur: −EINVAL, max: −EINVAL }`.
   */
  getrlimit(resource: number | string): Rlimit;
  /**
   * setrlimit(2) (prlimit64 underneath): 0, or −EFAULT (`limit` null), −EINVAL (bad resource,
   * cur > max), −EPERM (raising max, which needs CAP_SYS_RESOURCE). cur and max are rlim_t: a
   * non-negative integer, Infinity, or anything ≥ 2^32 − 1 (all RLIM_INFINITY, as i386 glibc
   * reads them back); a missing field is a TypeError and the limit stays as it was.
   */
  setrlimit(resource: number | string, limit: Rlimit | null): number;
}

/** A resource argument: an int (RLIMIT_AS is 9), or a name the API accepts for it. */
function toResource(value: unknown, fn: string): number {
  if (typeof value === "string") {
    const r = RLIMIT_NAMES.indexOf(value as (typeof RLIMIT_NAMES)[number]);
    if (r < 0) throw new TypeError(`${fn}: unknown resource name ${JSON.stringify(value)} (known: ${RLIMIT_NAMES.join(", ")})`);
    return r;
  }
  if (typeof value !== "number") throw notACValue(fn, "resource", "a number or an RLIMIT_* name", value);
  return toInt(value, fn, "resource");
}

/**
 * The public `sys` table: each argument becomes the C value of its type (cargs.ts; `abi` says
 * whose: i386's 32-bit words or x86_64's 64-bit ones) before the kernel sees it, so a value no C
 * caller could pass throws with the process untouched; every C value, however bad, reaches the
 * kernel and comes back as −errno.
 */
export function checkedSyscalls(k: Kernel, live: () => void, abi: CAbi = ABI_I386): Syscalls {
  const { toPtr, toSizeT, toRlim } = abi;
  return {
    brk: (a) => (live(), k.brk(toPtr(a, "sys.brk", "addr"))),
    mmap: (a, l, p, f, fd, o) => {
      live();
      const n = "sys.mmap";
      return k.mmap(toPtr(a, n, "addr"), toSizeT(l, n, "length"), toInt(p, n, "prot"), toInt(f, n, "flags"), toInt(fd, n, "fd"), toOffset(o, n, "offset"));
    },
    munmap: (a, l) => (live(), k.munmap(toPtr(a, "sys.munmap", "addr"), toSizeT(l, "sys.munmap", "length"))),
    mremap: (o, ol, nl, f, na) => {
      live();
      const n = "sys.mremap";
      const args = [toPtr(o, n, "oldAddr"), toSizeT(ol, n, "oldLength"), toSizeT(nl, n, "newLength"), toInt(f, n, "flags")] as const;
      return k.mremap(...args, na === undefined ? 0 : toPtr(na, n, "newAddr"));
    },
    mprotect: (a, l, p) => {
      live();
      return k.mprotect(toPtr(a, "sys.mprotect", "addr"), toSizeT(l, "sys.mprotect", "length"), toInt(p, "sys.mprotect", "prot"));
    },
    madvise: (a, l, adv) => {
      live();
      return k.madvise(toPtr(a, "sys.madvise", "addr"), toSizeT(l, "sys.madvise", "length"), toInt(adv, "sys.madvise", "advice"));
    },
    mincore: (a, l, v) => {
      live();
      const addr = toPtr(a, "sys.mincore", "addr");
      const len = toSizeT(l, "sys.mincore", "length");
      // NULL is a C value (the kernel answers EFAULT when it has a byte to store); nothing else is.
      if (v !== null && !(v instanceof Uint8Array)) throw notACValue("sys.mincore", "vec", "a Uint8Array or null", v);
      return k.mincore(addr, len, v as Uint8Array);
    },
    mlock: (a, l) => (live(), k.mlock(toPtr(a, "sys.mlock", "addr"), toSizeT(l, "sys.mlock", "length"))),
    mlock2: (a, l, f) => {
      live();
      return k.mlock2(toPtr(a, "sys.mlock2", "addr"), toSizeT(l, "sys.mlock2", "length"), toInt(f, "sys.mlock2", "flags"));
    },
    munlock: (a, l) => (live(), k.munlock(toPtr(a, "sys.munlock", "addr"), toSizeT(l, "sys.munlock", "length"))),
    mlockall: (f) => (live(), k.mlockall(toInt(f, "sys.mlockall", "flags"))),
    munlockall: () => (live(), k.munlockall()),
    getrlimit: (r) => (live(), k.getrlimit(toResource(r, "sys.getrlimit"))),
    setrlimit: (r, lim) => {
      live();
      const n = "sys.setrlimit";
      const resource = toResource(r, n);
      // NULL is a C value: the raw syscall's copy_from_user fails with EFAULT.
      if (lim === null) return k.setrlimit(resource, null as unknown as Rlimit);
      if (typeof lim !== "object") throw notACValue(n, "limit", "an object { cur, max } or null", lim);
      const cur = toRlim((lim as Partial<Rlimit>).cur, n, "limit.cur");
      return k.setrlimit(resource, { cur, max: toRlim((lim as Partial<Rlimit>).max, n, "limit.max") });
    },
  };
}
