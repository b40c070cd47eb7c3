import { describe, expect, it } from "vitest";
import { createProcess, SegmentationFault } from "../../host/index.js";
import type { Process } from "../../host/process.js";

// A corrupted bin link makes glibc load from wherever the link points. Past the end of the Wasm
// memory the Wasm build's load traps and the process dies of SIGSEGV; the TypeScript twin must die
// the same way at the same call — not read `undefined` from a typed array and go on to a glibc
// abort. (A process's memory is 4 GiB unless maxMemoryBytes says less: these use 1 GiB, so that a
// link can point past its end.)

const write32 = (proc: Process, addr: number, value: number) => proc.write(addr, new Uint8Array(new Uint32Array([value]).buffer));

/** An address past the end of the process's memory, 16-aligned as a chunk would be (+8). */
const pastEnd = (proc: Process) => proc.memory.buffer.byteLength + 0x100008;

function expectSegv(proc: Process, call: () => unknown): void {
  expect(call).toThrow(SegmentationFault);
  expect(() => proc.malloc(1)).toThrow(SegmentationFault); // dead: every later call rethrows
}

describe.each(["wasm", "ts"] as const)("a link past the end of the memory (%s allocator)", (allocator) => {
  const fresh = () => createProcess({ seed: 9, allocator, maxMemoryBytes: 2 ** 30 });

  it("unsorted bk: the next malloc dies of SIGSEGV checking bck->fd", async () => {
    const proc = await fresh();
    const a = proc.malloc(1100);
    proc.malloc(16);
    proc.free(a); // too big for the tcache: the unsorted bin
    write32(proc, a + 4, pastEnd(proc));
    expectSegv(proc, () => proc.malloc(1100));
  });

  it("unsorted bk just below 4 GiB in a 4 GiB memory: the field read crosses the end, SIGSEGV", async () => {
    const proc = await createProcess({ seed: 9, allocator });
    const a = proc.malloc(1100);
    proc.malloc(16);
    proc.free(a);
    write32(proc, a + 4, 0xfffffff8); // bck->fd is at 2^32: a Wasm load adds its offset without wrapping
    expectSegv(proc, () => proc.malloc(1100));
  });

  it("small bin bk (the tcache bin full): the next malloc of that size dies of SIGSEGV", async () => {
    const proc = await fresh();
    const fill = Array.from({ length: 7 }, () => proc.malloc(200));
    const a = proc.malloc(200);
    proc.malloc(16);
    for (const p of fill) proc.free(p);
    proc.free(a); // unsorted
    proc.malloc(1100); // sorts a into its small bin
    for (let i = 0; i < 7; i++) proc.malloc(200); // empties the tcache bin
    write32(proc, a + 4, pastEnd(proc));
    expectSegv(proc, () => proc.malloc(200));
  });

  it("fastbin fd (safe-linked): refilling the tcache from the fastbin dies of SIGSEGV", async () => {
    const proc = await fresh();
    const fill = Array.from({ length: 7 }, () => proc.malloc(24));
    const x = proc.malloc(24);
    proc.malloc(16);
    for (const p of fill) proc.free(p);
    proc.free(x); // the fastbin
    write32(proc, x, ((x >>> 12) ^ pastEnd(proc)) >>> 0);
    for (let i = 0; i < 7; i++) proc.malloc(24);
    expectSegv(proc, () => proc.malloc(24));
  });
});
