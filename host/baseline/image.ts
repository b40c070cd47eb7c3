// The program image's initialized data: the bytes the Wasm module's data segments write into the
// memory when it is instantiated (glibc's statics in the module's layout, the message strings, …).
// The twin writes the very same bytes, so a fresh twin process has the same memory — and so the
// same resident data pages, VmRSS included — as a fresh Wasm one. The segments are read once from
// the release module's binary (the x86-64 one's for an x86-64 process) (the data section: active segments at i32.const offsets).

import { decodeBase64 } from "../allocator.js";
import { releaseWasmBase64 } from "../generated/wasm-release.js";
import { release64WasmBase64 } from "../generated/wasm-release64.js";

interface Segment { offset: number; bytes: Uint8Array }

let segments: Segment[] | null = null;
let segments64: Segment[] | null = null;

function readSegments(bin: Uint8Array): Segment[] {
  let pos = 8; // magic, version
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bin[pos++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  };
  const sleb32 = (): number => {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = bin[pos++];
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 32 && (b & 0x40) !== 0) result |= -1 << shift;
    return result >>> 0;
  };
  const out: Segment[] = [];
  while (pos < bin.length) {
    const id = bin[pos++];
    const size = leb();
    const end = pos + size;
    if (id === 11) {
      for (let n = leb(); n > 0; n--) {
        const flags = leb();
        if (flags === 1) throw new Error("image: passive data segment"); // not emitted by asc here
        if (flags === 2) leb(); // memory index
        if (bin[pos++] !== 0x41) throw new Error("image: data segment offset is not an i32.const");
        const offset = sleb32();
        if (bin[pos++] !== 0x0b) throw new Error("image: data segment offset expression too long");
        const len = leb();
        out.push({ offset, bytes: bin.subarray(pos, pos + len) });
        pos += len;
      }
    }
    pos = end;
  }
  return out;
}

/** Writes the module's initialized data into `memory`, as instantiating the Wasm module (the x86-64 one when `wide`) does. */
export function writeProgramData(memory: WebAssembly.Memory, wide = false): void {
  const list = wide
    ? (segments64 ??= readSegments(decodeBase64(release64WasmBase64)))
    : (segments ??= readSegments(decodeBase64(releaseWasmBase64)));
  const u8 = new Uint8Array(memory.buffer);
  for (const s of list) u8.set(s.bytes, s.offset);
}
