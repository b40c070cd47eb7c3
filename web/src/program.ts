// A session's statements compiled for replay. Replaying is what every step costs (a step back
// replays from a checkpoint), and a long trace must not fill the JS heap: every process the page
// creates makes V8 run a full collection (its memory is large external memory), whose cost grows
// with the heap. So a statement is a row of typed arrays (function, target slot, arguments as
// constants or variable slots), not objects and closures; variables are numbered slots of a
// Float64Array (NaN while undefined); an op list's statements get their text only when shown;
// results are kept as numbers and turned into text only for the lines on screen.
//
//   row i:  fn[i]  target[i]   argKind[6i..6i+5]  argVal[6i..6i+5]
//                  slot or -1  CONST / SLOT / EXPR  word value / slot / index of a closure
//                              / OUT (posix_memalign's &p: the slot it writes)
//
// Values are the process's words (words.ts): a program is compiled for one arch, i386 or x86_64.

import * as C from "../../host/index.js";
import { NO_ID, Op, type OpList, type Process } from "../../host/index.js";
import { opStatement } from "./ops.js";
import { constantValue, type Expr, FUNCTIONS, type Statement, StatementError } from "./statements.js";
import { type Arch, type Words, wordsOf } from "./words.js";
const ERRNO_NAMES = new Map<number, string>(
  Object.entries(C).filter(([k, v]) => /^E[A-Z]+$/.test(k) && typeof v === "number").map(([k, v]) => [v as number, k]),
);
export const errnoName = (e: number) => ERRNO_NAMES.get(e) ?? `errno ${e}`;

/** Variables by name, as `evaluate` reads them. */
export interface Vars {
  get(name: string): number | undefined;
}

/** Function codes: the statement language's functions, then the store `*(addr) = value`. */
const FN_NAMES = [...Object.keys(FUNCTIONS), "store"];
const FN = Object.fromEntries(FN_NAMES.map((n, i) => [n, i])) as Record<string, number>;
const POINTER_FNS = new Set(["malloc", "calloc", "realloc", "reallocarray", "memalign", "aligned_alloc", "valloc", "pvalloc"].map((n) => FN[n]));
const SYS_FNS = new Set(["mmap", "munmap", "mprotect", "madvise", "mremap"].map((n) => FN[n]));
const MAX_ARGS = 6;
const CONST = 0;
const SLOT = 1;
const EXPR = 2;
const OUT = 3;

/** The ops whose rows are made straight from the op list: fn code, and whether they assign a block. */
const DIRECT: Partial<Record<number, [number, boolean]>> = {
  [Op.MALLOC]: [FN.malloc, true], [Op.CALLOC]: [FN.calloc, true], [Op.MEMALIGN]: [FN.memalign, true],
  [Op.ALIGNED_ALLOC]: [FN.aligned_alloc, true], [Op.VALLOC]: [FN.valloc, true], [Op.PVALLOC]: [FN.pvalloc, true],
  [Op.REALLOC]: [FN.realloc, true], [Op.REALLOCARRAY]: [FN.reallocarray, true], [Op.FREE]: [FN.free, false],
  [Op.USABLE_SIZE]: [FN.malloc_usable_size, false], [Op.TRIM]: [FN.malloc_trim, false], [Op.INFO]: [FN.malloc_info, false],
};

/** What a thread offers: the C library calls bound to it (Process's own for the main thread). */
type Caller = Pick<
  Process,
  "malloc" | "free" | "calloc" | "realloc" | "reallocarray" | "memalign" | "aligned_alloc" | "valloc" | "pvalloc" |
  "posix_memalign" | "malloc_usable_size" | "errno"
>;

/** A process's threads, as the statements `thread(N)` / `thread_exit(N)` made them (the op lists' T and E). */
interface Threads {
  live: Map<number, ReturnType<Process["createThread"]>>;
  /** Threads made so far: the next new one is made + 1. */
  made: number;
  current: number;
}
const threadsOf = new WeakMap<Process, Threads>();

function threads(proc: Process): Threads {
  let t = threadsOf.get(proc);
  if (t === undefined) threadsOf.set(proc, (t = { live: new Map(), made: 0, current: 0 }));
  return t;
}

/** thread(n): n becomes the current thread; a number not used before must be the next one, and is created. */
function switchThread(proc: Process, n: number): void {
  const t = threads(proc);
  if (n === 0 || t.live.has(n)) {
    t.current = n;
    return;
  }
  if (n !== t.made + 1) {
    throw new StatementError(n <= t.made ? `thread ${n} has exited` : `the next new thread is ${t.made + 1}, not ${n}`);
  }
  t.live.set(n, proc.createThread());
  t.made = n;
  t.current = n;
}

/** thread_exit(n): thread n's start routine returns and the main thread joins it; main is current again. */
function exitThread(proc: Process, n: number): void {
  const t = threads(proc);
  const thread = t.live.get(n);
  if (thread === undefined) throw new StatementError(n === 0 ? "thread 0 is the main thread: it does not exit" : `thread ${n} is not running`);
  t.live.delete(n);
  t.current = 0;
  thread.exit();
}

export class Program {
  #n = 0;
  #fn = new Uint8Array(64);
  #target = new Int32Array(64);
  #argKind = new Uint8Array(64 * MAX_ARGS);
  #argVal = new Float64Array(64 * MAX_ARGS);
  /** Per row, its last result (replay is deterministic: every run writes the same). */
  #value = new Float64Array(64);
  #aux = new Float64Array(64);
  /** Rows that came as Statement objects (typed, scenarios, the rare op kinds): their text and note. */
  readonly #parsed = new Map<number, Statement>();
  /** Arguments that are expressions over more than one value. */
  readonly #exprs: ((slots: Float64Array) => number)[] = [];
  /** Block IDs 0..blocks-1 of an op list are slots 0..blocks-1 (`b0`…), its regions the next ones (`r0`…). */
  #blocks = 0;
  #regions = 0;
  /** Slots of the other names, after the op list's. */
  readonly #named = new Map<string, number>();
  readonly #names: string[] = [];
  /** The words it computes in: its process's arch. */
  readonly words: Words;

  constructor(statements: readonly Statement[] = [], arch: Arch = "i386") {
    this.words = wordsOf(arch);
    this.replaceFrom(0, statements);
  }

  get arch(): Arch {
    return this.words.arch;
  }

  /** The program of a parsed op list: `bK` is block ID K, `rK` region K. */
  static fromOps(ops: OpList, arch: Arch = "i386"): Program {
    const p = new Program([], arch);
    p.#blocks = ops.ids;
    p.#regions = ops.regions;
    p.#grow(ops.length);
    for (let k = 0; k < ops.length; k++) {
      const direct = DIRECT[ops.kind[k]];
      if (direct === undefined) {
        p.#push(opStatement(ops, k));
        continue;
      }
      const [fn, assigns] = direct;
      const i = p.#n++;
      p.#fn[i] = fn;
      p.#target[i] = assigns ? ops.a[k] : -1;
      const arg = (j: number, kind: number, v: number) => {
        p.#argKind[i * MAX_ARGS + j] = kind;
        p.#argVal[i * MAX_ARGS + j] = v;
      };
      const block = (id: number, j: number) => (id === NO_ID ? arg(j, CONST, 0) : arg(j, SLOT, id));
      switch (ops.kind[k]) {
        case Op.FREE: case Op.USABLE_SIZE: block(ops.a[k], 0); break;
        case Op.TRIM: arg(0, CONST, ops.b[k]); break;
        case Op.INFO: break;
        case Op.REALLOC: block(ops.b[k], 0); arg(1, CONST, ops.c[k]); break;
        case Op.REALLOCARRAY: block(ops.b[k], 0); arg(1, CONST, ops.c[k]); arg(2, CONST, ops.d[k]); break;
        default: arg(0, CONST, ops.b[k]); arg(1, CONST, ops.c[k]);
      }
    }
    return p;
  }

  get length(): number {
    return this.#n;
  }

  /**
   * The same statements for a process of another arch (this program when the arch is the same).
   * Rows are compiled again from the statements, since a constant or an expression is a word of
   * its arch.
   */
  withArch(arch: Arch): Program {
    if (arch === this.arch) return this;
    const p = new Program([], arch);
    p.#blocks = this.#blocks;
    p.#regions = this.#regions;
    p.replaceFrom(0, this.statements);
    return p;
  }

  get slotCount(): number {
    return this.#blocks + this.#regions + this.#names.length;
  }

  /** Replaces the statements from index `at` on (an edit at an earlier step drops what followed). */
  replaceFrom(at: number, statements: readonly Statement[]): void {
    for (const k of this.#parsed.keys()) if (k >= at) this.#parsed.delete(k);
    this.#n = at;
    this.#grow(at + statements.length);
    for (const s of statements) this.#push(s);
  }

  /** Statement i (made when asked for, for a row of an op list). */
  statement(i: number): Statement {
    const parsed = this.#parsed.get(i);
    if (parsed) return parsed;
    const fn = FN_NAMES[this.#fn[i]];
    const t = this.#target[i];
    const args: Expr[] = [];
    for (let j = 0; j < FUNCTIONS[fn]; j++) {
      const v = this.#argVal[i * MAX_ARGS + j];
      args.push(this.#argKind[i * MAX_ARGS + j] === SLOT ? { kind: "name", name: this.#slotName(v) } : { kind: "num", value: v });
    }
    const argText = args.map((e) => (e.kind === "name" ? e.name : String((e as { value: number }).value))).join(", ");
    const target = t < 0 ? null : this.#slotName(t);
    return { kind: "call", target, fn, args, note: "", text: `${target === null ? "" : `${target} = `}${fn}(${argText})` };
  }

  /** All the statements (made for the ones of an op list: for short sessions and tests). */
  get statements(): Statement[] {
    return Array.from({ length: this.#n }, (_, i) => this.statement(i));
  }

  /** Fresh variable slots (all undefined), or `from`'s values in slots wide enough for every name. */
  slots(from?: Float64Array): Float64Array {
    const s = new Float64Array(Math.max(16, this.slotCount)).fill(Number.NaN);
    if (from) s.set(from.subarray(0, Math.min(from.length, s.length)));
    return s;
  }

  /** Runs statement i on the process (slots wide enough: see slots()). Throws what the process throws. */
  run(i: number, proc: Process, slots: Float64Array): void {
    const w = this.words;
    const fn = this.#fn[i];
    const b = i * MAX_ARGS;
    const a = (j: number) => this.#arg(b + j, slots);
    let value = Number.NaN;
    let aux = 0;
    // the C library calls of the current thread (the process-wide ones stay the process's)
    const th = threadsOf.get(proc);
    const lib: Caller = th === undefined || th.current === 0 ? proc : th.live.get(th.current)!;
    switch (fn) {
      case FN.malloc: value = lib.malloc(a(0)); break;
      case FN.free: lib.free(a(0)); break;
      case FN.calloc: value = lib.calloc(a(0), a(1)); break;
      case FN.realloc: value = lib.realloc(a(0), a(1)); break;
      case FN.reallocarray: value = lib.reallocarray(a(0), a(1), a(2)); break;
      case FN.memalign: value = lib.memalign(a(0), a(1)); break;
      case FN.aligned_alloc: value = lib.aligned_alloc(a(0), a(1)); break;
      case FN.valloc: value = lib.valloc(a(0)); break;
      case FN.pvalloc: value = lib.pvalloc(a(0)); break;
      case FN.malloc_usable_size: value = lib.malloc_usable_size(a(0)); break;
      case FN.thread: switchThread(proc, a(0)); value = a(0); break;
      case FN.thread_exit: exitThread(proc, a(0)); value = a(0); break;
      case FN.malloc_trim: value = proc.malloc_trim(a(0)); break;
      case FN.mallopt: value = proc.mallopt(a(0) | 0, a(1) | 0); break;
      case FN.malloc_info: value = proc.malloc_info().length; break;
      case FN.mmap: value = proc.sys.mmap(a(0), a(1), a(2), a(3), a(4) | 0, a(5)); break;
      case FN.munmap: value = proc.sys.munmap(a(0), a(1)); break;
      case FN.mprotect: value = proc.sys.mprotect(a(0), a(1), a(2)); break;
      case FN.madvise: value = proc.sys.madvise(a(0), a(1), a(2)); break;
      case FN.mremap: value = proc.sys.mremap(a(0), a(1), a(2), a(3)); break;
      case FN.posix_memalign: {
        // As `void *p = NULL; posix_memalign(&p, …)` (the oracle and replay()): p is NULL on an error.
        const r = lib.posix_memalign(a(1), a(2));
        aux = r.err === 0 ? w.wrap(r.ptr) : 0;
        slots[this.#argVal[b]] = aux;
        value = r.err;
        break;
      }
      case FN.brk: value = proc.sys.brk(a(0)); break;
      // sbrk takes an intptr_t: an int on i386, the whole (signed) word on x86_64
      case FN.sbrk: value = proc.sbrk(w.bytes === 4 ? a(0) | 0 : a(0)); if (value === -1) aux = proc.errno; break;
      case FN.store: {
        const addr = a(0);
        const v = a(1);
        proc.write(addr, w.storeBytes(v));
        value = addr;
        aux = v;
        break;
      }
      default: throw new StatementError(`unknown function ${FN_NAMES[fn]}`);
    }
    if (value === 0 && POINTER_FNS.has(fn)) aux = lib.errno;
    const t = this.#target[i];
    // A failing mremap returns MAP_FAILED: the page, as replay() and the oracle, keeps the mapping's
    // address in its variable (the mapping did not move), so `a = mremap(a, …)` reads as C would use it.
    // A failed mremap leaves its variable alone and a failed mmap makes it 0, as replay() keeps
    // regions (a trace's later ops on the region then aim where they aim there).
    if (t >= 0 && !(fn === FN.mremap && value < 0)) slots[t] = w.wrap(Number.isNaN(value) || (fn === FN.mmap && value < 0) ? 0 : value);
    this.#value[i] = value;
    this.#aux[i] = aux;
  }

  /** What statement i returned when it last ran, as text. */
  resultText(i: number): string {
    const hex = this.words.hex;
    const fn = this.#fn[i];
    const v = this.#value[i];
    const aux = this.#aux[i];
    if (fn === FN.store) return `${hex(v)} ← ${hex(aux)}`;
    if (POINTER_FNS.has(fn)) return v === 0 ? `NULL (errno ${errnoName(aux)})` : hex(v);
    if (SYS_FNS.has(fn)) {
      if (v >= 0) return hex(v);
      const note = fn === FN.mremap ? " (MAP_FAILED: the mapping stays)" : fn === FN.mmap ? " (MAP_FAILED: the variable is 0)" : "";
      return `-${errnoName(-v)}${note}`;
    }
    if (fn === FN.posix_memalign) {
      const p = this.#slotName(this.#argVal[i * MAX_ARGS]);
      return v === 0 ? `0 (${p} = ${hex(aux)})` : `${errnoName(v)} (${p} = NULL)`;
    }
    switch (fn) {
      case FN.free: return "done";
      case FN.thread: return v === 0 ? "the main thread runs" : `thread ${v} runs`;
      case FN.thread_exit: return `thread ${v} exited and was joined`;
      case FN.malloc_trim: return v ? "1 (memory released)" : "0";
      case FN.malloc_info: return `${v} bytes of XML`;
      case FN.brk: return `break ${hex(v)}`;
      case FN.sbrk: return v === -1 ? `-1 (${errnoName(aux)})` : `${hex(v)} (the old break)`;
      default: return String(v);
    }
  }

  /** The variables of a run, by name. */
  vars(slots: Float64Array): Vars {
    return {
      get: (name: string) => {
        const k = this.#slotOfName(name);
        const v = k === undefined || k >= slots.length ? Number.NaN : slots[k];
        return Number.isNaN(v) ? undefined : v;
      },
    };
  }

  #arg(at: number, slots: Float64Array): number {
    const v = this.#argVal[at];
    switch (this.#argKind[at]) {
      case CONST: return v;
      case SLOT: {
        const x = slots[v];
        if (Number.isNaN(x)) throw new StatementError(`"${this.#slotName(v)}" is not defined`);
        return x;
      }
      case OUT: throw new StatementError(`&${this.#slotName(v)} is only posix_memalign's first argument`);
      default: return this.#exprs[v](slots);
    }
  }

  #grow(rows: number): void {
    if (rows <= this.#fn.length) return;
    const size = Math.max(rows, this.#fn.length * 2);
    const grow = <T extends Uint8Array | Int32Array | Float64Array>(a: T, per = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(size * per);
      b.set(a);
      return b;
    };
    this.#fn = grow(this.#fn);
    this.#target = grow(this.#target);
    this.#argKind = grow(this.#argKind, MAX_ARGS);
    this.#argVal = grow(this.#argVal, MAX_ARGS);
    this.#value = grow(this.#value);
    this.#aux = grow(this.#aux);
  }

  #push(s: Statement): void {
    this.#grow(this.#n + 1);
    const i = this.#n;
    const b = i * MAX_ARGS;
    const args = s.kind === "store" ? [s.addr, s.value] : s.args;
    const fn = s.kind === "store" ? FN.store : FN[s.fn];
    if (fn === undefined) throw new StatementError(`unknown function ${(s as { fn: string }).fn}`);
    for (let j = 0; j < args.length; j++) this.#compileArg(args[j], b + j);
    this.#fn[i] = fn;
    this.#target[i] = s.kind === "call" && s.target !== null ? this.#slot(s.target) : -1;
    this.#parsed.set(i, s);
    this.#n++;
  }

  #compileArg(e: Expr, at: number): void {
    if (e.kind === "num") {
      this.#argKind[at] = CONST;
      this.#argVal[at] = this.words.literal(e.value);
    } else if (e.kind === "name" && (constantValue(e.name) === undefined || this.#slotOfName(e.name) !== undefined)) {
      this.#argKind[at] = SLOT;
      this.#argVal[at] = this.#slot(e.name);
    } else if (e.kind === "name") {
      this.#argKind[at] = CONST;
      this.#argVal[at] = this.words.wrap(constantValue(e.name)!);
    } else if (e.kind === "addr") {
      this.#argKind[at] = OUT;
      this.#argVal[at] = this.#slot(e.name);
    } else {
      this.#argKind[at] = EXPR;
      this.#argVal[at] = this.#exprs.length;
      this.#exprs.push(this.#closure(e));
    }
  }

  #closure(e: Expr): (slots: Float64Array) => number {
    const w = this.words;
    switch (e.kind) {
      case "num": {
        const c = w.literal(e.value);
        return () => c;
      }
      case "name": {
        const c = constantValue(e.name);
        if (c !== undefined && this.#slotOfName(e.name) === undefined) {
          const v = w.wrap(c);
          return () => v;
        }
        const k = this.#slot(e.name);
        return (slots) => {
          const v = slots[k];
          if (Number.isNaN(v)) throw new StatementError(`"${e.name}" is not defined`);
          return v;
        };
      }
      case "neg": {
        const a = this.#closure(e.arg);
        return (slots) => w.neg(a(slots));
      }
      case "bin": {
        const a = this.#closure(e.left);
        const b = this.#closure(e.right);
        if (e.op === "+") return (slots) => w.add(a(slots), b(slots));
        if (e.op === "-") return (slots) => w.sub(a(slots), b(slots));
        return (slots) => w.or(a(slots), b(slots));
      }
      case "addr":
        throw new StatementError(`&${e.name} is only posix_memalign's first argument`);
    }
  }

  #slotOfName(name: string): number | undefined {
    const m = /^([br])(\d+)$/.exec(name);
    if (m) {
      const k = Number(m[2]);
      if (m[1] === "b" && k < this.#blocks) return k;
      if (m[1] === "r" && k < this.#regions) return this.#blocks + k;
    }
    return this.#named.get(name);
  }

  #slot(name: string): number {
    let k = this.#slotOfName(name);
    if (k === undefined) {
      k = this.#blocks + this.#regions + this.#names.length;
      this.#named.set(name, k);
      this.#names.push(name);
    }
    return k;
  }

  #slotName(slot: number): string {
    if (slot < this.#blocks) return `b${slot}`;
    if (slot < this.#blocks + this.#regions) return `r${slot - this.#blocks}`;
    return this.#names[slot - this.#blocks - this.#regions];
  }
}
