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
// alignment above 2^31) carry that in CALLER, and become `c ID 1 SIZE` and `a ID 2^K SIZE`
// (`ptmalloc-wasm record` builds such a library: host/cli/record.ts).
//
// The conversion keeps a table of live addresses and rewrites what an op list cannot say:
//   free of an address not allocated while tracing     dropped          (skippedFreeUnknown)
//   realloc of such an address                          written as `m`   (reallocUnknownAsMalloc)
//   allocation returning NULL, failed realloc (`!`)     dropped          (nullAllocations, failedReallocs)
//   allocation at an address still live (threads)       `f OLDID` first  (implicitFreeReusedAddr)
//   a SIZE past 32 bits (a 64-bit program's request)    SIZE 4294967295  (sizesPast32Bits)
// The last one: no 32-bit process can ask for 4 GiB or more; the closest request it can make is
// SIZE_MAX, which the i386 glibc refuses (NULL, ENOMEM) as it would refuse any size it cannot
// serve. So the op replays as the failure the request must be, and later frees of its ID are
// free(NULL).
//
// The converter reads its input in pieces (`push`), and hands out the ops converted so far
// (`take`), so that a log of any size converts and replays in bounded memory: what it keeps is
// the table of live addresses.

import { ByteWriter } from "./bytewriter.js";
import { OpSink, parseOps, writeOps, type OpList } from "./ops.js";

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
  sizesPast32Bits: number;
  /** Lines that are not mtrace records: always 0 (such a line is an MtraceSyntaxError). */
  unrecognized: number;
}

export interface MtraceConversion {
  /** The op list as ops v1 text, starting with the `# ops v1` header comment. */
  ops: string;
  counts: MtraceCounts;
}

/** A line of an mtrace log that is not an mtrace record. `line` is 1-based. */
export class MtraceSyntaxError extends Error {
  readonly reason: string;
  readonly text: string;
  constructor(readonly line: number, reason: string, text: string) {
    const shown = JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text);
    super(`mtrace line ${line}: ${reason}: ${shown}`);
    this.name = "MtraceSyntaxError";
    this.reason = reason;
    this.text = shown;
  }
}

const CALLER_TAG = /\(mtrx_(calloc|al_(\d+|np))[+-]/;
const RECORDS = `"@ CALLER + ADDR SIZE", "- ADDR", "< OLD", "> NEW SIZE", "! OLD SIZE" or "= Start"`;
const SIZE_MAX32 = 0xffffffff;

/** Streaming mtrace → ops converter. */
export class MtraceConverter {
  readonly counts: MtraceCounts = {
    lines: 0, allocations: 0, frees: 0, reallocs: 0, skippedFreeUnknown: 0, reallocUnknownAsMalloc: 0,
    nullAllocations: 0, failedReallocs: 0, implicitFreeReusedAddr: 0, sizesPast32Bits: 0, unrecognized: 0,
  };
  readonly #sink = new OpSink();
  /** Address (a number when it fits 52 bits exactly, else its text) → live ID. */
  readonly #live = new Map<number | string, number>();
  #pendingOld: number | string | null = null; // the `<` line's OLD, waiting for its `>`
  #pendingLine = 0;
  #lineNo = 0;
  #carry = "";
  readonly #latin1 = new TextDecoder("latin1");

  constructor(options: { source?: string } = {}) {
    this.#sink.comments.push("ops v1 (format: FORMAT.md)");
    if (options.source !== undefined) this.#sink.comments.push(`source: ${options.source}`);
  }

  /** Lines read so far. */
  get lines(): number {
    return this.#lineNo;
  }

  push(piece: Uint8Array | string): void {
    // latin1 keeps one char per byte: CALLER may hold any bytes, the records are ASCII.
    const text = this.#carry + (typeof piece === "string" ? piece : this.#latin1.decode(piece));
    const last = text.lastIndexOf("\n");
    if (last < 0) {
      this.#carry = text;
      return;
    }
    this.#carry = text.slice(last + 1);
    this.#lines(text, last + 1);
  }

  /** Converts a last line without a newline, if any, and checks the log ended cleanly. */
  finish(): void {
    if (this.#carry.length > 0) {
      const rest = this.#carry;
      this.#carry = "";
      this.#lines(rest, rest.length);
    }
    if (this.#pendingOld !== null) {
      throw new MtraceSyntaxError(this.#pendingLine, "realloc `<` line without the `>` line that must follow it (is the log cut short?)", "");
    }
  }

  /** The whole op list (after `finish`). */
  list(): OpList {
    return this.#sink.list();
  }

  /** The ops converted since the last take (see OpSink.take). */
  take(): OpList {
    return this.#sink.take();
  }

  #lines(text: string, end: number): void {
    let start = 0;
    while (start < end) {
      let eol = text.indexOf("\n", start);
      if (eol < 0 || eol > end) eol = end;
      const line = text.charCodeAt(eol - 1) === 13 ? text.slice(start, eol - 1) : text.slice(start, eol);
      start = eol + 1;
      this.#lineNo++;
      if (line.length !== 0) this.#line(line);
    }
  }

  #allocate(key: number | string): number {
    const sink = this.#sink;
    const old = this.#live.get(key);
    if (old !== undefined) {
      this.counts.implicitFreeReusedAddr++;
      sink.add(4 /* FREE */, old, 0, 0, 0, this.#lineNo);
    }
    const id = sink.ids++;
    this.#live.set(key, id);
    return id;
  }

  #size(text: string, line: string): number {
    if (text === "0") return 0;
    let from = 2;
    if (text.length < 3 || text.charCodeAt(0) !== 48 || text.charCodeAt(1) !== 120) {
      throw new MtraceSyntaxError(this.#lineNo, `SIZE ${JSON.stringify(text)} is not %#lx hex (expected ${RECORDS})`, line);
    }
    while (from < text.length - 1 && text.charCodeAt(from) === 48) from++;
    const digits = text.slice(from);
    if (!/^[0-9a-fA-F]+$/.test(digits)) {
      throw new MtraceSyntaxError(this.#lineNo, `SIZE ${JSON.stringify(text)} is not %#lx hex (expected ${RECORDS})`, line);
    }
    if (digits.length > 16) throw new MtraceSyntaxError(this.#lineNo, `SIZE ${text} is past 64 bits`, line);
    if (digits.length > 8) {
      this.counts.sizesPast32Bits++;
      return SIZE_MAX32;
    }
    return parseInt(digits, 16);
  }

  #address(text: string, line: string): number | string {
    if (text === "(nil)") return 0;
    if (text.length < 3 || text.charCodeAt(0) !== 48 || text.charCodeAt(1) !== 120 || !/^0x[0-9a-fA-F]+$/.test(text)) {
      throw new MtraceSyntaxError(this.#lineNo, `ADDR ${JSON.stringify(text)} is not a %p address (expected ${RECORDS})`, line);
    }
    return text.length <= 15 ? parseInt(text.slice(2), 16) : text.toLowerCase();
  }

  #line(line: string): void {
    const counts = this.counts;
    const sink = this.#sink;
    counts.lines++;
    if (line.startsWith("= ")) return; // = Start, = End
    // the record is at the end of the line: "OP ADDR SIZE" or "OP ADDR" (CALLER may hold spaces)
    const s1 = line.lastIndexOf(" ");
    const s2 = s1 > 0 ? line.lastIndexOf(" ", s1 - 1) : -1;
    const s3 = s2 > 0 ? line.lastIndexOf(" ", s2 - 1) : -2;
    let op: string, addrText: string, size = 0;
    const op3 = s2 >= 0 && s2 - s3 === 2 ? line[s2 - 1] : "";
    const op2 = s1 >= 0 && s1 - s2 === 2 ? line[s1 - 1] : "";
    if (op3 === "+" || op3 === ">" || op3 === "!") {
      op = op3;
      addrText = line.slice(s2 + 1, s1);
      size = this.#size(line.slice(s1 + 1), line);
    } else if (op2 === "-" || op2 === "<") {
      op = op2;
      addrText = line.slice(s1 + 1);
    } else {
      throw new MtraceSyntaxError(this.#lineNo, `not an mtrace record (expected ${RECORDS})`, line);
    }
    const addr = this.#address(addrText, line);
    const lineNo = this.#lineNo;
    switch (op) {
      case "+": {
        if (addr === 0) {
          counts.nullAllocations++;
          break;
        }
        counts.allocations++;
        const tag = line.startsWith("@ ") && line.includes("mtrx_") ? CALLER_TAG.exec(line) : null;
        const id = this.#allocate(addr);
        if (tag === null) {
          sink.add(0 /* MALLOC */, id, size, 0, 0, lineNo);
        } else if (tag[1] === "calloc") {
          sink.add(1 /* CALLOC */, id, 1, size, 0, lineNo);
        } else {
          const k = tag[2] === "np" ? 32 : Number(tag[2]);
          sink.add(2 /* MEMALIGN */, id, k >= 32 ? 0 : 2 ** k, size, 0, lineNo);
        }
        break;
      }
      case "-": {
        const id = this.#live.get(addr);
        if (id === undefined) {
          counts.skippedFreeUnknown++;
          break;
        }
        counts.frees++;
        this.#live.delete(addr);
        sink.add(4 /* FREE */, id, 0, 0, 0, lineNo);
        break;
      }
      case "<":
        this.#pendingOld = addr;
        this.#pendingLine = lineNo;
        break;
      case ">": {
        if (this.#pendingOld === null) throw new MtraceSyntaxError(lineNo, "realloc `>` line without the `<` line before it", line);
        const oldAddr = this.#pendingOld;
        this.#pendingOld = null;
        counts.reallocs++;
        const oldId = this.#live.get(oldAddr);
        if (oldId !== undefined) this.#live.delete(oldAddr);
        const id = this.#allocate(addr);
        if (oldId === undefined) {
          counts.reallocUnknownAsMalloc++;
          sink.add(0 /* MALLOC */, id, size, 0, 0, lineNo);
        } else {
          sink.add(3 /* REALLOC */, id, oldId, size, 0, lineNo);
        }
        break;
      }
      case "!":
        this.#pendingOld = null;
        counts.failedReallocs++;
        break;
    }
  }
}

/**
 * Converts an mtrace log (text, or UTF-8 bytes) to an op list in ops v1 text.
 * `source` becomes a `# source:` comment line when given.
 */
export function convertMtrace(input: string | Uint8Array, options: { source?: string } = {}): MtraceConversion {
  const converter = new MtraceConverter(options);
  converter.push(input);
  converter.finish();
  const list = converter.list();
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const out = new ByteWriter((bytes) => chunks.push(decoder.decode(bytes)));
  for (const c of list.comments) out.ascii("# ").text(c).byte(10);
  writeOps(out, list);
  out.flush();
  return { ops: chunks.join(""), counts: converter.counts };
}

/** Parses an mtrace log straight into an op list (see convertMtrace); line numbers are the log's. */
export function parseMtrace(input: string | Uint8Array, options: { source?: string } = {}): OpList {
  const converter = new MtraceConverter(options);
  converter.push(input);
  converter.finish();
  return converter.list();
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

