// The @thi.ng/malloc peer: MemPool, a pure-TypeScript first-fit allocator over one ArrayBuffer
// (a port of thi.ng/tinyalloc), driven from JS one call per op. It is the kind of allocator a
// JS application would pick off the shelf to manage a Wasm-style heap without Wasm, so it shows
// what ptmalloc-wasm's speed means next to the obvious pure-JS alternative.
//
// MemPool cannot grow: its ArrayBuffer is fixed at construction. The pool is sized once per
// program from a dry pass over the ops (poolBytesFor), so every run gets a buffer that fits it
// without a costly one-size-fits-all allocation.

import { MemPool } from "@thi.ng/malloc";
import { jsLoopFor, runFromJs, type JsAllocator, type OpsProgram } from "../ops-program.js";
import type { Peer, PeerMemory, Runner } from "./peer.js";

const NAME = "@thi.ng/malloc (pure TS), JS-driven";

/**
 * The pool's alignment: 16, the guarantee ptmalloc-wasm (glibc on i386) and AssemblyScript's TLSF
 * give, so every peer hands out pointers that suit the same types (MemPool's default is 8).
 */
const ALIGN = 16;
/** MemPool's block header (size, next) in front of every block's data. */
const BLOCK_HEADER = 8;
/** MemPool's state words at the start of the buffer, plus the first block's alignment padding. */
const POOL_HEADER = 64;
/**
 * First fit with coalescing keeps fragmentation well below the live bytes on these programs; the
 * factor and the fixed slack leave room for it (a malloc that still fails throws, naming the op).
 */
const FRAGMENTATION = 2;
const SLACK = 1 << 20;

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** What MemPool takes for a request of `size` bytes: header, data, rounded up to the alignment. */
function blockBytes(size: number, align: number): number {
  return alignUp(Math.max(size, 1) + BLOCK_HEADER, ALIGN) + (align > ALIGN ? align - ALIGN : 0);
}

const poolBytes = new WeakMap<OpsProgram, number>();

/**
 * An upper bound of the buffer a program needs: the most block bytes (headers and alignment
 * included) live at once, counting a realloc's old and new block both live, times the
 * fragmentation allowance, plus slack. Computed once per program.
 */
export function poolBytesFor(program: OpsProgram): number {
  const cached = poolBytes.get(program);
  if (cached !== undefined) return cached;
  const words = program.words;
  const held = new Float64Array(program.ids); // block bytes per live ID, 0 when none
  let live = 0;
  let peak = 0;
  for (let i = 0, end = program.length * 4; i < end; i += 4) {
    const kind = words[i]! & 0xff;
    const id = words[i + 1]!;
    if (kind === 4) {
      live -= held[id]!;
      held[id] = 0;
      continue;
    }
    const bytes =
      kind === 2 ? blockBytes(words[i + 3]!, words[i + 2]!) : blockBytes(kind === 3 ? words[i + 3]! : words[i + 2]!, 0);
    live += bytes;
    held[id] = bytes;
    peak = Math.max(peak, live);
    if (kind === 3 && words[i + 2] !== 0xffffffff) {
      live -= held[words[i + 2]!]!;
      held[words[i + 2]!] = 0;
    }
  }
  const bytes = alignUp(POOL_HEADER + peak * FRAGMENTATION + SLACK, 1 << 16);
  poolBytes.set(program, bytes);
  return bytes;
}

/** The C allocator calls on one MemPool, with C's corner cases and a clear error on exhaustion. */
class ThingAllocator implements JsAllocator {
  readonly pool: MemPool;
  /** Block headers are u32 words; read to learn a block's size for realloc of a memalign block. */
  private readonly u32: Uint32Array;
  /**
   * memalign blocks: the aligned pointer the program holds → the pointer MemPool returned.
   * MemPool aligns only pool-wide, so memalign over-allocates and rounds up; free and realloc
   * get the aligned pointer from the ID table and must give MemPool back its own.
   */
  private readonly aligned = new Map<number, number>();
  /** Ops done so far: names the op when the pool runs out. */
  calls = 0;
  /** The highest block end handed out: MemPool keeps only its current top, not a high-water mark. */
  highWater = 0;

  constructor(readonly buffer: ArrayBuffer) {
    this.pool = new MemPool({ buf: buffer, align: ALIGN });
    this.u32 = new Uint32Array(buffer);
  }

  private got(p: number, size: number): number {
    if (p === 0) {
      throw new Error(
        `${NAME}: its pool of ${this.buffer.byteLength} bytes is exhausted at op ${this.calls - 1} ` +
          `of the program (a request of ${size} bytes); raise FRAGMENTATION in bench/peers/thing.ts`,
      );
    }
    if (p + size > this.highWater) this.highWater = p + size;
    return p;
  }

  // MemPool returns 0 for size 0; glibc returns a unique minimal block, so ask for one byte.
  malloc(size: number): number {
    this.calls++;
    return this.got(this.pool.malloc(size || 1), size);
  }

  calloc(nmemb: number, size: number): number {
    this.calls++;
    const bytes = nmemb * size;
    return this.got(this.pool.calloc(bytes || 1), bytes);
  }

  memalign(align: number, size: number): number {
    this.calls++;
    if (align <= ALIGN) return this.got(this.pool.malloc(size || 1), size);
    const raw = this.got(this.pool.malloc(size + align - ALIGN), size + align - ALIGN);
    const p = alignUp(raw, align);
    if (p !== raw) this.aligned.set(p, raw);
    return p;
  }

  realloc(ptr: number, size: number): number {
    this.calls++;
    // MemPool finds no block for NULL and returns 0; C's realloc(NULL, n) is malloc(n).
    if (ptr === 0) return this.got(this.pool.malloc(size || 1), size);
    // glibc's realloc(p, 0) frees p and returns NULL; MemPool would return 0 and keep p.
    if (size === 0) {
      this.release(ptr);
      return 0;
    }
    const raw = this.aligned.size === 0 ? undefined : this.aligned.get(ptr);
    if (raw === undefined) {
      const p = this.got(this.pool.realloc(ptr, size), size);
      // When the block moves, MemPool (6.1) passes the old block's header address to its own
      // free(), which expects a data address, finds nothing and keeps the old block in use: every
      // moving realloc would leak. The old block is still intact (MemPool copied from it), so
      // free it here; should a fixed MemPool have freed it already, this free finds nothing.
      if (p !== ptr) this.pool.free(ptr);
      return p;
    }
    // A memalign block: MemPool would copy from its own start, not from the aligned pointer.
    this.aligned.delete(ptr);
    const usable = this.u32[(raw - BLOCK_HEADER) >>> 2]! - BLOCK_HEADER - (ptr - raw);
    const p = this.got(this.pool.malloc(size), size);
    new Uint8Array(this.buffer).copyWithin(p, ptr, ptr + Math.min(usable, size));
    this.pool.free(raw);
    return p;
  }

  free(ptr: number): void {
    this.calls++;
    if (ptr !== 0) this.release(ptr);
  }

  private release(ptr: number): void {
    const raw = this.aligned.size === 0 ? undefined : this.aligned.get(ptr);
    if (raw !== undefined) this.aligned.delete(ptr);
    this.pool.free(raw ?? ptr);
  }
}

/** One run of `program` from JS on a fresh MemPool sized for it (setup excluded: call prepare first). */
function thingJsRunner(program: OpsProgram): Runner {
  if (program.threads > 0) throw new Error(`bench: @thi.ng/malloc runs one thread; a program with threads is not for it`);
  const loop = jsLoopFor();
  const size = poolBytesFor(program);
  let alloc: ThingAllocator;
  let table: Uint32Array;
  let bytes: Uint8Array;
  const touch = (p: number, n: number) => {
    bytes[p] = 1;
    bytes[p + n - 1] = 1;
  };
  return {
    prepare() {
      alloc = new ThingAllocator(new ArrayBuffer(size));
      bytes = new Uint8Array(alloc.buffer);
      table = new Uint32Array(program.ids);
    },
    run() {
      runFromJs(loop, alloc, program, table, touch);
    },
    memory(): PeerMemory {
      return { peakBytes: alloc.highWater };
    },
  };
}

export function thingPeers(): Peer[] {
  return [
    {
      name: NAME,
      mode: "js",
      // A devDependency imported at the top of this file: present whenever the suite runs.
      unavailable: () => null,
      runner: thingJsRunner,
    },
  ];
}
