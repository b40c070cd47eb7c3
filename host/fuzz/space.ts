// A process's memory as the fuzzer reads and writes it: by the process's own addresses. In an i386
// process an address is the byte's offset in the memory (one identity window). In an x86_64 one the
// kernel keeps the address space in a few windows fixed at exec (docs/x86_64-layout.md): a range
// that one window holds whole is a run of the memory at that window's offset, read and written
// raw, as fast as on i386. Anything else (a far page, which no window holds) goes through the
// process: `offsetOf` looks a page up without faulting it in (a page that is not present reads as
// zeros), and `write` stores as the program would.
//
//   addr ──(window w: w.va ≤ addr, addr + n ≤ w.va + w.length)──▶ w.offset + (addr − w.va)
//        └─(no window)──▶ per page: proc.offsetOf (reads) / proc.write (stores)

export interface Window {
  readonly va: number;
  readonly offset: number;
  readonly length: number;
}

/** What the space needs of a process: its memory, and (x86_64) the per-page way for far pages. */
export interface SpaceProcess {
  readonly memory: WebAssembly.Memory;
  offsetOf(addr: number): number;
  write(addr: number, bytes: Uint8Array): void;
}

const PAGE = 4096;
const TWO_32 = 2 ** 32;

export class Space {
  #u8: Uint8Array;
  #u32: Uint32Array;
  readonly #windows: readonly Window[];
  readonly #one: Window | null;

  constructor(
    readonly proc: SpaceProcess,
    windows: readonly Window[],
    /** SIZE_SZ: 4 or 8. */
    readonly wordBytes: 4 | 8,
  ) {
    this.#windows = windows;
    this.#one = windows.length === 1 ? windows[0] : null;
    this.#u8 = new Uint8Array(proc.memory.buffer);
    this.#u32 = new Uint32Array(proc.memory.buffer);
  }

  /** The memory as bytes (a new view after the memory grew). */
  get u8(): Uint8Array {
    if (this.#u8.byteLength === 0) this.#views();
    return this.#u8;
  }

  /** The memory as words (little-endian u32), refreshed as u8 is. */
  get u32(): Uint32Array {
    if (this.#u8.byteLength === 0) this.#views();
    return this.#u32;
  }

  #views(): void {
    this.#u8 = new Uint8Array(this.proc.memory.buffer);
    this.#u32 = new Uint32Array(this.proc.memory.buffer);
  }

  /** The offset of [addr, addr + n) when one window holds all of it, else -1 (n ≥ 1). */
  base(addr: number, n: number): number {
    const one = this.#one;
    if (one !== null) return addr >= one.va && addr + n <= one.va + one.length ? addr - one.va + one.offset : -1;
    for (const w of this.#windows) if (addr >= w.va && addr + n <= w.va + w.length) return addr - w.va + w.offset;
    return -1;
  }

  /** The offset of the byte at addr, good to the end of its page; -1 when it is not present. */
  #lookup(addr: number): number {
    const at = this.base(addr, 1);
    return at >= 0 ? at : this.proc.offsetOf(addr);
  }

  /** The unsigned C word (SIZE_SZ bytes, word-aligned) at addr: exact below 2^53. */
  word(addr: number): number {
    const at = this.base(addr, this.wordBytes);
    if (at < 0) return this.#slowWord(addr);
    const u32 = this.u32;
    return this.wordBytes === 4 ? u32[at >>> 2] : u32[at >>> 2] + u32[(at >>> 2) + 1] * TWO_32;
  }

  /** The 4-byte int at addr (unsigned). */
  u32At(addr: number): number {
    const at = this.base(addr, 4);
    return at >= 0 ? this.u32[at >>> 2] : this.#slowU32(addr);
  }

  #slowU32(addr: number): number {
    let v = 0;
    for (let i = 3; i >= 0; i--) v = v * 256 + this.byte(addr + i);
    return v;
  }

  #slowWord(addr: number): number {
    return this.wordBytes === 4 ? this.#slowU32(addr) : this.#slowU32(addr) + this.#slowU32(addr + 4) * TWO_32;
  }

  /** The byte at addr (0 for a page that is not present). */
  byte(addr: number): number {
    const at = this.#lookup(addr);
    return at >= 0 ? this.u8[at] : 0;
  }

  /** Stores one byte at addr, as the program would. */
  setByte(addr: number, value: number): void {
    const at = this.base(addr, 1);
    if (at >= 0) this.u8[at] = value;
    else this.proc.write(addr, Uint8Array.of(value));
  }

  /** A copy of the bytes [addr, addr + n), page by page (zeros where a page is not present). */
  read(addr: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; ) {
      const run = Math.min(n - i, PAGE - ((addr + i) % PAGE));
      const at = this.#lookup(addr + i);
      if (at >= 0) out.set(this.u8.subarray(at, at + run), i);
      i += run;
    }
    return out;
  }

  /** Stores bytes at addr: raw where a window holds them, else as the program would. */
  write(addr: number, bytes: Uint8Array): void {
    const at = this.base(addr, Math.max(1, bytes.length));
    if (at >= 0) this.u8.set(bytes, at);
    else this.proc.write(addr, bytes);
  }
}
