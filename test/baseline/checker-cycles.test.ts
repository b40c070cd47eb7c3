import { describe, expect, it } from "vitest";
import { CYCLE_FASTBIN } from "../../assembly/config.js";
import { bootProcess } from "../../host/boot.js";

// glibc 2.36 lets this double free through: with the tcache bin full, free(a), free(b), free(a)
// only compares a with the fastbin's top (b), and the fastbin becomes the cycle a → b → a. The
// real program keeps running (the classic "fastbin dup"): a gcc -m32 program doing the calls below
// gets a, b, a, b and then two other blocks from the next six malloc(24). The debug build's
// whole-heap checker, run after every call, must neither hang on the cycle nor abort the program:
// it notes the cycle (check_cycle) and skips that list.

describe.each(["wasm", "ts"] as const)("the debug checker on a cyclic fastbin (%s allocator)", (allocator) => {
  it("free(a), free(b), free(a) with the tcache full returns; the cycle is noted, not fatal", { timeout: 10_000 }, async () => {
    const { process: proc, allocator: lib } = await bootProcess({ seed: 3, allocator, debug: true });
    const exports = lib.exports as { check_cycle(): number; check_failure(): number };
    const fill = Array.from({ length: 7 }, () => proc.malloc(24));
    const a = proc.malloc(24);
    const b = proc.malloc(24);
    proc.malloc(24); // keeps a and b off the top
    for (const p of fill) proc.free(p);
    proc.free(a);
    proc.free(b);
    expect(exports.check_cycle()).toBe(0);
    proc.free(a); // the double free glibc does not see: the fastbin is now a → b → a → …
    const fastbinIndex = (32 >> 3) - 2;
    expect(exports.check_cycle()).toBe((CYCLE_FASTBIN << 8) | fastbinIndex);

    for (let i = 0; i < 7; i++) proc.malloc(24); // drains the tcache
    const got = Array.from({ length: 6 }, () => {
      const p = proc.malloc(24);
      return p === a ? "a" : p === b ? "b" : "?";
    });
    expect(got.join(" ")).toBe("a b a b ? ?");
    expect(exports.check_failure()).toBe(0);
  });
});
