// The x86_64 process's address space: Linux 6.1's layout of a 64-bit PIE program, the windows of
// the Wasm memory that hold most of it, the frame pool that holds the rest (far pages), and the
// limits that are left (docs/x86_64-layout.md). The
// fresh-process figures are those of a minimal `gcc` (x86-64) program on Debian 12, read off its
// /proc/self/maps and status under `setarch -R` (ASLR off).

import { describe, expect, it } from "vitest";
import { ULONG_UNREPRESENTABLE, rlim64, ulong64 } from "../../host/kernel/args.js";
import { kernelWindows, type Kernel, type KernelOptions } from "../../host/kernel/kernel.js";
import { SegmentationFault } from "../../host/errors.js";
import { ANON_PRIVATE, GiB, MiB, PAGE, PROT_RW, makeKernel, mapsOf, vmaAt } from "./helpers.js";

const ENOMEM = 12;
const MAP_FIXED = 0x10;
const MAP_32BIT = 0x40;
const TASK_SIZE = 0x7ffffffff000;
/** The frame pool's size: W1 is shorter by as much. */
const POOL = 256 * MiB;

/** A bare kernel (helpers.ts) as an x86_64 process has it: the libraries mapped. */
// makeKernel gives an x86_64 kernel the module's static data 4 pages above the text (scripts/build-wasm.mjs).
const kernel64 = (options: Partial<Omit<KernelOptions, "memory">> = {}): Kernel => makeKernel({ arch: "x86_64", libraries: true, ...options });

describe("the x86_64 layout with ASLR off is the real one", () => {
  const k = kernel64();
  const lines = k.maps().trimEnd().split("\n");

  it("program at 0x555555554000, heap right after it, ld.so ending at mmap_base, stack at TASK_SIZE", () => {
    expect(lines[0]!.startsWith("555555554000-555555555000 r--p 00000000 ")).toBe(true);
    expect(k.startBrk).toBe(0x55555555b000); // 5 program pages, 2 of them the module's data beyond the real one's
    expect(lines.find((l) => l.endsWith("ld-linux-x86-64.so.2") && l.includes(" rw-p "))).toMatch(/^7ffff7ffd000-7ffff7fff000 /);
    expect(lines.find((l) => l.endsWith("[stack]"))).toMatch(/^7ffffffde000-7ffffffff000 rw-p /);
    expect(lines.at(-1)).toBe("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
  });

  it("the program's five pieces in the real program's order, the module's data read-write at loadBase + 0x4000", () => {
    expect(lines.slice(0, 5).map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual([
      "555555554000-555555555000 r--p 00000000",
      "555555555000-555555556000 r-xp 00001000",
      "555555556000-555555557000 r--p 00002000",
      "555555557000-555555558000 r--p 00002000",
      "555555558000-55555555b000 rw-p 00003000",
    ]);
    expect(k.offsetToVa(0x14000)).toBe(0x555555558000);
  });

  it("refuses a program image whose data does not start 4 pages above its text", () => {
    expect(() => makeKernel({ arch: "x86_64", program: { textStart: 0x10000, dataStart: 0x11000, dataEnd: 0x13000 } })).toThrow(/4 pages above the text/);
  });

  it("libc, its .bss, ld.so's pages, the vDSO and ld.so as the real program has them", () => {
    const top = mapsOf(k).filter(([s, , , name]) => s >= 0x700000000000 && name !== "[stack]" && name !== "[vsyscall]");
    expect(top.map(([s, e, perms, name]) => `${(e - s) / PAGE}p ${perms} ${name.trim()}`)).toEqual([
      "3p rw-p ",
      "38p r--p /usr/lib/x86_64-linux-gnu/libc.so.6",
      "342p r-xp /usr/lib/x86_64-linux-gnu/libc.so.6",
      "83p r--p /usr/lib/x86_64-linux-gnu/libc.so.6",
      "4p r--p /usr/lib/x86_64-linux-gnu/libc.so.6",
      "2p rw-p /usr/lib/x86_64-linux-gnu/libc.so.6",
      "11p rw-p ", // libc's .bss: 13 pages less the 2 the allocator's data takes beyond the real one's page
      "2p rw-p ",
      "4p r--p [vvar]",
      "2p r--p [vvar_vclock]",
      "2p r-xp [vdso]",
      "1p r--p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "38p r-xp /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "10p r--p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "2p r--p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      "2p rw-p /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    ]);
    // contiguous but for the 11-page hole /etc/ld.so.cache left
    expect(top.slice(1).map(([s], i) => (s - top[i]![1]) / PAGE)).toEqual([0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("and /proc/self/status reads as the real program's", () => {
    const s = k.status();
    expect([s.VmPeak, s.VmSize, s.VmData, s.VmStk, s.VmExe, s.VmLib, s.RssFile, s.VmPTE]).toEqual([2388, 2344, 92, 132, 4, 1528, 960, 32]);
    // the real 88 kB, less the module's data page this test's zero memory leaves unwritten
    expect(s.RssAnon).toBe(84);
  });

  it("the three windows and the pool: W0 the program from offset 0x10000, the frame pool's 256 MiB at 2 GiB, W1 the rest below mmap_base, W2 the stack's 64 MiB at the top", () => {
    const w1Length = 0x80000000 - POOL - 64 * MiB;
    expect(k.windows).toEqual([
      { va: 0x555555554000, offset: 0x10000, length: 0x80000000 - 0x10000 },
      { va: 0x7ffff7fff000 - w1Length, offset: 0x80000000 + POOL, length: w1Length },
      { va: TASK_SIZE - 64 * MiB, offset: 2 ** 32 - 64 * MiB, length: 64 * MiB },
    ]);
    expect(k.mm.layout.framePool).toEqual({ offset: 0x80000000, length: POOL });
    expect(k.mm.memory.buffer.byteLength).toBe(2 ** 32);
  });
});

describe("the x86_64 layout with ASLR", () => {
  it("is reproduced by its seed and randomized as Linux 6.1 does", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const a = kernel64({ seed, aslr: 2 });
      expect(kernel64({ seed, aslr: 2 }).maps()).toBe(a.maps());
      const [w0, w1, w2] = a.windows;
      const load = w0!.va;
      // ELF_ET_DYN_BASE + 28 bits of pages
      expect(load).toBeGreaterThanOrEqual(0x555555554000);
      expect(load).toBeLessThan(0x555555554000 + 2 ** 40);
      // the break 0..32 MiB after the program's end
      const brkOffset = a.startBrk - (load + 5 * PAGE);
      expect(brkOffset % PAGE).toBe(0);
      expect(brkOffset).toBeGreaterThanOrEqual(0);
      expect(brkOffset).toBeLessThan(32 * MiB);
      // mmap_base below the stack's gap (8 MiB + 16 GiB of stack randomization + the guard gap)
      const mmapBase = w1!.va + w1!.length;
      expect(mmapBase).toBeLessThanOrEqual(TASK_SIZE - 8 * MiB - 0x3fffff000 - MiB);
      expect(mmapBase).toBeGreaterThan(TASK_SIZE - 8 * MiB - 0x3fffff000 - MiB - 2 ** 40);
      // the stack's top within 16 GiB of TASK_SIZE
      expect(w2!.va + w2!.length).toBeGreaterThan(TASK_SIZE - 0x400000000);
      seen.add(load);
    }
    expect(seen.size).toBe(20);
  });

  it("aslr 1 randomizes all but the break", () => {
    const k = kernel64({ seed: 5, aslr: 1 });
    expect(k.windows[0]!.va).not.toBe(0x555555554000);
    expect(k.startBrk).toBe(k.windows[0]!.va + 7 * PAGE);
  });

  it("kernelWindows gives a kernel's windows before it exists", () => {
    for (const [seed, aslr, stack] of [[3, 2, 8 * MiB], [4, 0, 64 * MiB], [9, 1, Infinity]] as const) {
      const rlimits = { RLIMIT_STACK: { cur: stack, max: Infinity } };
      const k = kernel64({ seed, aslr, rlimits });
      expect(kernelWindows({ arch: "x86_64", seed, aslr, rlimits })).toEqual({ windows: k.windows, memoryBytes: 2 ** 32, framePool: { offset: 2 ** 31, length: POOL } });
    }
  });
});

describe("VAs and Wasm offsets", () => {
  const k = kernel64({ seed: 77, aslr: 2 });

  it("translate both ways inside the windows, and -1 outside", () => {
    for (const w of k.windows) {
      for (const d of [0, PAGE + 5, w.length - 1]) {
        expect(k.vaToOffset(w.va + d)).toBe(w.offset + d);
        expect(k.offsetToVa(w.offset + d)).toBe(w.va + d);
      }
      expect(k.vaToOffset(w.va - 1)).toBe(-1);
      expect(k.vaToOffset(w.va + w.length)).toBe(-1);
    }
    expect(k.offsetToVa(0x1000)).toBe(-1); // the page map's 64 KiB hold no VA
    expect(k.vaToOffset(0x40000000)).toBe(-1);
  });

  it("what the kernel writes at a VA is at its offset in the memory", () => {
    const a = k.mmap(0, 2 * PAGE, PROT_RW, ANON_PRIVATE, -1, 0);
    expect(a).toBeGreaterThan(0x7f0000000000);
    k.write(a + PAGE + 3, [9, 8, 7]);
    const u8 = new Uint8Array(k.mm.memory.buffer);
    expect([...u8.subarray(k.vaToOffset(a) + PAGE + 3, k.vaToOffset(a) + PAGE + 6)]).toEqual([9, 8, 7]);
    k.fill(k.startBrk - PAGE, 0, 0); // a zero-length fill anywhere is nothing
    k.brk(k.startBrk + PAGE);
    k.fill(k.startBrk, 0x61, 10);
    expect(u8[k.vaToOffset(k.startBrk) + 9]).toBe(0x61);
    expect(k.read(k.startBrk, 11)).toEqual(new Uint8Array([...Array(10).fill(0x61), 0]));
    k.verify();
  });

  it("an access where nothing is mapped, in a window or not, is SIGSEGV SEGV_MAPERR", () => {
    for (const va of [0x1000, 0x40000000, 0x600000000000, TASK_SIZE - 65 * MiB]) {
      const f = k.accessFault(va, false);
      expect(f).toBeInstanceOf(SegmentationFault);
      expect(f!.code).toBe("SEGV_MAPERR");
      expect(() => k.read(va, 1)).toThrow(SegmentationFault);
    }
  });

  it("the page map and its hot span are by offset", () => {
    const start = k.startBrk;
    k.brk(start + 8 * PAGE);
    k.touch(start, 1);
    expect(k.mm.pageMap.storeReady(k.vaToOffset(start))).toBe(true);
    const words = new Uint32Array(k.mm.memory.buffer, 0, 0x800);
    expect(words[0x700 / 4]).toBe(k.vaToOffset(start)); // PAGEMAP_HOT_START
  });
});

describe("what the windows decide and what they no longer limit", () => {
  it("MAP_FIXED and a hint outside every window are honoured, as on Linux: the pages are far", () => {
    const k = kernel64();
    expect(k.mmap(0x10000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0)).toBe(0x10000000);
    expect(k.vaToOffset(0x10000000)).toBe(-1); // not present: no frame yet
    k.write(0x10000000 + 5, [7]);
    const pool = k.mm.layout.framePool;
    const at = k.vaToOffset(0x10000000);
    expect(at).toBeGreaterThanOrEqual(pool.offset);
    expect(at).toBeLessThan(pool.offset + pool.length);
    expect(k.offsetToVa(at + 5)).toBe(0x10000000 + 5);
    // straddling W1's end (mmap_base): the page below it in W1, the one above far
    const mmapBase = k.windows[1]!.va + k.windows[1]!.length;
    expect(k.mmap(mmapBase - PAGE, 2 * PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0)).toBe(mmapBase - PAGE);
    k.fill(mmapBase - 2, 0x5a, 4);
    expect(k.vaToOffset(mmapBase - 1)).toBe(k.windows[1]!.offset + k.windows[1]!.length - 1);
    expect(k.read(mmapBase - 3, 6)).toEqual(new Uint8Array([0, 0x5a, 0x5a, 0x5a, 0x5a, 0]));
    expect(k.mmap(0x20000000, PAGE, PROT_RW, ANON_PRIVATE, -1, 0)).toBe(0x20000000);
    // inside W0, above the break, a hint and MAP_FIXED work as they did
    const inW0 = k.startBrk + 100 * MiB;
    expect(k.mmap(inW0, PAGE, PROT_RW, ANON_PRIVATE, -1, 0)).toBe(inW0);
    expect(k.mmap(inW0 + MiB, PAGE, PROT_RW, ANON_PRIVATE | MAP_FIXED, -1, 0)).toBe(inW0 + MiB);
    k.verify();
  });

  it("MAP_32BIT searches [1 GiB, 2 GiB) bottom-up as Linux does, its start randomized by up to 32 MiB", () => {
    expect(kernel64().mmap(0, PAGE, PROT_RW, ANON_PRIVATE | MAP_32BIT, -1, 0)).toBe(0x40000000);
    const starts = new Set<number>();
    for (let seed = 1; seed <= 8; seed++) {
      const k = kernel64({ seed, aslr: 2 });
      const a = k.mmap(0, PAGE, PROT_RW, ANON_PRIVATE | MAP_32BIT, -1, 0);
      expect(a).toBeGreaterThanOrEqual(0x40000000);
      expect(a).toBeLessThan(0x42000000);
      starts.add(a);
      // a hint below 2 GiB counts; one above it does not
      expect(k.mmap(0x70000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_32BIT, -1, 0)).toBe(0x70000000);
      expect(k.mmap(0x90000000, PAGE, PROT_RW, ANON_PRIVATE | MAP_32BIT, -1, 0)).toBeLessThan(0x80000000);
    }
    expect(starts.size).toBeGreaterThan(1);
  });

  it("placement fills W1 top-down and goes on below it, across its edge, as Linux goes on", () => {
    const k = kernel64({ overcommit: 1 });
    const w1 = k.windows[1]!;
    const got: number[] = [];
    let a = 0;
    while ((a = k.mmap(0, 256 * MiB, PROT_RW, ANON_PRIVATE, -1, 0)) >= w1.va && got.length < 10) got.push(a);
    expect(got.length).toBe(Math.floor((w1.length - 3 * MiB) / (256 * MiB))); // 6: the libraries take the top 2.3 MiB
    // the next one right below the last, across W1's bottom edge: its last pages in W1, its first far
    expect(a).toBe(got.at(-1)! - 256 * MiB);
    expect(a < w1.va && a + 256 * MiB > w1.va).toBe(true);
    k.write(a, [1, 2, 3]);
    k.write(a + 256 * MiB - 3, [4, 5, 6]);
    k.write(w1.va - 1, [7, 8]);
    expect(k.read(a, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(k.read(a + 256 * MiB - 3, 3)).toEqual(new Uint8Array([4, 5, 6]));
    expect(k.read(w1.va - 2, 4)).toEqual(new Uint8Array([0, 7, 8, 0]));
    expect(k.mm.frames!.size).toBe(2); // a's first page and the one below W1
    expect(k.mmap(0, 256 * MiB, 0, ANON_PRIVATE, -1, 0)).toBe(a - 256 * MiB);
    k.verify();
  });

  it("the break stops at the end of W0, as at a mapping: the raw brk returns the old break", () => {
    const k = kernel64({ overcommit: 1 });
    const w0End = k.windows[0]!.va + k.windows[0]!.length;
    expect(k.brk(w0End)).toBe(w0End);
    expect(k.brk(w0End + PAGE)).toBe(w0End);
    expect(k.brk(k.startBrk + GiB)).toBe(k.startBrk + GiB);
    k.verify();
  });

  it("the stack grows down past its window into far pages, up to RLIMIT_STACK", () => {
    const k = kernel64({ rlimits: { RLIMIT_STACK: { cur: Infinity, max: Infinity } }, overcommit: 1 });
    const w2 = k.windows[2]!;
    expect(k.accessFault(w2.va, true)).toBeNull();
    expect(k.accessFault(w2.va - PAGE, true)).toBeNull();
    expect(k.maps()).toContain(`${(w2.va - PAGE).toString(16)}-7ffffffff000 rw-p 00000000 00:00 0`);
    k.write(w2.va - 2, [0xaa, 0xbb, 0xcc, 0xdd]);
    expect(k.read(w2.va - 2, 4)).toEqual(new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd]));
    expect(k.vaToOffset(w2.va - 1)).toBeLessThan(k.windows[1]!.offset); // in the pool
    k.verify();
    const limited = kernel64({ rlimits: { RLIMIT_STACK: { cur: 80 * MiB, max: Infinity } }, overcommit: 1 });
    const top = limited.windows[2]!.va + limited.windows[2]!.length;
    expect(limited.accessFault(top - 80 * MiB, true)).toBeNull();
    expect(limited.accessFault(top - 80 * MiB - PAGE, true)?.code).toBe("SEGV_MAPERR");
  });

  it("a huge RLIMIT_STACK puts mmap_base at 1/6 of the space, below the program, as on Linux", () => {
    const k = kernel64({ rlimits: { RLIMIT_STACK: { cur: Infinity, max: Infinity } } });
    const mmapBase = k.windows[1]!.va + k.windows[1]!.length;
    expect(mmapBase).toBe(Math.ceil((TASK_SIZE - Math.floor(TASK_SIZE / 6) * 5) / PAGE) * PAGE);
    expect(mmapBase).toBeLessThan(k.windows[0]!.va);
    const a = k.mmap(0, PAGE, PROT_RW, ANON_PRIVATE, -1, 0);
    expect(a).toBeLessThan(mmapBase);
    k.write(a, [1]);
    k.verify();
  });
});

describe("64-bit C arguments", () => {
  it("unsigned long: [0, 2^64) itself, negatives as two's complement, the rest unsatisfiable", () => {
    expect(ulong64(0x7ffffffff000)).toBe(0x7ffffffff000);
    expect(ulong64(4096.9)).toBe(4096);
    expect(ulong64(-4096)).toBe(2 ** 64 - 4096);
    expect(ulong64(-1)).toBe(2 ** 64); // SIZE_MAX, to the nearest double
    expect(ulong64(2 ** 64)).toBe(ULONG_UNREPRESENTABLE);
    expect(ulong64(-(2 ** 64))).toBe(ULONG_UNREPRESENTABLE);
    expect(ulong64(Infinity)).toBe(ULONG_UNREPRESENTABLE);
    expect(ulong64(Number.NaN)).toBe(0);
    expect(ulong64(-1n)).toBe(2 ** 64);
    expect(ulong64("12")).toBe(0);
    expect(rlim64(-1)).toBe(Infinity);
    expect(rlim64(2 ** 40)).toBe(2 ** 40);
  });

  it("reach the syscalls unnarrowed: 4 GiB + 4 KiB is not 4 KiB, -1 is too long for anything", () => {
    const k = kernel64({ overcommit: 1 });
    const huge = k.mmap(0, 2 ** 32 + PAGE, 0, ANON_PRIVATE, -1, 0); // far pages mostly: no window holds 4 GiB
    expect(vmaAt(k, huge)).toEqual([huge, huge + 2 ** 32 + PAGE, "---p"]);
    expect(k.munmap(huge, 2 ** 32 + PAGE)).toBe(0);
    const a = k.mmap(0, 1.5 * GiB, 0, ANON_PRIVATE, -1, 0);
    expect(a).toBeGreaterThan(0);
    // munmap reaches far below the window's start, and 4 GiB lengths are no error
    expect(k.munmap(k.windows[1]!.va - 2 ** 32, 2 ** 32 + (a - k.windows[1]!.va) + 1.5 * GiB)).toBe(0);
    expect(k.maps()).not.toContain(`${a.toString(16)}-`);
    expect(k.mmap(0, -1, PROT_RW, ANON_PRIVATE, -1, 0)).toBe(-ENOMEM);
    expect(k.munmap(a, -1)).toBe(-22);
    expect(k.mmap(0, PAGE, PROT_RW, ANON_PRIVATE, -1, -4096)).toBeGreaterThan(0); // x86-64 glibc passes any page-aligned offset
  });
});
