// An x86_64 process through the public API: real 64-bit addresses everywhere (what malloc returns,
// what glibc stores in chunks, what maps() prints), 64-bit C values at the boundary, and the
// window translation (offsetOf) agreeing with the checked accesses.

import { describe, expect, it } from "vitest";
import { createProcess, ENOMEM, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SegmentationFault } from "../../host/index.js";

const u64 = (b: Uint8Array) => b.reduceRight((acc, byte) => acc * 256 + byte, 0);

describe("an x86_64 process", () => {
  it("hands out 64-bit addresses above the program and the break, and reads them back through its windows", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 3, aslr: 0 });
    expect(proc.arch).toBe("x86_64");
    const brk0 = proc.sbrk(0);
    expect(brk0).toBeGreaterThan(0x555555554000);
    const p = proc.malloc(24);
    expect(p - brk0).toBe(672); // the tcache struct (0x290) first, as on the real x86-64 glibc
    expect(u64(proc.read(p - 8, 8))).toBe(0x21); // a 32-byte chunk, PREV_INUSE
    proc.write(p, [1, 2, 3]);
    const at = proc.offsetOf(p);
    expect(Array.from(new Uint8Array(proc.memory.buffer, at, 3))).toEqual([1, 2, 3]);
    expect(proc.offsetOf(0x100000000)).toBe(-1); // no window reaches there
    expect(() => proc.read(0x100000000, 1)).toThrow(SegmentationFault);
  });

  it("mangles tcache links with the real addresses, as the protection in glibc 2.32+ does on Linux", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 4 });
    const a = proc.malloc(40), b = proc.malloc(40);
    proc.free(a);
    proc.free(b);
    // b's next is a, stored as (&b->next >> 12) ^ a; the key word after it is the tcache key
    expect(u64(proc.read(b, 8))).toBe(Number((BigInt(b) >> 12n) ^ BigInt(a)));
    expect(proc.malloc(40)).toBe(b);
    expect(proc.malloc(40)).toBe(a);
  });

  it("takes 64-bit sizes: malloc(-1) is malloc(SIZE_MAX), a 4 GiB request is a real size, not a wrapped one", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 5 });
    expect(proc.malloc(-1)).toBe(0);
    expect(proc.errno).toBe(ENOMEM);
    expect(proc.malloc(2 ** 64)).toBe(0); // no C value: SIZE_MAX
    proc.errno = 0;
    // 2^32 + 16 does not wrap to 16 as it would in a 32-bit size_t: it is a 4 GiB mapping, which
    // Linux's overcommit heuristic refuses on a machine of 1 GiB (the default ramBytes)
    expect(proc.malloc(2 ** 32 + 16)).toBe(0);
    expect(proc.errno).toBe(ENOMEM);
    const big = proc.malloc(300_000); // mmapped: a whole page-rounded mapping below mmap_base
    expect(big).toBeGreaterThan(0x7f0000000000);
    expect(u64(proc.read(big - 8, 8))).toBe(0x4a000 | 2);
    expect(proc.mallinfo2().hblkhd).toBe(0x4a000);
    expect(proc.malloc_usable_size(big)).toBe(0x4a000 - 16);
    proc.free(big);
    expect(proc.mallinfo2().hblks).toBe(0);
  });

  it("answers posix_memalign's 64-bit alignments as glibc does, on both allocators (doubles near 2^64 are rounded)", async () => {
    for (const allocator of ["wasm", "ts"] as const) {
      const proc = await createProcess({ arch: "x86_64", seed: 5, allocator });
      expect(proc.posix_memalign(-16, 57711)).toEqual({ err: 22, ptr: 0 }); // SIZE_MAX - 15: no power of two
      expect(proc.posix_memalign(2 ** 64, 57711)).toEqual({ err: 22, ptr: 0 }); // no C value: SIZE_MAX, odd
      expect(proc.posix_memalign(2 ** 63, 57711)).toEqual({ err: 12, ptr: 0 }); // a power of two, too large
      expect(proc.posix_memalign(2 ** 12, 100).err).toBe(0);
    }
  });

  it("maps anonymous memory near the libraries and shows 12-digit addresses", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 6, aslr: 0 });
    const m = proc.sys.mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect(m).toBeGreaterThan(0x7ff000000000);
    const line = proc.maps().split("\n").find((l) => l.startsWith(m.toString(16)));
    expect(line).toMatch(/^[0-9a-f]{12}-[0-9a-f]{12} rw-p 00000000 00:00 0/);
    proc.fill(m, 0xab, 8192);
    expect(proc.status().RssAnon).toBeGreaterThanOrEqual(8);
    expect(proc.sys.munmap(m, 8192)).toBe(0);
    expect(() => proc.read(m, 1)).toThrow(SegmentationFault);
  });

  it("dies of SIGSEGV at glibc's first load when free is given a pointer no window holds", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 7 });
    proc.malloc(16);
    expect(() => proc.free(0x100000010)).toThrow(SegmentationFault);
    expect(() => proc.malloc(16)).toThrow(SegmentationFault); // the process stays dead
  });
});
