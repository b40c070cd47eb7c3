import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, PAGE, makeKernel } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12, EFAULT = -14;

describe("mincore", () => {
  it("reports 1 for resident and zero-page-mapped pages, 0 for untouched ones", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.write(a, [1]);
    k.read(a + 2 * PAGE, 1);
    const vec = new Uint8Array(4);
    expect(k.mincore(a, 4 * PAGE, vec)).toBe(0);
    expect([...vec]).toEqual([1, 0, 1, 0]);
  });
  it("finds pages written behind the kernel's back", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    new Uint8Array(k.mm.memory.buffer)[a + PAGE + 100] = 1;
    const vec = new Uint8Array(2);
    k.mincore(a, 2 * PAGE, vec);
    expect([...vec]).toEqual([0, 1]);
  });
  it("EINVAL for an unaligned address, ENOMEM for unmapped pages, EFAULT for a short vector", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mincore(a + 1, PAGE, new Uint8Array(1))).toBe(EINVAL);
    expect(k.mincore(a + 2 * PAGE, PAGE, new Uint8Array(1))).toBe(ENOMEM);
    expect(k.mincore(a, 2 * PAGE, new Uint8Array(1))).toBe(EFAULT);
    expect(k.mincore(a, PAGE, null as unknown as Uint8Array)).toBe(EFAULT);
    expect(k.mincore(0x40000000, 0, new Uint8Array(0))).toBe(0);
  });
  it("rounds the length up to whole pages", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const vec = new Uint8Array(2).fill(9);
    expect(k.mincore(a, PAGE + 1, vec)).toBe(0);
    expect([...vec]).toEqual([0, 0]);
  });
});
