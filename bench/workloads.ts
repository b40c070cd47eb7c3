// The synthetic workloads of the benchmark suite, as deterministic (seeded) op programs that
// every peer replays the same way (bench/ops-program.ts):
//
//   simple-S   glibc benchtests style: 100 × malloc(S), then free in reverse; S = 16 … 4096
//   mixed      ~10,000 live blocks, random malloc/free, sizes 95 % 8–512 B and 5 % up to 64 KiB,
//              first and last byte written
//   realloc    chains of growing reallocs (×1.5 up to 64 KiB) among small-object churn
//   large      128 KiB – 4 MiB blocks (the mmap path), a few live, first and last byte written
//   threads    4 worker threads and the main thread, one at a time, switching every few hundred
//              ops; a quarter of the blocks are handed to another thread, which frees them;
//              workers exit and new ones take their place (arenas and stacks reused)

import {
  OP_CALLOC, OP_EXIT, OP_FREE, OP_MALLOC, OP_REALLOC, OP_THREAD, OP_WORDS, TOUCH, type OpsProgram,
} from "./ops-program.js";

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds a program op by op; IDs are handed out in op order, as the trace format requires. */
class ProgramBuilder {
  private words = new Uint32Array(1 << 16);
  private n = 0;
  private ids = 0;
  private threads = 0;

  private push(w0: number, w1: number, w2: number, w3: number): void {
    if ((this.n + 1) * OP_WORDS > this.words.length) {
      const bigger = new Uint32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    this.words.set([w0, w1, w2, w3], this.n * OP_WORDS);
    this.n++;
  }

  malloc(size: number, touch = false): number {
    const id = this.ids++;
    this.push(OP_MALLOC | (touch ? TOUCH : 0), id, size, 0);
    return id;
  }

  calloc(size: number, touch = false): number {
    const id = this.ids++;
    this.push(OP_CALLOC | (touch ? TOUCH : 0), id, size, 0);
    return id;
  }

  realloc(oldId: number, size: number, touch = false): number {
    const id = this.ids++;
    this.push(OP_REALLOC | (touch ? TOUCH : 0), id, oldId, size);
    return id;
  }

  free(id: number): void {
    this.push(OP_FREE, id, 0, 0);
  }

  /** T n: switch to thread n; a new n must be the next number (the main thread creates it). */
  thread(n: number): void {
    if (n > this.threads + 1) throw new Error(`workloads: thread ${n} out of order (next is ${this.threads + 1})`);
    if (n === this.threads + 1) this.threads = n;
    this.push(OP_THREAD, n, 0, 0);
  }

  /** E n: thread n returns and the main thread joins it. */
  exit(n: number): void {
    this.push(OP_EXIT, n, 0, 0);
  }

  /** Ops so far. */
  get length(): number {
    return this.n;
  }

  build(): OpsProgram {
    return { words: this.words.slice(0, this.n * OP_WORDS), length: this.n, ids: this.ids, threads: this.threads };
  }
}

export const SIMPLE_SIZES = [16, 64, 256, 1024, 4096] as const;

/** `rounds` × (100 × malloc(size), then free in reverse). */
export function simpleWorkload(size: number, rounds = 1000): OpsProgram {
  const b = new ProgramBuilder();
  const ids = new Array<number>(100);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 100; i++) ids[i] = b.malloc(size);
    for (let i = 99; i >= 0; i--) b.free(ids[i]!);
  }
  return b.build();
}

/** Random malloc/free around `live` live blocks; 95 % small (8–512 B), 5 % up to 64 KiB. */
export function mixedWorkload(ops = 200_000, live = 10_000, seed = 1): OpsProgram {
  const rnd = prng(seed);
  const b = new ProgramBuilder();
  const blocks: number[] = [];
  const size = () => (rnd() < 0.95 ? 8 + Math.floor(rnd() * 505) : 513 + Math.floor(rnd() * (65536 - 512)));
  for (let i = 0; i < live; i++) blocks.push(b.malloc(size(), true));
  for (let k = live; k < ops; k += 2) {
    const j = Math.floor(rnd() * blocks.length);
    b.free(blocks[j]!);
    blocks[j] = b.malloc(size(), true);
  }
  return b.build();
}

/** Chains that grow by ×1.5 from 16 B to 64 KiB, interleaved with small malloc/free churn. */
export function reallocWorkload(chains = 2000, seed = 1): OpsProgram {
  const rnd = prng(seed);
  const b = new ProgramBuilder();
  const churn: number[] = [];
  for (let c = 0; c < chains; c++) {
    let id = b.malloc(16, true);
    for (let size = 24; size <= 65536; size = Math.ceil(size * 1.5)) {
      id = b.realloc(id, size, true);
      if (churn.length > 64) b.free(churn.splice(Math.floor(rnd() * churn.length), 1)[0]!);
      churn.push(b.malloc(8 + Math.floor(rnd() * 120)));
    }
    b.free(id);
  }
  for (const id of churn) b.free(id);
  return b.build();
}

/** Blocks of 128 KiB – 4 MiB, at most `maxLive` live at once. */
export function largeWorkload(ops = 4000, maxLive = 4, seed = 1): OpsProgram {
  const rnd = prng(seed);
  const b = new ProgramBuilder();
  const live: number[] = [];
  for (let k = 0; k < ops; k++) {
    if (live.length === maxLive || (live.length > 0 && rnd() < 0.5)) {
      b.free(live.splice(Math.floor(rnd() * live.length), 1)[0]!);
    } else {
      live.push(b.malloc(131072 + Math.floor(rnd() * (4 * 1048576 - 131072)), true));
    }
  }
  for (const id of live) b.free(id);
  return b.build();
}

/** The threaded workload's shape (threadedWorkload). */
export const THREADS = {
  /** Worker threads alive at once (besides the main thread). */
  workers: 4,
  /** A thread runs this many ops (uniform in [min, max]) before the next switch. */
  burstMin: 64,
  burstMax: 960,
  /** Blocks a thread keeps live of its own, about. */
  liveTarget: 1000,
  /** Share of the new blocks handed to another thread (which frees them). */
  handOff: 0.25,
  /** Chance that a worker exits after one of its bursts (a new worker takes its place). */
  exitChance: 0.05,
} as const;

/**
 * The size of a new block: 90 % 8–256 B, 8 % up to 4 KiB, 1.8 % up to 64 KiB, 0.2 % 128–512 KiB
 * (above the mmap threshold, until frees of mmapped blocks raise it).
 */
function threadedSize(rnd: () => number): number {
  const r = rnd();
  if (r < 0.9) return 8 + Math.floor(rnd() * 249);
  if (r < 0.98) return 257 + Math.floor(rnd() * (4096 - 256));
  if (r < 0.998) return 4097 + Math.floor(rnd() * (65536 - 4096));
  return 131072 + Math.floor(rnd() * (524288 - 131072));
}

/**
 * Several threads, one at a time, as a producer/consumer program runs them: the main thread and
 * THREADS.workers workers, the current one running a burst of ops before the program switches to
 * another (T lines). Each thread allocates (3 % calloc) and frees its own blocks around
 * THREADS.liveTarget live, reallocs some (5 % of its frees); a quarter of what it allocates goes
 * to another live thread's inbox, and that thread frees it (30 % of its ops while its inbox has
 * blocks): cross-thread frees, both ways between workers and main. A worker exits (E line) after a
 * burst with THREADS.exitChance, having freed half of its blocks and handed the rest, and its
 * inbox, to the main thread; the main thread creates a new worker at the next switch (its arena
 * from the free list, its stack from glibc's cache). At the end every worker frees what it holds
 * and exits, and the main thread frees the rest. Every block's first and last byte is written.
 */
export function threadedWorkload(ops = 200_000, seed = 1): OpsProgram {
  const rnd = prng(seed);
  const b = new ProgramBuilder();
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const take = (xs: number[]): number => {
    const j = Math.floor(rnd() * xs.length);
    const id = xs[j]!;
    xs[j] = xs[xs.length - 1]!;
    xs.pop();
    return id;
  };
  interface T {
    n: number;
    own: number[];
    inbox: number[];
  }
  const main: T = { n: 0, own: [], inbox: [] };
  const live: T[] = [main];
  let current = main;
  let next = 1;

  const switchTo = (t: T) => {
    if (t !== current) b.thread(t.n);
    current = t;
  };
  const op = (t: T) => {
    if (t.inbox.length > 0 && rnd() < 0.3) {
      b.free(take(t.inbox));
      return;
    }
    if (t.own.length < THREADS.liveTarget || rnd() < 0.5) {
      const size = threadedSize(rnd);
      const id = rnd() < 0.03 ? b.calloc(size, true) : b.malloc(size, true);
      if (live.length > 1 && rnd() < THREADS.handOff) {
        // another live thread, uniformly: t's place in the list stands for the last one
        const o = live[Math.floor(rnd() * (live.length - 1))]!;
        (o === t ? live[live.length - 1]! : o).inbox.push(id);
      } else {
        t.own.push(id);
      }
      return;
    }
    const id = take(t.own);
    if (rnd() < 0.05) t.own.push(b.realloc(id, threadedSize(rnd), true));
    else b.free(id);
  };
  const finish = (t: T, keep: number) => {
    while (t.own.length > keep) b.free(take(t.own));
  };

  while (b.length < ops) {
    // The next thread: a new worker while there are fewer than THREADS.workers, else any other live thread.
    let t: T;
    if (live.length < THREADS.workers + 1) {
      t = { n: next++, own: [], inbox: [] };
      live.push(t);
    } else {
      t = pick(live.filter((o) => o !== current));
    }
    switchTo(t);
    const burst = THREADS.burstMin + Math.floor(rnd() * (THREADS.burstMax - THREADS.burstMin + 1));
    for (let k = 0; k < burst; k++) op(t);
    if (t !== main && rnd() < THREADS.exitChance) {
      finish(t, t.own.length >> 1);
      main.inbox.push(...t.own, ...t.inbox);
      b.exit(t.n);
      live.splice(live.indexOf(t), 1);
      current = main;
    }
  }
  for (const t of live.filter((o) => o !== main)) {
    switchTo(t);
    finish(t, 0);
    for (const id of t.inbox) b.free(id);
    b.exit(t.n);
    current = main;
  }
  finish(main, 0);
  for (const id of main.inbox) b.free(id);
  return b.build();
}

/** Every synthetic workload, by name. */
export function syntheticWorkloads(quick = false): [string, OpsProgram][] {
  const scale = quick ? 0.2 : 1;
  return [
    ...SIMPLE_SIZES.map((s): [string, OpsProgram] => [`simple-${s}`, simpleWorkload(s, Math.round(1000 * scale))]),
    ["mixed", mixedWorkload(Math.round(200_000 * scale))],
    ["realloc", reallocWorkload(Math.round(2000 * scale))],
    ["large", largeWorkload(Math.round(4000 * scale))],
    ["threads", threadedWorkload(Math.round(200_000 * scale))],
  ];
}
