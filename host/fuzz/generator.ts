// The op generator: draws the next op from the profile's mix, knowing what the executor holds
// (which IDs are live, which regions are mapped, the allocator's current mmap threshold), so that
// every op it writes is valid in the op-list sense and the sequence replays exactly.
//
// With threads (`threads` > 0), about one op in THREAD_EVERY is a thread line: a new thread (up to
// `threads` live besides the main one), a switch to a live thread or back to the main one, an exit
// (its arena to the free list, its stack to the cache), now and then mallopt(M_ARENA_MAX /
// M_ARENA_TEST); every other op is then the current thread's, on any live block (frees and reallocs
// across threads come by themselves). Without threads the generator draws exactly what it drew
// before they existed: a seed names the same sequence.
//
// On x86_64 (`arch`) the sizes are that ABI's (sizes.ts): 64-bit values near SIZE_MAX, products of
// calloc/reallocarray past 2^64, sbrk increments no 47-bit break can take; with the threads oracle
// (`oracleSafe` and threads) every size stays below 2^32, as its op lists carry 32-bit sizes only.

import { M_ARENA_MAX, M_ARENA_TEST, M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD, M_TRIM_THRESHOLD } from "../../assembly/config.js";
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MREMAP_MAYMOVE, PROT_NONE, PROT_READ, PROT_WRITE } from "../constants.js";
import type { Executor } from "./executor.js";
import { K, NONE, type OpSeq } from "./ops.js";
import { type Exhaust, wallOf } from "./limits.js";
import { Prng } from "./prng.js";
import { PAGE } from "./regions.js";
import { type ArchInfo, I386_INFO } from "./arch.js";
import { CLASS_ID, CLASSES, drawAlign, drawSize, type Profile, type SizeLimits, type SizeTable, sizeTable } from "./sizes.js";

const MiB = 1 << 20;

/** Op weights per profile, in the order of WEIGHT_KINDS. */
const WEIGHT_KINDS = [K.MALLOC, K.FREE, K.CALLOC, K.REALLOC, K.REALLOCARRAY, K.MEMALIGN, K.ALIGNED_ALLOC, K.POSIX_MEMALIGN, K.VALLOC, K.PVALLOC, K.USABLE, K.MALLOPT, K.TRIM, K.SBRK, K.MMAP];
const WEIGHTS: Record<Profile, number[]> = {
  // malloc_trim is rare outside "adversarial": it madvises every free page of the heap, which the
  // kernel pays for page by page (a pass over O(heap) bytes)
  //         m     f     c    r    R    a    A   P   v   V   u    o    t    s   kernel
  tiny:     [3800, 4000, 400, 800, 100, 80, 40, 40, 20, 20, 300, 10, 3, 10, 20],
  mixed:    [3300, 3500, 400, 900, 150, 120, 60, 60, 40, 40, 300, 30, 5, 20, 50],
  large:    [3000, 3200, 400, 1200, 150, 150, 80, 80, 60, 60, 300, 40, 20, 20, 100],
  adversarial: [2500, 2600, 500, 1000, 300, 300, 150, 150, 100, 100, 300, 400, 60, 150, 400],
};
const MAX_LIVE: Record<Profile, number> = { tiny: 3000, mixed: 1500, large: 150, adversarial: 400 };
/** With threads, one op in this many (on average) is a thread line. */
const THREAD_EVERY = 48;

export interface GeneratorOptions {
  profile: Profile;
  /** Keep requests whose outcome depends on the address-space layout away (the oracle cannot follow them). */
  oracleSafe: boolean;
  /** The wall the process runs against (limits.ts); default none. */
  exhaust?: Exhaust;
  /** Up to this many live threads besides the main one (0: no thread lines, the default). */
  threads?: number;
  /** The ABI whose sizes are drawn (default i386). */
  arch?: ArchInfo;
}

export class Generator {
  readonly rng: Prng;
  /** How many generated requests fell in each class of sizes.CLASSES. */
  readonly classes = new Uint32Array(CLASSES.length);
  readonly #cumulative: number[];
  readonly #total: number;
  readonly #limits: SizeLimits;
  readonly #maxLive: number;
  #regions = 0;
  /** What the live blocks may request in all before big requests give way to small ones. */
  readonly #requestCap: number;
  readonly #threads: number;
  /**
   * No sbrk and no system calls: the threads oracle's replayer (oracle/threads/replay-threads.c)
   * runs the C library calls only.
   */
  readonly #libcOnly: boolean;
  readonly #sizes: SizeTable;
  readonly #arch: ArchInfo;
  /** An sbrk to undo on the next op (a foreign sbrk that gives its memory back at once)… */
  #undo = 0;
  /** … if it moved the break here. */
  #undoTo = 0;

  constructor(
    seed: number,
    readonly options: GeneratorOptions,
  ) {
    this.rng = new Prng(seed);
    let sum = 0;
    this.#cumulative = WEIGHTS[options.profile].map((w) => (sum += w));
    this.#total = sum;
    this.#threads = options.threads ?? 0;
    this.#libcOnly = this.#threads > 0 && options.oracleSafe;
    this.#arch = options.arch ?? I386_INFO;
    this.#sizes = sizeTable(this.#arch);
    this.#limits = { maxHuge: 64 * MiB, beyond32: this.#arch.wide && !options.oracleSafe, narrow: this.#arch.wide && this.#libcOnly };
    this.#maxLive = MAX_LIVE[options.profile];
    this.#requestCap = wallOf(options.exhaust ?? "none").requestCap ?? (options.oracleSafe ? 256 : 384) * MiB;
  }

  /** Appends the next op to `seq`; returns its index. */
  next(seq: OpSeq, ex: Executor): number {
    const rng = this.rng;
    const B = ex.blocks;
    if (this.#undo) {
      const inc = -this.#undo;
      this.#undo = 0;
      // only a move that happened is given back (against a wall it may have been refused: taking
      // the break down then would cut into the heap, as it would in a real program)
      if (ex.proc.sbrk(0) === this.#undoTo) return seq.push(K.SBRK, inc);
    }
    if (this.#threads > 0 && rng.below(THREAD_EVERY) === 0) return this.#threadOp(seq, ex);
    const draw = rng.below(this.#total);
    const cum = this.#cumulative;
    let w = 0;
    while (cum[w] <= draw) w++;
    let kind = WEIGHT_KINDS[w];
    if (this.#libcOnly && (kind === K.SBRK || kind === K.MMAP)) kind = K.MALLOC;
    if (B.pickCount === 0 && (kind === K.FREE || kind === K.USABLE)) kind = K.MALLOC;
    if (B.pickCount > this.#maxLive && kind !== K.FREE && rng.chance(0.7)) kind = K.FREE;
    const id = B.ids;
    switch (kind) {
      case K.MALLOC: return seq.push(K.MALLOC, id, this.#size(ex));
      case K.FREE: return seq.push(K.FREE, B.pickable[rng.below(B.pickCount)]);
      case K.USABLE: return seq.push(K.USABLE, B.pickable[rng.below(B.pickCount)]);
      case K.CALLOC: {
        if (rng.chance(0.08)) return this.#overflowing(seq, K.CALLOC, id);
        const n = rng.chance(0.7) ? 1 : rng.range(2, 64);
        return seq.push(K.CALLOC, id, n, this.#share(this.#size(ex), n));
      }
      case K.REALLOC:
      case K.REALLOCARRAY: {
        const old = B.pickCount > 0 && rng.chance(0.93) ? B.pickable[rng.below(B.pickCount)] : NONE;
        if (old !== NONE && B.mmapped[old]) this.classes[CLASS_ID["realloc-mremap"]]++;
        // grow or shrink the block a little as often as anything else: the in-place paths
        const s = old !== NONE && rng.chance(0.4) ? Math.max(0, Math.floor(B.size[old] * (0.5 + rng.u32() / 2 ** 32)) + rng.range(-24, 24)) : this.#size(ex);
        if (kind === K.REALLOC) return seq.push(K.REALLOC, id, old, s);
        if (rng.chance(0.15)) return this.#overflowing(seq, K.REALLOCARRAY, id, old);
        const n = rng.range(1, 16);
        return seq.push(K.REALLOCARRAY, id, old, n, this.#share(s, n));
      }
      case K.MEMALIGN:
      case K.ALIGNED_ALLOC:
      case K.POSIX_MEMALIGN: {
        const s = this.#size(ex);
        let align = drawAlign(rng, this.#sizes, this.options.profile, MiB, this.#limits.narrow);
        // an alignment beyond a page inside an mmapped chunk lands where the mapping's address
        // puts it: keep those requests in the heap when the oracle must follow
        // (a thread's arena mmaps a request too big for a heap even with M_MMAP_MAX 0)
        if (this.options.oracleSafe && align > PAGE && align <= MiB && (ex.mmapMax() > 0 || this.#threads > 0) && this.#arch.unsigned(s) + align + 64 >= ex.mmapThreshold()) align = PAGE;
        if (align > PAGE && align <= MiB) this.classes[CLASS_ID["align>page"]]++;
        if (align === MiB) this.classes[CLASS_ID["align-1MiB"]]++;
        return seq.push(kind, id, align, s);
      }
      case K.VALLOC: return seq.push(K.VALLOC, id, this.#size(ex));
      case K.PVALLOC: return seq.push(K.PVALLOC, id, this.#size(ex));
      case K.MALLOPT: return this.#mallopt(seq);
      case K.TRIM: return seq.push(K.TRIM, rng.pick([0, 0, 4096, 65536, 1 << 20]));
      case K.SBRK: {
        const r = rng.below(10);
        if (r < 2) return seq.push(K.SBRK, 0);
        // increments no break can take (ENOMEM); a real 2 GiB break is layout-dependent. x86_64:
        // 64 TiB either way (up: past the mappings above the heap; down: below the start of the
        // break, which Linux refuses and glibc's sbrk reports as success, the break unmoved)
        if (r < 3) {
          if (this.#arch.wide) return seq.push(K.SBRK, rng.chance(0.5) ? 2 ** 46 : -(2 ** 46));
          return seq.push(K.SBRK, this.options.oracleSafe ? -0x80000000 : rng.pick([0x7fffffff, -0x80000000]));
        }
        const inc = rng.pick([8, 16, 4096, 20000, 65536]);
        if (r < 7) {
          this.#undo = inc;
          this.#undoTo = ex.proc.sbrk(0) + inc;
        }
        return seq.push(K.SBRK, inc);
      }
      default:
        this.classes[CLASS_ID["kernel-region"]]++;
        return this.#kernel(seq, ex);
    }
  }

  /** A thread line, or mallopt of the arena limits. */
  #threadOp(seq: OpSeq, ex: Executor): number {
    const rng = this.rng;
    const live = ex.liveThreads;
    const r = rng.below(16);
    if (r === 0) return seq.push(K.MALLOPT, M_ARENA_MAX, rng.pick([0, 1, 2, 3, 8]));
    if (r === 1) return seq.push(K.MALLOPT, M_ARENA_TEST, rng.pick([0, 1, 2, 4]));
    // new threads while there is room; then switches (to the main thread a quarter of the time) and exits
    if (live.length === 0 || (r < 5 && live.length < this.#threads)) {
      return live.length < this.#threads ? seq.push(K.THREAD, ex.threadsCreated + 1) : seq.push(K.THREAD, 0);
    }
    if (r < 7) return seq.push(K.EXIT, rng.pick(live));
    return seq.push(K.THREAD, rng.chance(0.25) ? 0 : rng.pick(live));
  }

  #size(ex: Executor): number {
    const B = ex.blocks;
    let s = drawSize(this.rng, this.#sizes, this.options.profile, this.#limits);
    // the live total stays far below the address space (a small request must never fail), unless
    // the sequence is to fill it (x86_64: requests of 4 GiB and more are meant to meet no window)
    const u = this.#arch.unsigned(s);
    if (u < (this.#arch.wide ? 2 ** 32 : 0x80000000) && u > MiB && B.heapRequested + B.mmapRequested + u > this.#requestCap) s = this.rng.range(0, 4096);
    this.classes[this.#sizes.classOf(s)]++;
    return s;
  }

  /** SIZE / N for an N-element request, kept within the size limit when the product could succeed. */
  #share(size: number, n: number): number {
    const A = this.#arch;
    if (!A.wide) {
      const per = Math.floor(size / n);
      return n * per <= 0x7fffffff && n * per > this.#limits.maxHuge ? Math.floor(this.#limits.maxHuge / n) : per;
    }
    // (one element: the size as it is, whatever it spells; SIZE_MAX, -1, is 2^64 as a double)
    if (n === 1) return size;
    const per = Math.floor(A.unsigned(size) / n);
    const total = n * per;
    if (total > this.#limits.maxHuge && (total < 2 ** 32 || (total < A.noSpace && !this.#limits.beyond32))) return Math.floor(this.#limits.maxHuge / n);
    return A.spell(per);
  }

  /** calloc / reallocarray whose product overflows size_t (or PTRDIFF_MAX). */
  #overflowing(seq: OpSeq, kind: number, id: number, old = NONE): number {
    const rng = this.rng;
    this.classes[CLASS_ID.overflow]++;
    const [n, s] = rng.pick(this.#limits.narrow ? this.#sizes.narrowOverflowPairs : this.#sizes.overflowPairs);
    return kind === K.CALLOC ? seq.push(K.CALLOC, id, n, s) : seq.push(K.REALLOCARRAY, id, old, n, s);
  }

  #mallopt(seq: OpSeq): number {
    const rng = this.rng;
    const C = this.#arch.c;
    switch (rng.below(6)) {
      case 0: return seq.push(K.MALLOPT, M_TRIM_THRESHOLD, rng.pick([0, 4096, 131072, MiB, -1]));
      case 1: return seq.push(K.MALLOPT, M_TOP_PAD, rng.pick([0, 4096, 65536, 131072, MiB]));
      // the largest threshold glibc takes (HEAP_MAX_SIZE / 2) and one above; the default fast
      // limit, the largest M_MXFAST takes and one above
      case 2: return seq.push(K.MALLOPT, M_MMAP_THRESHOLD, rng.pick([4096, 65536, 131072, C.DEFAULT_MMAP_THRESHOLD_MAX, C.DEFAULT_MMAP_THRESHOLD_MAX + 1, MiB]));
      case 3: return seq.push(K.MALLOPT, M_MMAP_MAX, rng.pick([0, 1, 4, 65536]));
      case 4: return seq.push(K.MALLOPT, M_MXFAST, rng.pick([0, 16, 32, C.DEFAULT_MXFAST, C.MAX_FAST_SIZE, C.MAX_FAST_SIZE + 1, -1]));
      default: return seq.push(K.MALLOPT, M_PERTURB, rng.chance(0.5) ? 0 : rng.range(1, 255));
    }
  }

  #kernel(seq: OpSeq, ex: Executor): number {
    const rng = this.rng;
    const live = ex.regions.list.map((r, rid) => ({ r, rid })).filter(({ r }) => r.anyMapped());
    if (live.length === 0 || (live.length < 6 && rng.chance(0.25))) {
      const pages = rng.range(1, 48);
      const length = pages * PAGE - (rng.chance(0.2) ? rng.range(1, PAGE - 1) : 0);
      const prot = rng.pick([PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE]);
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | (rng.chance(0.2) ? MAP_POPULATE : 0) | (rng.chance(0.1) ? MAP_NORESERVE : 0);
      return seq.push(K.MMAP, this.#regions++, length, prot, flags);
    }
    const { r, rid } = rng.pick(live);
    // only pages the region still has mapped (a hole may hold someone else's mapping by now)
    const [first, end] = rng.pick(r.runs());
    const from = rng.range(first, end - 1);
    const count = rng.chance(0.3) ? end - from : rng.range(1, end - from);
    const off = from * PAGE;
    const len = count * PAGE - (rng.chance(0.2) ? rng.range(0, PAGE - 1) : 0);
    const op = rng.below(5);
    if (op >= 3 && r.mapped[0]) {
      const run0 = r.runs()[0][1];
      const oldLen = rng.chance(0.7) ? run0 * PAGE : rng.range(1, run0) * PAGE;
      const newLen = rng.range(1, 2 * run0 + 4) * PAGE;
      return seq.push(K.MREMAP, rid, oldLen, newLen, MREMAP_MAYMOVE);
    }
    switch (op) {
      case 0: return rng.chance(0.4) ? seq.push(K.MUNMAP, rid, first * PAGE, (end - first) * PAGE) : seq.push(K.MUNMAP, rid, off, len);
      case 1: return seq.push(K.MPROTECT, rid, off, len, rng.pick([PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE]));
      default: return seq.push(K.MADVISE, rid, off, len, MADV_DONTNEED);
    }
  }
}
