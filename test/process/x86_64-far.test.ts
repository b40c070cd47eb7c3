// Far pages through the allocator: an x86_64 process maps what Linux maps, also where no window of
// the 4 GiB Wasm memory reaches (a 4 GiB block, a block below W1), and glibc's loads, stores,
// memsets and memcpys reach such a block's pages through their frames, one page at a time. Both
// allocators (the Wasm build and the TypeScript twin) must agree with each other and with Linux.

import { describe, expect, it } from "vitest";
import {
  createProcess, M_PERTURB, MAP_ANONYMOUS, MAP_PRIVATE, SegmentationFault,
} from "../../host/index.js";

const GiB = 2 ** 30;
/** Enough RAM for Linux's overcommit heuristic to let a single mapping of several GiB through. */
const BIG_RAM = { ramBytes: 24 * GiB };
/** HEAP_MAX_SIZE on x86-64: a thread arena's heap is aligned to it. */
const HEAP_MAX = 64 * 2 ** 20;
const u64 = (b: Uint8Array) => b.reduceRight((acc, byte) => acc * 256 + byte, 0);

for (const allocator of ["wasm", "ts"] as const) {
  describe(`far pages in an x86_64 process (${allocator})`, () => {
    it("mmaps a 4 GiB block, touches only what is written, and unmaps it on free", async () => {
      const proc = await createProcess({ arch: "x86_64", seed: 11, aslr: 0, allocator, ...BIG_RAM });
      const rss0 = proc.status().VmRSS;
      const n = 4 * GiB + 16;
      const p = proc.malloc(n);
      expect(p).not.toBe(0);
      // glibc's header: an mmapped chunk of 4 GiB + 4 KiB (the request, its header, page-rounded)
      expect(u64(proc.read(p - 8, 8))).toBe(4 * GiB + 4096 + 2);
      expect(proc.mallinfo2().hblkhd).toBe(4 * GiB + 4096);
      proc.write(p + n - 3, [7, 8, 9]);
      expect(Array.from(proc.read(p + n - 3, 3))).toEqual([7, 8, 9]);
      expect(Array.from(proc.read(p + 2 * GiB, 4))).toEqual([0, 0, 0, 0]); // never written: zero
      // the header's page and the last one, nothing between (reads map the zero page)
      expect(proc.status().VmRSS - rss0).toBeLessThanOrEqual(3 * 4);
      proc.free(p);
      expect(proc.mallinfo2().hblks).toBe(0);
      expect(() => proc.read(p, 1)).toThrow(SegmentationFault);
    });

    it("reallocs a far block in place of a larger one with its bytes (mremap), and callocs zeroes", async () => {
      const proc = await createProcess({ arch: "x86_64", seed: 12, allocator, ...BIG_RAM });
      const p = proc.malloc(3 * GiB);
      expect(p).not.toBe(0);
      proc.write(p, [1, 2, 3, 4]);
      proc.write(p + 3 * GiB - 4, [5, 6, 7, 8]);
      const q = proc.realloc(p, 5 * GiB);
      expect(q).not.toBe(0);
      expect(Array.from(proc.read(q, 4))).toEqual([1, 2, 3, 4]);
      expect(Array.from(proc.read(q + 3 * GiB - 4, 4))).toEqual([5, 6, 7, 8]);
      const c = proc.calloc(1, 4 * GiB);
      expect(c).not.toBe(0);
      expect(Array.from(proc.read(c + GiB + 123, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      proc.free(q);
      proc.free(c);
      expect(proc.mallinfo2().hblkhd).toBe(0);
    });

    it("runs a thread whose arena lies in far pages as it runs one in W1: the same offsets, the same bytes", async () => {
      // The same program twice: once plain, once after a PROT_NONE reservation has taken the
      // mmap zone's window, so that the thread's heap (64 MiB, aligned) is mapped below it, in
      // far pages. Every block's offset from its heap and every byte glibc wrote (M_PERTURB's
      // fills, realloc's copies across page boundaries) must come out the same.
      const run = async (reserve: boolean) => {
        const proc = await createProcess({ arch: "x86_64", seed: 13, aslr: 0, allocator, ...BIG_RAM });
        expect(proc.mallopt(M_PERTURB, 0x5a)).toBe(1);
        if (reserve) {
          const r = proc.sys.mmap(0, 3 * GiB, 0, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          expect(r).toBeGreaterThan(0);
        }
        const t = proc.createThread();
        const out: number[] = [];
        let heap = 0;
        const live: [number, number][] = [];
        let x = 1;
        for (let i = 0; i < 600; i++) {
          x = (x * 1103515245 + 12345) % 2 ** 31;
          const size = 24 + (x % 9000);
          if (live.length > 20 && x % 3 === 0) {
            const [p, n] = live.splice(x % live.length, 1)[0]!;
            const q = t.realloc(p, n + 5000);
            expect(q).not.toBe(0);
            out.push(proc.read(q + n - 1, 1)[0]!); // copied by realloc
            live.push([q, n + 5000]);
          } else if (live.length > 20 && x % 3 === 1) {
            const [p] = live.splice(x % live.length, 1)[0]!;
            t.free(p);
          } else {
            const p = t.malloc(size);
            expect(p).not.toBe(0);
            if (heap === 0) heap = p - (p % HEAP_MAX); // the thread's heap: HEAP_MAX-aligned
            proc.write(p + size - 1, [i & 0xff]);
            live.push([p, size]);
          }
        }
        const offsets = live.map(([p, n]) => [p - heap, n, Array.from(proc.read(p, 2)), Array.from(proc.read(p + n - 1, 1))]);
        return { offsets, out, heap };
      };
      const plain = await run(false);
      const far = await run(true);
      expect(far.heap).toBeLessThan(plain.heap - 2 * GiB); // below all of the mmap zone's window
      expect(far.offsets).toEqual(plain.offsets);
      expect(far.out).toEqual(plain.out);
    });

    it("still dies of SIGSEGV at glibc's first load of a pointer where nothing is mapped", async () => {
      const proc = await createProcess({ arch: "x86_64", seed: 14, allocator });
      proc.malloc(16);
      expect(() => proc.free(0x40000010)).toThrow(SegmentationFault);
    });
  });
}
