// The replay engine: runs op lists on a process, batch after batch, through the public API only.
// Whole-input replay (replay.ts) and streaming replay (stream.ts) both drive it; what they do with
// each block (keep it, or write its output line at once) is their ReplayEvents.
//
// It keeps one slot per ID (the address and whether the block is live: 5 bytes) and one per
// region; nothing per op unless per-op timings are asked for.
//
// An op list with thread lines (T, E) runs in the threads oracle's mode (oracle/threads/README.md):
// a loop of its own, each op called on the current thread, and every block placed in its arena
// and heap, read from the heap_info below it. The single-thread loop does not pay for it.

import type { Mallinfo2 } from "../libc.js";
import { NO_ID, Op, type OpList } from "./ops.js";

/** The C library calls a replay makes on a thread (Thread satisfies it; the process too). */
export interface ReplayCaller {
  malloc(size: number): number;
  calloc(nmemb: number, size: number): number;
  memalign(alignment: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  reallocarray?(ptr: number, nmemb: number, size: number): number;
  aligned_alloc?(alignment: number, size: number): number;
  posix_memalign?(alignment: number, size: number): { err: number; ptr: number };
  valloc?(size: number): number;
  pvalloc?(size: number): number;
  malloc_usable_size?(ptr: number): number;
}

/** A thread, as a replay uses it (Thread satisfies it). */
export interface ReplayThread extends ReplayCaller {
  /** The process's number for it. */
  readonly id: number;
  /** Where its stack came from: the thread (process number) whose cached stack it got, or null. */
  readonly stack: { readonly cachedFrom: number | null };
  /** Its start routine returns; the main thread joins it. */
  exit(): void;
}

/** What replay needs from a process: a subset of the public API (Process satisfies it). */
export interface ReplayTarget {
  /** The process's memory: the size field of each block is read at address − SIZE_SZ. */
  readonly memory: WebAssembly.Memory;
  /** The process's ABI (default "i386": an address is an offset into `memory.buffer`). */
  readonly arch?: "i386" | "x86_64";
  /** Process.offsetOf: where an address lives in `memory.buffer` (needed for x86_64). */
  offsetOf?(addr: number): number;
  /** Process.malloc: op `m`. */
  malloc(size: number): number;
  /** Process.calloc: op `c`. */
  calloc(nmemb: number, size: number): number;
  /** Process.memalign: op `a`. */
  memalign(alignment: number, size: number): number;
  /** Process.realloc: op `r`. */
  realloc(ptr: number, size: number): number;
  /** Process.free: op `f`. */
  free(ptr: number): void;
  /** Process.mallopt: op `o`. */
  mallopt(param: number, value: number): number;
  /** Process.malloc_trim: op `t`. */
  malloc_trim(pad: number): number;
  /** Process.mallinfo2: the checkpoints and the end. */
  mallinfo2(): Mallinfo2;
  /** Process.malloc_stats: the end. */
  malloc_stats(): string;
  /** Process.malloc_info: op `i`. */
  malloc_info(): string;
  /** Process.sbrk: the initial break, alignBreak, and op `s`. */
  sbrk(increment: number): number;
  /** Process.maps: whether a [heap] exists before the first op. */
  maps(): string;
  // Needed only by the extension ops (R A P v V u M U X D Y).
  /** Process.reallocarray: op `R` (needed only by op lists that use it). */
  reallocarray?(ptr: number, nmemb: number, size: number): number;
  /** Process.aligned_alloc: op `A`. */
  aligned_alloc?(alignment: number, size: number): number;
  /** Process.posix_memalign: op `P`. */
  posix_memalign?(alignment: number, size: number): { err: number; ptr: number };
  /** Process.valloc: op `v`. */
  valloc?(size: number): number;
  /** Process.pvalloc: op `V`. */
  pvalloc?(size: number): number;
  /** Process.malloc_usable_size: op `u`. */
  malloc_usable_size?(ptr: number): number;
  /** Process.sys: ops `M U X D Y` (mmap, munmap, mprotect, madvise, mremap). */
  readonly sys?: {
    brk(addr: number): number;
    mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
    munmap(addr: number, length: number): number;
    mprotect(addr: number, length: number, prot: number): number;
    madvise(addr: number, length: number, advice: number): number;
    mremap(oldAddr: number, oldLength: number, newLength: number, flags: number): number;
    /** The threads oracle's header prints RLIMIT_STACK. */
    getrlimit?(resource: string): { cur: number; max: number };
  };
  // Needed only by op lists with thread lines (T, E).
  /** Process.createThread: a `T` line naming a new thread. */
  createThread?(): ReplayThread;
  /** What get_nprocs() returns (the threads oracle's header); default 2. */
  readonly nprocs?: number;
}

/** replay()'s options (replayStream takes them too). */
export interface ReplayOptions {
  /**
   * mallinfo2() and the break every this many ops (0: never). Default 10000, as the oracle; 1 in
   * the threads oracle's format, as its replayer.
   */
  checkpointEvery?: number;
  /**
   * The output format of the threads oracle (oracle/threads/README.md: an arena and a heap for
   * every block, thread lines): true or false, or (default) true when the op list has a thread
   * line (T, E) — for a stream, when its first batch of ops has one.
   */
  threads?: boolean;
  /** The scenario's name in the threads oracle's header (default "-"). */
  scenario?: string;
  /**
   * Time every op (performance.now around each call). Whole replay: per-op nanoseconds in
   * `opNanos` (default on). Streaming replay: a histogram of powers of two (default off).
   */
  timings?: boolean;
  /**
   * Before the first op, move the break up to a multiple of this power of two (with sbrk) and
   * take offsets from there, as the oracle's `replay -a ALIGN` does: blocks aligned to more than
   * a page then land at offsets that do not depend on where ASLR put the break. Default 0 (no).
   */
  alignBreak?: number;
  /**
   * A free, realloc or malloc_usable_size of an ID that is not live (never allocated, or already
   * freed): "skip" it and count it in `errors`, as the C oracle does (the default), or throw a
   * ReplayOpError naming the op's line ("throw": the op list is wrong, stop there).
   */
  badIds?: "skip" | "throw";
  /**
   * @internal The break now, read without a system call (the kernel's own field), for a caller
   * that holds the kernel: the replay reads the break after every allocation. Default: brk(0).
   */
  readBreak?: () => number;
}

/** An op that the op list itself gets wrong (with `badIds: "throw"`). `line`: the op's source line. */
export class ReplayOpError extends Error {
  constructor(
    /** The op's line in its source (1-based; for an mtrace log, the log's line). */
    readonly line: number,
    /** What is wrong, e.g. `ID 7 is not live`. */
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "ReplayOpError";
  }
}

/**
 * A thread line (T, E) met after the replay output began in the single-thread format (a stream
 * whose first batch of ops had none): the output cannot change format halfway. Replay again with
 * the `threads` option.
 */
export class LateThreadLineError extends ReplayOpError {
  constructor(line: number) {
    super(line, "a thread line, but the replay output began in the single-thread format (replay again with the threads option)");
    this.name = "LateThreadLineError";
  }
}

/** Where the engine reports, in op order, what the output shows. */
export interface ReplayEvents {
  /** An allocating op ran: its ID, the address (0: NULL) and the raw size field at address − 4. */
  block(id: number, addr: number, sizeField: number): void;
  /**
   * In the threads format, a block of a non-main arena: its arena's label (1, 2, … in order of
   * first appearance), its heap's place in the arena's chain (0: the heap holding the arena) and
   * its offset from that heap's start. Other blocks go to `block`.
   */
  arenaBlock?(id: number, addr: number, sizeField: number, arena: number, heap: number, heapOffset: number): void;
  /** A comment line (or lines) of the output: a checkpoint, an extension op's result. */
  note(text: string): void;
}

const IS_MMAPPED = 2;
const NON_MAIN_ARENA = 4;
/** HEAP_MAX_SIZE on i386: every heap of a non-main arena starts on a multiple of it. */
const HEAP_MAX_SIZE = 1024 * 1024;
/** sizeof (heap_info) on i386, padded: the first heap holds the arena's malloc_state right after it. */
const HEAP_INFO_BYTES = 24;
/** HEAP_MAX_SIZE on x86-64 (2 × DEFAULT_MMAP_THRESHOLD_MAX: 64 MiB). */
const HEAP_MAX_SIZE_64 = 64 * 1024 * 1024;
/** sizeof (heap_info) on x86-64: five 8-byte words, padded to 48. */
const HEAP_INFO_BYTES_64 = 48;
// The op kinds the replay loop tests, as plain constants.
const MALLOC = Op.MALLOC, FREE = Op.FREE, REALLOC = Op.REALLOC, CALLOC = Op.CALLOC, MEMALIGN = Op.MEMALIGN, SBRK = Op.SBRK;
const THREAD = Op.THREAD, EXIT = Op.EXIT;

/** Whether a list (or batch) has a thread line. */
export function hasThreadLines(list: OpList): boolean {
  const kind = list.length === list.kind.length ? list.kind : list.kind.subarray(0, list.length);
  return kind.includes(THREAD) || kind.includes(EXIT);
}
/** Latency histogram buckets: bucket k counts ops that took [2^k, 2^(k+1)) ns (k = 0: below 2). */
export const LATENCY_BUCKETS = 40;

/** The mallinfo2 fields as the oracle prints them. */
export function formatMallinfo2(m: Mallinfo2): string {
  return (
    `arena=${m.arena} ordblks=${m.ordblks} smblks=${m.smblks} hblks=${m.hblks} hblkhd=${m.hblkhd} ` +
    `usmblks=${m.usmblks} fsmblks=${m.fsmblks} uordblks=${m.uordblks} fordblks=${m.fordblks} keepcost=${m.keepcost}`
  );
}

/** Each line of `text` prefixed with "# " (a final newline ends the last line, it adds none). */
export function prefixLines(text: string): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  return body === "" ? "" : body.split("\n").map((line) => `# ${line}`).join("\n");
}

export class Replayer {
  readonly proc: ReplayTarget;
  /** The break before the first op (the origin of every OFFSET). */
  readonly brk0: number;
  /** No [heap] existed before the first op (the break had not moved). */
  readonly brkUntouched: boolean;
  readonly alignBreak: number;
  ops = 0;
  /** IDs created so far (by ops that ran or not). */
  ids = 0;
  frees = 0;
  errors = 0;
  mmappedAllocs = 0;
  maxBrkDelta = 0;
  /** Wall time inside the ops, in milliseconds (only with timings). */
  elapsedMs = 0;
  /** Per op, nanoseconds (whole replay with timings): set by the caller to an array of the op count. */
  opNanos: Float64Array | null = null;
  /** Streaming timings: op counts per power-of-two bucket of nanoseconds (see LATENCY_BUCKETS). */
  latency: Float64Array | null = null;
  /** The timings option as resolved (whole replay: on by default; streaming: off). */
  readonly timingsRequested: boolean;
  /** The scenario's name (threads format header). */
  readonly scenario: string;
  /** RLIMIT_STACK's soft limit at the start, -1 for unlimited (threads format header). */
  #stackRlimit: number | undefined;
  /**
   * RLIMIT_STACK's soft limit (-1 for unlimited), for the threads format's header: read when first
   * asked for, so that a replay without threads makes no system call of its own.
   */
  get stackRlimit(): number {
    if (this.#stackRlimit === undefined) {
      const stack = this.proc.sys?.getrlimit?.("RLIMIT_STACK").cur ?? 8 * 1024 * 1024;
      this.#stackRlimit = stack === Infinity || stack >= 0xffffffff ? -1 : stack;
    }
    return this.#stackRlimit;
  }
  #every: number;
  readonly #everyGiven: boolean;
  readonly #throw: boolean;
  /** The threads oracle's format (set before the first op; see useThreads). */
  #threaded = false;
  /** Ops run on the current thread (#runThreads), with or without the threads format. */
  #threadLoop = false;
  /** A thread line may come after the first op (no output is being written; see acceptThreadLines). */
  #lateThreadsOk = false;
  /** Per thread number of the op list: its thread (index 0, the main thread: undefined). */
  #threadOf: (ReplayThread | undefined)[] = [undefined];
  /** Per thread number: 1 while it is live (created, not exited). */
  #threadLive: number[] = [1];
  /** The process's thread ids → the op list's numbers (for "stack cached from thread K"). */
  #listNumber = new Map<number, number>();
  #current = 0;
  /** Threads created (the end line's threads=) and still live. */
  threadsCreated = 0;
  liveThreads = 0;
  /** Non-main arenas by the address of their malloc_state → label 1, 2, … */
  #arenaLabel = new Map<number, number>();
  readonly #readBreak: (() => number) | undefined;
  // Addresses as doubles: an x86_64 address does not fit a u32 (an i386 one costs the same).
  #addr = new Float64Array(1024);
  #live = new Uint8Array(1024);
  #region = new Float64Array(16);
  #words: Uint32Array;
  /** An x86_64 process: 8-byte size fields, addresses above 4 GiB read through offsetOf. */
  readonly wide: boolean;

  constructor(proc: ReplayTarget, options: ReplayOptions = {}, streaming = false) {
    this.proc = proc;
    this.wide = proc.arch === "x86_64";
    if (this.wide && proc.offsetOf === undefined) throw new TypeError("replay: an x86_64 process must have offsetOf");
    this.#every = options.checkpointEvery ?? 10000;
    this.#everyGiven = options.checkpointEvery !== undefined;
    this.#throw = options.badIds === "throw";
    this.scenario = options.scenario ?? "-";
    if (options.threads === true) this.useThreads();
    this.#readBreak = options.readBreak;
    this.timingsRequested = options.timings ?? !streaming;
    if (this.timingsRequested && streaming) this.latency = new Float64Array(LATENCY_BUCKETS);
    this.brkUntouched = !/\[heap\]/.test(proc.maps());
    const alignBreak = options.alignBreak ?? 0;
    this.alignBreak = alignBreak;
    if (alignBreak > 0) {
      if (!Number.isInteger(alignBreak) || (alignBreak & (alignBreak - 1)) !== 0) {
        throw new RangeError(`replay: alignBreak must be a power of two, not ${alignBreak}`);
      }
      const cur = this.#unsigned(proc.sbrk(0));
      const aligned = Math.ceil(cur / alignBreak) * alignBreak;
      if (aligned !== cur && proc.sbrk(aligned - cur) === -1) throw new Error("replay: cannot align the break");
    }
    this.brk0 = this.#unsigned(proc.sbrk(0));
    this.#words = new Uint32Array(proc.memory.buffer);
  }

  /** Whether the engine runs in the threads oracle's format. */
  get threaded(): boolean {
    return this.#threaded;
  }

  /**
   * The threads oracle's format from here on (before the first op): every block placed in its
   * arena and heap; a checkpoint after every op unless checkpointEvery was given.
   */
  useThreads(): void {
    if (this.#threaded) return;
    if (this.ops > 0) throw new Error("replay: the threads format must be chosen before the first op");
    this.#threaded = true;
    this.#threadLoop = true;
    if (!this.#everyGiven) this.#every = 1;
  }

  /**
   * Thread lines may come at any op, without the threads format: for a replay whose output is not
   * written (the process's state is what is wanted).
   */
  acceptThreadLines(): void {
    this.#lateThreadsOk = true;
  }

  /** Arenas seen in block lines, the main arena included (the threads format's end line). */
  get arenasSeen(): number {
    return 1 + this.#arenaLabel.size;
  }

  /** True when the engine measures op times (whole: opNanos; streaming: latency). */
  get timed(): boolean {
    return this.opNanos !== null || this.latency !== null;
  }

  /** The break now, minus brk0. */
  brkDelta(): number {
    return this.#brk() - this.brk0;
  }

  /** The break now: the raw brk(0) where the process has it (cheaper than sbrk's C wrapper). */
  #brk(): number {
    if (this.#readBreak !== undefined) return this.#unsigned(this.#readBreak());
    const sys = this.proc.sys;
    return this.#unsigned(sys !== undefined ? sys.brk(0) : this.proc.sbrk(0));
  }

  /** An address or size as a target returned it: i386 results may be raw 32-bit patterns. */
  #unsigned(x: number): number {
    return this.wide ? x : x >>> 0;
  }

  #ensureIds(ids: number): void {
    if (ids <= this.#addr.length) return;
    let cap = this.#addr.length;
    while (cap < ids) cap *= 2;
    const addr = new Float64Array(cap); addr.set(this.#addr); this.#addr = addr;
    const live = new Uint8Array(cap); live.set(this.#live); this.#live = live;
  }

  #ensureRegions(regions: number): void {
    if (regions <= this.#region.length) return;
    let cap = this.#region.length;
    while (cap < regions) cap *= 2;
    const r = new Float64Array(cap); r.set(this.#region); this.#region = r;
  }

  /** Is the block of `id` live? Otherwise counts an error, or throws (badIds: "throw"). */
  #liveId(id: number, list: OpList, i: number): boolean {
    if (id < this.ids && this.#live[id] === 1) return true;
    if (this.#throw) {
      const what = id >= this.ids ? "was never allocated (no earlier op created it)" : "is not live (already freed, or passed to realloc)";
      throw new ReplayOpError(list.line[i], `ID ${id} ${what}`);
    }
    this.errors++;
    return false;
  }

  #need<T extends object, K extends keyof T>(target: T, name: K, line: number): NonNullable<T[K]> {
    const fn = target[name];
    if (fn === undefined) throw new ReplayOpError(line, `this process has no ${String(name)}`);
    return fn as NonNullable<T[K]>;
  }

  /** Runs every op of `list` (a batch: its `ids` and `regions` count from the start of the input). */
  run(list: OpList, events: ReplayEvents): void {
    if (!this.#threadLoop && hasThreadLines(list)) {
      if (this.ops === 0 || this.#lateThreadsOk) {
        this.#threadLoop = true;
      } else {
        const i = Math.min(...[list.kind.indexOf(THREAD), list.kind.indexOf(EXIT)].filter((x) => x >= 0 && x < list.length));
        throw new LateThreadLineError(list.line[i]);
      }
    }
    if (this.#threadLoop) this.#runThreads(list, events);
    else this.#runMain(list, events);
  }

  /** run() on a list without thread lines, in the single-thread format: the benchmarked loop. */
  #runMain(list: OpList, events: ReplayEvents): void {
    // The loop holds only what most ops are (malloc, free, realloc, calloc, memalign); the rest,
    // timings and checkpoints run in methods of their own. A small loop is optimized once: with
    // every op inline, each op kind first met deep into a trace sent V8 back to deoptimize it.
    const proc = this.proc;
    const { kind, a, b, c } = list;
    const n = list.length;
    this.#ensureIds(list.ids);
    this.#ensureRegions(list.regions);
    const addr = this.#addr, live = this.#live;
    const every = this.#every;
    const timed = this.opNanos !== null || this.latency !== null;
    const brk0 = this.brk0;
    const wide = this.wide;
    let maxBrkDelta = this.maxBrkDelta;
    for (let i = 0; i < n; i++) {
      const k = kind[i];
      const t0 = timed ? performance.now() : 0;
      let p = -1; // the result of an allocating op
      const id = a[i];
      if (k === MALLOC) {
        p = proc.malloc(b[i]);
      } else if (k === FREE) {
        this.frees++;
        if (this.#liveId(id, list, i)) {
          proc.free(addr[id]);
          live[id] = 0;
        }
      } else if (k === REALLOC) {
        const old = b[i];
        this.ids = id + 1;
        if (old === NO_ID) {
          p = proc.realloc(0, c[i]);
        } else if (this.#liveId(old, list, i)) {
          live[old] = 0;
          p = proc.realloc(addr[old], c[i]);
        }
      } else if (k === CALLOC) {
        p = proc.calloc(b[i], c[i]);
      } else if (k === MEMALIGN) {
        p = proc.memalign(b[i], c[i]);
      } else {
        p = this.#other(k, list, i, events, proc);
      }
      if (timed) this.#time(t0, this.ops);
      const ops = ++this.ops; // counted at once: a process that dies in the next op reports how far it got
      if (p !== -1) {
        this.ids = id + 1;
        this.#block(id, wide ? p : p >>> 0, events);
      }
      // Only an allocation (or sbrk) can raise the break: frees and trims only lower it.
      if (p !== -1 || k === SBRK) {
        const delta = this.#brk() - brk0;
        if (delta > maxBrkDelta) maxBrkDelta = delta;
      }
      if (every > 0 && ops % every === 0) {
        this.maxBrkDelta = maxBrkDelta;
        this.#checkpoint(events);
      }
    }
    this.maxBrkDelta = maxBrkDelta;
  }

  /**
   * run() in the threads format: each op on the current thread (T and E lines switch, create,
   * exit and join), each block placed in its arena. Slower than #runMain, and apart from it.
   */
  #runThreads(list: OpList, events: ReplayEvents): void {
    const { kind, a, b, c } = list;
    const n = list.length;
    this.#ensureIds(list.ids);
    this.#ensureRegions(list.regions);
    const addr = this.#addr, live = this.#live;
    const every = this.#every;
    const timed = this.opNanos !== null || this.latency !== null;
    for (let i = 0; i < n; i++) {
      const k = kind[i];
      const t0 = timed ? performance.now() : 0;
      const cur: ReplayCaller = this.#current === 0 ? this.proc : this.#threadOf[this.#current]!;
      let p = -1;
      const id = a[i];
      if (k === MALLOC) {
        p = cur.malloc(b[i]);
      } else if (k === FREE) {
        this.frees++;
        if (this.#liveId(id, list, i)) {
          cur.free(addr[id]);
          live[id] = 0;
        }
      } else if (k === REALLOC) {
        const old = b[i];
        this.ids = id + 1;
        if (old === NO_ID) {
          p = cur.realloc(0, c[i]);
        } else if (this.#liveId(old, list, i)) {
          live[old] = 0;
          p = cur.realloc(addr[old], c[i]);
        }
      } else if (k === CALLOC) {
        p = cur.calloc(b[i], c[i]);
      } else if (k === MEMALIGN) {
        p = cur.memalign(b[i], c[i]);
      } else if (k === THREAD) {
        this.#switchThread(id, list, i, events);
      } else if (k === EXIT) {
        this.#exitThread(id, list, i, events);
      } else {
        p = this.#other(k, list, i, events, cur);
      }
      if (timed) this.#time(t0, this.ops);
      const ops = ++this.ops;
      if (p !== -1) {
        this.ids = id + 1;
        this.#placedBlock(id, this.#unsigned(p), events);
      }
      if (p !== -1 || k === SBRK) {
        const delta = this.#brk() - this.brk0;
        if (delta > this.maxBrkDelta) this.maxBrkDelta = delta;
      }
      if (every > 0 && ops % every === 0) this.#checkpoint(events);
    }
  }

  /** `T n`: thread n becomes current; a new number is created first (by the main thread). */
  #switchThread(n: number, list: OpList, i: number, events: ReplayEvents): void {
    if (n === this.threadsCreated + 1) {
      const create = this.proc.createThread;
      if (create === undefined) throw new ReplayOpError(list.line[i], "this process has no threads (createThread)");
      const thread = create.call(this.proc);
      this.#threadOf[n] = thread;
      this.#threadLive[n] = 1;
      this.#listNumber.set(thread.id, n);
      this.threadsCreated = n;
      this.liveThreads++;
      const from = thread.stack.cachedFrom;
      events.note(`# thread ${n} created, stack ${from === null ? "new" : `cached from thread ${this.#listNumber.get(from) ?? from}`}`);
    } else if (n !== 0 && this.#threadLive[n] !== 1) {
      throw new ReplayOpError(list.line[i], `T ${n}: ${n > this.threadsCreated ? `not the next new thread (${this.threadsCreated + 1})` : "that thread has exited"}`);
    }
    this.#current = n;
  }

  /** `E n`: thread n's start routine returns, the main thread joins it and becomes current. */
  #exitThread(n: number, list: OpList, i: number, events: ReplayEvents): void {
    if (n === 0 || this.#threadLive[n] !== 1) throw new ReplayOpError(list.line[i], `E ${n}: not a live thread other than the main one`);
    this.#threadLive[n] = 0;
    this.liveThreads--;
    this.#current = 0;
    this.#threadOf[n]!.exit();
    events.note(`# thread ${n} exited and joined`);
  }

  /**
   * The threads format's #block: a block of a non-main arena goes to `arenaBlock` with its arena
   * and heap, read as the C replayer reads them from the heap_info at the block's address rounded
   * down to HEAP_MAX_SIZE (ar_ptr at +0, prev at +4).
   */
  #placedBlock(id: number, p: number, events: ReplayEvents): void {
    this.#addr[id] = p;
    this.#live[id] = 1;
    if (p === 0) {
      events.block(id, 0, 0);
      return;
    }
    if (this.wide) {
      this.#placedBlock64(id, p, events);
      return;
    }
    let words = this.#words;
    if ((p - 4) >>> 2 >= words.length) words = this.#words = new Uint32Array(this.proc.memory.buffer);
    const field = words[(p - 4) >>> 2];
    if (field & IS_MMAPPED) {
      this.mmappedAllocs++;
      events.block(id, p, field);
      return;
    }
    if (!(field & NON_MAIN_ARENA)) {
      events.block(id, p, field);
      return;
    }
    const heap = p - (p % HEAP_MAX_SIZE);
    const arena = words[heap >>> 2];
    let depth = 0;
    let first = heap;
    for (let prev = words[(heap + 4) >>> 2]; prev !== 0; prev = words[(prev + 4) >>> 2]) {
      if (++depth > 4096 || prev >= words.length * 4) throw new Error(`replay: the heap chain of the block at 0x${p.toString(16)} does not end`);
      first = prev;
    }
    this.#arenaBlock(id, p, field, arena, words[first >>> 2] === first + HEAP_INFO_BYTES && arena === words[first >>> 2], depth, p - heap, events);
  }

  /**
   * A block of a non-main arena, found in heap `depth` of `arena` at `offset`: labelled with the
   * arena's number (in order of first appearance). `named`: whether the arena's first heap named
   * it (its ar_ptr is the malloc_state right after its heap_info), which is how the real
   * replayer checks that heaps are aligned as it assumes.
   */
  #arenaBlock(id: number, p: number, field: number, arena: number, named: boolean, depth: number, offset: number, events: ReplayEvents): void {
    if (!named) throw new Error(`replay: a non-main chunk whose heap_info does not name its arena (block ${id} at 0x${p.toString(16)})`);
    let label = this.#arenaLabel.get(arena);
    if (label === undefined) {
      label = this.#arenaLabel.size + 1;
      this.#arenaLabel.set(arena, label);
    }
    if (events.arenaBlock !== undefined) events.arenaBlock(id, p, field, label, depth, offset);
    else events.block(id, p, field);
  }

  /**
   * #placedBlock in an x86_64 process: the same reading with 8-byte words (ar_ptr at +0, prev at
   * +8), 64 MiB heaps and a 48-byte heap_info, every word found through the process's translation.
   */
  #placedBlock64(id: number, p: number, events: ReplayEvents): void {
    const field = this.#field64(p);
    if (field % 4 >= IS_MMAPPED) {
      this.mmappedAllocs++;
      events.block(id, p, field);
      return;
    }
    if (field % 8 < NON_MAIN_ARENA) {
      events.block(id, p, field);
      return;
    }
    const heap = p - (p % HEAP_MAX_SIZE_64);
    const arena = this.#word64(heap);
    let depth = 0;
    let first = heap;
    for (let prev = this.#word64(heap + 8); prev !== 0; prev = this.#word64(prev + 8)) {
      if (++depth > 4096) throw new Error(`replay: the heap chain of the block at 0x${p.toString(16)} does not end`);
      first = prev;
    }
    const named = arena === first + HEAP_INFO_BYTES_64 && this.#word64(first) === arena;
    this.#arenaBlock(id, p, field, arena, named, depth, p - heap, events);
  }

  /** x86_64: the 8-byte word at `va`; a heap chain that leaves the address space is not one. */
  #word64(va: number): number {
    const at = this.proc.offsetOf!(va);
    if (at < 0) throw new Error(`replay: a heap_info word at 0x${va.toString(16)}, outside the address space`);
    let words = this.#words;
    if (at + 8 > words.length * 4) words = this.#words = new Uint32Array(this.proc.memory.buffer);
    if (at + 8 > words.length * 4) throw new Error(`replay: a heap_info word at 0x${va.toString(16)}, beyond the memory`);
    return words[at >>> 2] + words[(at >>> 2) + 1] * 2 ** 32;
  }

  /** An allocating op gave `p`: the block's ID, address and size field go to `events`. */
  #block(id: number, p: number, events: ReplayEvents): void {
    this.#addr[id] = p;
    this.#live[id] = 1;
    let field = 0;
    if (p !== 0) {
      if (this.wide) {
        field = this.#field64(p);
      } else {
        // A block's pointer is 8-aligned at least, so its size field is a whole u32 of memory.
        // A grown memory detaches the old view (length 0): then, and only then, look again.
        const at = (p - 4) >>> 2;
        let words = this.#words;
        if (at >= words.length) words = this.#words = new Uint32Array(this.proc.memory.buffer);
        field = words[at];
      }
      if (field & IS_MMAPPED) this.mmappedAllocs++;
    }
    events.block(id, p, field);
  }

  /** x86_64: the 8-byte size field below the block at `p`, found through the process's translation. */
  #field64(p: number): number {
    const at = this.proc.offsetOf!(p - 8);
    let words = this.#words;
    if (at + 8 > words.length * 4) words = this.#words = new Uint32Array(this.proc.memory.buffer);
    return words[at >>> 2] + words[(at >>> 2) + 1] * 2 ** 32;
  }

  #time(t0: number, op: number): void {
    const ns = (performance.now() - t0) * 1e6;
    this.elapsedMs += ns / 1e6;
    if (this.opNanos !== null) this.opNanos[op] = ns;
    else this.latency![ns < 2 ? 0 : Math.min(LATENCY_BUCKETS - 1, Math.floor(Math.log2(ns)))]++;
  }

  #checkpoint(events: ReplayEvents): void {
    events.note(`# op=${this.ops} brk=${this.#brk() - this.brk0} ${formatMallinfo2(this.proc.mallinfo2())}`);
  }

  /**
   * The ops other than malloc, free, realloc, calloc and memalign: the result of an allocating one,
   * else -1. The C library calls are `caller`'s (the current thread); mallopt, malloc_trim,
   * malloc_info, sbrk and the system calls act on the whole process.
   */
  #other(k: number, list: OpList, i: number, events: ReplayEvents, caller: ReplayCaller): number {
    const proc = this.proc;
    const { a, b, c, d } = list;
    const id = a[i];
    switch (k) {
      case Op.REALLOCARRAY: {
        const old = b[i];
        this.ids = id + 1;
        if (old !== NO_ID && !this.#liveId(old, list, i)) return -1;
        let oldPtr = 0;
        if (old !== NO_ID) {
          oldPtr = this.#addr[old];
          this.#live[old] = 0;
        }
        return this.#need(caller, "reallocarray", list.line[i]).call(caller, oldPtr, c[i], d[i]);
      }
      case Op.MALLOPT: {
        const ret = proc.mallopt(a[i] | 0, b[i] | 0);
        const param = list.paramText.get(i) ?? String(a[i] | 0);
        events.note(`# mallopt ${param} ${b[i] | 0} => ${ret}`);
        return -1;
      }
      case Op.TRIM:
        events.note(`# malloc_trim ${b[i]} => ${proc.malloc_trim(b[i])}`);
        return -1;
      case Op.INFO:
        events.note(`# malloc_info:\n${prefixLines(proc.malloc_info())}`);
        return -1;
      case Op.ALIGNED_ALLOC:
        return this.#need(caller, "aligned_alloc", list.line[i]).call(caller, b[i], c[i]);
      case Op.POSIX_MEMALIGN: {
        const r = this.#need(caller, "posix_memalign", list.line[i]).call(caller, b[i], c[i]);
        return r.err === 0 ? r.ptr : 0;
      }
      case Op.VALLOC:
        return this.#need(caller, "valloc", list.line[i]).call(caller, b[i]);
      case Op.PVALLOC:
        return this.#need(caller, "pvalloc", list.line[i]).call(caller, b[i]);
      case Op.USABLE_SIZE:
        if (this.#liveId(id, list, i)) this.#need(caller, "malloc_usable_size", list.line[i]).call(caller, this.#addr[id]);
        return -1;
      case Op.SBRK:
        proc.sbrk(b[i] | 0);
        return -1;
      default:
        this.#system(k, list, i, this.#region);
        return -1;
    }
  }

  /** The raw memory system calls on regions (M U X D Y). */
  #system(k: number, list: OpList, i: number, region: Float64Array): void {
    const sys = this.#need(this.proc, "sys", list.line[i]);
    const rid = list.a[i], b = list.b[i], c = list.c[i], d = list.d[i];
    switch (k) {
      case Op.MMAP: {
        const r = sys.mmap(0, b, c, d, -1, 0);
        region[rid] = Math.max(r, 0);
        break;
      }
      case Op.MUNMAP:
        sys.munmap(this.#unsigned(region[rid] + b), c);
        break;
      case Op.MPROTECT:
        sys.mprotect(this.#unsigned(region[rid] + b), c, d);
        break;
      case Op.MADVISE:
        sys.madvise(this.#unsigned(region[rid] + b), c, d);
        break;
      case Op.MREMAP: {
        const r = sys.mremap(region[rid], b, c, d);
        if (r >= 0) region[rid] = r;
        break;
      }
    }
  }
}
