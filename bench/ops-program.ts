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

/**
 * Replays a program from JS, one allocator call per op; `touch` writes first and last byte.
 * The loop is the same text for every peer, but each peer gets its own compiled copy
 * (jsLoopFor), so V8's inline caches in it see one allocator only, as an application's would.
 */
function runFromJsTemplate(
  alloc: JsAllocator,
  words: Uint32Array,
  length: number,
  table: Uint32Array,
  touch: ((ptr: number, size: number) => void) | undefined,
): void {
  // Op kinds and the TOUCH bit as literals: this function's text is compiled again on its own.
  for (let i = 0, end = length * 4; i < end; i += 4) {
    const kind = words[i] & 0xff;
    const id = words[i + 1];
    let p: number;
    let size: number;
    if (kind === 0) {
      p = alloc.malloc((size = words[i + 2]));
    } else if (kind === 1) {
      p = alloc.calloc(1, (size = words[i + 2]));
    } else if (kind === 2) {
      p = alloc.memalign(words[i + 2], (size = words[i + 3]));
    } else if (kind === 3) {
      p = alloc.realloc(words[i + 2] === 0xffffffff ? 0 : table[words[i + 2]], (size = words[i + 3]));
    } else {
      alloc.free(table[id]);
      continue;
    }
    table[id] = p;
    if (touch !== undefined && (words[i] & 0x100) !== 0 && size !== 0) touch(p, size);
  }
}

type JsLoop = typeof runFromJsTemplate;

/** A freshly compiled copy of the JS replay loop, for one peer. */
export function jsLoopFor(): JsLoop {
  return new Function(`return ${runFromJsTemplate.toString()}`)() as JsLoop;
}

/** Replays a program from JS with the given loop (see jsLoopFor). */
export function runFromJs(
  loop: JsLoop,
  alloc: JsAllocator,
  program: OpsProgram,
  table: Uint32Array,
  touch?: (ptr: number, size: number) => void,
): void {
  loop(alloc, program.words, program.length, table, touch);
}
