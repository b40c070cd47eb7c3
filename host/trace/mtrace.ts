// glibc mtrace logs (malloc/mtrace-impl.c, glibc 2.36) → op lists (ops v1).
//
//   = Start
//   @ CALLER + ADDR SIZE      malloc, calloc, memalign family, realloc(NULL, n)
//   @ CALLER - ADDR           free(ADDR), realloc(ADDR, 0)
//   @ CALLER < OLD            realloc, first line ...
//   @ CALLER > NEW SIZE       ... second line
//   @ CALLER ! OLD SIZE       realloc that returned NULL
//   = End
//
// ADDR is %p ("(nil)" for NULL), SIZE is %#lx. "@ CALLER " is absent when the caller is unknown.
// Plain mtrace cannot tell calloc or memalign from malloc; logs recorded through a preload library
// whose entry points are named `mtrx_calloc` and `mtrx_al_K` (alignment 2^K; `mtrx_al_np` for an
// alignment above 2^31) carry that in CALLER, and become `c ID 1 SIZE` and `a ID 2^K SIZE`.
//
// The conversion keeps a table of live addresses and rewrites what an op list cannot say:
//   free of an address not allocated while tracing     dropped          (skippedFreeUnknown)
//   realloc of such an address                          written as `m`   (reallocUnknownAsMalloc)
//   allocation returning NULL, failed realloc (`!`)     dropped          (nullAllocations, failedReallocs)
//   allocation at an address still live (threads)       `f OLDID` first  (implicitFreeReusedAddr)

import { parseOps, type OpList } from "./ops.js";

export interface MtraceCounts {
  lines: number;
  allocations: number;
  frees: number;
  reallocs: number;
  skippedFreeUnknown: number;
  reallocUnknownAsMalloc: number;
  nullAllocations: number;
  failedReallocs: number;
  implicitFreeReusedAddr: number;
  /** Lines that are not mtrace records (kept out of the op list). */
  unrecognized: number;
}

export interface MtraceConversion {
  /** The op list as ops v1 text, starting with the `# ops v1` header comment. */
  ops: string;
  counts: MtraceCounts;
}

export class MtraceSyntaxError extends Error {
  constructor(readonly line: number, reason: string, text: string) {
    super(`mtrace line ${line}: ${reason}: ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text)}`);
    this.name = "MtraceSyntaxError";
  }
}

const CALLER_TAG = /\(mtrx_(calloc|al_(\d+|np))[+-]/;

/** Parses `%#lx` (0 prints as "0"). */
function hexSize(text: string): number {
  const v = text === "0" ? 0 : text.startsWith("0x") ? parseInt(text.slice(2), 16) : NaN;
  return v;
}

/**
 * Converts an mtrace log (text, or UTF-8 bytes) to an op list in ops v1 text.
 * `source` becomes a `# source:` comment line when given.
 */
export function convertMtrace(input: string | Uint8Array, options: { source?: string } = {}): MtraceConversion {
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  const counts: MtraceCounts = {
    lines: 0,
    allocations: 0,
    frees: 0,
    reallocs: 0,
    skippedFreeUnknown: 0,
    reallocUnknownAsMalloc: 0,
    nullAllocations: 0,
    failedReallocs: 0,
    implicitFreeReusedAddr: 0,
    unrecognized: 0,
  };
  const out: string[] = ["# ops v1 (format: FORMAT.md)"];
  if (options.source !== undefined) out.push(`# source: ${options.source}`);
  const live = new Map<string, number>(); // address text → ID
  let nextId = 0;
  let pendingOld: string | null = null; // the `<` line's OLD, waiting for its `>`
  let lineNo = 0;

  const allocate = (addr: string): number => {
    const old = live.get(addr);
    if (old !== undefined) {
      counts.implicitFreeReusedAddr++;
      out.push(`f ${old}`);
    }
    const id = nextId++;
    live.set(addr, id);
    return id;
  };

  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    start = end + 1;
    lineNo++;
    if (line.length === 0) continue;
    counts.lines++;
    if (line.startsWith("= ")) continue; // = Start, = End
    // the record is at the end of the line: "OP ADDR SIZE" or "OP ADDR" (CALLER may hold spaces)
    const s1 = line.lastIndexOf(" ");
    const s2 = s1 > 0 ? line.lastIndexOf(" ", s1 - 1) : -1;
    const s3 = s2 > 0 ? line.lastIndexOf(" ", s2 - 1) : -2;
    let op: string, addr: string, size = NaN;
    const op3 = s2 >= 0 && s2 - s3 === 2 ? line[s2 - 1] : "";
    const op2 = s1 >= 0 && s1 - s2 === 2 ? line[s1 - 1] : "";
    if (op3 === "+" || op3 === ">" || op3 === "!") {
      op = op3;
      addr = line.slice(s2 + 1, s1);
      size = hexSize(line.slice(s1 + 1));
      if (Number.isNaN(size)) throw new MtraceSyntaxError(lineNo, "bad size", line);
    } else if (op2 === "-" || op2 === "<") {
      op = op2;
      addr = line.slice(s1 + 1);
    } else {
      counts.unrecognized++;
      continue;
    }
    const caller = line.startsWith("@ ") && line.includes("mtrx_") ? line : "";
    switch (op) {
      case "+": {
        if (addr === "(nil)") {
          counts.nullAllocations++;
          break;
        }
        counts.allocations++;
        const tag = caller ? CALLER_TAG.exec(caller) : null;
        const id = allocate(addr);
        if (tag === null) {
          out.push(`m ${id} ${size}`);
        } else if (tag[1] === "calloc") {
          out.push(`c ${id} 1 ${size}`);
        } else {
          const align = tag[2] === "np" ? 0 : 2 ** Number(tag[2]);
          out.push(`a ${id} ${align} ${size}`);
        }
        break;
      }
      case "-": {
        const id = live.get(addr);
        if (id === undefined) {
          counts.skippedFreeUnknown++;
          break;
        }
        counts.frees++;
        live.delete(addr);
        out.push(`f ${id}`);
        break;
      }
      case "<":
        pendingOld = addr;
        break;
      case ">": {
        if (pendingOld === null) throw new MtraceSyntaxError(lineNo, "realloc `>` without its `<`", line);
        const oldAddr = pendingOld;
        pendingOld = null;
        counts.reallocs++;
        const oldId = live.get(oldAddr);
        if (oldId !== undefined) live.delete(oldAddr);
        const id = allocate(addr);
        if (oldId === undefined) {
          counts.reallocUnknownAsMalloc++;
          out.push(`m ${id} ${size}`);
        } else {
          out.push(`r ${id} ${oldId} ${size}`);
        }
        break;
      }
      case "!":
        counts.failedReallocs++;
        break;
    }
  }
  return { ops: out.join("\n") + "\n", counts };
}

/** Parses an mtrace log straight into an op list (see convertMtrace). */
export function parseMtrace(input: string | Uint8Array, options: { source?: string } = {}): OpList {
  return parseOps(convertMtrace(input, options).ops);
}

/** True if the text (or bytes) looks like an mtrace log rather than an op list. */
export function isMtrace(input: string | Uint8Array): boolean {
  const head = typeof input === "string" ? input.slice(0, 4096) : new TextDecoder().decode(input.subarray(0, 4096));
  for (const line of head.split("\n")) {
    if (line === "" || (line.startsWith("#") && !line.startsWith("# "))) continue;
    if (line.startsWith("#")) return false;
    return line.startsWith("= ") || line.startsWith("@ ") || /^[+<>!-] /.test(line) || /^\[0x[0-9a-f]+\] /.test(line);
  }
  return false;
}

/** Parses a trace in either format: an op list (ops v1) or a glibc mtrace log. */
export function parseTrace(input: string | Uint8Array): OpList {
  return isMtrace(input) ? parseMtrace(input) : parseOps(input);
}
