import { describe, expect, it } from "vitest";
import {
  createProcess, MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, ProcessAbort, SegmentationFault,
} from "../../host/index.js";
import type { Process } from "../../host/process.js";
import { bootProcess } from "../../host/boot.js";

// free, realloc, reallocarray and malloc_usable_size hand the pointer to the allocator as it is:
// glibc's first access to the chunk, the load of its size field 4 bytes below the pointer, is
// the allocator's own load, checked against the kernel's page map like every chunk access. These
// cases pin that load's fault (code and address, as the real i386 process's SIGSEGV reports them)
// where the header lies in unmapped, PROT_NONE or out-of-memory space, or straddles into it.

type Call = [name: string, (p: Process, ptr: number) => unknown];
const CALLS: Call[] = [
  ["free", (p, ptr) => p.free(ptr)],
  ["realloc(ptr, 32)", (p, ptr) => p.realloc(ptr, 32)],
  ["realloc(ptr, 0)", (p, ptr) => p.realloc(ptr, 0)],
  ["reallocarray(ptr, 2, 16)", (p, ptr) => p.reallocarray(ptr, 2, 16)],
  ["malloc_usable_size", (p, ptr) => p.malloc_usable_size(ptr)],
];

const PAGE = 4096;

/** Two pages mapped read/write; the second one then unmapped or made PROT_NONE. */
function twoPages(proc: Process, second: "unmapped" | "PROT_NONE"): number {
  const m = proc.sys.mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect(m).toBeGreaterThan(0);
  if (second === "unmapped") expect(proc.sys.munmap(m + PAGE, PAGE)).toBe(0);
  else expect(proc.sys.mprotect(m + PAGE, PAGE, PROT_NONE)).toBe(0);
  return m;
}

type Case = [what: string, (p: Process) => { ptr: number; code: "SEGV_MAPERR" | "SEGV_ACCERR"; addr: number }];
const CASES: Case[] = [
  ["in an unmapped page", (p) => {
    const m = twoPages(p, "unmapped");
    return { ptr: m + PAGE + 64, code: "SEGV_MAPERR", addr: m + PAGE + 60 };
  }],
  ["in a PROT_NONE page", (p) => {
    const m = twoPages(p, "PROT_NONE");
    return { ptr: m + PAGE + 64, code: "SEGV_ACCERR", addr: m + PAGE + 60 };
  }],
  // The word's first two bytes are readable: the fault names the first byte that is not.
  ["straddling into an unmapped page", (p) => {
    const m = twoPages(p, "unmapped");
    return { ptr: m + PAGE + 2, code: "SEGV_MAPERR", addr: m + PAGE };
  }],
  ["straddling into a PROT_NONE page", (p) => {
    const m = twoPages(p, "PROT_NONE");
    return { ptr: m + PAGE + 2, code: "SEGV_ACCERR", addr: m + PAGE };
  }],
  // Above the stack's top: never mapped, and outside the Wasm memory.
  ["beyond the memory", (p) => {
    expect(p.memory.buffer.byteLength).toBeLessThan(0xfffffff0);
    return { ptr: 0xfffffff8, code: "SEGV_MAPERR", addr: 0xfffffff4 };
  }],
  // mem - 4 wraps to the top of the 32-bit space, as i386 computes it.
  ["wrapping below address 0", () => ({ ptr: 2, code: "SEGV_MAPERR", addr: 0xfffffffe })],
];

describe.each(["wasm", "ts"] as const)("the size field of a pointer handed in, loaded by the allocator (%s)", (allocator) => {
  for (const [what, setup] of CASES) {
    it.each(CALLS)(`${what}: %s dies of SIGSEGV at that load, and stays dead`, async (_name, call) => {
      const proc = await createProcess({ seed: 5, allocator });
      const kept = proc.malloc(100);
      const { ptr, code, addr } = setup(proc);
      let thrown: unknown;
      try {
        call(proc, ptr);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(SegmentationFault);
      expect({ code: (thrown as SegmentationFault).code, addr: (thrown as SegmentationFault).addr }).toEqual({ code, addr });
      // Every later call rethrows it: the hot calls, with good or bad arguments, and the others.
      for (const later of [
        () => proc.malloc(8),
        () => proc.free(kept),
        () => proc.free("x" as unknown as number),
        () => proc.calloc(1, 8),
        () => proc.realloc(kept, 8),
        () => proc.malloc_usable_size(kept),
      ]) {
        expect(later).toThrow(thrown as Error);
      }
    });
  }

  // Checked with a gcc -m32 program on Linux: free() of a pointer a few bytes to a few pages
  // below the [stack] VMA does not die of SIGSEGV: the load grows the stack (expand_stack), reads
  // zeros, and glibc rejects the chunk ("free(): invalid pointer", SIGABRT).
  it.each([4, 0x100, 0x2000])("a header just below the stack (pointer stack start - %i) grows the stack, then glibc's check aborts", async (below) => {
    const { process: proc, kernel } = await bootProcess({ seed: 5, allocator });
    const stackStart = () => Number.parseInt(kernel.maps().split("\n").find((l) => l.endsWith("[stack]"))!.split("-")[0]!, 16);
    const before = stackStart();
    expect(() => proc.free(before - below)).toThrow(new ProcessAbort("free(): invalid pointer"));
    expect(stackStart()).toBe(Math.floor((before - below - 4) / PAGE) * PAGE);
  });
});
