// The fuzzer's view of a process's memory (host/fuzz/space.ts): a range one window holds is a run
// of the memory (raw, fast); a page no window holds goes through the process, page by page. The
// block patterns written and checked either way agree, up to blocks past 4 GiB.

import { describe, expect, it } from "vitest";
import { bootProcess } from "../../host/boot.js";
import { checkPattern, checkPatternFar, checkZeroFar, writePattern, writePatternFar } from "../../host/fuzz/blocks.js";
import { Space, type SpaceProcess } from "../../host/fuzz/space.js";

const PAGE = 4096;

/**
 * A process stand-in whose every page is far: frames of a small memory handed out as pages are
 * first written, as the kernel does for a page no window holds.
 */
function farOnly(): SpaceProcess & { frames: Map<number, number> } {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const frames = new Map<number, number>();
  const frameOf = (va: number, make: boolean): number => {
    const page = Math.floor(va / PAGE);
    let f = frames.get(page);
    if (f === undefined && make) frames.set(page, (f = frames.size * PAGE));
    return f === undefined ? -1 : f;
  };
  return {
    memory,
    frames,
    offsetOf: (va) => {
      const f = frameOf(va, false);
      return f < 0 ? -1 : f + (va % PAGE);
    },
    write: (va, bytes) => {
      const u8 = new Uint8Array(memory.buffer);
      for (let i = 0; i < bytes.length; i++) u8[frameOf(va + i, true) + ((va + i) % PAGE)] = bytes[i];
    },
  };
}

describe("a process's memory by its addresses", () => {
  it("is the memory itself on i386, and a window's run on x86_64", async () => {
    for (const arch of ["i386", "x86_64"] as const) {
      const { process: proc, kernel } = await bootProcess({ seed: 7, arch });
      const space = new Space(proc, kernel.windows, arch === "x86_64" ? 8 : 4);
      const p = proc.malloc(100);
      expect(space.base(p, 100), arch).toBe(proc.offsetOf(p));
      if (arch === "i386") expect(space.base(p, 100)).toBe(p);
      // the size field below the pointer, read as a word of the ABI
      const field = proc.read(p - space.wordBytes, space.wordBytes);
      expect(space.word(p - space.wordBytes)).toBe(field.reduceRight((v, b) => v * 256 + b, 0));
      space.setByte(p + 3, 0xab);
      expect(proc.read(p + 3, 1)[0]).toBe(0xab);
      expect(space.byte(p + 3)).toBe(0xab);
    }
  });

  it("writes and checks a block's pattern the same through the process as raw", async () => {
    const { process: proc, kernel } = await bootProcess({ seed: 7, arch: "x86_64" });
    const raw = new Space(proc, kernel.windows, 8);
    const viaProcess = new Space(proc, [], 8);
    const size = 3 * PAGE + 77;
    const p = proc.malloc(size);
    expect(viaProcess.base(p, size)).toBe(-1);
    writePatternFar(viaProcess, p, size, 42);
    const base = raw.base(p, size);
    expect(checkPattern(raw.u8, raw.u32, base, size, 42)).toBe(-1);
    expect(checkPatternFar(viaProcess, p, size, 42)).toBe(-1);
    writePattern(raw.u8, raw.u32, base, size, 43);
    expect(checkPatternFar(viaProcess, p, size, 43)).toBe(-1);
    raw.setByte(p + size - 1, raw.byte(p + size - 1) ^ 1);
    expect(checkPatternFar(viaProcess, p, size, 43)).toBe(size - 1);
    expect(checkPattern(raw.u8, raw.u32, base, size, 43)).toBe(size - 1);
  });

  it("follows a block past 4 GiB through far pages, touching only the pattern's pages", () => {
    const proc = farOnly();
    const space = new Space(proc, [], 8);
    const ptr = 2 ** 40 + 16;
    const size = 2 ** 33 + 3;
    expect(checkZeroFar(space, ptr, size, false)).toBe(-1);
    writePatternFar(space, ptr, size, 9);
    // head, tail and the three words in between: a page or two each
    expect(proc.frames.size).toBeLessThanOrEqual(8);
    expect(checkPatternFar(space, ptr, size, 9)).toBe(-1);
    expect(checkPatternFar(space, ptr, size, 10)).toBe(0);
    expect(checkZeroFar(space, ptr, size, false)).toBe(0);
    space.setByte(ptr + size - 1, space.byte(ptr + size - 1) ^ 0x80);
    expect(checkPatternFar(space, ptr, size, 9)).toBe(size - 1);
    // a realloc that kept only the first 100 bytes checks those only
    expect(checkPatternFar(space, ptr, size, 9, 100)).toBe(-1);
  });
});
