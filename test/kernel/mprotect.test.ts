import { describe, expect, it } from "vitest";
import { SegmentationFault } from "../../host/errors.js";
import { ANON_PRIVATE, PAGE, makeKernel, mapsOf, vmaAt } from "./helpers.js";

const EINVAL = -22, ENOMEM = -12;

describe("mprotect: rules", () => {
  const k = makeKernel();
  const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
  it("a zero length succeeds before the prot is even looked at; an unaligned address does not", () => {
    expect(k.mprotect(a, 0, 0xffff)).toBe(0);
    expect(k.mprotect(a + 1, 0, 0)).toBe(EINVAL);
  });
  it("unknown prot bits, and GROWSDOWN with GROWSUP, are EINVAL", () => {
    expect(k.mprotect(a, PAGE, 0x10)).toBe(EINVAL);
    expect(k.mprotect(a, PAGE, 0x03000000)).toBe(EINVAL);
    expect(k.mprotect(a, PAGE, 0x01000000 | 1)).toBe(EINVAL); // not a GROWSDOWN VMA
  });
  it("ENOMEM for an unmapped start, or a hole (after changing what came before it)", () => {
    expect(k.mprotect(a - 8 * PAGE, PAGE, 1)).toBe(ENOMEM);
    const b = k.mmap(0x40000000, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.munmap(b + 2 * PAGE, PAGE);
    expect(k.mprotect(b, 4 * PAGE, 1)).toBe(ENOMEM);
    expect(vmaAt(k, b)).toEqual([b, b + 2 * PAGE, "r--p"]);
    expect(vmaAt(k, b + 3 * PAGE)).toEqual([b + 3 * PAGE, b + 4 * PAGE, "rw-p"]);
  });
});

describe("mprotect: split and merge", () => {
  it("splits in the middle and merges back", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.mprotect(a + PAGE, 2 * PAGE, 1)).toBe(0);
    expect(mapsOf(k).filter((m) => m[0] >= a && m[1] <= a + 4 * PAGE).map((m) => m[2])).toEqual(["rw-p", "r--p", "rw-p"]);
    expect(k.mprotect(a + PAGE, 2 * PAGE, 3)).toBe(0);
    expect(vmaAt(k, a)).toEqual([a, a + 4 * PAGE, "rw-p"]);
    k.verify();
  });
  it("charges a private mapping on becoming writable, and keeps the charge once a page was faulted", () => {
    const k = makeKernel();
    const c = k.committedBytes;
    const a = k.mmap(0, 4 * PAGE, 0, ANON_PRIVATE, -1, 0);
    expect(k.committedBytes).toBe(c);
    k.mprotect(a, 4 * PAGE, 3);
    expect(k.committedBytes).toBe(c + 4 * PAGE);
    k.fill(a + 3 * PAGE, 1, 1); // the VMA gets its anon_vma
    k.mprotect(a, 2 * PAGE, 0);
    expect(k.committedBytes).toBe(c + 4 * PAGE);
    k.verify();
  });
  it("gives the charge back when a never-faulted anonymous mapping stops being writable", () => {
    const k = makeKernel();
    const c = k.committedBytes;
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.committedBytes).toBe(c + 4 * PAGE);
    k.read(a, 4 * PAGE); // read faults map the zero page: still no anon_vma
    k.mprotect(a + PAGE, 2 * PAGE, 1);
    expect(k.committedBytes).toBe(c + 2 * PAGE);
    k.mprotect(a, 4 * PAGE, 3);
    expect(k.committedBytes).toBe(c + 4 * PAGE);
    expect(vmaAt(k, a)).toEqual([a, a + 4 * PAGE, "rw-p"]);
    k.verify();
  });
  it("finds stores made through the memory before deciding a mapping was never faulted", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const b = k.mmap(a - 2 * PAGE, 2 * PAGE, 1, ANON_PRIVATE | 0x10, -1, 0); // MAP_FIXED, read-only
    expect(b).toBe(a - 2 * PAGE);
    const c = k.committedBytes;
    new Uint8Array(k.mm.memory.buffer)[a + 3 * PAGE + 7] = 1; // a raw store, far from the range
    k.mprotect(a, PAGE, 1);
    expect(k.committedBytes).toBe(c); // it had an anon_vma after all: charged, and not merged
    expect(vmaAt(k, a)).toEqual([a, a + PAGE, "r--p"]);
    k.verify();
  });
  it("is enforced by the checked accessors", () => {
    const k = makeKernel();
    const a = k.mmap(0, 2 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.mprotect(a + PAGE, PAGE, 1);
    expect(() => k.write(a + PAGE, [1])).toThrow(SegmentationFault);
    k.mprotect(a + PAGE, PAGE, 0);
    try {
      k.read(a + PAGE - 2, 4);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SegmentationFault);
      expect((e as SegmentationFault).code).toBe("SEGV_ACCERR");
      expect((e as SegmentationFault).addr).toBe(a + PAGE);
    }
  });
  it("PROT_GROWSDOWN extends the change down to the start of a growsdown VMA", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE | 0x100, -1, 0);
    expect(k.mprotect(a + 2 * PAGE, PAGE, 0x01000000 | 1)).toBe(0);
    expect(vmaAt(k, a)).toEqual([a, a + 3 * PAGE, "r--p"]);
  });
  it("changes VmData when memory becomes (un)writable", () => {
    const k = makeKernel();
    const d = k.status().VmData;
    const a = k.mmap(0, 4 * PAGE, 1, ANON_PRIVATE, -1, 0);
    expect(k.status().VmData).toBe(d);
    k.mprotect(a, 4 * PAGE, 3);
    expect(k.status().VmData).toBe(d + 16);
    k.mprotect(a, 2 * PAGE, 1);
    expect(k.status().VmData).toBe(d + 8);
  });
});
