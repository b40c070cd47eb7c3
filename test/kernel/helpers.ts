// A bare kernel, as the process would build one, for the kernel's own tests.
import { Kernel, type KernelOptions } from "../../host/kernel/kernel.js";

export const PAGE = 4096;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const PROT_RW = 3;
export const ANON_PRIVATE = 0x22; // MAP_PRIVATE | MAP_ANONYMOUS
export const ANON_SHARED = 0x21; // MAP_SHARED | MAP_ANONYMOUS

export function makeKernel(options: Partial<Omit<KernelOptions, "memory">> = {}): Kernel {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  return new Kernel({
    memory,
    seed: 1,
    aslr: 0,
    overcommit: 0,
    overcommitRatio: 50,
    ramBytes: GiB,
    swapBytes: 0,
    privileged: false,
    rlimits: {},
    // the module's static data: one page above the text on i386, four (after the read-only pages of a PIE) on x86_64
    program:
      options.arch === "x86_64"
        ? { textStart: 0x10000, dataStart: 0x14000, dataEnd: 0x16a40 }
        : { textStart: 0x10000, dataStart: 0x11000, dataEnd: 0x13a40 },
    ...options,
  });
}

/** The maps() lines as [start, end, perms, name] tuples. */
export function mapsOf(k: Kernel): Array<[number, number, string, string]> {
  return k
    .maps()
    .trimEnd()
    .split("\n")
    .map((line) => {
      const [range, perms] = line.split(" ");
      const [a, b] = range!.split("-");
      const name = line.length > 73 ? line.slice(73) : "";
      return [parseInt(a!, 16), parseInt(b!, 16), perms!, name];
    });
}

/** The VMA containing addr, as [start, end, perms]. */
export function vmaAt(k: Kernel, addr: number): [number, number, string] | undefined {
  const m = mapsOf(k).find(([s, e]) => s <= addr && addr < e);
  return m && [m[0], m[1], m[2]];
}

export const hex = (n: number) => "0x" + n.toString(16);
