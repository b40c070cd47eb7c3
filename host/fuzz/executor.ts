// Runs op sequences on a fresh process and checks, after every op, what must hold whatever the
// allocator does: blocks are aligned, at least as large as asked, never overlap one another or
// the size field below each, keep their contents until freed (and through realloc), calloc's read
// as zero, errno is ENOMEM or EINVAL when a call fails, and small requests do not fail. Every
// `infoEvery` ops mallinfo2 is held against the shadow; every `deepEvery` ops every live block's
// contents are checked (O(heap)). With a twin (the pure-TypeScript build, same seed) every call
// is made on both and must give the same results; with `xlines` each op's result is recorded in
// the oracle replayer's `-x` format (see oracle.ts).
//
// Threads (`T N`, `E N`): every C library call is made by the current thread (a Thread, or the
// process for thread 0); mallopt, malloc_trim, sbrk and the system calls are the process's. A
// block of a non-main arena must sit in a heap whose heap_info names an arena of the arena ring,
// and after every thread line the ring and the free list must agree (arenaCheck).
//
// Both ABIs (`arch`): on x86_64 a size field is 8 bytes, addresses are 47-bit VAs reached through
// the process's windows (space.ts), and a size is a 64-bit C value (arch.ts: -1 is SIZE_MAX); the
// shadow compares the C values (`unsigned`), never the spellings.

import { Process } from "../process.js";
import { bootProcess, processKernel } from "../boot.js";
import { ABI_I386, ABI_X86_64 } from "../cargs.js";
import { ProcessAbort, ProcessKilled } from "../errors.js";
import type { Kernel } from "../kernel/kernel.js";
import type { Mallinfo2 } from "../libc.js";
import { type Arch, type ArchInfo, archInfo, isPow2, nextPow2 } from "./arch.js";
import { arenaCheck, heapOfBlock } from "./arenas.js";
import {
  Blocks, checkPattern, checkPatternFar, checkZero, checkZeroFar, InvalidOp, Killed, State, Violation, writePattern, writePatternFar,
} from "./blocks.js";
import { type GlibcState, locateGlibc } from "./layout.js";
import { Space } from "./space.js";
import { type Thread, ThreadCreateError } from "../threads.js";
import { K, LETTER, NONE, type OpSeq } from "./ops.js";
import { type Exhaust, wallOf } from "./limits.js";
import { PAGE, Regions } from "./regions.js";
import type { ProcessOptions } from "../options.js";

const ENOMEM = 12, EINVAL = 22, EAGAIN = 11;
const SYSMALLOC_ASSERT = "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && old_size == 0)";

/** The calls the executor makes: a Process, or a wrapper around one (tests break it on purpose). */
export type Target = Pick<
  Process,
  | "malloc" | "calloc" | "realloc" | "reallocarray" | "free" | "memalign" | "aligned_alloc" | "posix_memalign"
  | "valloc" | "pvalloc" | "malloc_usable_size" | "malloc_trim" | "mallopt" | "sbrk" | "mallinfo2" | "errno"
  | "sys" | "maps" | "status" | "memory" | "createThread"
>;

/** The calls a thread makes (the current one: a Thread, or the process for the main thread). */
export type Caller = Pick<
  Thread,
  | "malloc" | "calloc" | "realloc" | "reallocarray" | "free" | "memalign" | "aligned_alloc" | "posix_memalign"
  | "valloc" | "pvalloc" | "malloc_usable_size" | "errno"
>;

export interface ExecConfig {
  /** The process seed (ASLR, tcache key). */
  seed: number;
  /** The process's ABI (default i386). */
  arch?: Arch;
  /** Run the pure-TypeScript twin in lockstep. */
  twin?: boolean;
  /** The debug build: the allocator checks its whole heap after every call. */
  debug?: boolean;
  /** Ops between checks of every live block's contents (0: only at the end). */
  deepEvery?: number;
  /** Ops between mallinfo2 checks. Default 256. */
  infoEvery?: number;
  /** Record each op's result in the oracle's -x format. */
  xlines?: boolean;
  /** Before the first op, move the break up to a multiple of this (the oracle's -a). */
  alignBreak?: number;
  /** The real kernel will replay the ops: keep the regions' shadow to what holds in every layout. */
  oracleSafe?: boolean;
  /** A wall the process runs against (limits.ts): requests may then fail, the OOM killer strike. */
  exhaust?: Exhaust;
  ramBytes?: number;
  swapBytes?: number;
  overcommit?: 0 | 1 | 2;
  /** What get_nprocs() returns in the process (and its twin): the arena limit. Default 2. */
  nprocs?: number;
  /** Wraps the process (tests: a deliberately broken target). */
  wrap?: (proc: Process) => Target;
  /** Wraps each thread the process creates (tests: a deliberately broken thread). */
  wrapThread?: (thread: Thread) => Caller;
}

export interface Coverage {
  count(): number;
  hit(id: number): boolean;
  reset(): void;
  names: readonly string[];
}

/**
 * The pure-TypeScript build on a process of its own, its program data ending where the Wasm
 * module's does: the same seed then gives the very same addresses.
 */
async function bootTwin(options: ProcessOptions & { seed: number; nprocs: number }, heapBase: number): Promise<{ proc: Process; kernel: Kernel }> {
  const { loadBaseline } = await import("../baseline/index.js");
  const wide = options.arch === "x86_64";
  // (x86_64: the whole 4 GiB at once, as a process gets it; grown later it would cost V8 two full collections)
  const memory = new WebAssembly.Memory({ initial: wide ? 65536 : 2, maximum: 65536 });
  let proc: Process | null = null;
  let kernel: Kernel | null = null;
  const onDeath = (err: Error) => proc?.die(err);
  const allocator = loadBaseline({
    memory,
    arch: options.arch,
    seed: options.seed,
    // what the allocator asks the system at start (the Wasm build's set_system): without the
    // overcommit mode the twin's heap_trim gave pages back by madvise where the Wasm build's
    // remapped them PROT_NONE (vm.overcommit_memory 2), and the commit charges parted
    nprocs: options.nprocs,
    overcommit: options.overcommit ?? 0,
    heapBase,
    kernel: () => kernel!,
    onAbort: (message) => {
      const err = new ProcessAbort(message);
      onDeath(err);
      return err;
    },
  });
  kernel = processKernel(memory, allocator.heapBase, options, onDeath);
  proc = new Process(memory, kernel, allocator.libc, true, options.nprocs, wide ? ABI_X86_64 : ABI_I386);
  return { proc, kernel };
}

export class Executor {
  readonly blocks: Blocks;
  readonly regions: Regions;
  /** The ABI: word size, constants, how sizes are spelt. */
  readonly arch: ArchInfo;
  /** The process's memory by its addresses (and the twin's). */
  readonly space: Space;
  readonly twinSpace: Space | null;
  /** Where glibc's main_arena and mp_ fields are. */
  readonly glibc: GlibcState;
  readonly lines: string[] = [];
  /** The allocator's branch coverage (debug build, when it has it). */
  readonly coverage: Coverage | null;
  /** Ops run so far; the op whose call threw (died), or -1. */
  ops = 0;
  readonly #deepEvery: number;
  readonly #infoEvery: number;
  readonly #xlines: boolean;
  #brk0 = 0;
  /** A foreign sbrk moved the break: glibc may then fail even small requests (it does). */
  #sawSbrk = false;
  readonly #exhaust: Exhaust;
  #kernelOps = 0;
  /** Requests refused (NULL with ENOMEM) against a wall so far. */
  refusals = 0;
  /** Per thread number of the op list: its Thread (and the twin's); index 0, the main thread, is the process. */
  readonly #threads: (Caller | null)[] = [null];
  readonly #twinThreads: (Thread | null)[] = [null];
  readonly #rawThreads: (Thread | null)[] = [null];
  #current = 0;
  /** The calls of the current thread, on the process and on the twin. */
  #cur: Caller;
  #twinCur: Caller | null;
  /** The live threads' numbers (the main thread not included), in no particular order. */
  readonly liveThreads: number[] = [];
  /** Threads created so far (the next new one is threadsCreated + 1). */
  threadsCreated = 0;
  /** What get_nprocs() returns in the process. */
  readonly nprocs: number;
  readonly #wrapThread: ((thread: Thread) => Caller) | null;

  private constructor(
    readonly proc: Target,
    readonly twin: Target | null,
    coverage: Coverage | null,
    config: ExecConfig,
    space: Space,
    twinSpace: Space | null,
    glibc: GlibcState,
  ) {
    this.coverage = coverage;
    this.arch = glibc.arch;
    this.space = space;
    this.twinSpace = twinSpace;
    this.glibc = glibc;
    this.blocks = new Blocks(this.arch.word);
    this.#deepEvery = config.deepEvery ?? 0;
    this.#infoEvery = config.infoEvery ?? 256;
    this.#xlines = config.xlines === true;
    this.#exhaust = config.exhaust ?? "none";
    this.nprocs = config.nprocs ?? 2;
    this.#wrapThread = config.wrapThread ?? null;
    this.#cur = proc;
    this.#twinCur = twin;
    const twinRegions = twin && twinSpace ? { sys: twin.sys, space: twinSpace } : null;
    this.regions = new Regions(proc.sys, space, () => proc.maps(), () => proc.status().VmSize, this.blocks, twinRegions, config.oracleSafe === true, (config.exhaust ?? "none") !== "none");
  }

  static async create(config: ExecConfig): Promise<Executor> {
    const arch = archInfo(config.arch);
    const options = {
      seed: config.seed, arch: arch.arch, debug: config.debug === true, ramBytes: config.ramBytes, swapBytes: config.swapBytes, overcommit: config.overcommit,
      nprocs: config.nprocs ?? 2,
      ...wallOf(config.exhaust ?? "none").options,
    };
    const booted = await bootProcess(options);
    const proc = config.wrap ? config.wrap(booted.process) : booted.process;
    const twinBoot = config.twin ? await bootTwin(options, booted.allocator.heapBase) : null;
    const twin = twinBoot?.proc ?? null;
    const cov = (booted.allocator as { coverage?: Coverage }).coverage ?? null;
    const space = new Space(booted.process, booted.kernel.windows, arch.word);
    const twinSpace = twinBoot ? new Space(twinBoot.proc, twinBoot.kernel.windows, arch.word) : null;
    const ex = new Executor(proc, twin, cov, config, space, twinSpace, locateGlibc(booted.process, arch));
    if (config.alignBreak) {
      for (const p of twin ? [proc, twin] : [proc]) {
        const brk = p.sbrk(0);
        const up = Math.ceil(brk / config.alignBreak) * config.alignBreak - brk;
        if (up && p.sbrk(up) === -1) throw new Error("fuzz: cannot align the break");
      }
    }
    ex.#brk0 = proc.sbrk(0);
    return ex;
  }

  /** The allocator's mp_.mmap_threshold and mp_.n_mmaps_max (read by the generator). */
  mmapThreshold(): number {
    return this.space.word(this.glibc.mmapThreshold);
  }
  mmapMax(): number {
    return this.space.u32At(this.glibc.nMmapsMax);
  }

  #fail(i: number, what: string): never {
    throw new Violation(i, what);
  }

  /** Runs op `i` of `seq`; throws a Violation when a check fails or the process dies. */
  step(seq: OpSeq, i: number): void {
    try {
      this.#step(seq, i);
      // (the periodic checks call into the process too: a death there is this op's)
      if (this.#infoEvery && (this.ops + 1) % this.#infoEvery === 0) this.checkInfo(i);
      if (this.#deepEvery && (this.ops + 1) % this.#deepEvery === 0) this.checkContents(i);
    } catch (err) {
      if (err instanceof Violation || err instanceof InvalidOp) throw err;
      const e = err as Error;
      // only the ways a process dies are findings; anything else is the fuzzer's own bug
      if (!(e instanceof WebAssembly.RuntimeError) && typeof (e as { signal?: unknown }).signal === "undefined") throw e;
      if (e instanceof ProcessKilled && wallOf(this.#exhaust).oomKills) throw new Killed(i, "oom");
      // Against a wall, after a foreign sbrk left the break off a page boundary, the sbrk that
      // would realign it may be refused; the top then ends off a page boundary, and glibc 2.36's
      // own assert in the next sysmalloc stops the process (the real one does so too: a limit a
      // few pages either way reproduces it with the C replayer under prlimit --as).
      if (e instanceof ProcessAbort && this.#exhaust !== "none" && this.#sawSbrk && e.message.startsWith(SYSMALLOC_ASSERT)) throw new Killed(i, "assert");
      const how = e instanceof ProcessAbort ? `abort: ${e.message}` : `${e.name}: ${e.message}`;
      throw new Violation(i, `the process died: ${how}`);
    }
    this.ops++;
  }

  /** The current thread's number (0: the main thread). */
  get currentThread(): number {
    return this.#current;
  }

  #step(seq: OpSeq, i: number): void {
    const k = seq.kind[i];
    const a = seq.a[i], b = seq.b[i], c = seq.c[i], d = seq.d[i];
    // the C library calls are the current thread's; mallopt, malloc_trim, sbrk and the system calls the process's
    const p = this.#cur;
    const t = this.#twinCur;
    const P = this.proc;
    const T = this.twin;
    // the C value of a size_t field (x86_64: -1 is SIZE_MAX, 2^64 − 1)
    const U = this.arch.unsigned;
    if (this.#xlines) p.errno = 0, t && (t.errno = 0);
    switch (k) {
      case K.MALLOC: return this.#alloc(i, k, a, U(b), 16, p.malloc(b), t?.malloc(b));
      case K.CALLOC: return this.#alloc(i, k, a, U(b) * U(c), 16, p.calloc(b, c), t?.calloc(b, c));
      case K.MEMALIGN: return this.#alloc(i, k, a, U(c), U(b), p.memalign(b, c), t?.memalign(b, c));
      case K.ALIGNED_ALLOC: return this.#alloc(i, k, a, U(c), U(b), p.aligned_alloc(b, c), t?.aligned_alloc(b, c));
      case K.POSIX_MEMALIGN: {
        const r = p.posix_memalign(b, c);
        const r2 = t?.posix_memalign(b, c);
        if (r2 && (r2.err !== r.err || r2.ptr !== r.ptr)) this.#fail(i, `twin: posix_memalign gave ${JSON.stringify(r2)}, wasm ${JSON.stringify(r)}`);
        if ((r.err === 0) !== (r.ptr !== 0)) this.#fail(i, `posix_memalign returned ${r.err} with pointer 0x${r.ptr.toString(16)}`);
        if (r.err !== 0 && r.err !== ENOMEM && r.err !== EINVAL) this.#fail(i, `posix_memalign returned ${r.err}`);
        return this.#alloc(i, k, a, U(c), U(b), r.ptr, undefined, r.err);
      }
      case K.VALLOC: return this.#alloc(i, k, a, U(b), PAGE, p.valloc(b), t?.valloc(b));
      case K.PVALLOC: return this.#alloc(i, k, a, Math.ceil(U(b) / PAGE) * PAGE, PAGE, p.pvalloc(b), t?.pvalloc(b));
      case K.REALLOC:
      case K.REALLOCARRAY: {
        const n = k === K.REALLOC ? 1 : c;
        const size = k === K.REALLOC ? c : d;
        // an ID whose allocation returned NULL is realloc(NULL, …): nothing to carry or release
        if (b !== NONE && this.blocks.state[b] !== State.LIVE) {
          this.blocks.unpick(b);
          this.blocks.state[b] = State.DEAD;
        }
        const old = b === NONE || this.blocks.state[b] === State.DEAD ? -1 : b;
        const oldPtr = old < 0 ? 0 : this.blocks.addr[old];
        if (old >= 0) this.#checkIntact(i, old);
        const res = k === K.REALLOC ? p.realloc(oldPtr, size) : p.reallocarray(oldPtr, n, size);
        const res2 = t ? (k === K.REALLOC ? t.realloc(oldPtr, size) : t.reallocarray(oldPtr, n, size)) : undefined;
        const product = U(n) * U(size);
        // the old block: gone when the call succeeded or freed it (size 0), else still allocated
        if (old >= 0) {
          this.blocks.unpick(old);
          if (res !== 0 || product === 0) this.#release(old);
          else this.blocks.state[old] = State.ORPHAN;
        }
        return this.#alloc(i, k, a, product, 16, res, res2, 0, old >= 0 && res !== 0 ? old : -1);
      }
      case K.FREE: {
        const id = a;
        if (this.blocks.state[id] === State.LIVE) this.#checkIntact(i, id);
        const ptr = this.blocks.addr[id];
        this.blocks.unpick(id);
        if (this.blocks.state[id] === State.LIVE) this.#release(id);
        this.blocks.state[id] = State.DEAD;
        p.free(ptr);
        t?.free(ptr);
        if (this.#xlines) this.lines.push("f");
        return;
      }
      case K.USABLE: {
        const ptr = this.blocks.addr[a];
        const got = p.malloc_usable_size(ptr);
        const want = this.blocks.state[a] === State.LIVE ? this.blocks.usable[a] : 0;
        if (got !== want) this.#fail(i, `malloc_usable_size(ID ${a}) = ${got}, the chunk header says ${want}`);
        if (t && t.malloc_usable_size(ptr) !== got) this.#fail(i, "twin: malloc_usable_size differs");
        if (this.#xlines) this.lines.push(`u ${got}`);
        return;
      }
      case K.MALLOPT: {
        const r = P.mallopt(a, b);
        if (r !== 0 && r !== 1) this.#fail(i, `mallopt returned ${r}`);
        if (T && T.mallopt(a, b) !== r) this.#fail(i, "twin: mallopt result differs");
        if (this.#xlines) this.lines.push(`o ${r}`);
        return;
      }
      case K.TRIM: {
        const r = P.malloc_trim(a);
        if (r !== 0 && r !== 1) this.#fail(i, `malloc_trim returned ${r}`);
        if (T && T.malloc_trim(a) !== r) this.#fail(i, "twin: malloc_trim result differs");
        if (this.#xlines) this.lines.push(`t ${r}`);
        return;
      }
      case K.SBRK: {
        if (a !== 0) this.#sawSbrk = true;
        const before = P.sbrk(0);
        const r = P.sbrk(a);
        const r2 = T?.sbrk(a);
        if (T && r2 !== r) this.#fail(i, `twin: sbrk(${a}) = ${r2}, wasm ${r}`);
        if (r !== -1 && r !== before) this.#fail(i, `sbrk(${a}) returned 0x${r.toString(16)}, the break was 0x${before.toString(16)}`);
        const after = P.sbrk(0);
        // (a shrink below the start of the break, which Linux refuses, glibc's sbrk reports as a
        // success that leaves the break where it was: its __brk checks only that the break did
        // not end below the request; reachable where the break is above 2 GiB, x86_64's)
        const refusedShrink = a < 0 && r === before && after === before;
        if (after !== (r === -1 ? before : before + a) && !refusedShrink) this.#fail(i, `sbrk(${a}): the break went from 0x${before.toString(16)} to 0x${after.toString(16)}`);
        // (sbrk is the main thread's wrapper here: its errno is the process's)
        if (r === -1 && P.errno !== ENOMEM) this.#fail(i, `sbrk failed with errno ${P.errno}`);
        if (this.#xlines) this.lines.push(r === -1 ? `s -1 ${P.errno}` : `s ${r - this.#brk0}`);
        return;
      }
      case K.THREAD: return this.#thread(i, a);
      case K.EXIT: return this.#exit(i, a);
      default:
        return this.#kernel(i, k, a, b, c, d);
    }
  }

  /** `T n`: thread n becomes current, created first (by the main thread) when it is new. */
  #thread(i: number, n: number): void {
    if (n === this.threadsCreated + 1) {
      let thread: Thread;
      try {
        thread = this.proc.createThread();
      } catch (err) {
        if (!(err instanceof ThreadCreateError)) throw err;
        if (err.errno !== EAGAIN) this.#fail(i, `pthread_create returned ${err.errno}`);
        if (this.twin) {
          let twinMade = true;
          try {
            this.twin.createThread();
          } catch (e) {
            if (!(e instanceof ThreadCreateError)) throw e;
            twinMade = false;
          }
          if (twinMade) this.#fail(i, "twin: pthread_create succeeded where the wasm build's failed");
        }
        // only a wall refuses a stack; the process lives on, but the list names a thread it does not have
        if (this.#exhaust === "none") this.#fail(i, err.message);
        this.#refused(i);
        throw new Killed(i, "pthread");
      }
      let twinThread: Thread | null = null;
      if (this.twin) {
        try {
          twinThread = this.twin.createThread();
        } catch (e) {
          if (!(e instanceof ThreadCreateError)) throw e;
          this.#fail(i, `twin: ${e.message} where the wasm build's succeeded`);
        }
        const s = thread.stack, s2 = twinThread!.stack;
        if (s2.start !== s.start || s2.bytes !== s.bytes || s2.cachedFrom !== s.cachedFrom) {
          this.#fail(i, `twin: thread ${n}'s stack ${JSON.stringify(s2)}, wasm ${JSON.stringify(s)}`);
        }
      }
      const { start, bytes } = thread.stack;
      const clash = this.blocks.overlapping(start, start + bytes);
      if (clash >= 0) this.#fail(i, `thread ${n}'s stack [0x${start.toString(16)}, 0x${(start + bytes).toString(16)}) meets a live block at 0x${clash.toString(16)}`);
      this.#rawThreads[n] = thread;
      this.#threads[n] = this.#wrapThread ? this.#wrapThread(thread) : thread;
      this.#twinThreads[n] = twinThread;
      this.threadsCreated = n;
      this.liveThreads.push(n);
    } else if (n !== 0 && (this.#rawThreads[n] == null || this.#rawThreads[n]!.exited)) {
      throw new InvalidOp(`T ${n}: not a live thread`);
    }
    this.#current = n;
    this.#cur = n === 0 ? this.proc : this.#threads[n]!;
    this.#twinCur = n === 0 ? this.twin : this.#twinThreads[n];
  }

  /** `E n`: thread n exits (glibc's teardown of its malloc state) and the main thread joins it. */
  #exit(i: number, n: number): void {
    const thread = this.#rawThreads[n];
    if (n === 0 || thread == null || thread.exited) throw new InvalidOp(`E ${n}: not a live thread`);
    thread.exit();
    this.#twinThreads[n]?.exit();
    this.liveThreads.splice(this.liveThreads.indexOf(n), 1);
    this.#current = 0;
    this.#cur = this.proc;
    this.#twinCur = this.twin;
    // its tcache went back to the arenas, its arena to the free list if no other thread has it
    this.checkArenas(i);
  }

  /** The arena ring and the free list (arenas.ts). */
  checkArenas(i: number): void {
    const what = arenaCheck(this.space, this.glibc, this.liveThreads.length);
    if (what) this.#fail(i, `arenas: ${what}`);
  }

  #kernel(i: number, k: number, a: number, b: number, c: number, d: number): void {
    const fail = (what: string): never => this.#fail(i, what);
    const R = this.regions;
    const t = this.twin;
    if (k !== K.MMAP) {
      // the generator aims only at pages the region has mapped; a shrunk list may not
      const r = R.list[a];
      const from = k === K.MREMAP ? 0 : Math.floor(b / PAGE);
      const to = Math.ceil((k === K.MREMAP ? b : b + c) / PAGE);
      for (let p = from; p < to; p++) if (r.addr === 0 || p >= r.pages || !r.mapped[p]) throw new InvalidOp(`${LETTER[k]} outside region ${a}`);
    }
    // (Regions makes each call on the twin too, before the writes that follow it)
    let res: number;
    switch (k) {
      case K.MMAP:
        res = R.mmap(b, c, d, fail);
        if (this.#xlines) this.lines.push(res >= 0 ? "M ok" : `M ${res}`);
        break;
      case K.MUNMAP:
        res = R.munmap(a, b, c);
        if (this.#xlines) this.lines.push(`U ${res}`);
        break;
      case K.MPROTECT:
        res = R.mprotect(a, b, c, d, fail);
        if (this.#xlines) this.lines.push(`X ${res}`);
        break;
      case K.MADVISE:
        res = R.madvise(a, b, c, d, fail);
        if (this.#xlines) this.lines.push(`D ${res}`);
        break;
      default:
        res = R.mremap(a, b, c, d, fail);
        if (this.#xlines) this.lines.push(res >= 0 ? "Y ok" : `Y ${res}`);
    }
    const res2 = R.twinResult;
    if (t && res2 !== res) fail(`twin: ${LETTER[k]} gave ${res2}, wasm ${res}`);
    // the region the call aimed at after every call, all of them after every 8th (and at the end)
    R.verify(fail, ++this.#kernelOps % 8 === 0 ? -1 : a);
  }

  /**
   * A request was refused with ENOMEM. Against a wall, the process must live on within its limits
   * and its status must still add up with its maps.
   */
  #refused(i: number): void {
    if (this.#exhaust === "none") return;
    this.refusals++;
    const fail = (what: string): never => this.#fail(i, `after a refusal: ${what}`);
    this.regions.verifyStatus(fail);
    const st = this.proc.status();
    const limit = (name: "RLIMIT_AS" | "RLIMIT_DATA") => this.proc.sys.getrlimit(name).cur;
    if (st.VmSize * 1024 > limit("RLIMIT_AS")) fail(`VmSize ${st.VmSize} kB is above RLIMIT_AS`);
    if (st.VmData * 1024 > limit("RLIMIT_DATA")) fail(`VmData ${st.VmData} kB is above RLIMIT_DATA`);
  }

  /** Checks a block's pattern (before a free or realloc). */
  #checkIntact(i: number, id: number): void {
    const S = this.space;
    const ptr = this.blocks.addr[id], size = this.blocks.size[id];
    const base = S.base(ptr, Math.max(1, size));
    const bad = base >= 0 ? checkPattern(S.u8, S.u32, base, size, id) : checkPatternFar(S, ptr, size, id);
    if (bad >= 0) this.#fail(i, `block ${id} (0x${this.blocks.addr[id].toString(16)}, ${this.blocks.size[id]} bytes) was overwritten at offset ${bad} while live`);
  }

  /** A live block leaves the shadow (its span and the mallinfo sums). */
  #release(id: number): void {
    const B = this.blocks;
    B.removeSpan(B.addr[id] - this.arch.word);
    if (B.mmapped[id]) {
      B.mmapRequested -= B.size[id];
      B.mmapCount--;
      B.mmapBytes -= B.mapLength[id];
    } else {
      B.heapRequested -= B.size[id];
    }
    B.state[id] = State.DEAD;
  }

  /**
   * A new ID's result. `request` is what the block must hold (a product may exceed SIZE_MAX),
   * `align` what the address must be a multiple of; `from` the ID whose contents a realloc carried.
   */
  #alloc(i: number, k: number, id: number, request: number, align: number, ptr: number, twinPtr: number | undefined, err = 0, from = -1): void {
    const B = this.blocks;
    if (twinPtr !== undefined && twinPtr !== ptr) this.#fail(i, `twin: ${LETTER[k]} returned 0x${twinPtr.toString(16)}, wasm 0x${ptr.toString(16)}`);
    const got = B.born(State.LIVE);
    if (got !== id) this.#fail(i, `op list out of step: ID ${id} where ${got} was next`);
    const p = this.#cur;
    if (ptr === 0) {
      B.unpick(id);
      B.state[id] = State.NULLED;
      B.addr[id] = 0;
      // posix_memalign reports its error as the result; the others through errno
      const e = k === K.POSIX_MEMALIGN ? err : p.errno;
      const freedBySizeZero = (k === K.REALLOC || k === K.REALLOCARRAY) && request === 0;
      if (!freedBySizeZero && e !== ENOMEM && e !== EINVAL) this.#fail(i, `${LETTER[k]} returned NULL with errno ${e}`);
      if (this.#twinCur && k !== K.POSIX_MEMALIGN && this.#twinCur.errno !== e) this.#fail(i, `twin: errno ${this.#twinCur.errno}, wasm ${e}`);
      const validAlign = (k === K.MALLOC || k === K.CALLOC || k === K.REALLOC || k === K.REALLOCARRAY || k === K.VALLOC || k === K.PVALLOC || isPow2(align));
      // a small request fails only when the break and mmap both fail, which nothing here makes
      // happen (a foreign sbrk aside: the real glibc then refuses some requests too)
      if (!freedBySizeZero && e === ENOMEM) this.#refused(i);
      if (!freedBySizeZero && !this.#sawSbrk && this.#exhaust === "none" && request + align <= 64 * 1024 && validAlign && align !== 0 && err !== EINVAL) this.#fail(i, `${LETTER[k]} of ${request} bytes (alignment ${align}) failed with errno ${e}`);
      if (this.#xlines) this.lines.push(`${LETTER[k]} ${id} N ${e}`);
      return;
    }
    // (glibc takes any alignment up to SIZE_MAX / 2 + 1, rounded up to a power of two)
    const want = align > 16 && align <= this.arch.wordRange / 2 ? nextPow2(align) : 16;
    if (ptr % want !== 0) this.#fail(i, `${LETTER[k]} returned 0x${ptr.toString(16)}, not aligned to ${want}`);
    const S = this.space;
    const W = this.arch.word;
    const C = this.arch.c;
    const field = S.word(ptr - W);
    const flags = field % 8;
    const mmapped = (flags & C.IS_MMAPPED) !== 0;
    const chunk = field - flags;
    const usable = chunk - (mmapped ? 2 * W : W);
    if (usable < request) this.#fail(i, `${LETTER[k]}(${request}) gave a block of ${usable} usable bytes`);
    if (!mmapped && flags & C.NON_MAIN_ARENA) {
      const what = heapOfBlock(S, this.glibc, ptr, usable);
      if (what) this.#fail(i, `${LETTER[k]} returned 0x${ptr.toString(16)}, a chunk of a non-main arena: ${what}`);
    }
    const clashAt = B.insertSpan(ptr - W, ptr + usable);
    if (clashAt >= 0) {
      const clash = B.ownerAt(clashAt);
      this.#fail(i, `${LETTER[k]} returned 0x${ptr.toString(16)} (${usable} bytes), overlapping live block ${clash} at 0x${B.addr[clash].toString(16)} (${B.usable[clash]} bytes)`);
    }
    B.addr[id] = ptr;
    B.size[id] = request;
    B.usable[id] = usable;
    B.mmapped[id] = mmapped ? 1 : 0;
    if (mmapped) {
      B.mmapRequested += request;
      B.mmapCount++;
      // (the mapping: prev_size holds what lies below the chunk in it)
      B.mapLength[id] = chunk + S.word(ptr - 2 * W);
      B.mmapBytes += B.mapLength[id];
    } else {
      B.heapRequested += request;
    }
    const base = S.base(ptr, Math.max(1, request));
    const u8 = S.u8;
    const u32 = S.u32;
    if (k === K.CALLOC) {
      const all = this.#deepEvery > 0;
      const nz = base >= 0 ? checkZero(u8, u32, base, request, all) : checkZeroFar(S, ptr, request, all);
      if (nz >= 0) this.#fail(i, `calloc(${request}) at 0x${ptr.toString(16)}: byte ${nz} is not zero`);
    }
    if (from >= 0) {
      const bad = base >= 0 ? checkPattern(u8, u32, base, B.size[from], from, request) : checkPatternFar(S, ptr, B.size[from], from, request);
      if (bad >= 0) this.#fail(i, `realloc lost the contents of block ${from} at offset ${bad}`);
    }
    if (base >= 0) writePattern(u8, u32, base, request, id);
    else writePatternFar(S, ptr, request, id);
    if (this.#xlines) {
      const where = mmapped ? "M" : `H ${ptr - this.#brk0}`;
      this.lines.push(`${LETTER[k]} ${id} ${where} ${chunk} ${usable}`);
    }
  }

  /** mallinfo2 against the shadow (and the twin's). */
  checkInfo(i: number): Mallinfo2 {
    const m = this.proc.mallinfo2();
    const B = this.blocks;
    const fail = (what: string): never => this.#fail(i, `mallinfo2: ${what} (${JSON.stringify(m)})`);
    if (m.uordblks + m.fordblks !== m.arena) fail("uordblks + fordblks != arena");
    if (m.hblks !== B.mmapCount) fail(`hblks ${m.hblks}, but ${B.mmapCount} mmapped blocks are live`);
    if (m.hblkhd !== B.mmapBytes) fail(`hblkhd ${m.hblkhd}, but the live mmapped blocks span ${B.mmapBytes} bytes`);
    if (m.uordblks < B.heapRequested) fail(`uordblks ${m.uordblks} below the ${B.heapRequested} bytes requested`);
    if (this.threadsCreated > 0) this.checkArenas(i);
    if (this.twin) {
      const m2 = this.twin.mallinfo2();
      for (const key of Object.keys(m) as (keyof Mallinfo2)[]) if (m2[key] !== m[key]) fail(`twin: ${key} ${m2[key]}`);
    }
    return m;
  }

  /** Every live block's contents (O(heap)). */
  checkContents(i: number): void {
    for (const id of this.blocks.liveIds()) this.#checkIntact(i, id);
  }

  /** The end of a sequence: the O(heap) checks once. */
  finish(i: number): Mallinfo2 {
    this.checkContents(i);
    this.regions.verify((what) => this.#fail(i, what));
    this.regions.verifyStatus((what) => this.#fail(i, what));
    return this.checkInfo(i);
  }

  /** The initial break (after alignBreak): offsets in the -x lines are from here. */
  get brk0(): number {
    return this.#brk0;
  }
}
