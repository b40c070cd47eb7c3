// Text output written as bytes into one large buffer, handed on whole when full: replay outputs
// run to tens of megabytes, and building them as JS strings (a string per line, then a join)
// costs more than the replay itself. Numbers are written digit by digit, without strings.

const encoder = new TextEncoder();
const SPACE = 32;

export class ByteWriter {
  /** The buffer and how much of it is filled: hot writers (replay lines) use them directly. */
  buf: Uint8Array;
  n = 0;
  readonly #size: number;

  /**
   * `flush` receives each full buffer (and the last one from `flush()`); the writer never touches
   * a buffer again after handing it on, so the receiver may keep it.
   */
  constructor(
    private readonly onFlush: (bytes: Uint8Array) => void,
    size = 1 << 20,
  ) {
    this.#size = size;
    this.buf = new Uint8Array(size);
  }

  /** Bytes waiting in the buffer. */
  get pending(): number {
    return this.n;
  }

  /** Makes room for `k` bytes (k at most the buffer size), flushing if needed. */
  reserve(k: number): this {
    if (this.n + k > this.buf.length) this.flush();
    return this;
  }

  flush(): void {
    if (this.n === 0) return;
    const full = this.buf.subarray(0, this.n);
    this.buf = new Uint8Array(this.#size);
    this.n = 0;
    this.onFlush(full);
  }

  /** One byte, room already reserved. */
  byteUnchecked(c: number): this {
    this.buf[this.n++] = c;
    return this;
  }

  byte(c: number): this {
    if (this.n >= this.buf.length) this.flush();
    this.buf[this.n++] = c;
    return this;
  }

  sp(): this {
    this.buf[this.n++] = SPACE;
    return this;
  }

  /** An unsigned integer below 2^53 in decimal (room for 16 bytes must be reserved). */
  u32(v: number): this {
    const buf = this.buf;
    if (v < 10) {
      buf[this.n++] = 48 + v;
      return this;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.n + digits;
    this.n = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - q * 10);
      v = q;
    }
    buf[--p] = 48 + v;
    return this;
  }

  /** A signed integer (room for 17 bytes must be reserved). */
  i32(v: number): this {
    if (v < 0) {
      this.buf[this.n++] = 45;
      v = -v;
    }
    return this.u32(v);
  }

  /** An integer of any size, reserving room itself. */
  num(v: number): this {
    this.reserve(24);
    return v < 0 ? this.i32(v) : this.u32(v);
  }

  /** ASCII text (reserves room itself). */
  ascii(s: string): this {
    const len = s.length;
    if (len > this.#size) return this.text(s);
    this.reserve(len);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) buf[n++] = s.charCodeAt(i);
    this.n = n;
    return this;
  }

  /** Any text, as UTF-8 (reserves room itself). */
  text(s: string): this {
    if (s.length * 3 > this.buf.length - this.n) {
      this.flush();
      if (s.length * 3 > this.buf.length) {
        this.onFlush(encoder.encode(s));
        return this;
      }
    }
    this.n += encoder.encodeInto(s, this.buf.subarray(this.n)).written;
    return this;
  }
}
