// Op lists (the project's "ops v1" format: `m 0 24`, `f 0`, …) as statements and back, so that a
// session travels in the URL as `?ops=` whenever it can. Block ID k is the variable `bk`.

import { NO_ID, Op, type OpList, parseOps } from "../../host/index.js";
import type { Expr, Statement } from "./statements.js";

/** Statements of an op list (parsed by the project's own parser, so the format stays one). */
export function opsToStatements(text: string): Statement[] {
  return opListToStatements(parseOps(text.endsWith("\n") ? text : text + "\n"));
}

const num = (v: number): Expr => ({ kind: "num", value: v });
const name = (n: string): Expr => ({ kind: "name", name: n });
const signed = (v: number): Expr => (v < 0 ? { kind: "neg", arg: num(-v) } : num(v));
/** A region's address plus an offset (`r0`, `r0 + 4096`). */
const at = (rid: number, off: number): [Expr, string] =>
  off === 0 ? [name(`r${rid}`), `r${rid}`] : [{ kind: "bin", op: "+", left: name(`r${rid}`), right: num(off) }, `r${rid} + ${off}`];

/**
 * Statements of a parsed op list, built directly (a 100,000-op trace is turned into statements
 * in milliseconds, not re-parsed line by line). Block ID k is the variable `bk`, region k `rk`.
 */
export function opListToStatements(ops: OpList): Statement[] {
  const out: Statement[] = new Array(ops.length);
  for (let k = 0; k < ops.length; k++) out[k] = opStatement(ops, k);
  return out;
}

const id = (n: number) => `b${n}`;
const call = (target: string | null, fn: string, args: Expr[], argText: string): Statement => ({
  kind: "call", target, fn, args, note: "", text: `${target === null ? "" : `${target} = `}${fn}(${argText})`,
});

/** The statement of op k of a parsed op list. */
export function opStatement(ops: OpList, k: number): Statement {
  const a = ops.a[k], b = ops.b[k], c = ops.c[k], d = ops.d[k];
  let s: Statement;
  switch (ops.kind[k]) {
    case Op.MALLOC: s = call(id(a), "malloc", [num(b)], `${b}`); break;
    case Op.CALLOC: s = call(id(a), "calloc", [num(b), num(c)], `${b}, ${c}`); break;
    case Op.MEMALIGN: s = call(id(a), "memalign", [num(b), num(c)], `${b}, ${c}`); break;
    case Op.ALIGNED_ALLOC: s = call(id(a), "aligned_alloc", [num(b), num(c)], `${b}, ${c}`); break;
    case Op.VALLOC: s = call(id(a), "valloc", [num(b)], `${b}`); break;
    case Op.PVALLOC: s = call(id(a), "pvalloc", [num(b)], `${b}`); break;
    case Op.REALLOC: {
      const old = b === NO_ID ? "0" : id(b);
      s = call(id(a), "realloc", [b === NO_ID ? num(0) : name(old), num(c)], `${old}, ${c}`);
      break;
    }
    case Op.REALLOCARRAY: {
      const old = b === NO_ID ? "0" : id(b);
      s = call(id(a), "reallocarray", [b === NO_ID ? num(0) : name(old), num(c), num(d)], `${old}, ${c}, ${d}`);
      break;
    }
    case Op.FREE: s = call(null, "free", [name(id(a))], id(a)); break;
    case Op.USABLE_SIZE: s = call(null, "malloc_usable_size", [name(id(a))], id(a)); break;
    case Op.MALLOPT: {
      const param = ops.paramText.get(k);
      const p = param !== undefined && /^M_[A-Z_]+$/.test(param) ? name(param) : signed(a | 0);
      s = call(null, "mallopt", [p, signed(b | 0)], `${param ?? a | 0}, ${b | 0}`);
      break;
    }
    case Op.TRIM: s = call(null, "malloc_trim", [num(b)], `${b}`); break;
    case Op.INFO: s = call(null, "malloc_info", [], ""); break;
    case Op.SBRK: s = call(null, "sbrk", [signed(b | 0)], `${b | 0}`); break;
    case Op.MMAP:
      s = call(`r${a}`, "mmap", [num(0), num(b), num(c), num(d), signed(-1), num(0)], `0, ${b}, ${c}, ${d}, -1, 0`);
      break;
    case Op.MUNMAP: {
      const [e, t] = at(a, b);
      s = call(null, "munmap", [e, num(c)], `${t}, ${c}`);
      break;
    }
    case Op.MPROTECT: case Op.MADVISE: {
      const [e, t] = at(a, b);
      s = call(null, ops.kind[k] === Op.MPROTECT ? "mprotect" : "madvise", [e, num(c), num(d)], `${t}, ${c}, ${d}`);
      break;
    }
    case Op.POSIX_MEMALIGN:
      s = call(null, "posix_memalign", [{ kind: "addr", name: id(a) }, num(b), num(c)], `&${id(a)}, ${b}, ${c}`);
      break;
    case Op.MREMAP:
      // The region's variable takes the result, and keeps its address when mremap fails (program.ts).
      s = call(`r${a}`, "mremap", [name(`r${a}`), num(b), num(c), num(d)], `r${a}, ${b}, ${c}, ${d}`);
      break;
    case Op.THREAD: s = call(null, "thread", [num(a)], `${a}`); break;
    case Op.EXIT: s = call(null, "thread_exit", [num(a)], `${a}`); break;
    default:
      throw new Error(`op ${k + 1} (line ${ops.line[k]}): op kind ${ops.kind[k]} has no statement`);
  }
  return s;
}

const ARG = /^(?:\d+|b\d+|-?\d+|M_[A-Z_]+)$/;

/**
 * The op list of the statements in the oracle's core ops (m c a r f o t i, and the thread lines
 * T and E), or null when one of
 * them is not one (mmap, mremap, posix_memalign, aligned_alloc, a store, …): the session then
 * travels as statements (`?cmds=`), which keeps every extension op as it was typed.
 */
export function statementsToOps(statements: readonly Statement[]): string | null {
  const lines: string[] = [];
  let nextId = 0;
  for (const s of statements) {
    if (s.kind !== "call") return null;
    const args = s.args.map((e) => (e.kind === "num" ? String(e.value) : e.kind === "name" ? e.name : e.kind === "neg" && e.arg.kind === "num" ? `-${e.arg.value}` : "?"));
    if (!args.every((x) => ARG.test(x))) return null;
    const ref = (x: string) => (/^b\d+$/.test(x) ? x.slice(1) : null);
    const newId = () => {
      if (s.target !== `b${nextId}`) return null;
      return String(nextId++);
    };
    let line: string | null = null;
    switch (s.fn) {
      case "malloc": { const n = newId(); line = n && /^\d+$/.test(args[0]) ? `m ${n} ${args[0]}` : null; break; }
      case "calloc": { const n = newId(); line = n && args.every((x) => /^\d+$/.test(x)) ? `c ${n} ${args[0]} ${args[1]}` : null; break; }
      case "memalign": { const n = newId(); line = n && args.every((x) => /^\d+$/.test(x)) ? `a ${n} ${args[0]} ${args[1]}` : null; break; }
      case "realloc": {
        const old = args[0] === "0" ? "-" : ref(args[0]);
        const n = newId();
        line = n && old !== null && /^\d+$/.test(args[1]) ? `r ${n} ${old} ${args[1]}` : null;
        break;
      }
      case "free": { const r = s.target === null ? ref(args[0]) : null; line = r !== null ? `f ${r}` : null; break; }
      case "mallopt": line = s.target === null ? `o ${args[0]} ${args[1]}` : null; break;
      case "malloc_trim": line = s.target === null && /^\d+$/.test(args[0]) ? `t ${args[0]}` : null; break;
      case "malloc_info": line = s.target === null ? "i" : null; break;
      case "thread": line = s.target === null && /^\d+$/.test(args[0]) ? `T ${args[0]}` : null; break;
      case "thread_exit": line = s.target === null && /^\d+$/.test(args[0]) ? `E ${args[0]}` : null; break;
    }
    if (line === null) return null;
    lines.push(line);
  }
  return lines.join("\n") + (lines.length ? "\n" : "");
}
