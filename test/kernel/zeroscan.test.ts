import { describe, expect, it } from "vitest";
import { zeroScanner } from "../../host/kernel/zeroscan.js";

const GiB = 2 ** 30;

describe.each([
  ["Wasm SIMD", true],
  ["portable loop", false],
])("zero scan (%s)", (_name, simd) => {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536 });
  const bytes = () => new Uint8Array(memory.buffer);
  const scan = zeroScanner(memory, () => new Int32Array(memory.buffer), simd);

  it("returns the end for zeros and an empty range", () => {
    expect(scan(0, 16 * 65536)).toBe(16 * 65536);
    expect(scan(4096, 4096)).toBe(4096);
  });
  it("finds the block of the first non-zero byte, whatever its place in the block", () => {
    const u8 = bytes();
    u8[3 * 4096 + 511] = 1;
    expect(scan(0, 16 * 65536)).toBe(3 * 4096);
    expect(scan(0, 3 * 4096)).toBe(3 * 4096); // outside the range: not seen
    u8[5 * 4096 + 512 + 7] = 0x80;
    expect(scan(4 * 4096, 16 * 65536)).toBe(5 * 4096 + 512);
    u8[3 * 4096 + 511] = 0;
    u8[5 * 4096 + 512 + 7] = 0;
    expect(scan(0, 16 * 65536)).toBe(16 * 65536);
  });
  it("reads addresses above 2 GiB and the last block of a 4 GiB memory", { timeout: 60_000 }, () => {
    let big: WebAssembly.Memory;
    try {
      big = new WebAssembly.Memory({ initial: 65536, maximum: 65536 });
    } catch {
      return; // the host cannot give 4 GiB here
    }
    const u8 = new Uint8Array(big.buffer);
    const s = zeroScanner(big, () => new Int32Array(big.buffer), simd);
    u8[3 * GiB + 4096 + 100] = 9;
    expect(s(3 * GiB, 3 * GiB + 8192)).toBe(3 * GiB + 4096);
    expect(s(3 * GiB + 8192, 3 * GiB + 2 ** 20)).toBe(3 * GiB + 2 ** 20);
    u8[4 * GiB - 1] = 1;
    expect(s(4 * GiB - 8192, 4 * GiB)).toBe(4 * GiB - 512);
    expect(s(4 * GiB - 512, 4 * GiB)).toBe(4 * GiB - 512);
  });
});
