// The first calls of a fresh process, as the real i386 glibc 2.36 answers them
// (checked with gcc -m32 on Debian 12: offsets from the initial break, size fields, statistics).

import { describe, expect, it } from "vitest";
import { makeProcess } from "./harness.js";

const sizeField = (memory: WebAssembly.Memory, ptr: number) => new Uint32Array(memory.buffer, ptr - 4, 1)[0];

describe("the first malloc of a process", () => {
  it("carves the tcache struct at the break + 8 and returns a pointer 416 bytes above the break", async () => {
    const p = await makeProcess();
    const a = p.libc.malloc(8);
    expect(a - p.brk0).toBe(416);
    // the tcache_perthread_struct chunk: 384 bytes requested, chunk size 400, in use
    expect(sizeField(p.memory, p.brk0 + 16)).toBe(400 | 1);
  });

  it("grows the break by 139264: 135168 for nb + top_pad + MINSIZE, one page to re-align the end", async () => {
    const p = await makeProcess();
    p.libc.malloc(8);
    expect(p.curBrk() - p.brk0).toBe(139264);
    expect(p.calls.filter((c) => c.startsWith("brk"))).toEqual([
      "brk(0)", `brk(${p.brk0 + 135168})`, `brk(${p.brk0 + 139264})`,
    ]);
  });

  it("counts the 8 alignment bytes, the tcache and the block as in use (424)", async () => {
    const p = await makeProcess();
    p.libc.malloc(8);
    expect(p.libc.mallinfo2().uordblks).toBe(424);
  });
});

describe("the walk-through malloc 8, 4083, 3, 136168, 1048576", () => {
  it("places the brk blocks, mmaps the two large ones and reports glibc's statistics", async () => {
    const p = await makeProcess();
    const { libc, memory, brk0 } = p;
    expect(libc.malloc(8) - brk0).toBe(416);
    const b = libc.malloc(4083);
    expect(b - brk0).toBe(432);
    expect(sizeField(memory, b)).toBe(0x1001);
    const c = libc.malloc(3);
    expect(c - brk0).toBe(4528);
    expect(sizeField(memory, c)).toBe(0x11);
    expect(libc.mallinfo2().uordblks).toBe(4536);
    const d = libc.malloc(136168);
    expect(sizeField(memory, d)).toBe(0x21ffa);
    const e = libc.malloc(1048576);
    expect(sizeField(memory, e)).toBe(0x100ffa);
    expect(libc.malloc_stats()).toBe(
      "Arena 0:\n" +
        "system bytes     =     139264\n" +
        "in use bytes     =       4536\n" +
        "Total (incl. mmap):\n" +
        "system bytes     =    1331200\n" +
        "in use bytes     =    1196472\n" +
        "max mmap regions =          2\n" +
        "max mmap bytes   =    1191936\n",
    );
  });

  it("writes malloc_info's XML as glibc does", async () => {
    const p = await makeProcess();
    for (const n of [8, 4083, 3, 136168, 1048576]) p.libc.malloc(n);
    expect(p.libc.malloc_info()).toBe(
      `<malloc version="1">
<heap nr="0">
<sizes>
</sizes>
<total type="fast" count="0" size="0"/>
<total type="rest" count="1" size="134728"/>
<system type="current" size="139264"/>
<system type="max" size="139264"/>
<aspace type="total" size="139264"/>
<aspace type="mprotect" size="139264"/>
</heap>
<total type="fast" count="0" size="0"/>
<total type="rest" count="1" size="134728"/>
<total type="mmap" count="2" size="1191936"/>
<system type="current" size="139264"/>
<system type="max" size="139264"/>
<aspace type="total" size="139264"/>
<aspace type="mprotect" size="139264"/>
</malloc>
`,
    );
  });
});
