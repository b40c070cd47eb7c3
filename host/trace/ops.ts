// Op lists ("ops v1"): one allocator call per line (docs/formats.md has the whole format).
//
//   m ID SIZE            malloc(SIZE)
//   c ID NMEMB SIZE      calloc(NMEMB, SIZE)
//   a ID ALIGN SIZE      memalign(ALIGN, SIZE)
//   r NEWID OLDID SIZE   NEWID = realloc(OLDID, SIZE)      (OLDID "-" is NULL)
//   f ID                 free(ID)
//   # ...                comment
// three extension ops used by the scenario op lists (oracle/scenarios/README.md):
//   o PARAM VALUE        mallopt(PARAM, VALUE)     PARAM: M_* name or a number
//   t PAD                malloc_trim(PAD)
//   i                    malloc_info(0, fp)
// and the rest of the C library and the raw memory system calls (the fuzzing extension):
//   R NEWID OLDID NMEMB SIZE   reallocarray          A ID ALIGN SIZE   aligned_alloc
//   P ID ALIGN SIZE            posix_memalign        v ID SIZE         valloc
//   V ID SIZE                  pvalloc               u ID              malloc_usable_size
//   s INCREMENT                sbrk (signed)         M RID LENGTH PROT FLAGS   mmap → region RID
//   U RID OFFSET LENGTH        munmap                X RID OFFSET LENGTH PROT  mprotect
//   D RID OFFSET LENGTH ADVICE madvise               Y RID OLDLEN NEWLEN FLAGS mremap
// and the thread lines (the threads oracle's, oracle/threads/README.md):
//   T N                  thread N becomes current (a new N: the main thread creates it; T 0: main)
//   E N                  thread N exits, the main thread joins it and becomes current
//
// A parsed list is a structure of arrays (one entry per op, comments excluded), a few bytes per
// op, so that replay allocates nothing per op:
//
//   op k:  kind[k]        a[k]          b[k]                 c[k]       d[k]
//          MALLOC         ID            SIZE                 -          -
//          CALLOC         ID            NMEMB                SIZE       -
//          MEMALIGN       ID            ALIGN                SIZE       -
//          REALLOC        NEWID         OLDID (NO_ID = NULL) SIZE       -
//          FREE           ID            -                    -          -
//          MALLOPT        PARAM (i32)   VALUE (i32)          -          -   (PARAM as written: paramText)
//          TRIM           -             PAD                  -          -
//          INFO           -             -                    -          -
//          REALLOCARRAY   NEWID         OLDID (NO_ID = NULL) NMEMB      SIZE
//          ALIGNED_ALLOC, POSIX_MEMALIGN   ID   ALIGN        SIZE       -
//          VALLOC, PVALLOC ID           SIZE                 -          -
//          USABLE_SIZE    ID            -                    -          -
//          SBRK           -             INCREMENT (i32)      -          -
//          MMAP           RID           LENGTH               PROT       FLAGS
//          MUNMAP         RID           OFFSET               LENGTH     -
//          MPROTECT, MADVISE  RID       OFFSET               LENGTH     PROT / ADVICE
//          MREMAP         RID           OLDLEN               NEWLEN     FLAGS
//          THREAD, EXIT   N             -                    -          -
//
// `line[k]` is the op's line number in its source (the op list, or the mtrace log it came from),
// for error messages. Numbers are u32 (the i386 size_t); the IDs of allocating ops must be
// 0, 1, 2, ... in order, and so must the region IDs of `M` lines.

import * as C from "../constants.js";
import { ByteWriter } from "./bytewriter.js";
import { binaryReason, LinePieces, longLineReason, quoteLine } from "./lines.js";

/**
 * The op codes of an OpList's `kind` array, one per op letter: MALLOC `m`, CALLOC `c`, MEMALIGN
 * `a`, REALLOC `r`, FREE `f`, MALLOPT `o`, TRIM `t`, INFO `i`, and the extension's REALLOCARRAY
 * `R`, ALIGNED_ALLOC `A`, POSIX_MEMALIGN `P`, VALLOC `v`, PVALLOC `V`, USABLE_SIZE `u`, SBRK `s`,
 * MMAP `M`, MUNMAP `U`, MPROTECT `X`, MADVISE `D`, MREMAP `Y`, and the thread lines THREAD `T`
 * and EXIT `E` (docs/formats.md).
 */
export const Op = {
  MALLOC: 0,
  CALLOC: 1,
  MEMALIGN: 2,
  REALLOC: 3,
  FREE: 4,
  MALLOPT: 5,
  TRIM: 6,
  INFO: 7,
  REALLOCARRAY: 8,
  ALIGNED_ALLOC: 9,
  POSIX_MEMALIGN: 10,
  VALLOC: 11,
  PVALLOC: 12,
  USABLE_SIZE: 13,
  SBRK: 14,
  MMAP: 15,
  MUNMAP: 16,
  MPROTECT: 17,
  MADVISE: 18,
  MREMAP: 19,
  THREAD: 20,
  EXIT: 21,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** OLDID of `r NEWID - SIZE`: realloc(NULL, SIZE). */
export const NO_ID = 0xffffffff;

/**
 * A parsed op list, one entry per op in parallel typed arrays (compact: a million ops take about
 * 21 MB). Op i is `kind[i]` with the numbers of its line in `a[i]`…`d[i]`, in the order the
 * line writes them (NO_ID for a `-` OLDID; signed values as their 32-bit pattern).
 */
export interface OpList {
  /** Number of ops (comment lines excluded). */
  length: number;
  /** Number of IDs: the allocating ops (m, c, a, r, R, A, P, v, V), counted from the start of the input. */
  ids: number;
  /** Number of regions (`M` lines), counted from the start of the input. */
  regions: number;
  /** Per op: its Op code. */
  kind: Uint8Array;
  /** Per op: the first number of its line (an ID or RID, the PARAM of `o`); 0 for `t` and `s`. */
  a: Uint32Array;
  /** Per op: the second number of its line (the PAD of `t` and INCREMENT of `s`, their only one), else 0. */
  b: Uint32Array;
  /** Per op: the third number of its line, else 0. */
  c: Uint32Array;
  /** Per op: the fourth number of its line, else 0. */
  d: Uint32Array;
  /** Per op: its line number in the source (1-based). */
  line: Uint32Array;
  /** Comment lines, without the leading "#" and one following space, in order. */
  comments: string[];
  /** For MALLOPT ops: op index → the PARAM as written (a name such as M_MMAP_THRESHOLD). */
  paramText: Map<number, string>;
}

/** mallopt parameter names and their glibc values. */
export const MALLOPT_PARAMS: Readonly<Record<string, number>> = {
  M_MXFAST: C.M_MXFAST,
  M_NLBLKS: C.M_NLBLKS,
  M_GRAIN: C.M_GRAIN,
  M_KEEP: C.M_KEEP,
  M_TRIM_THRESHOLD: C.M_TRIM_THRESHOLD,
  M_TOP_PAD: C.M_TOP_PAD,
  M_MMAP_THRESHOLD: C.M_MMAP_THRESHOLD,
  M_MMAP_MAX: C.M_MMAP_MAX,
  M_CHECK_ACTION: C.M_CHECK_ACTION,
  M_PERTURB: C.M_PERTURB,
  M_ARENA_TEST: C.M_ARENA_TEST,
  M_ARENA_MAX: C.M_ARENA_MAX,
};

/** A line of an op list that is not an op. `line` is 1-based; `reason` says what was expected. */
export class OpsSyntaxError extends Error {
  /** What was expected instead. */
  readonly reason: string;
  /** The offending line, quoted as JSON (cut at 80 characters). */
  readonly text: string;
  constructor(
    /** The line number (1-based). */
    readonly line: number,
    reason: string,
    text: string,
  ) {
    const shown = quoteLine(text);
    super(`ops line ${line}: ${reason}: ${shown}`);
    this.name = "OpsSyntaxError";
    this.reason = reason;
    this.text = shown;
  }
}

// How each op letter reads its fields. Field kinds:
//   N  the new ID (must be the next one)      I  an ID               O  an ID or "-" (NULL)
//   R  a new region ID (must be the next one) G  a region ID         U  a u32
//   S  a signed 32-bit number                 P  a mallopt parameter (M_* name or a signed number)
//   T  a thread number (T lines)              E  a thread number (E lines)
type Field = "N" | "I" | "O" | "R" | "G" | "U" | "S" | "P" | "T" | "E";
interface OpSpec {
  kind: Op;
  syntax: string;
  fields: readonly Field[];
}
const SPECS: Record<string, OpSpec> = {
  m: { kind: Op.MALLOC, syntax: "m ID SIZE", fields: ["N", "U"] },
  c: { kind: Op.CALLOC, syntax: "c ID NMEMB SIZE", fields: ["N", "U", "U"] },
  a: { kind: Op.MEMALIGN, syntax: "a ID ALIGN SIZE", fields: ["N", "U", "U"] },
  r: { kind: Op.REALLOC, syntax: "r NEWID OLDID SIZE", fields: ["N", "O", "U"] },
  f: { kind: Op.FREE, syntax: "f ID", fields: ["I"] },
  o: { kind: Op.MALLOPT, syntax: "o PARAM VALUE", fields: ["P", "S"] },
  t: { kind: Op.TRIM, syntax: "t PAD", fields: ["U"] },
  i: { kind: Op.INFO, syntax: "i", fields: [] },
  R: { kind: Op.REALLOCARRAY, syntax: "R NEWID OLDID NMEMB SIZE", fields: ["N", "O", "U", "U"] },
  A: { kind: Op.ALIGNED_ALLOC, syntax: "A ID ALIGN SIZE", fields: ["N", "U", "U"] },
  P: { kind: Op.POSIX_MEMALIGN, syntax: "P ID ALIGN SIZE", fields: ["N", "U", "U"] },
  v: { kind: Op.VALLOC, syntax: "v ID SIZE", fields: ["N", "U"] },
  V: { kind: Op.PVALLOC, syntax: "V ID SIZE", fields: ["N", "U"] },
  u: { kind: Op.USABLE_SIZE, syntax: "u ID", fields: ["I"] },
  s: { kind: Op.SBRK, syntax: "s INCREMENT", fields: ["S"] },
  M: { kind: Op.MMAP, syntax: "M RID LENGTH PROT FLAGS", fields: ["R", "U", "U", "U"] },
  U: { kind: Op.MUNMAP, syntax: "U RID OFFSET LENGTH", fields: ["G", "U", "U"] },
  X: { kind: Op.MPROTECT, syntax: "X RID OFFSET LENGTH PROT", fields: ["G", "U", "U", "U"] },
  D: { kind: Op.MADVISE, syntax: "D RID OFFSET LENGTH ADVICE", fields: ["G", "U", "U", "U"] },
  Y: { kind: Op.MREMAP, syntax: "Y RID OLDLEN NEWLEN FLAGS", fields: ["G", "U", "U", "U"] },
  T: { kind: Op.THREAD, syntax: "T N", fields: ["T"] },
  E: { kind: Op.EXIT, syntax: "E N", fields: ["E"] },
};
/** Op kind → its letter (for writing lists back). */
export const OP_LETTER: readonly string[] = (() => {
  const letters: string[] = [];
  for (const [letter, spec] of Object.entries(SPECS)) letters[spec.kind] = letter;
  return letters;
})();
/** Op kind → 1 if it creates an ID. */
export const ALLOCATING: Uint8Array = (() => {
  const t = new Uint8Array(OP_LETTER.length);
  for (const spec of Object.values(SPECS)) if (spec.fields[0] === "N") t[spec.kind] = 1;
  return t;
})();

const NL = 10, SPACE = 32, TAB = 9, CR = 13, HASH = 35, MINUS = 45, ZERO = 48, NINE = 57;
// The kinds the fast path of the parser writes, as plain constants (a property load each, else).
const K_MALLOC = Op.MALLOC, K_CALLOC = Op.CALLOC, K_MEMALIGN = Op.MEMALIGN, K_REALLOC = Op.REALLOC, K_FREE = Op.FREE;
const U32_MAX = 0xffffffff;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The growable arrays of a list being built (by the op-list parser or the mtrace converter).
 * `take()` hands out what was added since the last take, so a stream is replayed batch by batch
 * in bounded memory.
 */
export class OpSink {
  kind = new Uint8Array(1024);
  a = new Uint32Array(1024);
  b = new Uint32Array(1024);
  c = new Uint32Array(1024);
  d = new Uint32Array(1024);
  line = new Uint32Array(1024);
  n = 0;
  ids = 0;
  regions = 0;
  /** Threads the T lines created so far (the next new one is threads + 1). */
  threads = 0;
  /** The threads an E line ended (their numbers are never used again). */
  exited = new Set<number>();
  comments: string[] = [];
  paramText = new Map<number, string>();

  /** Makes room for `k` more ops. */
  reserve(k: number): void {
    while (this.n + k > this.kind.length) this.#grow();
  }

  /** Appends one op; the caller keeps `ids`/`regions` right. */
  add(kind: number, a: number, b: number, c: number, d: number, line: number): void {
    const n = this.n;
    if (n === this.kind.length) this.#grow();
    this.kind[n] = kind;
    this.a[n] = a;
    this.b[n] = b;
    this.c[n] = c;
    this.d[n] = d;
    this.line[n] = line;
    this.n = n + 1;
  }

  #grow(): void {
    const cap = this.kind.length * 2;
    const k = new Uint8Array(cap); k.set(this.kind); this.kind = k;
    const a = new Uint32Array(cap); a.set(this.a); this.a = a;
    const b = new Uint32Array(cap); b.set(this.b); this.b = b;
    const c = new Uint32Array(cap); c.set(this.c); this.c = c;
    const d = new Uint32Array(cap); d.set(this.d); this.d = d;
    const l = new Uint32Array(cap); l.set(this.line); this.line = l;
  }

  /** The ops added so far, as a list of exact length (copies). */
  list(): OpList {
    const n = this.n;
    return {
      length: n, ids: this.ids, regions: this.regions,
      kind: this.kind.slice(0, n), a: this.a.slice(0, n), b: this.b.slice(0, n),
      c: this.c.slice(0, n), d: this.d.slice(0, n), line: this.line.slice(0, n),
      comments: this.comments, paramText: this.paramText,
    };
  }

  /**
   * The ops added since the last take, as views that stay valid until the next add; then starts
   * a new batch (IDs, regions and comments keep counting).
   */
  take(): OpList {
    const n = this.n;
    const batch: OpList = {
      length: n, ids: this.ids, regions: this.regions,
      kind: this.kind.subarray(0, n), a: this.a.subarray(0, n), b: this.b.subarray(0, n),
      c: this.c.subarray(0, n), d: this.d.subarray(0, n), line: this.line.subarray(0, n),
      comments: this.comments, paramText: this.paramText,
    };
    this.n = 0;
    if (this.paramText.size > 0) this.paramText = new Map();
    return batch;
  }
}

/**
 * Incremental parser: feed text (or UTF-8 bytes) in pieces of any size with `push`, then `end()`
 * (the whole list) — or `take()` after each push (the ops parsed since the last take).
 * Only the unfinished last line of a piece is carried over to the next one.
 */
export class OpsParser {
  readonly #sink = new OpSink();
  #line = 0;
  readonly #pieces = new LinePieces((head) => {
    throw new OpsSyntaxError(this.#line + 1, longLineReason(head), decoder.decode(head));
  });
  readonly #parse = (bytes: Uint8Array, start: number, end: number) => this.#parseLines(bytes, start, end);

  /** Lines read so far. */
  get lines(): number {
    return this.#line;
  }

  push(piece: Uint8Array | string): void {
    this.#pieces.push(typeof piece === "string" ? encoder.encode(piece) : piece, this.#parse);
  }

  /** Parses a last line without a newline, if any. */
  finish(): void {
    this.#pieces.finish(this.#parse);
  }

  end(): OpList {
    this.finish();
    return this.#sink.list();
  }

  take(): OpList {
    return this.#sink.take();
  }

  /** Parses the lines in bytes[start, end); a line may end at `end` without a newline. */
  #parseLines(bytes: Uint8Array, start: number, end: number): void {
    const sink = this.#sink;
    // the loop writes straight into the arrays (taken again when they grow)
    let kinds = sink.kind, A = sink.a, B = sink.b, C = sink.c, D = sink.d, L = sink.line;
    let n = sink.n, ids = sink.ids, line = this.#line;
    let p = start;
    while (p < end) {
      line++;
      if (n === kinds.length) {
        sink.n = n;
        sink.reserve(1);
        kinds = sink.kind; A = sink.a; B = sink.b; C = sink.c; D = sink.d; L = sink.line;
      }
      // Fast path: `m|c|a|r|f` and plain decimal fields separated by single spaces, each at most
      // 10 digits and within u32. Anything else (comments, extension ops, odd spacing, errors)
      // goes to the general parser.
      const op = bytes[p];
      const kind = op === 109 ? K_MALLOC : op === 102 ? K_FREE : op === 99 ? K_CALLOC : op === 114 ? K_REALLOC : op === 97 ? K_MEMALIGN : -1;
      if (kind >= 0 && bytes[p + 1] === SPACE) {
        const fields = kind === K_MALLOC ? 2 : kind === K_FREE ? 1 : 3;
        let q = p + 2, from = q, v0 = 0, v1 = 0, v2 = 0, d = 0;
        while (q < end && (d = bytes[q] - ZERO) >= 0 && d <= 9) { v0 = v0 * 10 + d; q++; }
        let ok = q > from && q - from <= 10 && v0 <= U32_MAX;
        if (ok && fields > 1) {
          ok = bytes[q++] === SPACE;
          if (ok && kind === K_REALLOC && bytes[q] === MINUS) {
            q++;
            v1 = NO_ID;
          } else if (ok) {
            from = q;
            while (q < end && (d = bytes[q] - ZERO) >= 0 && d <= 9) { v1 = v1 * 10 + d; q++; }
            ok = q > from && q - from <= 10 && v1 <= U32_MAX;
          }
          if (ok && fields > 2) {
            ok = bytes[q++] === SPACE;
            from = q;
            while (q < end && (d = bytes[q] - ZERO) >= 0 && d <= 9) { v2 = v2 * 10 + d; q++; }
            ok = ok && q > from && q - from <= 10 && v2 <= U32_MAX;
          }
        }
        if (ok && (q === end || bytes[q] === NL) && (kind === K_FREE || v0 === ids)) {
          kinds[n] = kind;
          A[n] = v0;
          B[n] = v1;
          C[n] = v2;
          D[n] = 0;
          L[n] = line;
          n++;
          if (kind !== K_FREE) ids++;
          p = q + 1;
          continue;
        }
      }
      let eol = bytes.indexOf(NL, p);
      if (eol < 0 || eol > end) eol = end;
      let lineEnd = eol;
      if (lineEnd > p && bytes[lineEnd - 1] === CR) lineEnd--;
      if (lineEnd > p) {
        sink.n = n;
        sink.ids = ids;
        this.#line = line;
        this.#parseLine(bytes, p, lineEnd);
        n = sink.n;
        ids = sink.ids;
        kinds = sink.kind; A = sink.a; B = sink.b; C = sink.c; D = sink.d; L = sink.line;
      }
      p = eol + 1;
    }
    sink.n = n;
    sink.ids = ids;
    this.#line = line;
  }

  #parseLine(s: Uint8Array, start: number, end: number): void {
    const sink = this.#sink;
    if (s[start] === HASH) {
      let from = start + 1;
      if (from < end && s[from] === SPACE) from++;
      sink.comments.push(decoder.decode(s.subarray(from, end)));
      return;
    }
    const lineText = () => decoder.decode(s.subarray(start, end));
    // Whatever is wrong with a line that holds a control byte, the news is that the input is binary.
    const binary = (): void => {
      const reason = binaryReason(s, start, end);
      if (reason !== null) throw new OpsSyntaxError(this.#line, reason, lineText());
    };
    // tokens separated by spaces or tabs
    const tokens: [number, number][] = [];
    for (let p = start; p < end; ) {
      while (p < end && (s[p] === SPACE || s[p] === TAB)) p++;
      if (p === end) break;
      const from = p;
      while (p < end && s[p] !== SPACE && s[p] !== TAB) p++;
      tokens.push([from, p]);
    }
    if (tokens.length === 0) return; // blank line
    const [f0, t0] = tokens[0];
    const letter = t0 - f0 === 1 ? String.fromCharCode(s[f0]) : "";
    const spec = Object.hasOwn(SPECS, letter) ? SPECS[letter] : undefined;
    if (spec === undefined) {
      binary();
      const op = decoder.decode(s.subarray(f0, Math.min(t0, f0 + 20))) + (t0 - f0 > 20 ? "…" : "");
      throw new OpsSyntaxError(this.#line, `unknown op ${JSON.stringify(op)} (expected one of ${Object.keys(SPECS).join(" ")}, or a # comment)`, lineText());
    }
    const fail = (what: string): never => {
      binary();
      throw new OpsSyntaxError(this.#line, `${what} (expected "${spec.syntax}")`, lineText());
    };
    const names = spec.syntax.split(" ").slice(1);
    if (tokens.length - 1 !== spec.fields.length) {
      fail(tokens.length - 1 < spec.fields.length ? `missing ${names[tokens.length - 1]}` : "trailing text");
    }
    const values = [0, 0, 0, 0];
    let param = "";
    for (let k = 0; k < spec.fields.length; k++) {
      const [from, to] = tokens[k + 1];
      const field = spec.fields[k];
      const name = names[k];
      if (field === "O" && to - from === 1 && s[from] === MINUS) {
        values[k] = NO_ID;
        continue;
      }
      if (field === "S" || field === "P") {
        const v = signedField(s, from, to);
        if (field === "P") param = decoder.decode(s.subarray(from, to));
        if (Number.isNaN(v)) {
          if (field === "P" && Object.hasOwn(MALLOPT_PARAMS, param)) {
            values[k] = MALLOPT_PARAMS[param] >>> 0;
            continue;
          }
          fail(field === "P" ? `${name} is neither an M_* name nor a number` : `${name} is not a decimal number`);
        }
        if (v < -0x80000000 || v > 0x7fffffff) fail(`${name} does not fit a signed 32-bit int`);
        values[k] = v >>> 0;
        continue;
      }
      if (s[from] === MINUS) fail(`${name} is negative: ${name === "SIZE" || name.endsWith("LEN") || name === "LENGTH" || name === "NMEMB" ? "sizes" : "it"} must be an unsigned 32-bit number`);
      let v = 0;
      for (let i = from; i < to; i++) {
        const digit = s[i];
        if (digit < ZERO || digit > NINE) fail(`${name} is not a decimal number`);
        v = v * 10 + (digit - ZERO);
      }
      if (v > U32_MAX) fail(`${name} ${decoder.decode(s.subarray(from, to))} is past 32 bits (at most 4294967295)`);
      if (field === "N" && v !== sink.ids) fail(`${name} ${v} out of order: the next ID is ${sink.ids} (IDs are 0, 1, 2, ... in op order)`);
      if (field === "R" && v !== sink.regions) fail(`${name} ${v} out of order: the next region ID is ${sink.regions}`);
      if (field === "G" && v >= sink.regions) fail(`region ${v} was never mapped by an M line`);
      if (field === "T" || field === "E") {
        const bad = threadLineError(field, v, sink.threads, sink.exited);
        if (bad !== null) {
          binary();
          throw new OpsSyntaxError(this.#line, bad, lineText());
        }
      }
      values[k] = v;
    }
    // Layout: allocating ops keep their ID in `a`; TRIM and SBRK keep their one number in `b`.
    let [a, b, c, d] = values;
    if (spec.kind === Op.TRIM || spec.kind === Op.SBRK) [a, b] = [0, a];
    if (spec.kind === Op.MALLOPT) sink.paramText.set(sink.n, param);
    sink.add(spec.kind, a, b, c, d, this.#line);
    if (spec.fields[0] === "N") sink.ids++;
    if (spec.fields[0] === "R") sink.regions++;
    if (spec.kind === Op.THREAD && a === sink.threads + 1) sink.threads++;
    if (spec.kind === Op.EXIT) sink.exited.add(a);
  }
}

/**
 * What is wrong with `T n` (line "T") or `E n` (line "E") after `created` threads, of which
 * `exited` have exited; null if nothing. The rules of docs/formats.md: a T names the main thread
 * (0), a live thread, or the next new number; an E names a live thread other than the main one.
 */
export function threadLineError(line: "T" | "E", n: number, created: number, exited: ReadonlySet<number>): string | null {
  if (line === "T") {
    if (n > created + 1) return `thread ${n} out of order: the next new thread is ${created + 1} (threads are 1, 2, 3, ... in the order T lines first name them)`;
    if (exited.has(n)) return `thread ${n} has exited: thread numbers are never reused (the next new thread is ${created + 1})`;
    return null;
  }
  if (n === 0) return "E 0: the main thread does not exit (E names a thread 1, 2, 3, ...)";
  if (n > created) return `thread ${n} was never created (no T line named it yet)`;
  if (exited.has(n)) return `thread ${n} has exited already`;
  return null;
}

/** A signed decimal in s[from, to), or NaN. */
function signedField(s: Uint8Array, from: number, to: number): number {
  let i = from;
  const neg = s[i] === MINUS;
  if (neg) i++;
  if (i === to || to - i > 12) return NaN;
  let v = 0;
  for (; i < to; i++) {
    const d = s[i];
    if (d < ZERO || d > NINE) return NaN;
    v = v * 10 + (d - ZERO);
  }
  return neg ? -v : v;
}


/** Parses a whole op list (text or UTF-8 bytes). */
export function parseOps(input: string | Uint8Array): OpList {
  const parser = new OpsParser();
  parser.push(input);
  return parser.end();
}

/** Writes an op list back as ops v1 text (comments first, then the ops). */
export function formatOps(list: OpList, options: { comments?: boolean } = {}): string {
  const chunks: Uint8Array[] = [];
  const out = new ByteWriter((bytes) => chunks.push(bytes));
  if (options.comments !== false) for (const c of list.comments) out.ascii("# ").text(c).byte(NL);
  writeOps(out, list);
  out.flush();
  let text = "";
  for (const chunk of chunks) text += decoder.decode(chunk);
  return text;
}

/** Writes the ops of `list` (no comments) as ops v1 lines. */
export function writeOps(out: ByteWriter, list: OpList): void {
  const { kind, a, b, c, d } = list;
  for (let i = 0; i < list.length; i++) {
    const k = kind[i];
    out.reserve(64);
    out.byteUnchecked(OP_LETTER[k].charCodeAt(0));
    switch (k) {
      case Op.MALLOC: case Op.VALLOC: case Op.PVALLOC:
        out.sp().u32(a[i]).sp().u32(b[i]);
        break;
      case Op.CALLOC: case Op.MEMALIGN: case Op.ALIGNED_ALLOC: case Op.POSIX_MEMALIGN: case Op.MUNMAP:
        out.sp().u32(a[i]).sp().u32(b[i]).sp().u32(c[i]);
        break;
      case Op.REALLOC: case Op.REALLOCARRAY:
        out.sp().u32(a[i]).sp();
        if (b[i] === NO_ID) out.byteUnchecked(MINUS);
        else out.u32(b[i]);
        out.sp().u32(c[i]);
        if (k === Op.REALLOCARRAY) out.sp().u32(d[i]);
        break;
      case Op.FREE: case Op.USABLE_SIZE: case Op.THREAD: case Op.EXIT:
        out.sp().u32(a[i]);
        break;
      case Op.MALLOPT:
        out.sp();
        if (list.paramText.has(i)) out.text(list.paramText.get(i)!);
        else out.i32(a[i] | 0);
        out.sp().i32(b[i] | 0);
        break;
      case Op.TRIM:
        out.sp().u32(b[i]);
        break;
      case Op.SBRK:
        out.sp().i32(b[i] | 0);
        break;
      case Op.INFO:
        break;
      default: // MMAP, MPROTECT, MADVISE, MREMAP: four numbers
        out.sp().u32(a[i]).sp().u32(b[i]).sp().u32(c[i]).sp().u32(d[i]);
    }
    out.byteUnchecked(NL);
  }
}

/**
 * A scenario op list's directive comment, `# NAME: N` (e.g. `# checkpoint-every: 1`,
 * `# align-break: 65536`: see oracle/scenarios/README.md), or `fallback` when it has none.
 */
export function directive(list: OpList, name: string, fallback: number): number {
  for (const c of list.comments) {
    const m = new RegExp(`^${name}: *(\\d+)`).exec(c);
    if (m) return Number(m[1]);
  }
  return fallback;
}

