import { describe, expect, it } from "vitest";
import { ProcessKilled, SegmentationFault } from "../../host/errors.js";
import { ANON_PRIVATE, MiB, PAGE, makeKernel } from "./helpers.js";

describe("demand paging", () => {
  it("a fresh mapping costs no RSS; reading maps the zero page (a minor fault, no RSS)", () => {
    const k = makeKernel();
    const s0 = k.status();
    const a = k.mmap(0, 16 * PAGE, 3, ANON_PRIVATE, -1, 0);
    expect(k.status().VmRSS).toBe(s0.VmRSS);
    const f = k.faults.minor;
    expect(k.read(a, 2 * PAGE).every((x) => x === 0)).toBe(true);
    expect(k.faults.minor).toBe(f + 2);
    expect(k.status().VmRSS).toBe(s0.VmRSS);
    k.write(a, [1]);
    expect(k.faults.minor).toBe(f + 3); // the copy-on-write of the zero page
    expect(k.status().VmRSS).toBe(s0.VmRSS + 4);
    expect(k.status().RssAnon).toBe(s0.RssAnon + 4);
  });
  it("touch makes pages resident without touching their bytes", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const rss = k.status().VmRSS;
    new Uint8Array(k.mm.memory.buffer)[a + 20] = 9;
    k.touch(a + 10, PAGE);
    expect(k.status().VmRSS).toBe(rss + 8);
    expect(new Uint8Array(k.mm.memory.buffer)[a + 20]).toBe(9);
  });
  it("status() finds pages written through the raw memory", () => {
    const k = makeKernel();
    const a = k.mmap(0, 64 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const rss = k.status().VmRSS;
    const u8 = new Uint8Array(k.mm.memory.buffer);
    u8[a + 5 * PAGE] = 1;
    u8[a + 63 * PAGE + 4095] = 1;
    expect(k.status().VmRSS).toBe(rss + 8);
    k.verify();
  });
  it("raw stores survive losing PROT_WRITE, travel with mremap and are gone after munmap", () => {
    const k = makeKernel();
    const a = k.mmap(0, 8 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const u8 = () => new Uint8Array(k.mm.memory.buffer);
    u8()[a + 2 * PAGE + 9] = 7;
    u8()[a + 6 * PAGE + 4095] = 8;
    expect(k.mprotect(a, 8 * PAGE, 0)).toBe(0); // the stores are found as PROT_WRITE goes
    expect(k.mmap(a + 8 * PAGE, PAGE, 0, ANON_PRIVATE | 0x10, -1, 0)).toBe(a + 8 * PAGE); // no room to grow
    const b = k.mremap(a, 8 * PAGE, 16 * PAGE, 1);
    expect(b).not.toBe(a);
    expect(u8()[b + 2 * PAGE + 9]).toBe(7);
    expect(u8()[b + 6 * PAGE + 4095]).toBe(8);
    expect(u8()[a + 2 * PAGE + 9]).toBe(0);
    expect(k.munmap(b, 16 * PAGE)).toBe(0);
    expect(u8()[b + 2 * PAGE + 9]).toBe(0);
    expect(u8()[b + 6 * PAGE + 4095]).toBe(0);
    k.verify();
  });
  it("a move carries stores the kernel never saw and leaves the old place zero", () => {
    const k = makeKernel();
    const a = k.mmap(0, 4 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const u8 = () => new Uint8Array(k.mm.memory.buffer);
    u8()[a + 3 * PAGE + 1] = 5;
    const b = k.mremap(a, 4 * PAGE, 4 * PAGE, 3, a - 64 * PAGE); // MAYMOVE | FIXED
    expect(b).toBe(a - 64 * PAGE);
    expect(u8()[b + 3 * PAGE + 1]).toBe(5);
    expect(u8()[a + 3 * PAGE + 1]).toBe(0);
    const c = k.mmap(a, 4 * PAGE, 3, ANON_PRIVATE | 0x10, -1, 0);
    expect(c).toBe(a);
    expect(k.read(a, 4 * PAGE).every((x) => x === 0)).toBe(true);
    k.verify();
  });
  it("VmHWM keeps the peak", () => {
    const k = makeKernel();
    const a = k.mmap(0, 64 * PAGE, 3, ANON_PRIVATE, -1, 0);
    k.fill(a, 1, 64 * PAGE);
    const peak = k.status().VmRSS;
    k.munmap(a, 64 * PAGE);
    expect(k.status().VmHWM).toBe(peak);
    expect(k.status().VmRSS).toBe(peak - 256);
  });
  it("pages written through the raw memory and unmapped unseen still count in VmHWM and as faults", () => {
    const k = makeKernel();
    const before = k.status();
    const a = k.mmap(0, 64 * PAGE, 3, ANON_PRIVATE, -1, 0);
    const raw = k.mm.pages.u8();
    for (let i = 0; i < 10; i++) raw[a + i * PAGE + 123] = 7; // 10 pages, never reported
    const faults = k.faults.minor;
    k.munmap(a, 64 * PAGE);
    expect(k.faults.minor).toBe(faults + 10);
    expect(k.status().VmHWM).toBe(Math.max(before.VmHWM, before.VmRSS + 40));
    expect(k.status().VmRSS).toBe(before.VmRSS);
    expect(raw[a + 123]).toBe(0);
  });
  it("VmPeak keeps the peak of VmSize", () => {
    const k = makeKernel();
    const a = k.mmap(0, MiB, 3, ANON_PRIVATE, -1, 0);
    const s = k.status();
    k.munmap(a, MiB);
    expect(k.status().VmPeak).toBe(s.VmSize);
    expect(k.status().VmSize).toBe(s.VmSize - 1024);
  });
  it("page tables: VmPTE grows with touched 2 MiB regions and shrinks when they are unmapped", () => {
    const k = makeKernel();
    const pte = k.status().VmPTE;
    const a = k.mmap(0x40000000, 8 * MiB, 3, ANON_PRIVATE, -1, 0);
    for (let i = 0; i < 4; i++) k.write(a + i * 2 * MiB, [1]);
    expect(k.status().VmPTE).toBe(pte + 4 * 4 + 4); // four PTE tables and a new PMD table
    k.munmap(a, 8 * MiB);
    expect(k.status().VmPTE).toBe(pte);
  });
  it("resident memory beyond RAM shows as VmSwap", () => {
    const k = makeKernel({ overcommit: 1, ramBytes: 4 * MiB, swapBytes: 4 * MiB });
    const a = k.mmap(0, 6 * MiB, 3, ANON_PRIVATE, -1, 0);
    const before = k.status();
    k.fill(a, 1, 6 * MiB);
    const s = k.status();
    expect(s.VmRSS).toBe(4096);
    expect(s.VmSwap).toBe(6 * 1024 + before.VmRSS - 4096);
    expect(s.VmHWM).toBe(4096);
  });
  it("the OOM killer ends the process when resident memory passes RAM + swap", () => {
    let died: Error | null = null;
    const k = makeKernel({ overcommit: 1, ramBytes: 4 * MiB, swapBytes: MiB, onDeath: (e) => (died = e) });
    const a = k.mmap(0, 8 * MiB, 3, ANON_PRIVATE, -1, 0);
    expect(() => k.fill(a, 1, 8 * MiB)).toThrow(ProcessKilled);
    expect(died).toBeInstanceOf(ProcessKilled);
  });
  it("touching a huge mapping's last page does not touch the rest", () => {
    const k = makeKernel();
    const a = k.mmap(0, 1024 * MiB, 3, ANON_PRIVATE | 0x4000, -1, 0);
    const rss = k.status().VmRSS;
    k.write(a + 1024 * MiB - 1, [1]);
    expect(k.status().VmRSS).toBe(rss + 4);
    expect(k.munmap(a, 1024 * MiB)).toBe(0);
    k.verify();
  });
});

describe("checked access", () => {
  it("SEGV_MAPERR at the first unmapped byte, after writing the bytes before it", () => {
    const k = makeKernel();
    const a = k.mmap(0, PAGE, 3, ANON_PRIVATE, -1, 0);
    k.munmap(a - PAGE, PAGE);
    try {
      k.fill(a + PAGE - 2, 7, 4);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SegmentationFault);
      expect((e as SegmentationFault).code).toBe("SEGV_MAPERR");
      expect((e as SegmentationFault).addr).toBe(a + PAGE);
    }
    expect([...k.read(a + PAGE - 2, 2)]).toEqual([7, 7]);
  });
  it("a write-only mapping is readable (x86), a read-only one is not writable", () => {
    const k = makeKernel();
    const w = k.mmap(0, PAGE, 2, ANON_PRIVATE, -1, 0);
    expect(k.read(w, 1)[0]).toBe(0);
    const r = k.mmap(0, PAGE, 1, ANON_PRIVATE, -1, 0);
    expect(() => k.write(r, [1])).toThrow(SegmentationFault);
  });
  it("an access just below the stack grows it, within RLIMIT_STACK", () => {
    const k = makeKernel();
    const stackStart = 0xffffe000 - 0x21000;
    k.write(stackStart - 10 * PAGE, [1]);
    expect(k.status().VmStk).toBe(132 + 40);
    expect(k.maps()).toContain(`${(stackStart - 10 * PAGE).toString(16)}-ffffe000 rw-p 00000000 00:00 0`);
    expect(() => k.write(0xffffe000 - 9 * MiB, [1])).toThrow(SegmentationFault);
    k.verify();
  });
});
