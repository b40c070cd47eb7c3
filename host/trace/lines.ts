// Text that arrives in pieces cut anywhere: whole lines go to the parser where they lie (no copy of
// the piece); only a line cut at the end of a piece is kept, and completed by the next one.
//
// A line is at most MAX_LINE bytes: a trace's lines are short, so a longer one is not a trace
// (a binary file with few newlines, a file of zeros), and carrying it on would copy it again with
// every piece and hold all of it.

const NL = 10;

/** The longest line a trace may have (bytes, newline excluded). */
export const MAX_LINE = 1 << 20;

export class LinePieces {
  #carry: Uint8Array | null = null;

  /**
   * `tooLong` is called (and must throw) when a line grows past MAX_LINE bytes without its
   * newline; it receives the line's first bytes.
   */
  constructor(private readonly tooLong: (head: Uint8Array) => never) {}

  /** Calls `lines(bytes, start, end)` for the whole lines of `bytes` (with what was carried). */
  push(bytes: Uint8Array, lines: (bytes: Uint8Array, start: number, end: number) => void): void {
    const last = bytes.lastIndexOf(NL);
    if (last < 0) {
      this.#carry = this.#carry ? concatBytes(this.#carry, bytes) : bytes.slice();
      if (this.#carry.length > MAX_LINE) this.tooLong(this.#carry.subarray(0, 200));
      return;
    }
    let from = 0;
    if (this.#carry) {
      const first = bytes.indexOf(NL);
      const line = concatBytes(this.#carry, bytes.subarray(0, first + 1));
      this.#carry = null;
      lines(line, 0, line.length);
      from = first + 1;
    }
    lines(bytes, from, last + 1);
    if (last + 1 < bytes.length) this.#carry = bytes.slice(last + 1);
  }

  /** Calls `lines` for a last line that had no newline, if any. */
  finish(lines: (bytes: Uint8Array, start: number, end: number) => void): void {
    const rest = this.#carry;
    this.#carry = null;
    if (rest && rest.length > 0) lines(rest, 0, rest.length);
  }
}

export function concatBytes(x: Uint8Array, y: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length + y.length);
  out.set(x, 0);
  out.set(y, x.length);
  return out;
}

/** Where bytes[start, end) has a byte no text trace has (a control byte other than tab and CR), or -1. */
export function binaryByteAt(bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if ((c < 32 && c !== 9 && c !== 13) || c === 127) return i;
  }
  return -1;
}

/**
 * The reason to give for a line that is not text, or null: a NUL or other control byte means the
 * input is binary (a gzip file in a second wrapper, an image, a core file), whatever its line says.
 */
export function binaryReason(bytes: Uint8Array, start: number, end: number): string | null {
  const at = binaryByteAt(bytes, start, end);
  if (at < 0) return null;
  const hex = bytes[at].toString(16).padStart(2, "0");
  return `binary data, not a text trace (byte 0x${hex} at column ${at - start + 1})`;
}

/** The reason for a line longer than MAX_LINE (binaryReason's when its start is binary). */
export function longLineReason(head: Uint8Array): string {
  const binary = binaryReason(head, 0, head.length);
  return `${binary !== null ? `${binary}; ` : ""}a line longer than ${MAX_LINE >> 20} MiB without a newline: not a trace`;
}

/** A line quoted for a one-line message: JSON, cut to about 100 characters (escapes included). */
export function quoteLine(text: string): string {
  const whole = JSON.stringify(text);
  if (whole.length <= 100) return whole;
  // cut inside the quotes, never in the middle of an escape such as \u0000
  const body = whole.slice(0, 99).replace(/\\u?[0-9a-fA-F]{0,3}$|\\$/, "");
  return `${body}…"`;
}
