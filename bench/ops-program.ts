// An op list encoded for a replay loop that runs inside Wasm: 4 little-endian u32 words per op,
//
//   word 0: kind (bits 0–7: 0 malloc, 1 calloc, 2 memalign, 3 realloc, 4 free,
//                             5 thread switch, 6 thread exit) | TOUCH (0x100)
//   word 1: the ID the op creates (or frees) · thread switch / exit: the thread's number N
//   word 2: malloc/calloc: size · memalign: alignment · realloc: OLDID (0xffffffff = NULL)
//   word 3: memalign: size · realloc: size
//
// calloc is encoded with the product nmemb × size (glibc 2.36 uses only the product). TOUCH asks the
// loop to write the block's first and last byte, as the synthetic workloads do. The loops live in
// bench/wasm/tlsf.ts (the TLSF peer) and assembly/replay.ts (ptmalloc-wasm).
//
// The two thread ops are the op list's `T N` and `E N` lines (docs/formats.md, "Threads"):
//
//   5  thread switch, T N: thread N becomes the current thread; every allocator op is a call by
//      the current thread (thread 0, the main thread, until the first switch). An N not seen
//      before is the next new number (1, 2, 3, …): the main thread creates that thread there
//      (pthread_create, default attributes) and it becomes current. N = the current thread: nothing.
//   6  thread exit, E N: thread N (created, not exited, not 0) returns from its start routine and
//      the main thread joins it; the main thread becomes current.
//
// Thread numbers are never reused; block IDs are one numbering for all threads (any thread may
// free or realloc any live block). A program with thread ops says how many threads it creates
// (OpsProgram.threads): only the peers that run threads replay it (bench/peers/peer.ts, threads()),
// with runFromJs here or bench/native/replay.c. The loops above, which run one thread,
// would take a thread op for a free: they are never given one.

import { NO_ID, Op, type OpList } from "../host/trace/ops.js";

export const OP_WORDS = 4;
export const TOUCH = 0x100;
/** The op kinds of word 0 (bits 0–7). */
export const OP_MALLOC = 0;
export const OP_CALLOC = 1;
export const OP_MEMALIGN = 2;
export const OP_REALLOC = 3;
export const OP_FREE = 4;
export const OP_THREAD = 5;
export const OP_EXIT = 6;

export interface OpsProgram {
  /** OP_WORDS words per op. */
  words: Uint32Array;
  /** Ops that the loop runs (mallopt/trim extension ops are not encoded). */
  length: number;
  /** IDs: the size of the table of block addresses, in words. */
  ids: number;
  /** Threads the program creates (its highest thread number); 0: it runs on the main thread alone. */
  threads: number;
}

export function encodeOps(list: OpList, options: { touch?: boolean } = {}): OpsProgram {
  const words = new Uint32Array(list.length * OP_WORDS);
  const touch = options.touch === true ? TOUCH : 0;
  let n = 0;
  let threads = 0;
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
      case Op.THREAD:
        words.set([OP_THREAD, a, 0, 0], w);
        threads = Math.max(threads, a);
        break;
      case Op.EXIT:
        words.set([OP_EXIT, a, 0, 0], w);
        break;
      default:
        continue; // mallopt / malloc_trim / malloc_info: not part of a speed run
    }
    n++;
  }
  return { words: words.subarray(0, n * OP_WORDS), length: n, ids: list.ids, threads };
}

/** What every allocator peer offers the benchmark: one call per op from JS. */
export interface JsAllocator {
  malloc(size: number): number;
  calloc(nmemb: number, size: number): number;
  memalign(align: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

/** A thread of a peer that runs threads: the C library calls, as that thread, and its exit. */
export interface JsThread extends JsAllocator {
  /** The start routine returns; the main thread joins the thread. */
  exit(): void;
}

/** A peer's process with threads: its own calls are the main thread's. */
export interface JsThreadedAllocator extends JsAllocator {
  /** pthread_create from the main thread, default attributes. */
  createThread(): JsThread;
}

/**
 * Replays a program from JS, one allocator call per op; `touch` writes first and last byte.
 * The loop is the same text for every peer, but each peer gets its own compiled copy
 * (jsLoopFor), so V8's inline caches in it see one allocator only, as an application's would.
 * A program with threads calls the current thread's object (`threads`: room for
 * program.threads + 1, all undefined at the start; `main` then has createThread): creating and
 * joining threads is part of the loop.
 */
function runFromJsTemplate(
  main: JsAllocator & Partial<JsThreadedAllocator>,
  words: Uint32Array,
  length: number,
  table: Uint32Array | Float64Array,
  touch: ((ptr: number, size: number) => void) | undefined,
  threads: (JsThread | undefined)[] | undefined,
): void {
  let alloc: JsAllocator = main;
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
    } else if (kind === 4) {
      alloc.free(table[id]);
      continue;
    } else if (kind === 5) {
      if (id === 0) {
        alloc = main;
      } else {
        let t = threads![id];
        if (t === undefined) threads![id] = t = main.createThread!();
        alloc = t;
      }
      continue;
    } else {
      threads![id]!.exit();
      alloc = main;
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

/**
 * Replays a program from JS with the given loop (see jsLoopFor), from the main thread. A
 * program with threads needs an allocator with createThread.
 */
export function runFromJs(
  loop: JsLoop,
  alloc: JsAllocator & Partial<JsThreadedAllocator>,
  program: OpsProgram,
  table: Uint32Array | Float64Array,
  touch?: (ptr: number, size: number) => void,
): void {
  if (program.threads === 0) return loop(alloc, program.words, program.length, table, touch, undefined);
  if (alloc.createThread === undefined) throw new Error("runFromJs: a program with threads, and an allocator without them");
  loop(alloc, program.words, program.length, table, touch, new Array<JsThread | undefined>(program.threads + 1));
}

/**
 * The op list (docs/formats.md) a program encodes, one line per op: `m`, `c ID 1 SIZE`, `a`, `r`
 * (`-` for a NULL OLDID), `f`, `T`, `E`. TOUCH has no op-list form: encodeOps(…, { touch: true })
 * sets it again. Programs made by bench/workloads.ts round-trip through it.
 */
export function programText(program: OpsProgram): string {
  const w = program.words;
  const lines: string[] = [];
  for (let i = 0, end = program.length * OP_WORDS; i < end; i += OP_WORDS) {
    const kind = w[i]! & 0xff, id = w[i + 1]!, x = w[i + 2]!, y = w[i + 3]!;
    switch (kind) {
      case OP_MALLOC: lines.push(`m ${id} ${x}`); break;
      case OP_CALLOC: lines.push(`c ${id} 1 ${x}`); break;
      case OP_MEMALIGN: lines.push(`a ${id} ${x} ${y}`); break;
      case OP_REALLOC: lines.push(`r ${id} ${x === 0xffffffff ? "-" : x} ${y}`); break;
      case OP_FREE: lines.push(`f ${id}`); break;
      case OP_THREAD: lines.push(`T ${id}`); break;
      case OP_EXIT: lines.push(`E ${id}`); break;
      default: throw new Error(`programText: op ${i / OP_WORDS} has an unknown kind ${kind}`);
    }
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}
