// A read-only view of a process's memory for the inspector. Raw reads through proc.memory: they
// neither fault nor make pages resident, so looking changes nothing (proc.read would count a
// minor fault and map the zero page). A word outside the memory reads as null, which is where a
// real load would take SIGSEGV; every walker treats null as the end of what it can follow.

export class MemoryView {
  readonly #view: DataView;
  readonly byteLength: number;

  constructor(memory: WebAssembly.Memory) {
    this.#view = new DataView(memory.buffer);
    this.byteLength = memory.buffer.byteLength;
  }

  /** The little-endian u32 at addr, or null when any of its bytes lies outside the memory. */
  u32(addr: number): number | null {
    if (!Number.isInteger(addr) || addr < 0 || addr + 4 > this.byteLength) return null;
    return this.#view.getUint32(addr, true);
  }

  /** The u16 at addr, or null outside the memory. */
  u16(addr: number): number | null {
    if (!Number.isInteger(addr) || addr < 0 || addr + 2 > this.byteLength) return null;
    return this.#view.getUint16(addr, true);
  }

  /** A copy of up to `length` bytes at addr (fewer at the end of the memory, none outside). */
  bytes(addr: number, length: number): Uint8Array {
    if (!Number.isInteger(addr) || addr < 0 || addr >= this.byteLength) return new Uint8Array(0);
    const end = Math.min(this.byteLength, addr + Math.max(0, length));
    return new Uint8Array(this.#view.buffer, addr, end - addr).slice();
  }
}

/** 0x-prefixed 8-digit hex, as /proc/self/maps and pwndbg print addresses. */
export function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}
