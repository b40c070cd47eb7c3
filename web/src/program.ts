// A session's statements compiled for replay. Replaying is what every step costs (a step back
// replays from a checkpoint), so a statement runs as one closure over numbered variable slots
// (a Float64Array, NaN while undefined) instead of walking its expression tree with a Map of
// names, and its result is kept as numbers, turned into text only for the lines on screen.

import * as C from "../../host/index.js";
import type { Process } from "../../host/index.js";
import { constantValue, type Expr, type Statement, StatementError } from "./statements.js";

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
const ERRNO_NAMES = new Map<number, string>(
  Object.entries(C).filter(([k, v]) => /^E[A-Z]+$/.test(k) && typeof v === "number").map(([k, v]) => [v as number, k]),
);
export const errnoName = (e: number) => ERRNO_NAMES.get(e) ?? `errno ${e}`;

/** Variables by name, as `evaluate` reads them. */
export interface Vars {
  get(name: string): number | undefined;
}

type Value = (slots: Float64Array) => number;
/** Runs one statement: its value (NaN for none), and `aux` (errno, or a store's value). */
type Exec = (proc: Process, slots: Float64Array, out: Result) => void;

interface Result {
  value: number;
  aux: number;
}

/** The functions whose value is an address (NULL with errno on failure). */
const POINTER_FNS = new Set(["malloc", "calloc", "realloc", "reallocarray", "memalign", "aligned_alloc", "valloc", "pvalloc"]);

export class Program {
  readonly statements: Statement[] = [];
  /** Variable name → slot. Only grows: a name dropped with its statement keeps its slot. */
  readonly slotOf = new Map<string, number>();
  #code: Exec[] = [];
  /** Per statement, its last result (replay is deterministic: every run writes the same). */
  #value = new Float64Array(64);
  #aux = new Float64Array(64);
  readonly #out: Result = { value: Number.NaN, aux: 0 };

  constructor(statements: readonly Statement[]) {
    this.replaceFrom(0, statements);
  }

  get length(): number {
    return this.statements.length;
  }

  get slotCount(): number {
    return this.slotOf.size;
  }

  /** Replaces the statements from index `at` on (an edit at an earlier step drops what followed). */
  replaceFrom(at: number, statements: readonly Statement[]): void {
    this.statements.length = at;
    this.#code.length = at;
    for (const s of statements) {
      this.statements.push(s);
      this.#code.push(this.#compile(s));
    }
    if (this.#value.length < this.statements.length) {
      const size = Math.max(this.statements.length, this.#value.length * 2);
      const grow = (a: Float64Array) => {
        const b = new Float64Array(size);
        b.set(a);
        return b;
      };
      this.#value = grow(this.#value);
      this.#aux = grow(this.#aux);
    }
  }

  /** Fresh variable slots (all undefined), or `from`'s values in slots wide enough for every name. */
  slots(from?: Float64Array): Float64Array {
    const s = new Float64Array(Math.max(16, this.slotCount)).fill(Number.NaN);
    if (from) s.set(from.subarray(0, Math.min(from.length, s.length)));
    return s;
  }

  /** Runs statement i on the process (slots wide enough: see slots()). Throws what the process throws. */
  run(i: number, proc: Process, slots: Float64Array): void {
    const out = this.#out;
    out.value = Number.NaN;
    out.aux = 0;
    this.#code[i](proc, slots, out);
    this.#value[i] = out.value;
    this.#aux[i] = out.aux;
  }

  /** What statement i returned when it last ran, as text. */
  resultText(i: number): string {
    const s = this.statements[i];
    const v = this.#value[i];
    const aux = this.#aux[i];
    if (s.kind === "store") return `${hex(v)} ← ${hex(aux)}`;
    if (POINTER_FNS.has(s.fn)) return v === 0 ? `NULL (errno ${errnoName(aux)})` : hex(v);
    switch (s.fn) {
      case "free": return "done";
      case "malloc_trim": return v ? "1 (memory released)" : "0";
      case "malloc_info": return `${v} bytes of XML`;
      case "mmap": case "munmap": case "mprotect": case "madvise": return v < 0 ? `-${errnoName(-v)}` : hex(v);
      case "brk": return `break ${hex(v)}`;
      case "sbrk": return v === -1 ? `-1 (${errnoName(aux)})` : `${hex(v)} (the old break)`;
      default: return String(v);
    }
  }

  /** The variables of a run, by name. */
  vars(slots: Float64Array): Vars {
    const slotOf = this.slotOf;
    return {
      get(name: string) {
        const k = slotOf.get(name);
        const v = k === undefined || k >= slots.length ? Number.NaN : slots[k];
        return Number.isNaN(v) ? undefined : v;
      },
    };
  }

  #slot(name: string): number {
    let k = this.slotOf.get(name);
    if (k === undefined) {
      k = this.slotOf.size;
      this.slotOf.set(name, k);
    }
    return k;
  }

  #value_(e: Expr): Value {
    switch (e.kind) {
      case "num": {
        if (e.value > 0xffffffff) throw new StatementError(`${e.value} does not fit in 32 bits`);
        const c = e.value >>> 0;
        return () => c;
      }
      case "name": {
        const c = constantValue(e.name);
        if (c !== undefined && !this.slotOf.has(e.name)) return () => c >>> 0;
        const k = this.#slot(e.name);
        const name = e.name;
        return (slots) => {
          const v = slots[k];
          if (Number.isNaN(v)) throw new StatementError(`"${name}" is not defined`);
          return v;
        };
      }
      case "neg": {
        const a = this.#value_(e.arg);
        return (slots) => -a(slots) >>> 0;
      }
      case "bin": {
        const a = this.#value_(e.left);
        const b = this.#value_(e.right);
        if (e.op === "+") return (slots) => (a(slots) + b(slots)) >>> 0;
        if (e.op === "-") return (slots) => (a(slots) - b(slots)) >>> 0;
        return (slots) => (a(slots) | b(slots)) >>> 0;
      }
    }
  }

  #compile(s: Statement): Exec {
    if (s.kind === "store") {
      const addr = this.#value_(s.addr);
      const value = this.#value_(s.value);
      const bytes = [0, 0, 0, 0];
      return (proc, slots, out) => {
        const a = addr(slots);
        const v = value(slots);
        bytes[0] = v & 255; bytes[1] = (v >>> 8) & 255; bytes[2] = (v >>> 16) & 255; bytes[3] = v >>> 24;
        proc.write(a, bytes);
        out.value = a;
        out.aux = v;
      };
    }
    const [a, b, c, d, e, f] = s.args.map((x) => this.#value_(x));
    const call = callOf(s.fn, a, b, c, d, e, f);
    const pointer = POINTER_FNS.has(s.fn);
    if (s.target === null) {
      return (proc, slots, out) => {
        out.value = call(proc, slots);
        if (pointer && out.value === 0) out.aux = proc.errno;
      };
    }
    const t = this.#slot(s.target);
    const sbrk = s.fn === "sbrk";
    return (proc, slots, out) => {
      const v = call(proc, slots);
      out.value = v;
      if ((pointer && v === 0) || (sbrk && v === -1)) out.aux = proc.errno;
      slots[t] = (Number.isNaN(v) ? 0 : v) >>> 0;
    };
  }
}

type Call = (proc: Process, slots: Float64Array) => number;

/** The call of a function with its compiled arguments (arity checked by the parser). */
function callOf(fn: string, a: Value, b: Value, c: Value, d: Value, e: Value, f: Value): Call {
  switch (fn) {
    case "malloc": return (p, v) => p.malloc(a(v));
    case "calloc": return (p, v) => p.calloc(a(v), b(v));
    case "realloc": return (p, v) => p.realloc(a(v), b(v));
    case "reallocarray": return (p, v) => p.reallocarray(a(v), b(v), c(v));
    case "memalign": return (p, v) => p.memalign(a(v), b(v));
    case "aligned_alloc": return (p, v) => p.aligned_alloc(a(v), b(v));
    case "valloc": return (p, v) => p.valloc(a(v));
    case "pvalloc": return (p, v) => p.pvalloc(a(v));
    case "free": return (p, v) => (p.free(a(v)), Number.NaN);
    case "malloc_usable_size": return (p, v) => p.malloc_usable_size(a(v));
    case "malloc_trim": return (p, v) => p.malloc_trim(a(v));
    case "mallopt": return (p, v) => p.mallopt(a(v) | 0, b(v) | 0);
    case "malloc_info": return (p) => p.malloc_info().length;
    case "mmap": return (p, v) => p.sys.mmap(a(v), b(v), c(v), d(v), e(v) | 0, f(v));
    case "munmap": return (p, v) => p.sys.munmap(a(v), b(v));
    case "mprotect": return (p, v) => p.sys.mprotect(a(v), b(v), c(v));
    case "madvise": return (p, v) => p.sys.madvise(a(v), b(v), c(v));
    case "brk": return (p, v) => p.sys.brk(a(v));
    case "sbrk": return (p, v) => p.sbrk(a(v) | 0);
    default: throw new StatementError(`unknown function ${fn}`);
  }
}
