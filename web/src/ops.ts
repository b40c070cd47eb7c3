// Op lists (the project's "ops v1" format: `m 0 24`, `f 0`, …) as statements and back, so that a
// session travels in the URL as `?ops=` whenever it can. Block ID k is the variable `bk`.

import { Op, NO_ID, parseOps } from "../../host/index.js";
import { parseStatement, type Statement } from "./statements.js";

/** Statements of an op list (parsed by the project's own parser, so the format stays one). */
export function opsToStatements(text: string): Statement[] {
  const ops = parseOps(text.endsWith("\n") ? text : text + "\n");
  const out: Statement[] = [];
  const id = (n: number) => `b${n}`;
  for (let k = 0; k < ops.length; k++) {
    const a = ops.a[k], b = ops.b[k], c = ops.c[k];
    let line: string;
    switch (ops.kind[k]) {
      case Op.MALLOC: line = `${id(a)} = malloc(${b})`; break;
      case Op.CALLOC: line = `${id(a)} = calloc(${b}, ${c})`; break;
      case Op.MEMALIGN: line = `${id(a)} = memalign(${b}, ${c})`; break;
      case Op.REALLOC: line = `${id(a)} = realloc(${b === NO_ID ? "0" : id(b)}, ${c})`; break;
      case Op.FREE: line = `free(${id(a)})`; break;
      case Op.MALLOPT: line = `mallopt(${ops.paramText.get(k) ?? String(a | 0)}, ${b | 0})`; break;
      case Op.TRIM: line = `malloc_trim(${b})`; break;
      case Op.INFO: line = `malloc_info()`; break;
      default: throw new Error(`op ${k + 1}: this kind of op is not supported by the explorer yet`);
    }
    out.push(parseStatement(line));
  }
  return out;
}

const ARG = /^(?:\d+|b\d+|-?\d+|M_[A-Z_]+)$/;

/** The op list of the statements, or null when one of them has no op (mmap, a store, …). */
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
    }
    if (line === null) return null;
    lines.push(line);
  }
  return lines.join("\n") + (lines.length ? "\n" : "");
}
