// The fuzzer's op sequences: the calls of ops v1 and its extension (the op letters of the trace
// format: m c a r R A P v V f u o t s M U X D Y) and the thread lines (T E), kept as a structure of arrays so that sequences
// of a hundred thousand ops cost a few bytes each and can be cut, shrunk and written back as a
// replayable op list.
//
//   kind  a        b              c           d
//   m     ID       SIZE
//   c     ID       NMEMB          SIZE
//   a/A/P ID       ALIGN          SIZE
//   v/V   ID       SIZE
//   r     NEWID    OLDID|NONE     SIZE
//   R     NEWID    OLDID|NONE     NMEMB       SIZE
//   f/u   ID
//   o     PARAM    VALUE (signed)
//   t     PAD
//   s     INCREMENT (signed)
//   M     RID      LENGTH         PROT        FLAGS
//   U     RID      OFFSET         LENGTH
//   X     RID      OFFSET         LENGTH      PROT
//   D     RID      OFFSET         LENGTH      ADVICE
//   Y     RID      OLDLEN         NEWLEN      FLAGS
//   T/E   THREAD
//
// IDs are 0, 1, 2, ... in the order of the allocating ops; region IDs (RID) likewise for `M`;
// threads 1, 2, 3, ... in the order of the `T` lines that first name them (0 is the main thread).
//
// Numbers are decimal. A size, length or alignment is a C size_t of the process's ABI: up to
// 2^32 − 1 on i386, up to 2^64 − 1 on x86_64, written unsigned (18446744073709551615 is SIZE_MAX)
// and held as the number that spells it (arch.ts: -1; a value of 2^63 or more is negative, a value
// between 2^53 and 2^63 must be one a double holds exactly). sbrk's INCREMENT and mallopt's PARAM
// and VALUE are signed. Lists whose sizes fit 32 bits are also ops v1 with the extension
// (docs/formats.md), which `ptmalloc-wasm replay` reads; the C replayers read both kinds.

export const K = {
  MALLOC: 0, CALLOC: 1, MEMALIGN: 2, REALLOC: 3, REALLOCARRAY: 4, ALIGNED_ALLOC: 5, POSIX_MEMALIGN: 6,
  VALLOC: 7, PVALLOC: 8, FREE: 9, USABLE: 10, MALLOPT: 11, TRIM: 12, SBRK: 13,
  MMAP: 14, MUNMAP: 15, MPROTECT: 16, MADVISE: 17, MREMAP: 18, THREAD: 19, EXIT: 20,
} as const;
export type Kind = (typeof K)[keyof typeof K];

/** The op letter of each kind (index = kind). */
export const LETTER = "mcarRAPvVfuotsMUXDYTE";
/** How many numeric fields each kind has. */
const ARITY = [2, 3, 3, 3, 4, 3, 3, 2, 2, 1, 1, 2, 1, 1, 4, 3, 4, 4, 4, 1, 1];

/** OLDID of a realloc of NULL. */
export const NONE = -1;

const TWO_32 = 2 ** 32;
const TWO_63 = 2n ** 63n;
const TWO_64 = 2n ** 64n;

/** Whether the fields of an op of `kind` are signed (sbrk's increment, mallopt's parameter and value) rather than size_t values. */
function signedField(kind: number): boolean {
  return kind === K.MALLOPT || kind === K.SBRK;
}

/** A size_t field as written: unsigned decimal, whatever number spells it. */
function unsignedText(v: number): string {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return String(v);
  return BigInt.asUintN(64, BigInt(v)).toString();
}

export function allocates(kind: number): boolean {
  return kind <= K.PVALLOC;
}
export function isKernelOp(kind: number): boolean {
  return kind >= K.MMAP && kind <= K.MREMAP;
}
export function isThreadOp(kind: number): boolean {
  return kind === K.THREAD || kind === K.EXIT;
}

export class OpSeq {
  length = 0;
  kind: Uint8Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  d: Float64Array;

  constructor(capacity = 1024) {
    this.kind = new Uint8Array(capacity);
    this.a = new Float64Array(capacity);
    this.b = new Float64Array(capacity);
    this.c = new Float64Array(capacity);
    this.d = new Float64Array(capacity);
  }

  push(kind: number, a = 0, b = 0, c = 0, d = 0): number {
    const n = this.length;
    if (n === this.kind.length) this.#grow();
    this.kind[n] = kind;
    this.a[n] = a;
    this.b[n] = b;
    this.c[n] = c;
    this.d[n] = d;
    this.length = n + 1;
    return n;
  }

  #grow(): void {
    const cap = this.kind.length * 2;
    const k = new Uint8Array(cap); k.set(this.kind); this.kind = k;
    const a = new Float64Array(cap); a.set(this.a); this.a = a;
    const b = new Float64Array(cap); b.set(this.b); this.b = b;
    const c = new Float64Array(cap); c.set(this.c); this.c = c;
    const d = new Float64Array(cap); d.set(this.d); this.d = d;
  }

  /** The first `n` ops, as a new sequence. */
  prefix(n: number): OpSeq {
    const out = new OpSeq(Math.max(16, n));
    for (let i = 0; i < n && i < this.length; i++) out.push(this.kind[i], this.a[i], this.b[i], this.c[i], this.d[i]);
    return out;
  }

  /** One op as a line of the op-list format. */
  line(i: number): string {
    const k = this.kind[i];
    const f = [this.a[i], this.b[i], this.c[i], this.d[i]].slice(0, ARITY[k]).map(signedField(k) ? String : unsignedText);
    if ((k === K.REALLOC || k === K.REALLOCARRAY) && this.b[i] === NONE) f[1] = "-";
    return `${LETTER[k]} ${f.join(" ")}`;
  }

  /** The whole sequence as op-list text, comment lines first. */
  format(comments: readonly string[] = []): string {
    const out = comments.map((c) => `# ${c}`);
    for (let i = 0; i < this.length; i++) out.push(this.line(i));
    return out.join("\n") + "\n";
  }
}

/** Which fields of an op name an ID (block) or a RID (region). */
function refs(seq: OpSeq, i: number): { id: number[]; rid: number[] } {
  const k = seq.kind[i];
  if (k === K.REALLOC || k === K.REALLOCARRAY) return { id: seq.b[i] === NONE ? [] : [seq.b[i]], rid: [] };
  if (k === K.FREE || k === K.USABLE) return { id: [seq.a[i]], rid: [] };
  if (k >= K.MUNMAP && k <= K.MREMAP) return { id: [], rid: [seq.a[i]] };
  return { id: [], rid: [] };
}

/**
 * The sequence without the ops whose index is in `drop`, kept valid: an op that uses a block or
 * region made by a dropped op is dropped too (and so, in turn, is whatever that op made), and the
 * IDs and region IDs of what remains are renumbered 0, 1, 2, ... in order. Threads likewise: a
 * dropped `T` that created a thread takes that thread's later `T` and `E` lines with it (the ops
 * it made run on whichever thread is then current: any thread may make any call), and the
 * threads that remain are renumbered 1, 2, 3, ... in order of creation.
 */
export function without(seq: OpSeq, drop: (i: number) => boolean): OpSeq {
  const out = new OpSeq(Math.max(16, seq.length));
  const idMap = new Map<number, number>();
  const ridMap = new Map<number, number>();
  const threads = new ThreadRenumbering();
  let ids = 0, rids = 0;
  for (let i = 0; i < seq.length; i++) {
    const k = seq.kind[i];
    if (k === K.THREAD || k === K.EXIT) {
      const n = threads.map(k, seq.a[i], drop(i));
      if (n >= 0) out.push(k, n);
      continue;
    }
    const r = refs(seq, i);
    const orphaned = r.id.some((v) => !idMap.has(v)) || r.rid.some((v) => !ridMap.has(v));
    if (drop(i) || orphaned) continue;
    let a = seq.a[i], b = seq.b[i];
    if (allocates(k)) {
      idMap.set(a, ids);
      a = ids++;
      if ((k === K.REALLOC || k === K.REALLOCARRAY) && b !== NONE) b = idMap.get(b)!;
    } else if (k === K.FREE || k === K.USABLE) {
      a = idMap.get(a)!;
    } else if (k === K.MMAP) {
      ridMap.set(a, rids);
      a = rids++;
    } else if (k > K.MMAP) {
      a = ridMap.get(a)!;
    }
    out.push(k, a, b, seq.c[i], seq.d[i]);
  }
  return out;
}

/**
 * Keeps the thread lines of an edited list valid (numbering rules of docs/formats.md): the first
 * line naming a thread creates it (a `T`; an `E` of a thread never created goes), created threads
 * are renumbered 1, 2, 3, ... in that order, and a thread whose creating line was dropped, or that
 * has exited, loses its later lines.
 */
export class ThreadRenumbering {
  /** old number → new number while live; -1 once gone (dropped at creation, or exited). */
  readonly #map = new Map<number, number>([[0, 0]]);
  #created = 0;

  /** The new number for a `T`/`E` line naming old thread `n` (dropped when `drop`), or -1 to leave it out. */
  map(kind: number, n: number, drop: boolean): number {
    const cur = this.#map.get(n);
    if (cur === undefined) {
      // the first line naming n: a T creates it (unless dropped); an E of it cannot stand
      if (kind === K.EXIT || drop) {
        this.#map.set(n, -1);
        return -1;
      }
      this.#map.set(n, ++this.#created);
      return this.#created;
    }
    if (cur < 0 || drop) return -1;
    if (kind === K.EXIT) {
      if (cur === 0) return -1;
      this.#map.set(n, -1);
    }
    return cur;
  }
}

const LETTER_KIND = new Map([...LETTER].map((ch, k) => [ch, k]));

/**
 * Parses op-list text (ops v1 and the extension) into a sequence; `i` (malloc_info) lines are
 * dropped, as they change nothing. mallopt parameters may be names (`params`: name → number).
 * Throws an Error naming the line on anything else.
 */
export function parseSeq(text: string, params: Readonly<Record<string, number>> = {}): { seq: OpSeq; comments: string[] } {
  const seq = new OpSeq();
  const comments: string[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    if (line[0] === "#") {
      comments.push(line.replace(/^# ?/, ""));
      continue;
    }
    const f = line.split(/\s+/);
    if (f[0] === "i") continue;
    const kind = LETTER_KIND.get(f[0]);
    const bad = (why: string): never => {
      throw new Error(`line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (kind === undefined || f[0].length !== 1) bad("unknown op");
    if (f.length - 1 !== ARITY[kind!]) bad(`expected ${ARITY[kind!]} fields`);
    const v = f.slice(1).map((x, j) => {
      if (x === "-" && j === 1 && (kind === K.REALLOC || kind === K.REALLOCARRAY)) return NONE;
      if (kind === K.MALLOPT && j === 0 && Object.hasOwn(params, x)) return params[x];
      const num = Number(x);
      if (!/^-?\d+$/.test(x)) bad(`not a number: ${x}`);
      if (Number.isSafeInteger(num)) return num;
      // a 64-bit size_t: the number that spells it
      if (signedField(kind!) || x[0] === "-" || BigInt(x) >= TWO_64) bad(`not a number: ${x}`);
      const u = BigInt(x);
      const c = u >= TWO_63 ? u - TWO_64 : u;
      if (BigInt(Number(c)) !== c) bad(`${x} is a 64-bit value no double holds exactly`);
      return Number(c);
    });
    seq.push(kind!, v[0], v[1] ?? 0, v[2] ?? 0, v[3] ?? 0);
  }
  // IDs and region IDs must be 0, 1, 2, ... in order (without() renumbers; here they must already be)
  let ids = 0, rids = 0;
  for (let i = 0; i < seq.length; i++) {
    const k = seq.kind[i];
    if (allocates(k) && seq.a[i] !== ids++) throw new Error(`op ${i + 1} (${seq.line(i)}): expected ID ${ids - 1}`);
    if (k === K.MMAP && seq.a[i] !== rids++) throw new Error(`op ${i + 1} (${seq.line(i)}): expected region ID ${rids - 1}`);
  }
  // thread lines: a new thread is the next number; E names a live thread other than the main one
  const live = [true];
  for (let i = 0; i < seq.length; i++) {
    const k = seq.kind[i];
    if (k !== K.THREAD && k !== K.EXIT) continue;
    const n = seq.a[i];
    if (k === K.THREAD && n === live.length) live.push(true);
    else if (!live[n] || (k === K.EXIT && n === 0)) {
      const why = k === K.EXIT && n === 0 ? "the main thread does not exit" : n >= live.length ? `the next new thread is ${live.length}` : `thread ${n} has exited`;
      throw new Error(`op ${i + 1} (${seq.line(i)}): ${why}`);
    }
    if (k === K.EXIT) live[n] = false;
  }
  return { seq, comments };
}

/**
 * Whether every number of `seq` fits ops v1 with the extension (docs/formats.md): sizes in
 * [0, 2^32), sbrk increments and mallopt values in 32 bits. What `ptmalloc-wasm replay` reads.
 */
export function fitsTraceFormat(seq: OpSeq): boolean {
  for (let i = 0; i < seq.length; i++) {
    const k = seq.kind[i];
    const f = [seq.a[i], seq.b[i], seq.c[i], seq.d[i]];
    for (let j = 0; j < ARITY[k]; j++) {
      const v = f[j];
      if (j === 1 && (k === K.REALLOC || k === K.REALLOCARRAY) && v === NONE) continue;
      if (signedField(k) ? v < -0x80000000 || v >= TWO_32 : v < 0 || v >= TWO_32) return false;
    }
  }
  return true;
}
