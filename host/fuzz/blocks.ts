// The shadow of the heap the fuzzer keeps: every block it holds (by ID), its request, its usable
// span and its contents, and the set of live spans sorted by address, so that a new block is
// checked against its two neighbours only (O(log n) per op).
//
// A block's span is [ptr − SIZE_SZ, ptr + usable): its size field (the word below the pointer, the
// allocator's own header: 4 bytes on i386, 8 on x86_64) and what the caller may write. Live spans
// tile the heap without overlapping: a chunk's usable bytes end where the next chunk's size field
// starts. Addresses are the process's (x86_64: 47-bit VAs, exact in a double).
//
// Contents: each block carries a pattern derived from its ID, written on allocation at the first
// and last 64 bytes and at three words in between (all of it for blocks up to 4 KiB would cost
// more than the call itself for big ones); a free or realloc checks it first. The pattern functions
// work on the block's offset in the memory (`base`: one window holds the block, space.ts); a block
// no window holds (a far mapping) goes through the `*Far` ones, byte range by byte range.

import type { Space } from "./space.js";

export class Violation extends Error {
  constructor(
    readonly op: number,
    readonly what: string,
  ) {
    super(what);
    this.name = "Violation";
  }
}

/**
 * An op a shrunk list cannot run as meant: a system call aimed at pages its region no longer has
 * (cutting ops out changed what the region holds). Such a candidate is not a failure.
 */
export class InvalidOp extends Error {}

/** How a sequence may end against a wall without a finding. */
export type Ending = "oom" | "assert" | "pthread";

/**
 * The process died at op `op` the way Linux and glibc end it too against a wall (limits.ts): the
 * OOM killer, or glibc's own sysmalloc assertion; or a `T` could not create its thread there
 * (pthread_create's EAGAIN: the process lives, but the op list names a thread that does not
 * exist). The sequence ends there, not as a finding.
 */
export class Killed extends Error {
  constructor(
    readonly op: number,
    /** "oom", "assert", or "pthread" (pthread_create refused with EAGAIN: the op list cannot go on without the thread). */
    readonly how: Ending,
  ) {
    super(`${how === "oom" ? "killed by the OOM killer" : how === "assert" ? "glibc's sysmalloc assertion" : "pthread_create refused (EAGAIN)"} at op ${op}`);
  }
}

/** Per-ID state. */
export enum State {
  UNBORN = 0,
  LIVE = 1,
  /** freed, or handed to a realloc that succeeded */
  DEAD = 2,
  /** NULL result: a later free/realloc/usable of it passes NULL */
  NULLED = 3,
  /** a realloc of it failed: the block is still allocated but no op may name it again */
  ORPHAN = 4,
}

/**
 * The pattern of block `id`: word k (bytes 4k..4k+3, little-endian) holds a hash of (id, k). A
 * block's pointer (and its offset in the memory) is 16-aligned, so whole words are written and
 * checked through a Uint32Array.
 */
export function patternWord(id: number, k: number): number {
  return (Math.imul(id + 1, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca77)) >>> 0;
}

/** The pattern byte at offset `off` of block `id`. */
export function patternByte(id: number, off: number): number {
  return (patternWord(id, Math.floor(off / 4)) >>> ((off % 4) * 8)) & 0xff;
}

const HEAD_WORDS = 16; // 64 bytes at each end

/**
 * The pattern's places in a block of `size` bytes are the words of [0, 64) and of the last 64
 * bytes (whole words only), three words in between, and the bytes after the last whole word,
 * which start here (arithmetic: an x86_64 block may pass 4 GiB).
 */
function tailStart(size: number): number {
  return size - (size % 4);
}

/** Writes block `id`'s pattern into its `size` bytes at offset `base` of the memory. */
export function writePattern(u8: Uint8Array, u32: Uint32Array, base: number, size: number, id: number): void {
  const words = Math.floor(size / 4);
  const w0 = base >>> 2;
  const idTerm = Math.imul(id + 1, 0x9e3779b1);
  const head = Math.min(words, HEAD_WORDS);
  for (let k = 0; k < head; k++) u32[w0 + k] = idTerm ^ Math.imul(k + 1, 0x85ebca77);
  if (words > HEAD_WORDS) {
    const from = Math.max(words - HEAD_WORDS, HEAD_WORDS);
    for (let k = from; k < words; k++) u32[w0 + k] = idTerm ^ Math.imul(k + 1, 0x85ebca77);
    if (words > 4 * HEAD_WORDS) {
      for (let q = 1; q <= 3; q++) {
        const k = Math.floor((words * q) / 4);
        u32[w0 + k] = idTerm ^ Math.imul(k + 1, 0x85ebca77);
      }
    }
  }
  for (let off = tailStart(size); off < size; off++) u8[base + off] = patternByte(id, off);
}

/** The first byte offset below `limit` where block `id`'s pattern (at offset `base`) is not intact, or -1. */
export function checkPattern(u8: Uint8Array, u32: Uint32Array, base: number, size: number, id: number, limit = size): number {
  const words = Math.floor(size / 4);
  const whole = Math.floor(Math.min(size, limit) / 4); // words wholly below the limit
  const w0 = base >>> 2;
  const idTerm = Math.imul(id + 1, 0x9e3779b1);
  const head = Math.min(whole, HEAD_WORDS);
  for (let k = 0; k < head; k++) if (u32[w0 + k] !== ((idTerm ^ Math.imul(k + 1, 0x85ebca77)) >>> 0)) return firstBad(u8, base, id, k);
  if (words > HEAD_WORDS) {
    const from = Math.max(words - HEAD_WORDS, HEAD_WORDS);
    for (let k = from; k < whole; k++) if (u32[w0 + k] !== ((idTerm ^ Math.imul(k + 1, 0x85ebca77)) >>> 0)) return firstBad(u8, base, id, k);
    if (words > 4 * HEAD_WORDS) {
      for (let q = 1; q <= 3; q++) {
        const k = Math.floor((words * q) / 4);
        if (k < whole && u32[w0 + k] !== ((idTerm ^ Math.imul(k + 1, 0x85ebca77)) >>> 0)) return firstBad(u8, base, id, k);
      }
    }
  }
  const end = Math.min(size, limit);
  for (let off = tailStart(size); off < end; off++) if (u8[base + off] !== patternByte(id, off)) return off;
  return -1;
}

function firstBad(u8: Uint8Array, base: number, id: number, k: number): number {
  for (let off = 4 * k; off < 4 * k + 4; off++) if (u8[base + off] !== patternByte(id, off)) return off;
  return 4 * k;
}

/** The first non-zero byte among the pattern's places (every byte when `all` or small) of the block at offset `base`, or -1. */
export function checkZero(u8: Uint8Array, u32: Uint32Array, base: number, size: number, all: boolean): number {
  const words = Math.floor(size / 4);
  const w0 = base >>> 2;
  const scanAll = all || words <= 4 * HEAD_WORDS;
  for (let k = 0; k < words; k++) {
    if (!scanAll && k === HEAD_WORDS) {
      k = words - HEAD_WORDS;
      if (u32[w0 + Math.floor(words / 4)] | u32[w0 + Math.floor(words / 2)] | u32[w0 + Math.floor((words * 3) / 4)]) return 4 * Math.floor(words / 4);
    }
    if (u32[w0 + k] !== 0) return 4 * k;
  }
  for (let off = words * 4; off < size; off++) if (u8[base + off] !== 0) return off;
  return -1;
}

/**
 * The byte ranges [offset, end) of a block of `size` bytes that hold its pattern, in the order
 * checkPattern looks at them (head, tail, the three words in between, the bytes after the last
 * whole word); with `all`, the whole block. For the far path only (it allocates).
 */
function places(size: number, all = false): Array<[number, number]> {
  if (all) return [[0, size]];
  const words = Math.floor(size / 4);
  const out: Array<[number, number]> = [[0, 4 * Math.min(words, HEAD_WORDS)]];
  if (words > HEAD_WORDS) {
    out.push([4 * Math.max(words - HEAD_WORDS, HEAD_WORDS), 4 * words]);
    if (words > 4 * HEAD_WORDS) for (let q = 1; q <= 3; q++) out.push([4 * Math.floor((words * q) / 4), 4 * Math.floor((words * q) / 4) + 4]);
  }
  out.push([tailStart(size), size]);
  return out.filter(([from, to]) => to > from);
}

/** writePattern for a block no window holds (space.ts), through the process. */
export function writePatternFar(space: Space, ptr: number, size: number, id: number): void {
  for (const [from, to] of places(size)) {
    const bytes = new Uint8Array(to - from);
    for (let off = from; off < to; off++) bytes[off - from] = patternByte(id, off);
    space.write(ptr + from, bytes);
  }
}

/** checkPattern for a block no window holds. */
export function checkPatternFar(space: Space, ptr: number, size: number, id: number, limit = size): number {
  for (const [from, to] of places(size)) {
    const end = Math.min(to, limit);
    if (end <= from) continue;
    const bytes = space.read(ptr + from, end - from);
    for (let off = from; off < end; off++) if (bytes[off - from] !== patternByte(id, off)) return off;
  }
  return -1;
}

/** checkZero for a block no window holds. */
export function checkZeroFar(space: Space, ptr: number, size: number, all: boolean): number {
  for (const [from, to] of places(size, all || Math.floor(size / 4) <= 4 * HEAD_WORDS)) {
    const bytes = space.read(ptr + from, to - from);
    const at = bytes.findIndex((b) => b !== 0);
    if (at >= 0) return from + at;
  }
  return -1;
}

export class Blocks {
  constructor(
    /** SIZE_SZ: the size field below each pointer belongs to the block's span. */
    readonly headerBytes = 4,
  ) {}

  // per ID
  state = new Uint8Array(1024);
  addr = new Float64Array(1024);
  size = new Float64Array(1024);
  usable = new Float64Array(1024);
  mmapped = new Uint8Array(1024);
  /** An mmapped block's mapping length (prev_size + chunk size), read when it was made. */
  mapLength = new Float64Array(1024);
  ids = 0;
  // the IDs that ops may name (LIVE and NULLED), densely, for picking one at random
  pickable = new Int32Array(1024);
  pickCount = 0;
  #pickPos = new Int32Array(1024);
  // live spans (LIVE and ORPHAN blocks) as [start, end) pairs, sorted by start: one memmove per change
  // (doubles: x86_64 addresses have 47 bits)
  #spans = new Float64Array(2048);
  spanCount = 0;
  /** Sums over live blocks (orphans included): requested bytes in the heap and in mmapped chunks, their count. */
  heapRequested = 0;
  mmapRequested = 0;
  mmapCount = 0;
  mmapBytes = 0;

  /** A new ID (the next one), in state `state`. */
  born(state: State): number {
    const id = this.ids++;
    if (id === this.state.length) this.#growIds();
    this.state[id] = state;
    this.addr[id] = 0;
    this.size[id] = 0;
    this.usable[id] = 0;
    this.mmapped[id] = 0;
    this.#pickPos[id] = -1;
    this.#addPickable(id);
    return id;
  }

  #growIds(): void {
    const cap = this.state.length * 2;
    const g8 = (x: Uint8Array) => { const y = new Uint8Array(cap); y.set(x); return y; };
    const g64 = (x: Float64Array) => { const y = new Float64Array(cap); y.set(x); return y; };
    const g32 = (x: Int32Array) => { const y = new Int32Array(cap); y.set(x); return y; };
    this.state = g8(this.state);
    this.mmapped = g8(this.mmapped);
    this.addr = g64(this.addr);
    this.size = g64(this.size);
    this.usable = g64(this.usable);
    this.mapLength = g64(this.mapLength);
    this.pickable = g32(this.pickable);
    this.#pickPos = g32(this.#pickPos);
  }

  #addPickable(id: number): void {
    this.#pickPos[id] = this.pickCount;
    this.pickable[this.pickCount++] = id;
  }

  /** The ID leaves the pickable list (freed, reallocated, orphaned). */
  unpick(id: number): void {
    const at = this.#pickPos[id];
    if (at < 0) return;
    const last = this.pickable[--this.pickCount];
    this.pickable[at] = last;
    this.#pickPos[last] = at;
    this.#pickPos[id] = -1;
  }

  #search(start: number): number {
    const sp = this.#spans;
    let lo = 0, hi = this.spanCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sp[2 * mid] < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Records the span of a new live block; returns the start of a live span it overlaps, or -1.
   * [start, end) must not meet any other live span.
   */
  insertSpan(start: number, end: number): number {
    const sp = this.#spans;
    const lo = this.#search(start);
    if (lo > 0 && sp[2 * lo - 1] > start) return sp[2 * lo - 2];
    if (lo < this.spanCount && sp[2 * lo] < end) return sp[2 * lo];
    if (2 * this.spanCount + 2 > sp.length) {
      const grown = new Float64Array(sp.length * 2);
      grown.set(sp);
      this.#spans = grown;
    }
    const s2 = this.#spans;
    s2.copyWithin(2 * lo + 2, 2 * lo, 2 * this.spanCount);
    s2[2 * lo] = start;
    s2[2 * lo + 1] = end;
    this.spanCount++;
    return -1;
  }

  /** Forgets the span that starts at `start`. */
  removeSpan(start: number): void {
    const lo = this.#search(start);
    if (lo >= this.spanCount || this.#spans[2 * lo] !== start) throw new Error(`fuzz: no span at 0x${start.toString(16)}`);
    this.#spans.copyWithin(2 * lo, 2 * lo + 2, 2 * this.spanCount);
    this.spanCount--;
  }

  /** The start of a live span meeting [start, end), or -1. */
  overlapping(start: number, end: number): number {
    const sp = this.#spans;
    let lo = 0, hi = this.spanCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sp[2 * mid + 1] <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.spanCount && sp[2 * lo] < end ? sp[2 * lo] : -1;
  }

  /** The live block (LIVE or ORPHAN) whose span starts at `start`, or -1 (a slow search: for reports). */
  ownerAt(start: number): number {
    for (let id = 0; id < this.ids; id++) {
      const st = this.state[id];
      if ((st === State.LIVE || st === State.ORPHAN) && this.addr[id] - this.headerBytes === start) return id;
    }
    return -1;
  }

  /** The live blocks (LIVE and ORPHAN), in ID order. */
  liveIds(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.ids; id++) if (this.state[id] === State.LIVE || this.state[id] === State.ORPHAN) out.push(id);
    return out;
  }
}
