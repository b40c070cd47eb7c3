// The allocator inside a whole process (host/process.ts with the real kernel): the same first
// steps as the walk-through, errno, death by abort.

import { describe, expect, it } from "vitest";
import * as M from "../../assembly/messages.js";
import { createProcess } from "../../host/boot.js";

const newProcess = (seed = 7) => createProcess({ seed });

describe("the allocator in a process with the real kernel", () => {
  it("places the first block 416 bytes above the initial break and grows the break by 139264", async () => {
    const proc = await newProcess();
    const brk0 = proc.sbrk(0);
    expect(brk0 % 4096).toBe(0);
    expect(proc.malloc(8) - brk0).toBe(416);
    expect(proc.sbrk(0) - brk0).toBe(139264);
    proc.malloc(4083);
    proc.malloc(3);
    const big = proc.malloc(136168);
    expect(new Uint32Array(proc.memory.buffer, big - 4, 1)[0]).toBe(0x21ffa);
    proc.malloc(1048576);
    expect(proc.malloc_stats()).toContain("max mmap bytes   =    1191936\n");
    expect(proc.maps()).toContain("[heap]");
  });

  it("sets errno as glibc does and leaves it alone on success", async () => {
    const proc = await newProcess();
    proc.errno = 0;
    expect(proc.malloc(-1)).toBe(0);
    expect(proc.errno).toBe(12);
    expect(proc.posix_memalign(24, 8)).toEqual({ err: 22, ptr: 0 });
    expect(proc.errno).toBe(12);
    const p = proc.malloc(100);
    expect(p).not.toBe(0);
    proc.free(p);
    expect(proc.errno).toBe(12);
  });

  it("dies with glibc's message on a double free, and stays dead", async () => {
    const proc = await newProcess();
    const p = proc.malloc(24);
    proc.free(p);
    expect(() => proc.free(p)).toThrow(M.FREE_TCACHE_DOUBLE_FREE);
    expect(() => proc.malloc(1)).toThrow(M.FREE_TCACHE_DOUBLE_FREE);
  });
});
