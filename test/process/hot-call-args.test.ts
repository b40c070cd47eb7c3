import { describe, expect, it } from "vitest";
import { createProcess } from "../../host/index.js";
import type { Process } from "../../host/process.js";

// malloc, free, calloc and realloc take a plain u32 straight to the allocator and send everything
// else out of line to cargs.ts's conversion (docs/bad-input.md). These cases pin that the split
// changes no answer: a value no C caller could pass is a TypeError before anything happens (its
// valueOf is never asked: that would run the caller's code), and the C values that are no u32
// (-1, -0, 2^32, NaN, a fraction) get glibc's answer for the C value they stand for.

type Hot = [name: string, (p: Process, v: unknown) => unknown];
const q = 0; // a position filled with a good value
const HOT: Hot[] = [
  ["malloc(v)", (p, v) => p.malloc(v as number)],
  ["free(v)", (p, v) => p.free(v as number)],
  ["calloc(v, 8)", (p, v) => p.calloc(v as number, 8)],
  ["calloc(1, v)", (p, v) => p.calloc(1, v as number)],
  ["realloc(v, 8)", (p, v) => p.realloc(v as number, 8)],
  ["realloc(0, v)", (p, v) => p.realloc(q, v as number)],
];

describe.each(["wasm", "ts"] as const)("the hot calls' arguments (%s)", (allocator) => {
  it.each(HOT)("%s: an object is a TypeError and its valueOf is never called", async (_name, call) => {
    const proc = await createProcess({ seed: 9, allocator });
    const before = proc.mallinfo2();
    let asked = 0;
    const sneaky = { valueOf: () => (asked++, 16) };
    expect(() => call(proc, sneaky)).toThrow(TypeError);
    expect(asked).toBe(0);
    expect(proc.mallinfo2()).toEqual(before);
    expect(proc.errno).toBe(0);
  });

  it.each([["a string", "16"], ["undefined", undefined], ["a BigInt", 16n], ["a Symbol", Symbol("s")], ["a boolean", true]])(
    "%s is a TypeError naming the call, for every hot call",
    async (_kind, value) => {
      const proc = await createProcess({ seed: 9, allocator });
      for (const [name, call] of HOT) {
        const fn = name.slice(0, name.indexOf("("));
        expect(() => call(proc, value), name).toThrow(new RegExp(`^${fn}: `));
      }
      expect(proc.malloc(16)).not.toBe(0);
    },
  );

  it("numbers that are no u32 are the C value they stand for", async () => {
    const proc = await createProcess({ seed: 9, allocator });
    for (const size of [-1, 2 ** 32, Number.NaN, 1.5, Infinity, -(2 ** 31) - 1]) {
      proc.errno = 0;
      expect(proc.malloc(size), String(size)).toBe(0);
      expect(proc.errno).toBe(12);
      proc.errno = 0;
      expect(proc.calloc(1, size), String(size)).toBe(0);
      expect(proc.errno).toBe(12);
    }
    const p = proc.malloc(-0);
    expect(p).not.toBe(0);
    expect(proc.realloc(p, -1)).toBe(0); // ENOMEM, the block kept
    expect(proc.malloc_usable_size(p)).toBe(12);
    proc.free(-0); // free(NULL)
    proc.free(null);
    proc.free(p);
    // A pointer that is no u32 is SIZE_MAX (kernel space): its header load faults there.
    await expect(async () => proc.free(2 ** 32 + 16)).rejects.toMatchObject({ code: "SEGV_MAPERR", addr: 0xfffffffb });
  });
});
