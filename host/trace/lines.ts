// Text that arrives in pieces cut anywhere: whole lines go to the parser where they lie (no copy of
// the piece); only a line cut at the end of a piece is kept, and completed by the next one.

const NL = 10;

export class LinePieces {
  #carry: Uint8Array | null = null;

  /** Calls `lines(bytes, start, end)` for the whole lines of `bytes` (with what was carried). */
  push(bytes: Uint8Array, lines: (bytes: Uint8Array, start: number, end: number) => void): void {
    const last = bytes.lastIndexOf(NL);
    if (last < 0) {
      this.#carry = this.#carry ? concatBytes(this.#carry, bytes) : bytes.slice();
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
