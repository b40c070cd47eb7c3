// Bring your own trace: a real program's op list (or glibc mtrace log) mutated, instead of ops
// drawn from scratch. Each sequence takes a window of the trace and applies seeded mutations —
// drop an op, duplicate an allocation, resize one, swap two neighbours — then keeps the result a
// valid op list (ops.without drops what lost its maker, and renumbers).

import { allocates, K, NONE, OpSeq, ThreadRenumbering, without } from "./ops.js";
import { Prng } from "./prng.js";

/** The trace's ops that matter to the heap, as a sequence (from op-list text). */
export function traceWindow(trace: OpSeq, rng: Prng, count: number): OpSeq {
  if (trace.length <= count) return trace.prefix(trace.length);
  const start = rng.below(trace.length - count);
  // a window starting mid-trace: ops on blocks made before it lose their maker and go too
  return without(trace, (i) => i < start || i >= start + count);
}

/** A mutated copy of `base`. */
export function mutate(base: OpSeq, seed: number, rate = 0.02): OpSeq {
  const rng = new Prng(seed);
  const out = new OpSeq(base.length + 16);
  let pendingSwap = -1;
  for (let i = 0; i < base.length; i++) {
    const k = base.kind[i];
    const r = rng.u32() / 2 ** 32;
    if (r < rate) continue; // drop
    let a = base.a[i], b = base.b[i], c = base.c[i], d = base.d[i];
    if (r < rate * 2 && allocates(k)) {
      // resize: the size field of the op (m/v/V: b; the others: c; reallocarray: d)
      const grow = (x: number) => Math.max(0, Math.min(0xffffffff, Math.floor(x * (0.25 + rng.u32() / 2 ** 31)) + rng.range(-16, 16)));
      if (k === K.MALLOC || k === K.VALLOC || k === K.PVALLOC) b = grow(b);
      else if (k === K.REALLOCARRAY) d = grow(d);
      else c = grow(c);
    }
    if (r < rate * 3 && r >= rate * 2 && i + 1 < base.length && pendingSwap < 0) {
      pendingSwap = i; // emitted after the next op: a swap of neighbours
      continue;
    }
    out.push(k, a, b, c, d);
    if (pendingSwap >= 0 && pendingSwap !== i) {
      const j = pendingSwap;
      pendingSwap = -1;
      out.push(base.kind[j], base.a[j], base.b[j], base.c[j], base.d[j]);
    }
    if (r >= rate * 3 && r < rate * 4 && k === K.MALLOC) out.push(K.MALLOC, -2, b); // a duplicate: its own new ID
  }
  return renumber(out);
}

/**
 * Makes a mutated list valid: allocating ops get IDs 0, 1, 2, ... in order; an op naming an ID
 * that is not live at that point (freed already, made later by a swap, or never made) is dropped;
 * thread lines are renumbered as ops.without does (ThreadRenumbering).
 */
export function renumber(seq: OpSeq): OpSeq {
  const out = new OpSeq(seq.length + 16);
  const live = new Map<number, number>(); // old ID -> new ID, while live
  let next = 0, nextRid = 0;
  const rids = new Map<number, number>();
  const threads = new ThreadRenumbering();
  for (let i = 0; i < seq.length; i++) {
    const k = seq.kind[i];
    let a = seq.a[i], b = seq.b[i];
    if (k === K.THREAD || k === K.EXIT) {
      a = threads.map(k, a, false);
      if (a < 0) continue;
    } else if (k === K.FREE || k === K.USABLE) {
      if (!live.has(a)) continue;
      const id = live.get(a)!;
      if (k === K.FREE) live.delete(a);
      a = id;
    } else if (k === K.REALLOC || k === K.REALLOCARRAY) {
      if (b !== NONE) {
        if (!live.has(b)) continue;
        const old = live.get(b)!;
        live.delete(b);
        b = old;
      }
      if (a >= 0) live.set(a, next);
      a = next++;
    } else if (allocates(k)) {
      if (a >= 0) live.set(a, next);
      a = next++;
    } else if (k === K.MMAP) {
      rids.set(a, nextRid);
      a = nextRid++;
    } else if (k > K.MMAP && k <= K.MREMAP) {
      if (!rids.has(a)) continue;
      a = rids.get(a)!;
    }
    out.push(k, a, b, seq.c[i], seq.d[i]);
  }
  return out;
}
