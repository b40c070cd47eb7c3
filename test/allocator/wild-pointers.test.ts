import { describe, expect, it } from "vitest";
import { createProcess, MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, SegmentationFault } from "../../host/index.js";
import type { Process } from "../../host/process.js";

// What the real i386 glibc on Linux does (checked with gcc -m32 programs on this machine): its first
// access to a chunk handed to free/realloc/malloc_usable_size is a load of the size field just
// below the pointer; where that is not readable memory the process dies of SIGSEGV right there.

function expectSegv(proc: Process, call: () => unknown, code: "SEGV_MAPERR" | "SEGV_ACCERR", addr: number): void {
  let thrown: unknown;
  try {
    call();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(SegmentationFault);
  const fault = thrown as SegmentationFault;
  expect(fault.signal).toBe("SIGSEGV");
  expect(fault.code).toBe(code);
  expect(fault.addr).toBe(addr);
  // The process is dead: every later call throws the same fault.
  expect(() => proc.malloc(1)).toThrow(fault);
}

describe.each(["wasm", "ts"] as const)("a pointer whose header is not readable (%s allocator)", (allocator) => {
  const fresh = () => createProcess({ seed: 7, allocator });

  it.each([0x1000, 0x12345678, 0x80000000, 0xfffffff0, 2])("free(%i) dies of SIGSEGV at the size field", async (ptr) => {
    const proc = await fresh();
    proc.malloc(16);
    expectSegv(proc, () => proc.free(ptr), "SEGV_MAPERR", (ptr - 4) >>> 0);
  });

  it("realloc, reallocarray and malloc_usable_size die the same way", async () => {
    for (const call of [
      (p: Process) => p.realloc(0x12345678, 32),
      (p: Process) => p.reallocarray(0x12345678, 2, 16),
      (p: Process) => p.malloc_usable_size(0x12345678),
    ]) {
      const proc = await fresh();
      expectSegv(proc, () => call(proc), "SEGV_MAPERR", 0x12345674);
    }
  });

  it("reallocarray whose size overflows fails with ENOMEM before looking at the block", async () => {
    const proc = await fresh();
    expect(proc.reallocarray(0x12345678, 0x10000, 0x10000)).toBe(0);
    expect(proc.errno).toBe(12);
    expect(proc.malloc(8)).not.toBe(0);
  });

  it("a second free of an mmapped chunk reads the unmapped header: SIGSEGV, not an abort", async () => {
    const proc = await fresh();
    const p = proc.malloc(200_000);
    proc.free(p);
    expectSegv(proc, () => proc.free(p), "SEGV_MAPERR", p - 4);
  });

  it("a header page made PROT_NONE faults with SEGV_ACCERR; write-only memory is readable on x86", async () => {
    const proc = await fresh();
    const p = proc.malloc(100);
    const page = p & ~4095;
    expect(proc.sys.mprotect(page, 4096, PROT_WRITE)).toBe(0);
    proc.free(p); // readable: glibc frees it as usual
    const q = proc.malloc(100);
    expect(proc.sys.mprotect(q & ~4095, 4096, PROT_NONE)).toBe(0);
    expectSegv(proc, () => proc.free(q), "SEGV_ACCERR", q - 4);
  });

  it("a pointer into mapped memory that is no chunk still gets glibc's own check", async () => {
    const proc = await fresh();
    const m = proc.sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(() => proc.free(m + 4096)).toThrow("free(): invalid pointer");
  });
});

describe.each(["wasm", "ts"] as const)("a load past the end of the memory inside the allocator (%s allocator)", (allocator) => {
  it("is a SIGSEGV death, as the real process's load through a corrupted link would be", async () => {
    const proc = await createProcess({ seed: 3, allocator });
    // A free 24-byte block in the tcache whose safe-linked next pointer is made to point at the
    // last bytes of the 4 GiB space (above the stack: never mapped, beyond the Wasm memory): the
    // malloc after the one that takes the block loads the next entry's link from there.
    const a = proc.malloc(24);
    const b = proc.malloc(24);
    proc.free(b);
    proc.free(a);
    const target = 0xfffffff0; // the second malloc(24) loads the next entry from it
    const view = new DataView(proc.memory.buffer);
    view.setUint32(a, (target ^ (a >>> 12)) >>> 0, true);
    expect(proc.malloc(24)).toBe(a);
    let thrown: unknown;
    try {
      proc.malloc(24);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SegmentationFault);
    expect((thrown as SegmentationFault).signal).toBe("SIGSEGV");
    expect(() => proc.malloc(1)).toThrow(thrown as Error);
  });
});
