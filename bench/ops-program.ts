// An op list encoded for a replay loop that runs inside Wasm: 4 little-endian u32 words per op,
//
//   word 0: kind (bits 0–7: 0 malloc, 1 calloc, 2 memalign, 3 realloc, 4 free) | TOUCH (0x100)
//   word 1: the ID the op creates (or frees)
//   word 2: malloc/calloc: size · memalign: alignment · realloc: OLDID (0xffffffff = NULL)
//   word 3: memalign: size · realloc: size
//
// calloc is encoded with the product nmemb × size (glibc 2.36 uses only the product). TOUCH asks the
// loop to write the block's first and last byte, as the synthetic workloads do. The loops live in
// bench/wasm/tlsf.ts (the TLSF peer) and assembly/replay.ts (ptmalloc-wasm).

import { NO_ID, Op, type OpList } from "../host/trace/ops.js";

export const OP_WORDS = 4;
export const TOUCH = 0x100;

export interface OpsProgram {
  /** OP_WORDS words per op. */
  words: Uint32Array;
  /** Ops that the loop runs (mallopt/trim extension ops are not encoded). */
  length: number;
  /** IDs: the size of the table of block addresses, in words. */
  ids: number;
}

export function encodeOps(list: OpList, options: { touch?: boolean } = {}): OpsProgram {
  const words = new Uint32Array(list.length * OP_WORDS);
  const touch = options.touch === true ? TOUCH : 0;
  let n = 0;
  for (let k = 0; k < list.length; k++) {
    const w = n * OP_WORDS;
    const a = list.a[k], b = list.b[k], c = list.c[k];
    switch (list.kind[k]) {
      case Op.MALLOC:
        words.set([Op.MALLOC | touch, a, b, 0], w);
        break;
      case Op.CALLOC:
        words.set([Op.CALLOC | touch, a, Math.min(b * c, 0xffffffff), 0], w);
        break;
      case Op.MEMALIGN:
        words.set([Op.MEMALIGN | touch, a, b, c], w);
        break;
      case Op.REALLOC:
        words.set([Op.REALLOC | touch, a, b === NO_ID ? 0xffffffff : b, c], w);
        break;
      case Op.FREE:
        words.set([Op.FREE, a, 0, 0], w);
        break;
      default:
        continue; // mallopt / malloc_trim: not part of a speed run
    }
    n++;
  }
  return { words: words.subarray(0, n * OP_WORDS), length: n, ids: list.ids };
}

/** What every allocator peer offers the benchmark: one call per op from JS. */
export interface JsAllocator {
  malloc(size: number): number;
  calloc(nmemb: number, size: number): number;
  memalign(align: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

/** Replays a program from JS, one allocator call per op; `touch` writes first and last byte. */
export function runFromJs(
  alloc: JsAllocator,
  program: OpsProgram,
  table: Uint32Array,
  touch?: (ptr: number, size: number) => void,
): void {
  const w = program.words;
  for (let i = 0, end = program.length * OP_WORDS; i < end; i += OP_WORDS) {
    const kind = w[i] & 0xff;
    const id = w[i + 1];
    let p: number;
    let size: number;
    switch (kind) {
      case Op.MALLOC:
        p = alloc.malloc((size = w[i + 2]));
        break;
      case Op.CALLOC:
        p = alloc.calloc(1, (size = w[i + 2]));
        break;
      case Op.MEMALIGN:
        p = alloc.memalign(w[i + 2], (size = w[i + 3]));
        break;
      case Op.REALLOC:
        p = alloc.realloc(w[i + 2] === 0xffffffff ? 0 : table[w[i + 2]], (size = w[i + 3]));
        break;
      default:
        alloc.free(table[id]);
        continue;
    }
    table[id] = p;
    if (touch !== undefined && w[i] & TOUCH && size !== 0) touch(p, size);
  }
}
