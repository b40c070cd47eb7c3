// maxMemoryBytes: a smaller Wasm memory is a smaller address space. User space ends 8 KiB below
// the maximum (as 0xFFFFE000 ends it below 4 GiB), everything Linux places from the top moves
// down with it, and a process that fills it gets ENOMEM, never a mapping past the memory.

import { describe, expect, it } from "vitest";
import { ENOMEM } from "../../host/constants.js";
import type { Kernel } from "../../host/kernel/kernel.js";
import { bootProcess } from "../../host/boot.js";
import { mapsOf } from "../kernel/helpers.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** maps() as { start, end, name } lines (the kernel tests' parser). */
const linesOf = (k: Kernel) => mapsOf(k).map(([start, end, , name]) => ({ start, end, name }));

describe("maxMemoryBytes", () => {
  for (const maxBytes of [32 * MiB, 64 * MiB, 256 * MiB, GiB]) {
    it(`${maxBytes / MiB} MiB: the layout fits below it in Linux's order, and filling it ends in ENOMEM`, async () => {
      for (const seed of maxBytes >= GiB ? [1] : [1, 2, 3]) {
        const { process: proc, kernel } = await bootProcess({ seed, aslr: 2, maxMemoryBytes: maxBytes });
        const taskSize = maxBytes - 0x2000;
        expect(kernel.mm.layout.taskSize).toBe(taskSize);
        expect(proc.memory.buffer.byteLength).toBeLessThanOrEqual(maxBytes);

        const lines = linesOf(kernel);
        const heapBase = kernel.startBrk;
        const stack = lines.find((l) => l.name === "[stack]")!;
        const libc = lines.filter((l) => l.name.endsWith("libc.so.6"));
        const ld = lines.filter((l) => l.name.endsWith("ld-linux.so.2"));
        // program < break < libc < ld.so ≤ mmap_base < stack ≤ TASK_SIZE
        expect(heapBase).toBeLessThan(libc[0]!.start);
        expect(libc.at(-1)!.end).toBeLessThanOrEqual(ld[0]!.start);
        expect(ld.at(-1)!.end).toBeLessThanOrEqual(kernel.mm.layout.mmapBase);
        expect(kernel.mm.layout.mmapBase).toBeLessThan(stack.start);
        expect(stack.end).toBeLessThanOrEqual(taskSize);

        // Fill it: the heap with brk, then the mmap zone with 1 MiB blocks and smaller ones.
        let blocks = 0;
        for (const size of [64 * 1024, MiB, 64 * 1024, 16 * 1024]) {
          for (;;) {
            proc.errno = 0;
            const p = proc.malloc(size);
            if (p === 0) break;
            expect(p + size).toBeLessThanOrEqual(taskSize);
            blocks++;
          }
          expect(proc.errno).toBe(ENOMEM);
        }
        expect(blocks).toBeGreaterThan(0);
        expect(proc.sys.mmap(0, 4 * MiB, 3, 0x22, -1, 0)).toBe(-ENOMEM);
        // MAP_FIXED past the end of user space: ENOMEM, as Linux answers above TASK_SIZE.
        expect(proc.sys.mmap(taskSize, 4096, 3, 0x22 | 0x10, -1, 0)).toBe(-ENOMEM);
        for (const l of linesOf(kernel)) expect(l.end).toBeLessThanOrEqual(taskSize);
        expect(proc.memory.buffer.byteLength).toBeLessThanOrEqual(maxBytes);
        kernel.verify();
        // Most of the space was handed out: what is left is smaller than the last size tried, or
        // lies in holes of the layout (the stack gap).
        expect(proc.status().VmSize * 1024).toBeGreaterThan(maxBytes / 2);
      }
    });
  }

  it("rounds down to whole Wasm pages, so the memory never exceeds the budget", async () => {
    const { process: proc, kernel } = await bootProcess({ seed: 1, maxMemoryBytes: 64 * MiB + 65535 });
    expect(kernel.mm.layout.taskSize).toBe(64 * MiB - 0x2000);
    expect(proc.memory.buffer.byteLength).toBeLessThanOrEqual(64 * MiB);
  });

  it("keeps the default layout of a 4 GiB process unchanged", async () => {
    const a = await bootProcess({ seed: 9 });
    const b = await bootProcess({ seed: 9, maxMemoryBytes: 4 * GiB });
    expect(a.kernel.mm.layout.taskSize).toBe(0xffffe000);
    expect(b.process.maps()).toBe(a.process.maps());
  });
});
