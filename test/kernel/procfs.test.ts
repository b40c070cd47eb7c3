import { describe, expect, it } from "vitest";
import { ANON_PRIVATE, ANON_SHARED, PAGE, makeKernel } from "./helpers.js";

describe("/proc/self/maps format", () => {
  it("prints anonymous VMAs with a trailing space, named ones padded to column 73", () => {
    const k = makeKernel();
    const a = k.mmap(0, PAGE, 5, ANON_PRIVATE, -1, 0);
    const lines = k.maps().split("\n");
    const line = lines.find((l) => l.startsWith(a.toString(16)))!;
    expect(line).toBe(`${a.toString(16)}-${(a + PAGE).toString(16)} r-xp 00000000 00:00 0 `);
    for (const l of lines.filter((x) => x.includes("["))) expect(l.indexOf("[")).toBe(73);
    expect(k.maps().endsWith("\n")).toBe(true);
  });
  it("prints 8 hex digits even for low addresses, and perms for every combination", () => {
    const k = makeKernel();
    k.mmap(0x20000, PAGE, 0, ANON_PRIVATE | 0x10, -1, 0);
    k.mmap(0x22000, PAGE, 2, ANON_SHARED | 0x10, -1, 0);
    expect(k.maps()).toContain("00020000-00021000 ---p 00000000 00:00 0 \n");
    expect(k.maps()).toMatch(/00022000-00023000 -w-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)\n/);
  });
  it("names [heap] the VMA that holds the brk range, even when it is empty", () => {
    const k = makeKernel();
    k.brk(k.startBrk + PAGE);
    expect(k.maps()).toContain(`${k.startBrk.toString(16).padStart(8, "0")}-`);
    expect(k.maps().split("\n").filter((l) => l.endsWith("[heap]")).length).toBe(1);
  });
});

describe("/proc/self/status memory lines", () => {
  it("accounts VmData, VmStk, VmExe, VmLib as Linux does", () => {
    const k = makeKernel();
    const s0 = k.status();
    k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0); // data
    k.mmap(0, 4 * PAGE, 1, ANON_PRIVATE, -1, 0); // neither
    k.mmap(0, 4 * PAGE, 5, ANON_PRIVATE, -1, 0); // exec, beyond the program's text: VmLib
    k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE | 0x100, -1, 0); // stack
    k.mmap(0, 4 * PAGE, 3, ANON_SHARED, -1, 0); // shared: not data
    const s = k.status();
    expect(s.VmSize - s0.VmSize).toBe(80);
    expect(s.VmData - s0.VmData).toBe(16);
    expect(s.VmStk - s0.VmStk).toBe(16);
    expect(s.VmExe).toBe(4);
    expect(s.VmLib).toBe(16);
    expect(s.VmPin).toBe(0);
    expect(s.VmSwap).toBe(0);
  });
  it("prints the text form", () => {
    const k = makeKernel();
    expect(k.statusText()).toMatch(/^VmPeak:\t +\d+ kB\nVmSize:\t +\d+ kB\n/);
  });
});
