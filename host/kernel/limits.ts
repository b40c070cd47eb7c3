// Resource limits (getrlimit/setrlimit) and the commit accounting behind vm.overcommit_memory
// (mm/util.c __vm_enough_memory). Limits are in bytes (Infinity = RLIM_INFINITY); the commit
// charge is in pages and counts only this process, as if it were alone on the machine.

import { EFAULT, EINVAL, EPERM, PAGE_SIZE } from "../constants.js";
import { int, rlim, rlim64 } from "./args.js";
import type { Arch } from "./aslr.js";

/** A resource limit, as struct rlimit: bytes (or a count), Infinity for RLIM_INFINITY. */
export interface Rlimit {
  /** The soft limit: what the kernel enforces; the process may raise it up to `max`. */
  cur: number;
  /** The hard limit: the ceiling of `cur`; only a privileged process may raise it. */
  max: number;
}

export const RLIMIT_NAMES = [
  "RLIMIT_CPU",
  "RLIMIT_FSIZE",
  "RLIMIT_DATA",
  "RLIMIT_STACK",
  "RLIMIT_CORE",
  "RLIMIT_RSS",
  "RLIMIT_NPROC",
  "RLIMIT_NOFILE",
  "RLIMIT_MEMLOCK",
  "RLIMIT_AS",
  "RLIMIT_LOCKS",
  "RLIMIT_SIGPENDING",
  "RLIMIT_MSGQUEUE",
  "RLIMIT_NICE",
  "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME",
] as const;
export type RlimitName = (typeof RLIMIT_NAMES)[number];

const MiB = 1024 * 1024;
/** fs.nr_open: RLIMIT_NOFILE may not be raised past it. */
const NR_OPEN = 1024 * 1024;

export class Rlimits {
  private readonly limits: Rlimit[];
  /** How an rlim_t of the process's ABI reads (args.ts). */
  private readonly rlim: (value: unknown) => number;

  constructor(ramBytes: number, overrides: Partial<Record<string, Rlimit>>, arch: Arch = "i386") {
    const rlimOf = arch === "x86_64" ? rlim64 : rlim;
    this.rlim = rlimOf;
    // init_task's limits (include/asm-generic/resource.h), NPROC and SIGPENDING from RAM as
    // fork_init derives them (max_threads = RAM / (8 × THREAD_SIZE), halved).
    const threads = Math.max(20, Math.floor(ramBytes / (8 * 16384)));
    const nproc = Math.floor(threads / 2);
    const inf = { cur: Infinity, max: Infinity };
    this.limits = [
      inf, // CPU
      inf, // FSIZE
      inf, // DATA
      { cur: 8 * MiB, max: Infinity }, // STACK (_STK_LIM)
      { cur: 0, max: Infinity }, // CORE
      inf, // RSS
      { cur: nproc, max: nproc }, // NPROC
      { cur: 1024, max: 4096 }, // NOFILE (INR_OPEN_CUR, INR_OPEN_MAX)
      { cur: 8 * MiB, max: 8 * MiB }, // MEMLOCK (MLOCK_LIMIT)
      inf, // AS
      inf, // LOCKS
      { cur: nproc, max: nproc }, // SIGPENDING
      { cur: 819200, max: 819200 }, // MSGQUEUE
      { cur: 0, max: 0 }, // NICE
      { cur: 0, max: 0 }, // RTPRIO
      inf, // RTTIME
    ].map((l) => ({ ...l }));
    for (const [name, value] of Object.entries(overrides)) {
      const r = RLIMIT_NAMES.indexOf(name as RlimitName);
      if (r >= 0 && value) this.limits[r] = { cur: rlimOf(value.cur), max: rlimOf(value.max) };
    }
  }

  /** The resource number, or -1: a number as an `int`, or a name such as "RLIMIT_AS". */
  static resourceOf(resource: unknown): number {
    if (typeof resource === "string") return RLIMIT_NAMES.indexOf(resource as RlimitName);
    const r = int(resource);
    return r >= 0 && r < RLIMIT_NAMES.length ? r : -1;
  }

  cur(resource: number): number {
    return this.limits[resource]!.cur;
  }

  max(resource: number): number {
    return this.limits[resource]!.max;
  }

  get(resource: unknown): Rlimit | number {
    const r = Rlimits.resourceOf(resource);
    if (r < 0) return -EINVAL;
    const l = this.limits[r]!;
    return { cur: l.cur, max: l.max };
  }

  /**
   * do_prlimit's rules: EINVAL for a bad resource or cur > max, EPERM to raise a hard limit
   * (that needs CAP_SYS_RESOURCE, which `privileged` — CAP_IPC_LOCK — does not give).
   */
  set(resource: unknown, limit: unknown): number {
    // The syscall copies the struct in (EFAULT) before do_prlimit looks at the resource.
    if (limit === null || typeof limit !== "object") return -EFAULT;
    const r = Rlimits.resourceOf(resource);
    if (r < 0) return -EINVAL;
    const { cur: rawCur, max: rawMax } = limit as Partial<Rlimit>;
    const cur = this.rlim(rawCur);
    const max = this.rlim(rawMax);
    if (cur > max) return -EINVAL;
    if (r === 7 && max > NR_OPEN) return -EPERM;
    if (max > this.limits[r]!.max) return -EPERM;
    this.limits[r] = { cur, max };
    return 0;
  }
}

export interface CommitConfig {
  overcommit: 0 | 1 | 2;
  overcommitRatio: number;
  ramBytes: number;
  swapBytes: number;
}

/** vm_committed_as and the overcommit policy. */
export class Commit {
  committedPages = 0;
  private readonly ramPages: number;
  private readonly swapPages: number;
  private readonly adminReservePages: number;
  private readonly userReservePages: number;

  constructor(private readonly config: CommitConfig) {
    this.ramPages = Math.floor(config.ramBytes / PAGE_SIZE);
    this.swapPages = Math.floor(config.swapBytes / PAGE_SIZE);
    // init_admin_reserve / init_user_reserve: 1/32 of free memory, capped at 8 MiB / 128 MiB.
    const freeKb = config.ramBytes / 1024;
    this.adminReservePages = Math.floor(Math.min(freeKb / 32, 8192) / 4);
    this.userReservePages = Math.floor(Math.min(freeKb / 32, 131072) / 4);
  }

  /** vm_commit_limit(): the CommitLimit of /proc/meminfo, in pages. */
  get commitLimitPages(): number {
    return Math.floor((this.ramPages * this.config.overcommitRatio) / 100) + this.swapPages;
  }

  /**
   * __vm_enough_memory: charges `pages` and answers whether they fit; a refused charge is
   * undone. `totalVmPages` is the caller's mm->total_vm (for the user reserve).
   */
  charge(pages: number, totalVmPages: number): boolean {
    this.committedPages += pages;
    const mode = this.config.overcommit;
    if (mode === 1) return true;
    if (mode === 0) {
      if (pages > this.ramPages + this.swapPages) {
        this.committedPages -= pages;
        return false;
      }
      return true;
    }
    let allowed = this.commitLimitPages;
    allowed -= this.adminReservePages; // no CAP_SYS_ADMIN
    allowed -= Math.min(Math.floor(totalVmPages / 32), this.userReservePages);
    if (this.committedPages < allowed) return true;
    this.committedPages -= pages;
    return false;
  }

  uncharge(pages: number): void {
    this.committedPages -= pages;
  }
}
