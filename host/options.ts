// createProcess's options: what each means, its default, and the check that turns a bad value
// into an error naming the option (a TypeError for the wrong kind of value or an unknown name,
// a RangeError for a value of the right kind outside what the option allows).

import { describeValue } from "./cargs.js";
import { RLIMIT_NAMES, type Rlimit } from "./kernel/limits.js";

/** A resource limit's name as Linux spells it: `"RLIMIT_AS"`, `"RLIMIT_DATA"`, `"RLIMIT_STACK"`, `"RLIMIT_MEMLOCK"`, … */
export type RlimitName = (typeof RLIMIT_NAMES)[number];
export type { Rlimit };

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** A Wasm page: the unit a WebAssembly.Memory grows by. */
export const WASM_PAGE_BYTES = 64 * KiB;
/** The largest memory a 32-bit Wasm module can address, and the default maximum. */
export const MAX_MEMORY_BYTES = 4 * GiB;
/**
 * The smallest maximum a process can live in: the address-space layout (aslr.ts) puts mmap_base
 * at 1/6 of user space when the stack gap is clamped, and below it go ld.so, the vDSO and libc
 * (about 2.6 MiB) with up to 1 MiB of randomization; below 32 MiB they would reach down into the
 * program and its heap.
 */
export const MIN_MEMORY_BYTES = 32 * MiB;
/** TASK_SIZE_MAX of a 64-bit task on x86-64 with 4-level paging: 47 bits less the guard page. */
export const TASK_SIZE_X86_64 = 0x7ffffffff000;

/**
 * createProcess's options, all optional. A value of the wrong kind, or an unknown option name, is
 * a TypeError naming it; a value of the right kind outside what the option allows, a RangeError.
 */
export interface ProcessOptions {
  /**
   * Seeds ASLR and glibc's tcache key: the same seed and the same calls give the same addresses.
   * Any finite number (its integer part modulo 2^32 is used). Default: random.
   */
  seed?: number;
  /** kernel.randomize_va_space: 0 none, 1 stack and mmap base, 2 also the break. Default 2. */
  aslr?: 0 | 1 | 2;
  /** `"wasm"`: ptmalloc compiled from assembly/ (default); `"ts"`: the same algorithm in plain TypeScript (same addresses). */
  allocator?: "wasm" | "ts";
  /** vm.overcommit_memory: 0 heuristic (default), 1 always, 2 strict (CommitLimit). */
  overcommit?: 0 | 1 | 2;
  /** vm.overcommit_ratio: percent of RAM that counts toward CommitLimit in mode 2. A non-negative integer; default 50. */
  overcommitRatio?: number;
  /** Emulated physical RAM in bytes: resident pages beyond it (plus swap) ⇒ ProcessKilled (the OOM killer). A positive integer; default 1 GiB. */
  ramBytes?: number;
  /** Emulated swap in bytes. A non-negative integer; default 0. */
  swapBytes?: number;
  /** CAP_IPC_LOCK: mlock and mlockall may lock beyond RLIMIT_MEMLOCK. Default false. */
  privileged?: boolean;
  /**
   * The process's initial resource limits, in bytes, by name (any RLIMIT_* of Linux; RLIMIT_AS,
   * RLIMIT_DATA, RLIMIT_STACK and RLIMIT_MEMLOCK are the ones memory obeys). Each is
   * `{ cur, max }`, both non-negative integers or Infinity (RLIM_INFINITY), cur ≤ max. As on
   * i386, where rlim_t has 32 bits, any value ≥ 2^32 − 1 is RLIM_INFINITY. Defaults: Linux's
   * (RLIMIT_STACK 8 MiB soft, RLIMIT_MEMLOCK 8 MiB, the rest unlimited).
   */
  rlimits?: Partial<Record<RlimitName, Rlimit>>;
  /**
   * The process's ABI and glibc build: `"i386"` (default), or `"x86_64"`, a 64-bit PIE program
   * with the 47-bit layout of Linux 6.1 (docs/x86_64-layout.md). An x86_64 process needs the whole
   * 4 GiB memory (maxMemoryBytes).
   */
  arch?: "i386" | "x86_64";
  /** What get_nprocs() returns (on i386, glibc's arena limit is 2 × it, main arena included, unless M_ARENA_MAX is set). A positive integer; default 2. No effect until threads exist. */
  nprocs?: number;
  /**
   * How the kernel learns of raw writes to `proc.memory`: `"scan"` (default) searches the pages
   * it has not seen written before it reports or drops them; `"declared"` promises that every raw
   * write is declared with `proc.touch`, and nothing is ever scanned (munmap, brk, MADV_DONTNEED,
   * mincore and status cost what is resident). An undeclared raw write may then survive an unmap.
   */
  writes?: "scan" | "declared";
  /**
   * The Wasm memory's maximum in bytes, rounded down to whole Wasm pages (64 KiB) — down, so
   * that the memory never exceeds the budget asked for. Default and largest: 4 GiB. User space
   * ends 8 KiB below it (TASK_SIZE: 0xFFFFE000 for 4 GiB, as a 32-bit process on x86-64), and
   * the stack, mmap_base, the libraries and the ASLR ranges move down with it as Linux's
   * formulas put them in a smaller address space. At least 32 MiB (MIN_MEMORY_BYTES).
   */
  maxMemoryBytes?: number;
  /** Run the debug build of the allocator, which checks the whole heap after every call. Default false. */
  debug?: boolean;
}

/** Every option, valid and with its default filled in. */
export interface ResolvedOptions {
  seed: number;
  arch: "i386" | "x86_64";
  aslr: 0 | 1 | 2;
  allocator: "wasm" | "ts";
  overcommit: 0 | 1 | 2;
  overcommitRatio: number;
  ramBytes: number;
  swapBytes: number;
  privileged: boolean;
  rlimits: Partial<Record<RlimitName, Rlimit>>;
  nprocs: number;
  writes: "scan" | "declared";
  /** The Wasm memory's maximum, a whole number of Wasm pages. */
  maxMemoryBytes: number;
  /** The end of user space: maxMemoryBytes − 8 KiB on i386; 0x7ffffffff000 on x86_64. */
  taskSize: number;
  debug: boolean;
}

const KNOWN = new Set<string>([
  "seed", "aslr", "allocator", "overcommit", "overcommitRatio", "ramBytes", "swapBytes", "privileged",
  "rlimits", "arch", "nprocs", "writes", "maxMemoryBytes", "debug",
]);

const fail = (Kind: typeof TypeError, what: string, must: string, value: unknown): Error =>
  new Kind(`createProcess: ${what} must be ${must}, got ${describeValue(value)}`);

function oneOf<T>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  const must = allowed.map((a) => JSON.stringify(a)).join(", ");
  throw fail(typeof value === typeof allowed[0] ? RangeError : TypeError, name, `one of ${must}`, value);
}

function bool(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw fail(TypeError, name, "a boolean", value);
  return value;
}

/** A non-negative (or, with `min`, at least `min`) safe integer of bytes or a count. */
function integer(name: string, value: unknown, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw fail(TypeError, name, "a number", value);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const must = min === 0 ? "a non-negative integer" : min === 1 ? "a positive integer" : `an integer ≥ ${min}`;
    throw fail(RangeError, name, max < Number.MAX_SAFE_INTEGER ? `${must} ≤ ${max}` : must, value);
  }
  return value + 0;
}

/**
 * An rlim_t given at creation: a non-negative integer or Infinity; RLIM_INFINITY from 2^32 − 1 on
 * (i386) or 2^64 − 1 (x86_64, where no double lies between it and 2^64).
 */
function rlimValue(name: string, value: unknown, infinity: number): number {
  if (typeof value !== "number") throw fail(TypeError, name, "a number (a non-negative integer or Infinity)", value);
  if (value === Infinity) return Infinity;
  if (!Number.isInteger(value) || value < 0) throw fail(RangeError, name, "a non-negative integer or Infinity", value);
  return value >= infinity ? Infinity : value + 0;
}

function rlimits(value: unknown, infinity: number): Partial<Record<RlimitName, Rlimit>> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw fail(TypeError, "rlimits", "an object", value);
  const out: Partial<Record<RlimitName, Rlimit>> = {};
  for (const [name, limit] of Object.entries(value)) {
    if (!(RLIMIT_NAMES as readonly string[]).includes(name)) {
      throw new TypeError(`createProcess: unknown rlimit ${JSON.stringify(name)} (known: ${RLIMIT_NAMES.join(", ")})`);
    }
    if (limit === undefined) continue;
    if (limit === null || typeof limit !== "object") throw fail(TypeError, `rlimits.${name}`, "an object { cur, max }", limit);
    const cur = rlimValue(`rlimits.${name}.cur`, (limit as Partial<Rlimit>).cur, infinity);
    const max = rlimValue(`rlimits.${name}.max`, (limit as Partial<Rlimit>).max, infinity);
    if (cur > max) {
      throw new RangeError(`createProcess: rlimits.${name}.cur (${cur}) must not exceed rlimits.${name}.max (${max}), as setrlimit's EINVAL says`);
    }
    out[name as RlimitName] = { cur, max };
  }
  return out;
}

/**
 * Checks every option and fills in the defaults. Unknown option names are a TypeError naming
 * them (a misspelt `rlimit:` would otherwise silently leave the default in place).
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`createProcess: options must be an object, got ${describeValue(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`createProcess: unknown option ${JSON.stringify(key)} (known: ${[...KNOWN].join(", ")})`);
  }
  let seed: number;
  if (o.seed === undefined) seed = Math.floor(Math.random() * 2 ** 32);
  else if (typeof o.seed !== "number") throw fail(TypeError, "seed", "a number", o.seed);
  else if (!Number.isFinite(o.seed)) throw fail(RangeError, "seed", "a finite number", o.seed);
  else seed = o.seed;
  const arch = oneOf("arch", o.arch, ["i386", "x86_64"] as const, "i386");
  const wide = arch === "x86_64";
  const requestedMax = integer("maxMemoryBytes", o.maxMemoryBytes, MAX_MEMORY_BYTES, MIN_MEMORY_BYTES, MAX_MEMORY_BYTES);
  const maxMemoryBytes = Math.floor(requestedMax / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
  // The x86_64 windows (docs/x86_64-layout.md) divide the whole 4 GiB between the program and its heap,
  // the mmap zone and the stack; a smaller memory would need another division, not yet made.
  if (wide && maxMemoryBytes !== MAX_MEMORY_BYTES) {
    throw fail(RangeError, "maxMemoryBytes", 'the default 4 GiB (4294967296) with arch "x86_64"', o.maxMemoryBytes);
  }
  const allocator = oneOf("allocator", o.allocator, ["wasm", "ts"] as const, "wasm");
  return {
    seed: seed! >>> 0,
    arch,
    aslr: oneOf("aslr", o.aslr, [0, 1, 2] as const, 2),
    allocator,
    overcommit: oneOf("overcommit", o.overcommit, [0, 1, 2] as const, 0),
    overcommitRatio: integer("overcommitRatio", o.overcommitRatio, 50),
    ramBytes: integer("ramBytes", o.ramBytes, GiB, 1),
    swapBytes: integer("swapBytes", o.swapBytes, 0),
    privileged: bool("privileged", o.privileged),
    rlimits: rlimits(o.rlimits, wide ? 2 ** 64 : 0xffffffff),
    nprocs: integer("nprocs", o.nprocs, 2, 1),
    writes: oneOf("writes", o.writes, ["scan", "declared"] as const, "scan"),
    maxMemoryBytes,
    taskSize: wide ? TASK_SIZE_X86_64 : maxMemoryBytes - 0x2000,
    debug: bool("debug", o.debug),
  };
}
