// The explorer's statement language: one C-like call per line, as a C programmer would write it.
//
//   p = malloc(24)            q = calloc(4, 8)          p = realloc(p, 100)       free(p)
//   m = memalign(64, 100)     malloc_trim(0)            mallopt(M_MMAP_THRESHOLD, 65536)
//   a = mmap(0, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)    munmap(a, 4096)
//   posix_memalign(&p, 64, 100)   (err = posix_memalign(…) keeps the error number)
//   a = mremap(a, 8192, 16384, MREMAP_MAYMOVE)   (a failing mremap leaves `a` as it was)
//   brk(0x00900000)           sbrk(4096)                *(p+8) = 0x41   (a word store: 4 or 8 bytes)
//   malloc_info()             anything after // is a comment, shown with the statement.
//   thread(1)                 the calls that follow are thread 1's (made by pthread_create the
//                             first time); thread(0) is the main thread again
//   thread_exit(1)            thread 1 returns and the main thread joins it (the op lists' T and E)
//
// Expressions: numbers (decimal, 0x hex), variables, the API's constants (M_*, PROT_*, MAP_*,
// MADV_*), + - | and parentheses, unary minus. Values are the process's words (words.ts): u32 on
// i386, 64-bit on x86_64.

import * as C from "../../host/index.js";
import { type Words, wordsOf } from "./words.js";

export type Expr =
  | { kind: "num"; value: number }
  | { kind: "name"; name: string }
  | { kind: "neg"; arg: Expr }
  | { kind: "bin"; op: "+" | "-" | "|"; left: Expr; right: Expr }
  /** `&p`: where posix_memalign stores its block (its first argument, and nowhere else). */
  | { kind: "addr"; name: string };

export type Statement =
  | { kind: "call"; target: string | null; fn: string; args: Expr[]; text: string; note: string }
  | { kind: "store"; addr: Expr; value: Expr; text: string; note: string };

/** Each function: its argument count and whether it returns an address worth keeping. */
export const FUNCTIONS: Readonly<Record<string, number>> = {
  malloc: 1, calloc: 2, realloc: 2, reallocarray: 3, free: 1, memalign: 2, aligned_alloc: 2, valloc: 1,
  pvalloc: 1, malloc_usable_size: 1, malloc_trim: 1, mallopt: 2, mmap: 6, munmap: 2, mprotect: 3,
  madvise: 3, brk: 1, sbrk: 1, malloc_info: 0, posix_memalign: 3, mremap: 4, thread: 1, thread_exit: 1,
};

export class StatementError extends Error {}

const TOKEN = /\s*(0x[0-9a-fA-F]+|\d+|[A-Za-z_]\w*|[()=,*+|&-])/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    if (/^\s*;?\s*$/.test(src.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (m === null) throw new StatementError(`unexpected "${src.slice(at).trim()[0]}" at column ${at + 1}`);
    out.push(m[1]);
  }
  return out;
}

/** Parses one statement (a line). Throws StatementError with a reason. */
export function parseStatement(line: string): Statement {
  const cut = line.indexOf("//");
  const note = cut >= 0 ? line.slice(cut + 2).trim() : "";
  const src = (cut >= 0 ? line.slice(0, cut) : line).trim();
  const text = src.replace(/;\s*$/, "");
  if (text === "") throw new StatementError("empty statement");
  const t = tokenize(text);
  let i = 0;
  const peek = () => t[i];
  const take = (want?: string) => {
    const tok = t[i++];
    if (tok === undefined) throw new StatementError(want ? `expected "${want}" at the end` : "unexpected end");
    if (want !== undefined && tok !== want) throw new StatementError(`expected "${want}", found "${tok}"`);
    return tok;
  };
  const primary = (): Expr => {
    const tok = take();
    if (tok === "(") {
      const e = expr();
      take(")");
      return e;
    }
    if (tok === "-") return { kind: "neg", arg: primary() };
    if (/^(0x[0-9a-f]+|\d+)$/i.test(tok)) return { kind: "num", value: Number(tok) };
    if (/^[A-Za-z_]\w*$/.test(tok)) return { kind: "name", name: tok };
    throw new StatementError(`unexpected "${tok}"`);
  };
  const expr = (): Expr => {
    let e = primary();
    while (peek() === "+" || peek() === "-" || peek() === "|") {
      const op = take() as "+" | "-" | "|";
      e = { kind: "bin", op, left: e, right: primary() };
    }
    return e;
  };
  const end = () => {
    if (i < t.length) throw new StatementError(`unexpected "${t[i]}" after the statement`);
  };

  if (peek() === "*") {
    take("*");
    const addr = primary();
    take("=");
    const value = expr();
    end();
    return { kind: "store", addr, value, text, note };
  }
  let target: string | null = null;
  if (t[1] === "=") {
    target = take();
    if (!/^[A-Za-z_]\w*$/.test(target) || target in FUNCTIONS || constantValue(target) !== undefined) {
      throw new StatementError(`cannot assign to "${target}"`);
    }
    take("=");
  }
  const fn = take();
  const arity = FUNCTIONS[fn];
  if (arity === undefined) throw new StatementError(`unknown function "${fn}" (try malloc, free, calloc, realloc, mmap, …)`);
  take("(");
  const args: Expr[] = [];
  // `&name` is a whole argument (posix_memalign's out-parameter), never part of an expression.
  const arg = (): Expr => {
    if (peek() !== "&") return expr();
    take("&");
    const v = take();
    if (!/^[A-Za-z_]\w*$/.test(v) || v in FUNCTIONS || constantValue(v) !== undefined) throw new StatementError(`cannot take the address of "${v}"`);
    return { kind: "addr", name: v };
  };
  if (peek() !== ")") {
    args.push(arg());
    while (peek() === ",") {
      take(",");
      args.push(arg());
    }
  }
  take(")");
  end();
  if (args.length !== arity) throw new StatementError(`${fn} takes ${arity} argument${arity === 1 ? "" : "s"}, not ${args.length}`);
  args.forEach((e, j) => {
    const out = fn === "posix_memalign" && j === 0;
    if (out && e.kind !== "addr") throw new StatementError("posix_memalign's first argument is where it stores the block: &variable");
    if (!out && e.kind === "addr") throw new StatementError(`&${e.name} is only posix_memalign's first argument`);
    if (out && e.kind === "addr" && e.name === target) throw new StatementError(`"${target}" cannot hold both the block and the error number`);
  });
  return { kind: "call", target, fn, args, text, note };
}

/** A constant of the public API by name (M_MMAP_THRESHOLD, PROT_READ, MAP_ANONYMOUS, …). */
export function constantValue(name: string): number | undefined {
  if (!/^(M|PROT|MAP|MADV|MREMAP)_[A-Z0-9_]+$/.test(name)) return undefined;
  const v = (C as unknown as Record<string, unknown>)[name];
  return typeof v === "number" ? v : undefined;
}

/** Evaluates an expression to a word of the process (a u32 on i386) with the session's variables. */
export function evaluate(e: Expr, vars: { get(name: string): number | undefined }, words: Words = wordsOf("i386")): number {
  switch (e.kind) {
    case "num":
      return words.literal(e.value);
    case "name": {
      const v = vars.get(e.name) ?? constantValue(e.name);
      if (v === undefined) throw new StatementError(`"${e.name}" is not defined`);
      return words.wrap(v);
    }
    case "neg":
      return words.neg(evaluate(e.arg, vars, words));
    case "bin": {
      const a = evaluate(e.left, vars, words);
      const b = evaluate(e.right, vars, words);
      return e.op === "+" ? words.add(a, b) : e.op === "-" ? words.sub(a, b) : words.or(a, b);
    }
    case "addr":
      // An out-parameter: the call writes the variable and reads nothing from it (it may be undefined).
      return 0;
  }
}
