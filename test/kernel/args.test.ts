import { describe, expect, it } from "vitest";
import { int, offset64, rlim, ulong } from "../../host/kernel/args.js";

describe("argument conversion (the i386 ABI)", () => {
  it("narrows numbers to u32 as C narrows a wider integer", () => {
    expect(ulong(4096)).toBe(4096);
    expect(ulong(-1)).toBe(0xffffffff);
    expect(ulong(-4096)).toBe(0xfffff000);
    expect(ulong(2 ** 32 + 5)).toBe(5);
    expect(ulong(4096.9)).toBe(4096);
    expect(ulong(-0.5)).toBe(0);
  });
  it("maps non-numbers and non-finite numbers to 0, bigint and booleans to their bits", () => {
    for (const v of [NaN, Infinity, -Infinity, "12", null, undefined, {}, Symbol("x")]) expect(ulong(v)).toBe(0);
    expect(ulong(2n ** 32n + 7n)).toBe(7);
    expect(ulong(-1n)).toBe(0xffffffff);
    expect(ulong(true)).toBe(1);
  });
  it("narrows ints to signed 32 bits", () => {
    expect(int(0xffffffff)).toBe(-1);
    expect(int(2 ** 31)).toBe(-(2 ** 31));
    expect(int(-5.7)).toBe(-5);
    expect(int(NaN)).toBe(0);
  });
  it("keeps 64-bit offsets and spells RLIM_INFINITY as Infinity", () => {
    expect(offset64(2 ** 40)).toBe(2 ** 40);
    expect(offset64(-4096)).toBe(-4096);
    expect(rlim(Infinity)).toBe(Infinity);
    expect(rlim(0xffffffff)).toBe(Infinity);
    expect(rlim(-1)).toBe(Infinity);
    expect(rlim(1024)).toBe(1024);
  });
});
