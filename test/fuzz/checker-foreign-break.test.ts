import { describe, expect, it } from "vitest";
import { bootProcess } from "../../host/boot.js";

// A foreign sbrk that is not given back (fuzz --deep --seed 4 found it): when glibc 2.36 next
// extends the main heap, sysmalloc finds the break moved, fences the old top off with two 8-byte
// fenceposts, frees what is left of it and goes on from the new break, so the main arena — still
// "contiguous" — now has a gap it holds no chunk in. The real glibc runs on (the same ops agree with
// it op by op under --oracle); the debug build's whole-heap checker must too, and must still see
// what is broken on either side of the gap.

describe.each(["wasm", "ts"] as const)("the debug checker after a foreign sbrk (%s allocator)", (allocator) => {
  async function fencedHeap() {
    const { process: proc, allocator: lib } = await bootProcess({ seed: 5, allocator, debug: true });
    const exports = lib.exports as { check_failure(): number; check_malloc_state(): void };
    const before = [proc.malloc(1000), proc.malloc(3000), proc.malloc(500)];
    const foreign = proc.sbrk(16);
    expect(foreign).not.toBe(-1);
    // requests the old top cannot hold: the heap grows past the foreign bytes
    for (let i = 0; i < 3; i++) proc.malloc(60000);
    const after = [proc.malloc(60000), proc.malloc(60000)];
    expect(after.every((p) => p > foreign)).toBe(true);
    proc.malloc(2000); // these two from the old top's remains, below the gap
    proc.malloc(700);
    proc.free(before[1]); // a free chunk below the gap
    proc.free(after[0]); // and one above it
    return { proc, exports, before, after, foreign };
  }

  it("walks past the fenceposts and the foreign bytes without a false alarm", async () => {
    const { proc, exports, foreign } = await fencedHeap();
    expect(exports.check_failure()).toBe(0);
    // the fenceposts are there: a chunk of 8 bytes, then its pair, just below the foreign bytes
    const u32 = new Uint32Array(proc.memory.buffer);
    let fence = -1;
    for (let a = foreign - 8; a > foreign - 64; a -= 8) if ((u32[(a + 4) >>> 2] & ~7) === 8 && (u32[(a + 12) >>> 2] & ~7) === 8) fence = a;
    expect(fence).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) proc.free(proc.malloc(100 + i * 40));
    expect(exports.check_failure()).toBe(0);
  });

  it("still finds a broken chunk above the gap", async () => {
    const { proc, exports, after } = await fencedHeap();
    new Uint32Array(proc.memory.buffer, after[1] - 4, 1)[0] = 0x10001; // the second one's size, inflated
    expect(() => exports.check_malloc_state()).toThrow(/malloc state check failed/);
    expect(exports.check_failure()).not.toBe(0);
  });

  it("still finds a broken free chunk below the gap", async () => {
    const { proc, exports, before } = await fencedHeap();
    new Uint32Array(proc.memory.buffer, before[2] - 8, 1)[0] = 1000; // the freed block's foot
    expect(() => exports.check_malloc_state()).toThrow(/malloc state check failed/);
    expect(exports.check_failure()).toBe(7);
  });

  it("finds a lone 8-byte chunk that is not a fencepost pair", async () => {
    const { proc, exports, before } = await fencedHeap();
    const u32 = new Uint32Array(proc.memory.buffer);
    u32[(before[0] - 4) >>> 2] = 8 | 1; // the first block now claims to be 8 bytes long
    expect(() => exports.check_malloc_state()).toThrow(/malloc state check failed/);
    expect(exports.check_failure()).toBe(27);
  });
});
