// One allocator over a fresh memory and the real kernel, as host/process.ts builds a process,
// but with the allocator's exports and its syscalls in reach: every syscall the allocator makes
// is logged (calls), so tests can check what glibc would have asked the kernel.

import { allocatorModule, instantiateAllocator, type AllocatorKernel, type LoadedAllocator } from "../../host/allocator.js";
import type { Kernel } from "../../host/kernel/kernel.js";
import { withUnsignedResults } from "../../host/libc.js";
import { processKernel } from "../../host/boot.js";

export interface TestProcess extends LoadedAllocator {
  memory: WebAssembly.Memory;
  kernel: Kernel;
  /** The allocator's syscalls, in order: "brk(ADDR)", "mmap(LEN)", "munmap(LEN)", "mremap(OLD,NEW)", "madvise(LEN,ADVICE)". */
  calls: string[];
  /** The initial break. */
  brk0: number;
  /** The current break. */
  curBrk(): number;
  /** The size field of the chunk whose user pointer is `ptr` (a VA), as glibc stored it. */
  sizeField(ptr: number): number;
}

export async function makeProcess(
  opts: { debug?: boolean; seed?: number; arch?: "i386" | "x86_64"; ramBytes?: number } = {},
): Promise<TestProcess> {
  const debug = opts.debug ?? true;
  const seed = opts.seed ?? 1;
  const arch = opts.arch ?? "i386";
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const module = await allocatorModule(debug, arch);
  const calls: string[] = [];
  let kernel: Kernel | null = null;
  const k = () => kernel!;
  const recorder: AllocatorKernel = {
    brk: (addr) => (calls.push(`brk(${addr})`), k().brk(addr)),
    mmap: (addr, len, prot, flags, fd, off) => (calls.push(`mmap(${len})`), k().mmap(addr, len, prot, flags, fd, off)),
    munmap: (addr, len) => (calls.push(`munmap(${len})`), k().munmap(addr, len)),
    mremap: (old, oldLen, newLen, flags) => (calls.push(`mremap(${oldLen},${newLen})`), k().mremap(old, oldLen, newLen, flags)),
    madvise: (addr, len, advice) => (calls.push(`madvise(${len},${advice})`), k().madvise(addr, len, advice)),
    accessFault: (addr, write) => k().accessFault(addr, write),
    get windows() {
      return k().windows;
    },
    offsetToVa: (offset) => k().offsetToVa(offset),
    farOffset: (va, write) => k().farOffset(va, write),
  };
  const loaded = instantiateAllocator(module, { memory, seed, debug, arch, kernel: () => recorder });
  kernel = processKernel(memory, loaded.heapBase, { seed, aslr: 2, arch, ramBytes: opts.ramBytes });
  const kern = kernel;
  // x86_64 results are non-negative numbers already; i386's are raw 32-bit patterns.
  const libc = arch === "i386" ? withUnsignedResults(loaded.libc) : loaded.libc;
  const sizeField =
    arch === "i386"
      ? (ptr: number) => new Uint32Array(memory.buffer, ptr - 4, 1)[0]
      : (ptr: number) => {
          const at = kern.vaToOffset(ptr - 8);
          const w = new Uint32Array(memory.buffer, at, 2);
          return w[0] + w[1] * 2 ** 32;
        };
  return { ...loaded, libc, memory, kernel: kern, calls, brk0: kern.startBrk, curBrk: () => kern.brk(0), sizeField };
}
