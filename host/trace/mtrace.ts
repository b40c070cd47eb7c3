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

import { AddressTable } from "./addresstable.js";
import { ByteWriter } from "./bytewriter.js";
import { binaryReason, LinePieces, longLineReason, quoteLine } from "./lines.js";
import { OpSink, parseOps, writeOps, type OpList } from "./ops.js";

/** What converting an mtrace log kept, dropped and rewrote (docs/formats.md, "Conversion"). */
export interface MtraceCounts {
  /** Lines of the log read. */
  lines: number;
  /** `+` records that became an allocating op (m, c or a). */
  allocations: number;
  /** `-` records that became an `f` op. */
  frees: number;
  /** `<`/`>` pairs that became an `r` op. */
  reallocs: number;
  /** `-` of an address not allocated while tracing: dropped. */
  skippedFreeUnknown: number;
  /** `<`/`>` of an address not allocated while tracing: replayed as `m NEWID SIZE`. */
  reallocUnknownAsMalloc: number;
  /** `+ (nil)` records (a failed allocation): dropped. */
  nullAllocations: number;
  /** `!` records (a realloc that returned NULL): dropped. */
  failedReallocs: number;
  /** `+` at an address still live (threads racing): an `f` of the old ID inserted first. */
  implicitFreeReusedAddr: number;
  /** Sizes of 2^32 or more (a 64-bit program's), written as 4294967295 (SIZE_MAX of i386). */
  sizesPast32Bits: number;
  /** Lines that are not mtrace records: always 0 (such a line is an MtraceSyntaxError). */
  unrecognized: number;
}

/** convertMtrace's answer. */
export interface MtraceConversion {
  /** The op list as ops v1 text, starting with the `# ops v1` header comment. */
  ops: string;
  /** What the conversion kept, dropped and rewrote. */
  counts: MtraceCounts;
}

/** A line of an mtrace log that is not an mtrace record. `line` is 1-based. */
export class MtraceSyntaxError extends Error {
  /** What was expected instead. */
  readonly reason: string;
  /** The offending line, quoted as JSON (cut at 80 characters). */
  readonly text: string;
  constructor(
    /** The log's line number (1-based). */
    readonly line: number,
    reason: string,
    text: string,
  ) {
    const shown = quoteLine(text);
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
  readonly #live = new AddressTable();
  #pendingOld: number | string | null = null; // the `<` line's OLD, waiting for its `>`
  #pendingLine = 0;
  #lineNo = 0;
  readonly #pieces = new LinePieces((head) => {
    throw new MtraceSyntaxError(this.#lineNo + 1, longLineReason(head), this.#latin1.decode(head));
  });
  readonly #convert = (bytes: Uint8Array, start: number, end: number) => this.#lines(bytes, start, end);
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
    this.#pieces.push(typeof piece === "string" ? new TextEncoder().encode(piece) : piece, this.#convert);
  }

  /** Converts a last line without a newline, if any, and checks the log ended cleanly. */
  finish(): void {
    this.#pieces.finish(this.#convert);
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

  /** Lines in b[start, end); the last one may end at `end` without a newline. */
  #lines(b: Uint8Array, start: number, end: number): void {
    let p = start;
    while (p < end) {
      let eol = b.indexOf(NL, p);
      if (eol < 0 || eol > end) eol = end;
      const lineEnd = eol > p && b[eol - 1] === CR ? eol - 1 : eol;
      this.#lineNo++;
      if (lineEnd > p) this.#line(b, p, lineEnd);
      p = eol + 1;
    }
  }

  #allocate(key: number | string): number {
    const sink = this.#sink;
    const id = sink.ids++;
    const old = this.#live.set(key, id);
    if (old >= 0) {
      this.counts.implicitFreeReusedAddr++;
      sink.add(4 /* FREE */, old, 0, 0, 0, this.#lineNo);
    }
    return id;
  }

  #fail(reason: string, b: Uint8Array, start: number, end: number): never {
    // a line with a control byte in it: the input is binary, whatever else is wrong with the line
    const binary = binaryReason(b, start, end);
    throw new MtraceSyntaxError(this.#lineNo, binary ?? reason, this.#latin1.decode(b.subarray(start, end)));
  }

  /** SIZE (%#lx: "0" or 0x and hex digits) in b[from, to); past 32 bits: SIZE_MAX (see above). */
  #size(b: Uint8Array, from: number, to: number, start: number, end: number): number {
    if (to - from === 1 && b[from] === ZERO) return 0;
    if (to - from < 3 || b[from] !== ZERO || b[from + 1] !== LOWER_X) {
      this.#fail(`SIZE ${JSON.stringify(this.#latin1.decode(b.subarray(from, to)))} is not %#lx hex (expected ${RECORDS})`, b, start, end);
    }
    let i = from + 2;
    while (i < to - 1 && b[i] === ZERO) i++;
    let v = 0;
    for (let k = i; k < to; k++) {
      const h = HEX[b[k]];
      if (h === 255) this.#fail(`SIZE ${JSON.stringify(this.#latin1.decode(b.subarray(from, to)))} is not %#lx hex (expected ${RECORDS})`, b, start, end);
      v = v * 16 + h;
    }
    const digits = to - i;
    if (digits > 16) this.#fail(`SIZE ${this.#latin1.decode(b.subarray(from, to))} is past 64 bits`, b, start, end);
    if (digits > 8) {
      this.counts.sizesPast32Bits++;
      return SIZE_MAX32;
    }
    return v;
  }

  /** ADDR (%p: "(nil)", or 0x and hex digits): a number when it is exact (52 bits), else its text. */
  #address(b: Uint8Array, from: number, to: number, start: number, end: number): number | string {
    if (to - from === 5 && b[from] === 40 /* ( */ && b[from + 1] === 110 /* n */ && b[from + 4] === 41 /* ) */) return 0;
    let ok = to - from >= 3 && b[from] === ZERO && b[from + 1] === LOWER_X;
    let v = 0;
    for (let k = from + 2; ok && k < to; k++) {
      const h = HEX[b[k]];
      if (h === 255) ok = false;
      v = v * 16 + h;
    }
    if (!ok) this.#fail(`ADDR ${JSON.stringify(this.#latin1.decode(b.subarray(from, to)))} is not a %p address (expected ${RECORDS})`, b, start, end);
    return to - from <= 15 ? v : this.#latin1.decode(b.subarray(from, to)).toLowerCase();
  }

  #line(b: Uint8Array, start: number, end: number): void {
    const counts = this.counts;
    const sink = this.#sink;
    counts.lines++;
    if (b[start] === EQUALS && b[start + 1] === SPACE) return; // = Start, = End
    // the record is at the end of the line: "OP ADDR SIZE" or "OP ADDR" (CALLER may hold spaces)
    const s1 = lastSpace(b, start, end);
    const s2 = s1 > start ? lastSpace(b, start, s1) : start - 1;
    const s3 = s2 > start ? lastSpace(b, start, s2) : start - 2;
    const op3 = s2 >= start && s2 - s3 === 2 ? b[s2 - 1] : 0;
    const op2 = s1 >= start && s1 - s2 === 2 ? b[s1 - 1] : 0;
    let op: number, addr: number | string, size = 0;
    if (op3 === PLUS || op3 === GT || op3 === BANG) {
      op = op3;
      addr = this.#address(b, s2 + 1, s1, start, end);
      size = this.#size(b, s1 + 1, end, start, end);
    } else if (op2 === MINUS || op2 === LT) {
      op = op2;
      addr = this.#address(b, s1 + 1, end, start, end);
    } else {
      this.#fail(`not an mtrace record (expected ${RECORDS})`, b, start, end);
    }
    const lineNo = this.#lineNo;
    switch (op) {
      case PLUS: {
        if (addr === 0) {
          counts.nullAllocations++;
          break;
        }
        counts.allocations++;
        let tag: RegExpExecArray | null = null;
        if (b[start] === AT && hasTag(b, start, s2)) tag = CALLER_TAG.exec(this.#latin1.decode(b.subarray(start, s2)));
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
      case MINUS: {
        const id = this.#live.delete(addr);
        if (id < 0) {
          counts.skippedFreeUnknown++;
          break;
        }
        counts.frees++;
        sink.add(4 /* FREE */, id, 0, 0, 0, lineNo);
        break;
      }
      case LT:
        this.#pendingOld = addr;
        this.#pendingLine = lineNo;
        break;
      case GT: {
        if (this.#pendingOld === null) this.#fail("realloc `>` line without the `<` line before it", b, start, end);
        const oldAddr = this.#pendingOld;
        this.#pendingOld = null;
        counts.reallocs++;
        const oldId = this.#live.delete(oldAddr);
        const id = this.#allocate(addr);
        if (oldId < 0) {
          counts.reallocUnknownAsMalloc++;
          sink.add(0 /* MALLOC */, id, size, 0, 0, lineNo);
        } else {
          sink.add(3 /* REALLOC */, id, oldId, size, 0, lineNo);
        }
        break;
      }
      case BANG:
        this.#pendingOld = null;
        counts.failedReallocs++;
        break;
    }
  }
}

const NL = 10, CR = 13, SPACE = 32, ZERO = 48, LOWER_X = 120, EQUALS = 61, AT = 64;
const PLUS = 43, MINUS = 45, LT = 60, GT = 62, BANG = 33;
/** Hex digit values by byte (255: not a hex digit). */
const HEX = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) t[65 + i] = t[97 + i] = 10 + i;
  return t;
})();
const TAG = [109, 116, 114, 120, 95]; // "mtrx_"

function lastSpace(b: Uint8Array, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (b[i] === SPACE) return i;
  return start - 1;
}

/** Does b[start, end) contain "mtrx_"? */
function hasTag(b: Uint8Array, start: number, end: number): boolean {
  // a plain loop: indexOf would search past `end`, through the rest of the input
  for (let i = start; i + 5 <= end; i++) {
    if (b[i] === TAG[0] && b[i + 1] === TAG[1] && b[i + 2] === TAG[2] && b[i + 3] === TAG[3] && b[i + 4] === TAG[4]) return true;
  }
  return false;
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

