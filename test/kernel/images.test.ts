import { describe, expect, it } from "vitest";
import { createProcess, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../../host/index.js";
import type { Process } from "../../host/process.js";
import { makeKernel } from "./helpers.js";

// A fresh process as a minimal `gcc -m32` program on Debian 12 (glibc 2.36) shows itself under
// Linux 6.18 before main(): ld.so, the vDSO and libc below mmap_base, with a 10-page hole where
// ld.so had /etc/ld.so.cache mapped (read off /proc/self/maps, smaps and status of such a program).

interface Line {
  start: number;
  end: number;
  perms: string;
  name: string;
}

function lines(proc: Process): Line[] {
  return proc
    .maps()
    .trim()
    .split("\n")
    .map((l) => {
      const [range, perms] = l.split(" ");
      const [s, e] = range!.split("-");
      return { start: parseInt(s!, 16), end: parseInt(e!, 16), perms: perms!, name: l.length > 73 ? l.slice(73).trim() : "" };
    });
}

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe("a fresh process has ld.so, the vDSO and libc mapped", () => {
  it("in the real order, sizes and permissions, below mmap_base", async () => {
    const proc = await createProcess({ seed: 11 });
    const top = lines(proc).filter((l) => l.start >= 0x80000000 && l.name !== "[stack]");
    expect(top.map((l) => `${(l.end - l.start) / PAGE}p ${l.perms} ${l.name}`)).toEqual([
      "34p r--p /usr/lib32/libc.so.6",
      "377p r-xp /usr/lib32/libc.so.6",
      "128p r--p /usr/lib32/libc.so.6",
      "2p r--p /usr/lib32/libc.so.6",
      "1p rw-p /usr/lib32/libc.so.6",
      "6p rw-p ", // libc's .bss: 10 pages, less the 4 the allocator's own state takes in the program's data
      "2p rw-p ",
      "4p r--p [vvar]",
      "2p r--p [vvar_vclock]",
      "2p r-xp [vdso]",
      "1p r--p /usr/lib32/ld-linux.so.2",
      "35p r-xp /usr/lib32/ld-linux.so.2",
      "14p r--p /usr/lib32/ld-linux.so.2",
      "2p r--p /usr/lib32/ld-linux.so.2",
      "1p rw-p /usr/lib32/ld-linux.so.2",
    ]);
    // contiguous but for the 10-page hole left by /etc/ld.so.cache
    const gaps = top.slice(1).map((l, i) => (l.start - top[i]!.end) / PAGE);
    expect(gaps).toEqual([0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("and counts them as Linux does: VmLib, VmSize of a few MiB, the loader's pages resident", async () => {
    const s = (await createProcess({ seed: 11 })).status();
    expect(s.VmLib).toBe(1656); // libc's and ld.so's text, and the vDSO
    expect(s.VmExe).toBe(4);
    expect(s.VmSize).toBe(2612); // the real program's 2748 kB less its 136 kB heap (printf made one)
    expect(s.VmData).toBe(60);
    expect(s.RssAnon).toBe(68);
    expect(s.VmRSS).toBeGreaterThan(1000);
  });

  it("so a first small mapping lands in the hole, on top of ld.so's pages, and a larger one below libc", async () => {
    const proc = await createProcess({ seed: 11 });
    const before = lines(proc);
    const libc = before.find((l) => l.name === "/usr/lib32/libc.so.6")!;
    const ldAnon = before.find((l, i) => l.name === "" && before[i + 1]?.name === "[vvar]")!;
    const a = proc.sys.mmap(0, PAGE, RW, ANON, -1, 0);
    const b = proc.sys.mmap(0, 30 * PAGE, RW, ANON, -1, 0);
    expect(a).toBe(ldAnon.start - PAGE);
    expect(b).toBe(libc.start - 30 * PAGE);
    // the first merges with ld.so's anonymous pages into one 3-page VMA, as it does on Linux
    expect(lines(proc).find((l) => l.start === a)!.end).toBe(ldAnon.end);
  });

  it("so RLIMIT_AS bites where it bites on Linux", async () => {
    // the real program: setrlimit(RLIMIT_AS, 8 MiB); while (malloc(1 << 20)) n++; → n = 5, VmSize 7888 kB
    const proc = await createProcess({ seed: 11, rlimits: { RLIMIT_AS: { cur: 8 << 20, max: 8 << 20 } } });
    let n = 0;
    while (proc.malloc(1 << 20) !== 0) n++;
    expect(n).toBe(5);
    expect(proc.status().VmSize).toBe(7888);
  });

  it.each([
    [256, 1, 196],
    [1024, 9, 972],
    [2048, 19, 1948],
    [3000, 29, 2924],
    [4096, 41, 4096],
  ])("so RLIMIT_DATA bites where it bites on Linux: %i KiB", async (limitKiB, blocks, vmDataKiB) => {
    // the real program: setrlimit(RLIMIT_DATA, limit); count malloc(100000) until it fails
    // (the break first, then glibc's mmap fallback), then malloc(300000): none
    const proc = await createProcess({ seed: 11, rlimits: { RLIMIT_DATA: { cur: limitKiB * 1024, max: limitKiB * 1024 } } });
    let n = 0;
    while (proc.malloc(100_000) !== 0) n++;
    expect(n).toBe(blocks);
    expect(proc.malloc(300_000)).toBe(0);
    expect(proc.status().VmData).toBe(vmDataKiB);
  });

  it("while a bare kernel (the unit tests') has only the program and the stack", () => {
    const k = makeKernel();
    expect(k.maps().split("\n").filter((l) => l.includes("libc")).length).toBe(0);
  });
});
