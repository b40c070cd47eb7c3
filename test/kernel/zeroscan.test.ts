import { describe, expect, it } from "vitest";
import { zeroScanner } from "../../host/kernel/zeroscan.js";

const GiB = 2 ** 30;

describe.each([
  ["Wasm SIMD", true],
  ["portable loop", false],
])("zero scan (%s)", (_name, simd) => {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536 });
  const bytes = () => new Uint8Array(memory.buffer);
  const scanner = zeroScanner(memory, () => new Int32Array(memory.buffer), simd);
  const scan = (a: number, b: number) => scanner.firstNonZero(a, b);

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
  it("clears exactly the pages that hold a set bit, and says how many", () => {
    const u8 = bytes();
    u8[4096 * 2] = 1; // first byte of page 2
    u8[4096 * 4 - 1] = 0x10; // last byte of page 3
    u8[4096 * 9 + 2000] = 7;
    u8[4096 * 9 + 2001] = 7;
    u8[4096 * 12] = 5; // outside the range
    expect(scanner.clearNonZeroPages(4096, 12 * 4096)).toBe(3);
    expect(u8.subarray(0, 12 * 4096).every((b) => b === 0)).toBe(true);
    expect(u8[4096 * 12]).toBe(5);
    expect(scanner.clearNonZeroPages(0, 12 * 4096)).toBe(0);
    expect(scanner.clearNonZeroPages(4096, 4096)).toBe(0);
    u8[4096 * 12] = 0;
  });
  it("reads addresses above 2 GiB and the last block of a 4 GiB memory", { timeout: 60_000 }, () => {
    let big: WebAssembly.Memory;
    try {
      big = new WebAssembly.Memory({ initial: 65536, maximum: 65536 });
    } catch {
      return; // the host cannot give 4 GiB here
    }
    const u8 = new Uint8Array(big.buffer);
    const bigScanner = zeroScanner(big, () => new Int32Array(big.buffer), simd);
    const s = (a: number, b: number) => bigScanner.firstNonZero(a, b);
    u8[3 * GiB + 4096 + 100] = 9;
    expect(s(3 * GiB, 3 * GiB + 8192)).toBe(3 * GiB + 4096);
    expect(s(3 * GiB + 8192, 3 * GiB + 2 ** 20)).toBe(3 * GiB + 2 ** 20);
    u8[4 * GiB - 1] = 1;
    expect(s(4 * GiB - 8192, 4 * GiB)).toBe(4 * GiB - 512);
    expect(s(4 * GiB - 512, 4 * GiB)).toBe(4 * GiB - 512);
    u8[4 * GiB - 8192] = 2;
    expect(bigScanner.clearNonZeroPages(3 * GiB, 4 * GiB)).toBe(3);
    expect(u8[3 * GiB + 4096 + 100]).toBe(0);
    expect(u8[4 * GiB - 1]).toBe(0);
    expect(u8[4 * GiB - 8192]).toBe(0);
  });
});
