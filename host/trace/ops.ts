// Op lists ("ops v1"): one allocator call per line.
//
//   m ID SIZE            malloc(SIZE)
//   c ID NMEMB SIZE      calloc(NMEMB, SIZE)
//   a ID ALIGN SIZE      memalign(ALIGN, SIZE)
//   r NEWID OLDID SIZE   NEWID = realloc(OLDID, SIZE)      (OLDID "-" is NULL)
//   f ID                 free(ID)
//   # ...                comment
// and three extension ops used by the scenario op lists (oracle/scenarios/README.md):
//   o PARAM VALUE        mallopt(PARAM, VALUE)     PARAM: M_* name or a number
//   t PAD                malloc_trim(PAD)
//   i                    malloc_info(0, fp)
//
// A parsed list is a structure of arrays (one entry per op, comments excluded), so that the
// largest traces (hundreds of thousands of ops) cost a few bytes per op and replay without
// allocating:
//
//   op k:  kind[k]   a[k]          b[k]                 c[k]
//          MALLOC    ID            SIZE                 -
//          CALLOC    ID            NMEMB                SIZE
//          MEMALIGN  ID            ALIGN                SIZE
//          REALLOC   NEWID         OLDID (NO_ID = NULL) SIZE
//          FREE      ID            -                    -
//          MALLOPT   PARAM (i32)   VALUE (i32)          -      (the PARAM text in `paramText`)
//          TRIM      -             PAD                  -
//          INFO      -             -                    -
//
// Numbers are u32 (the i386 size_t); the IDs of allocating ops must be 0, 1, 2, ... in order.

import * as C from "../constants.js";

export const Op = {
  MALLOC: 0,
  CALLOC: 1,
  MEMALIGN: 2,
  REALLOC: 3,
  FREE: 4,
  MALLOPT: 5,
  TRIM: 6,
  INFO: 7,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** OLDID of `r NEWID - SIZE`: realloc(NULL, SIZE). */
export const NO_ID = 0xffffffff;

export interface OpList {
  /** Number of ops (comment lines excluded). */
  length: number;
  /** Number of IDs: the allocating ops (m, c, a, r). */
  ids: number;
  kind: Uint8Array;
  a: Uint32Array;
  b: Uint32Array;
  c: Uint32Array;
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

export class OpsSyntaxError extends Error {
  constructor(
    readonly line: number,
    reason: string,
    text: string,
  ) {
    super(`ops line ${line}: ${reason}: ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text)}`);
    this.name = "OpsSyntaxError";
  }
}

const NL = 10, SPACE = 32, TAB = 9, CR = 13, HASH = 35, MINUS = 45, ZERO = 48, NINE = 57;
const U32_MAX = 0xffffffff;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Incremental parser: feed text (or UTF-8 bytes) in pieces of any size with `push`, then `end()`.
 * Only the unfinished last line of a piece is carried over to the next one.
 */
export class OpsParser {
  #kind = new Uint8Array(1024);
  #a = new Uint32Array(1024);
  #b = new Uint32Array(1024);
  #c = new Uint32Array(1024);
  #n = 0;
  #ids = 0;
  #line = 0;
  #comments: string[] = [];
  #paramText = new Map<number, string>();
  #carry: Uint8Array | null = null;

  push(piece: Uint8Array | string): void {
    let bytes = typeof piece === "string" ? encoder.encode(piece) : piece;
    let last = bytes.lastIndexOf(NL);
    if (last < 0) {
      this.#carry = this.#carry ? concat(this.#carry, bytes) : bytes.slice();
      return;
    }
    if (this.#carry) {
      const head = this.#carry;
      this.#carry = null;
      bytes = concat(head, bytes);
      last += head.length;
    }
    this.#parseLines(bytes, 0, last + 1);
    if (last + 1 < bytes.length) this.#carry = bytes.slice(last + 1);
  }

  end(): OpList {
    if (this.#carry && this.#carry.length > 0) {
      const rest = this.#carry;
      this.#carry = null;
      this.#parseLines(rest, 0, rest.length);
    }
    const n = this.#n;
    return {
      length: n,
      ids: this.#ids,
      kind: this.#kind.slice(0, n),
      a: this.#a.slice(0, n),
      b: this.#b.slice(0, n),
      c: this.#c.slice(0, n),
      comments: this.#comments,
      paramText: this.#paramText,
    };
  }

  #grow(): void {
    const cap = this.#kind.length * 2;
    const k = new Uint8Array(cap); k.set(this.#kind); this.#kind = k;
    const a = new Uint32Array(cap); a.set(this.#a); this.#a = a;
    const b = new Uint32Array(cap); b.set(this.#b); this.#b = b;
    const c = new Uint32Array(cap); c.set(this.#c); this.#c = c;
  }

  /** Parses the lines in bytes[start, end); a line may end at `end` without a newline. */
  #parseLines(bytes: Uint8Array, start: number, end: number): void {
    let p = start;
    while (p < end) {
      this.#line++;
      // Fast path: `m|c|a|r|f` and plain decimal fields separated by single spaces. Anything
      // else (comments, extension ops, odd spacing, errors) goes to the general parser.
      const op = bytes[p];
      const kind = op === 109 ? Op.MALLOC : op === 102 ? Op.FREE : op === 99 ? Op.CALLOC : op === 114 ? Op.REALLOC : op === 97 ? Op.MEMALIGN : -1;
      if (kind >= 0 && bytes[p + 1] === SPACE) {
        const fields = kind === Op.MALLOC ? 2 : kind === Op.FREE ? 1 : 3;
        cursor = p + 2;
        const v0 = fastField(bytes, end);
        let v1 = 0, v2 = 0;
        let ok = v0 >= 0;
        if (ok && fields > 1) {
          ok = bytes[cursor++] === SPACE;
          if (ok) {
            if (kind === Op.REALLOC && bytes[cursor] === MINUS) {
              cursor++;
              v1 = NO_ID;
            } else {
              v1 = fastField(bytes, end);
              ok = v1 >= 0;
            }
          }
          if (ok && fields > 2) {
            ok = bytes[cursor++] === SPACE;
            if (ok) {
              v2 = fastField(bytes, end);
              ok = v2 >= 0;
            }
          }
        }
        if (ok && (cursor === end || bytes[cursor] === NL) && (kind === Op.FREE || v0 === this.#ids)) {
          const n = this.#n;
          if (n === this.#kind.length) this.#grow();
          this.#kind[n] = kind;
          this.#a[n] = v0;
          this.#b[n] = v1;
          this.#c[n] = v2;
          this.#n = n + 1;
          if (kind !== Op.FREE) this.#ids++;
          p = cursor + 1;
          continue;
        }
      }
      let eol = bytes.indexOf(NL, p);
      if (eol < 0 || eol > end) eol = end;
      let lineEnd = eol;
      if (lineEnd > p && bytes[lineEnd - 1] === CR) lineEnd--;
      if (lineEnd > p) this.#parseLine(bytes, p, lineEnd);
      p = eol + 1;
    }
  }

  #parseLine(s: Uint8Array, start: number, end: number): void {
    const first = s[start];
    if (first === HASH) {
      let from = start + 1;
      if (from < end && s[from] === SPACE) from++;
      this.#comments.push(decoder.decode(s.subarray(from, end)));
      return;
    }
    const fail = (reason: string): never => {
      throw new OpsSyntaxError(this.#line, reason, decoder.decode(s.subarray(start, end)));
    };
    let p = start + 1;
    // fields: unsigned decimals (or "-" for realloc's OLDID, a signed value or a name for mallopt)
    const skip = () => {
      while (p < end && (s[p] === SPACE || s[p] === TAB)) p++;
    };
    const field = (): [number, number] => {
      if (p < end && s[p] !== SPACE && s[p] !== TAB) fail("no space after the op");
      skip();
      const from = p;
      while (p < end && s[p] !== SPACE && s[p] !== TAB) p++;
      if (from === p) fail("missing field");
      return [from, p];
    };
    const num = (): number => {
      const [from, to] = field();
      return toNum(from, to);
    };
    const toNum = (from: number, to: number): number => {
      let v = 0;
      for (let i = from; i < to; i++) {
        const d = s[i];
        if (d < ZERO || d > NINE) fail("not a decimal number");
        v = v * 10 + (d - ZERO);
      }
      if (v > U32_MAX) fail("number does not fit in 32 bits");
      return v;
    };
    const signed = (): [number, number, number] => {
      const [from, to] = field();
      let i = from;
      const neg = s[i] === MINUS;
      if (neg) i++;
      if (i === to) return [NaN, from, to];
      let v = 0;
      for (; i < to; i++) {
        const d = s[i];
        if (d < ZERO || d > NINE) return [NaN, from, to];
        v = v * 10 + (d - ZERO);
      }
      return [neg ? -v : v, from, to];
    };

    const n = this.#n;
    if (n === this.#kind.length) this.#grow();
    const kind = this.#kind, a = this.#a, b = this.#b, c = this.#c;
    const newId = (): number => {
      const id = num();
      if (id !== this.#ids) fail(`expected ID ${this.#ids}`);
      this.#ids++;
      return id;
    };
    switch (first) {
      case 109: // m
        kind[n] = Op.MALLOC; a[n] = newId(); b[n] = num(); c[n] = 0;
        break;
      case 99: // c
        kind[n] = Op.CALLOC; a[n] = newId(); b[n] = num(); c[n] = num();
        break;
      case 97: // a
        kind[n] = Op.MEMALIGN; a[n] = newId(); b[n] = num(); c[n] = num();
        break;
      case 114: { // r
        kind[n] = Op.REALLOC; a[n] = newId();
        const [from, to] = field();
        b[n] = to - from === 1 && s[from] === MINUS ? NO_ID : toNum(from, to);
        c[n] = num();
        break;
      }
      case 102: // f
        kind[n] = Op.FREE; a[n] = num(); b[n] = 0; c[n] = 0;
        break;
      case 111: { // o
        kind[n] = Op.MALLOPT;
        const [pv, from, to] = signed();
        const text = decoder.decode(s.subarray(from, to));
        let param = pv;
        if (Number.isNaN(param)) {
          if (!Object.prototype.hasOwnProperty.call(MALLOPT_PARAMS, text)) fail("unknown mallopt parameter");
          param = MALLOPT_PARAMS[text];
        }
        const [value] = signed();
        if (Number.isNaN(value) || value < -0x80000000 || value > 0x7fffffff) fail("mallopt value is not a C int");
        if (param < -0x80000000 || param > 0x7fffffff) fail("mallopt parameter is not a C int");
        a[n] = param >>> 0; b[n] = value >>> 0; c[n] = 0;
        this.#paramText.set(n, text);
        break;
      }
      case 116: // t
        kind[n] = Op.TRIM; a[n] = 0; b[n] = num(); c[n] = 0;
        break;
      case 105: // i
        kind[n] = Op.INFO; a[n] = 0; b[n] = 0; c[n] = 0;
        if (p < end && s[p] !== SPACE && s[p] !== TAB) fail("unknown op");
        break;
      default:
        fail("unknown op");
    }
    skip();
    if (p !== end) fail("trailing text");
    this.#n = n + 1;

  }
}

// The fast path's cursor (parsing is synchronous, so one shared cursor is enough).
let cursor = 0;

/** A decimal field at `cursor` (advanced past it), or -1 if there is none or it exceeds u32. */
function fastField(s: Uint8Array, end: number): number {
  let v = 0;
  const from = cursor;
  let q = from;
  while (q < end) {
    const d = s[q];
    if (d < ZERO || d > NINE) break;
    v = v * 10 + (d - ZERO);
    q++;
  }
  cursor = q;
  return q === from || q - from > 10 || v > U32_MAX ? -1 : v;
}

function concat(x: Uint8Array, y: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length + y.length);
  out.set(x, 0);
  out.set(y, x.length);
  return out;
}

/** Parses a whole op list (text or UTF-8 bytes). */
export function parseOps(input: string | Uint8Array): OpList {
  const parser = new OpsParser();
  parser.push(input);
  return parser.end();
}

/** Writes an op list back as ops v1 text (comments first, then the ops). */
export function formatOps(list: OpList, options: { comments?: boolean } = {}): string {
  const out: string[] = [];
  if (options.comments !== false) for (const c of list.comments) out.push(`# ${c}`);
  const { kind, a, b, c } = list;
  for (let i = 0; i < list.length; i++) {
    switch (kind[i]) {
      case Op.MALLOC: out.push(`m ${a[i]} ${b[i]}`); break;
      case Op.CALLOC: out.push(`c ${a[i]} ${b[i]} ${c[i]}`); break;
      case Op.MEMALIGN: out.push(`a ${a[i]} ${b[i]} ${c[i]}`); break;
      case Op.REALLOC: out.push(`r ${a[i]} ${b[i] === NO_ID ? "-" : b[i]} ${c[i]}`); break;
      case Op.FREE: out.push(`f ${a[i]}`); break;
      case Op.MALLOPT: out.push(`o ${list.paramText.get(i) ?? a[i] | 0} ${b[i] | 0}`); break;
      case Op.TRIM: out.push(`t ${b[i]}`); break;
      case Op.INFO: out.push("i"); break;
    }
  }
  return out.length ? out.join("\n") + "\n" : "";
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
