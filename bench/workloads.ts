// The synthetic workloads of the benchmark suite, as deterministic (seeded) op programs that
// every peer replays the same way (bench/ops-program.ts):
//
//   simple-S   glibc benchtests style: 100 × malloc(S), then free in reverse; S = 16 … 4096
//   mixed      ~10,000 live blocks, random malloc/free, sizes 95 % 8–512 B and 5 % up to 64 KiB,
//              first and last byte written
//   realloc    chains of growing reallocs (×1.5 up to 64 KiB) among small-object churn
//   large      128 KiB – 4 MiB blocks (the mmap path), a few live, first and last byte written

import { OP_WORDS, TOUCH, type OpsProgram } from "./ops-program.js";

const OP_MALLOC = 0;
const OP_REALLOC = 3;
const OP_FREE = 4;

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

  realloc(oldId: number, size: number, touch = false): number {
    const id = this.ids++;
    this.push(OP_REALLOC | (touch ? TOUCH : 0), id, oldId, size);
    return id;
  }

  free(id: number): void {
    this.push(OP_FREE, id, 0, 0);
  }

  build(): OpsProgram {
    return { words: this.words.slice(0, this.n * OP_WORDS), length: this.n, ids: this.ids };
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

/** Every synthetic workload, by name. */
export function syntheticWorkloads(quick = false): [string, OpsProgram][] {
  const scale = quick ? 0.2 : 1;
  return [
    ...SIMPLE_SIZES.map((s): [string, OpsProgram] => [`simple-${s}`, simpleWorkload(s, Math.round(1000 * scale))]),
    ["mixed", mixedWorkload(Math.round(200_000 * scale))],
    ["realloc", reallocWorkload(Math.round(2000 * scale))],
    ["large", largeWorkload(Math.round(4000 * scale))],
  ];
}
