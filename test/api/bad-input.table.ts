// THE table of bad input: every public function of a Process, the C type of each argument, the
// kinds of JS value that are no ordinary C value, and what each kind does to each C type. The
// tests (bad-input.test.ts) are generated from it, and docs/bad-input.md shows renderKindTable()
// and renderFunctionTable() verbatim (a test checks that the two agree).

import type { Process } from "../../host/process.js";

/** The C type an argument has, which decides how a JS value becomes it (host/cargs.ts). */
export type CType =
  | "size" // size_t, unsigned long: a size or length
  | "ptr" // void *: an address; null is NULL
  | "optptr" // an optional address (mremap's newAddr): undefined is 0 as well
  | "int" // int, intptr_t
  | "off" // off64_t (mmap's offset)
  | "rlim" // rlim_t (setrlimit's cur and max)
  | "resource" // setrlimit's and getrlimit's resource: an int or an RLIMIT_* name
  | "vec" // mincore's vector: a Uint8Array, or null (NULL)
  | "bytes" // write's bytes: a typed array or an array of numbers
  | "limit"; // setrlimit's struct rlimit *: an object { cur, max }, or null (NULL)

export interface Kind {
  name: string;
  value: unknown;
}

export const KINDS: readonly Kind[] = [
  { name: "NaN", value: NaN },
  { name: "Infinity", value: Infinity },
  { name: "-Infinity", value: -Infinity },
  { name: "-0", value: -0 },
  { name: "negative (-16)", value: -16 },
  { name: "fraction (16.5)", value: 16.5 },
  { name: "2^32", value: 2 ** 32 },
  { name: "2^53", value: 2 ** 53 },
  { name: 'string ("16")', value: "16" },
  { name: "undefined", value: undefined },
  { name: "null", value: null },
  { name: "object ({})", value: {} },
  { name: "BigInt (16n)", value: 16n },
  { name: "Symbol", value: Symbol("16") },
  { name: "boolean (true)", value: true },
];

/** What a kind of value does as an argument of a C type: throw, or behave as one C value. */
export type Expected = { throws: "TypeError" | "RangeError" } | { as: unknown };

const SIZE_MAX = 0xffffffff;

export function expected(type: CType, kind: Kind): Expected {
  const v = kind.value;
  const numeric = type === "size" || type === "ptr" || type === "optptr" || type === "int" || type === "off" || type === "rlim" || type === "resource";
  if (type === "optptr" && v === undefined) return { as: 0 };
  if (v === null) {
    if (type === "ptr" || type === "optptr") return { as: 0 };
    if (type === "vec" || type === "limit") return { as: null };
    return { throws: "TypeError" };
  }
  if (typeof v !== "number" || !numeric) return { throws: "TypeError" };
  const integer = Number.isInteger(v);
  switch (type) {
    case "size":
    case "ptr":
    case "optptr":
      return { as: integer && v >= -(2 ** 31) && v <= SIZE_MAX ? v >>> 0 : SIZE_MAX };
    case "int":
    case "resource":
      return integer && v >= -(2 ** 31) && v <= SIZE_MAX ? { as: v | 0 } : { throws: "RangeError" };
    case "off":
      return Number.isSafeInteger(v) ? { as: v + 0 } : { throws: "RangeError" };
    case "rlim":
      if (v === Infinity || (integer && v >= SIZE_MAX)) return { as: Infinity };
      return integer && v >= -(2 ** 31) ? { as: v >>> 0 === SIZE_MAX ? Infinity : v >>> 0 } : { throws: "RangeError" };
    default:
      return { throws: "TypeError" };
  }
}

/** What a call is made on: a fresh block, a fresh two-page mapping, the break. Made anew before every call. */
export interface Ctx {
  p: number;
  m: number;
  brk: number;
}

export function setup(proc: Process): Ctx {
  const p = proc.malloc(100);
  const m = proc.sys.mmap(0, 8192, 3, 0x22, -1, 0);
  if (m > 0) proc.fill(m, 1, 8192);
  return { p, m, brk: proc.sbrk(0) };
}

export interface Param {
  name: string;
  type: CType;
}

export interface Fn {
  /** As the API spells it: "malloc", "sys.mmap", "errno (setter)". */
  name: string;
  family: "C library" | "sys" | "memory";
  params: Param[];
  /** Good arguments, one per param (setrlimit's limit is split into limit.cur and limit.max). */
  args: (c: Ctx) => unknown[];
  call: (proc: Process, args: unknown[]) => unknown;
}

const P = (name: string, type: CType): Param => ({ name, type });
// biome-ignore lint/suspicious/noExplicitAny: the table calls every function with any value on purpose.
type Any = any;
const lib = (name: keyof Process, params: Param[], args: (c: Ctx) => unknown[]): Fn => ({
  name,
  family: "C library",
  params,
  args,
  call: (proc, a) => (proc[name] as Any)(...a),
});
const sys = (name: keyof Process["sys"], params: Param[], args: (c: Ctx) => unknown[]): Fn => ({
  name: `sys.${name}`,
  family: "sys",
  params,
  args,
  call: (proc, a) => (proc.sys[name] as Any)(...a),
});
const mem = (name: "read" | "write" | "fill" | "touch", params: Param[], args: (c: Ctx) => unknown[]): Fn => ({
  ...lib(name, params, args),
  family: "memory",
});

export const FUNCTIONS: readonly Fn[] = [
  lib("malloc", [P("size", "size")], () => [100]),
  lib("free", [P("ptr", "ptr")], (c) => [c.p]),
  lib("calloc", [P("nmemb", "size"), P("size", "size")], () => [2, 50]),
  lib("realloc", [P("ptr", "ptr"), P("size", "size")], (c) => [c.p, 200]),
  lib("reallocarray", [P("ptr", "ptr"), P("nmemb", "size"), P("size", "size")], (c) => [c.p, 2, 50]),
  lib("memalign", [P("alignment", "size"), P("size", "size")], () => [64, 100]),
  lib("aligned_alloc", [P("alignment", "size"), P("size", "size")], () => [64, 100]),
  lib("valloc", [P("size", "size")], () => [100]),
  lib("pvalloc", [P("size", "size")], () => [100]),
  lib("posix_memalign", [P("alignment", "size"), P("size", "size")], () => [64, 100]),
  lib("malloc_usable_size", [P("ptr", "ptr")], (c) => [c.p]),
  lib("malloc_trim", [P("pad", "size")], () => [0]),
  lib("malloc_stats", [], () => []),
  lib("malloc_info", [], () => []),
  lib("mallinfo2", [], () => []),
  lib("mallopt", [P("param", "int"), P("value", "int")], () => [-2 /* M_TOP_PAD */, 4096]),
  lib("sbrk", [P("increment", "int")], () => [4096]),
  lib("brk", [P("addr", "ptr")], (c) => [c.brk + 4096]),
  {
    name: "errno (setter)",
    family: "C library",
    params: [P("value", "int")],
    args: () => [5],
    call: (proc, a) => {
      (proc as Any).errno = a[0];
    },
  },
  sys("brk", [P("addr", "ptr")], (c) => [c.brk + 4096]),
  sys(
    "mmap",
    [P("addr", "ptr"), P("length", "size"), P("prot", "int"), P("flags", "int"), P("fd", "int"), P("offset", "off")],
    () => [0, 8192, 3, 0x22, -1, 0],
  ),
  sys("munmap", [P("addr", "ptr"), P("length", "size")], (c) => [c.m, 4096]),
  sys(
    "mremap",
    [P("oldAddr", "ptr"), P("oldLength", "size"), P("newLength", "size"), P("flags", "int"), P("newAddr", "optptr")],
    (c) => [c.m, 8192, 16384, 1 /* MREMAP_MAYMOVE */, undefined],
  ),
  sys("mprotect", [P("addr", "ptr"), P("length", "size"), P("prot", "int")], (c) => [c.m, 4096, 1]),
  sys("madvise", [P("addr", "ptr"), P("length", "size"), P("advice", "int")], (c) => [c.m, 8192, 4 /* MADV_DONTNEED */]),
  sys("mincore", [P("addr", "ptr"), P("length", "size"), P("vec", "vec")], (c) => [c.m, 8192, new Uint8Array(2)]),
  sys("mlock", [P("addr", "ptr"), P("length", "size")], (c) => [c.m, 4096]),
  sys("mlock2", [P("addr", "ptr"), P("length", "size"), P("flags", "int")], (c) => [c.m, 4096, 0]),
  sys("munlock", [P("addr", "ptr"), P("length", "size")], (c) => [c.m, 4096]),
  sys("mlockall", [P("flags", "int")], () => [2 /* MCL_FUTURE */]),
  sys("munlockall", [], () => []),
  sys("getrlimit", [P("resource", "resource")], () => [9]),
  {
    name: "sys.setrlimit",
    family: "sys",
    params: [P("resource", "resource"), P("limit", "limit"), P("limit.cur", "rlim"), P("limit.max", "rlim")],
    // RLIMIT_CORE: whatever a case sets it to, the twins can still allocate.
    args: () => [4, "(built from limit.cur and limit.max)", 1 << 20, Infinity],
    call: (proc, a) => {
      // Param 1 replaces the whole object; params 2 and 3 its fields.
      const limit = a[1] === "(built from limit.cur and limit.max)" ? { cur: a[2], max: a[3] } : a[1];
      return (proc.sys.setrlimit as Any)(a[0], limit);
    },
  },
  mem("read", [P("addr", "ptr"), P("length", "size")], (c) => [c.p, 16]),
  mem("write", [P("addr", "ptr"), P("bytes", "bytes")], (c) => [c.p, new Uint8Array([1, 2, 3])]),
  mem("fill", [P("addr", "ptr"), P("byte", "int"), P("length", "size")], (c) => [c.p, 7, 16]),
  mem("touch", [P("addr", "ptr"), P("length", "size")], (c) => [c.p, 16]),
  { name: "maps", family: "memory", params: [], args: () => [], call: (proc) => proc.maps() },
  { name: "status", family: "memory", params: [], args: () => [], call: (proc) => proc.status() },
];

const show = (v: unknown): string =>
  v === Infinity ? "RLIM_INFINITY" : typeof v === "number" ? (v > 0xffff ? `0x${v.toString(16)}` : String(v)) : String(v);

/** What each kind of value does as each C type: the first table of docs/bad-input.md. */
export function renderKindTable(): string {
  const types: Array<[CType, string]> = [
    ["size", "size_t"],
    ["ptr", "pointer"],
    ["int", "int"],
    ["off", "off64_t"],
    ["rlim", "rlim_t"],
  ];
  const lines = [`| value | ${types.map(([, t]) => t).join(" | ")} |`, `|---|${types.map(() => "---").join("|")}|`];
  for (const kind of KINDS) {
    const cells = types.map(([t]) => {
      const e = expected(t, kind);
      return "throws" in e ? e.throws : `as ${show(e.as)}`;
    });
    lines.push(`| ${kind.name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Every function and the C type of each argument: the second table of docs/bad-input.md. */
export function renderFunctionTable(): string {
  const lines = ["| function | arguments (C type) |", "|---|---|"];
  for (const fn of FUNCTIONS) {
    const params = fn.params.map((p) => `${p.name}: ${p.type}`).join(", ");
    lines.push(`| \`${fn.name}\` | ${params || "—"} |`);
  }
  return lines.join("\n");
}
