// Threads in an x86_64 process: pthread_create and pthread_join as the real x86-64 glibc 2.36 does
// them on Linux (measured with small gcc -pthread programs on the machine the fixtures come from):
// an 8 MiB + 4 KiB stack at a 12-digit address of the mmap zone, the DTV calloc(17, 16) by the main
// thread, the 40 MiB stack cache, a thread's arena in a 64 MiB-aligned heap (mapped 128 MiB and
// trimmed: VmPeak shows it), and a thread's calls taking 64-bit C values.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProcess, EAGAIN, ENOMEM, type Process, ProcessAbort, type Thread } from "../../host/index.js";
import { replayStream } from "../../host/trace/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const STACK_BLOCK = 8 * MiB + 4 * KiB; // RLIMIT_STACK (8 MiB) + the guard page
const HEAP_MAX_SIZE = 64 * MiB;
const NON_MAIN_ARENA = 4;
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

const hex12 = (n: number) => n.toString(16).padStart(12, "0");
/** The maps line of an anonymous VMA [start, end), as Linux prints it on x86-64. */
const mapsLine = (start: number, end: number, perms: string) => `${hex12(start)}-${hex12(end)} ${perms} 00000000 00:00 0 `;
/** The 8-byte size field below the block at `p`. */
const sizeField = (proc: Process, p: number) => Number(new DataView(proc.read(p - 8, 8).buffer).getBigUint64(0, true));
const resident = (proc: Process, addr: number) => {
  const vec = new Uint8Array(1);
  expect(proc.sys.mincore(addr, 4096, vec)).toBe(0);
  return vec[0] & 1;
};

describe("createThread in an x86_64 process", () => {
  it("with ASLR off, the thread's stack and arena are where the real process has them", async () => {
    // setarch -R on a gcc -pthread program: main's malloc(10) at 0x5555555592a0, its thread's
    // first malloc(10) at 0x7ffff0000b70 (the first heap of arena 1, 64 MiB-aligned: heap_info,
    // malloc_state, the tcache, then the block at offset 2928)
    const proc = await createProcess({ arch: "x86_64", aslr: 0 });
    proc.malloc(10);
    const t = proc.createThread();
    expect(t.malloc(10)).toBe(0x7ffff0000b70);
    const lines = proc.maps().split("\n");
    expect(lines).toContain(mapsLine(0x7ffff0000000, 0x7ffff0021000, "rw-p")); // 132 KiB read-write
    expect(lines).toContain(mapsLine(0x7ffff0021000, 0x7ffff4000000, "---p")); // the rest of the 64 MiB
    const { start, bytes, guardBytes, cachedFrom } = t.stack;
    expect([bytes, guardBytes, cachedFrom]).toEqual([STACK_BLOCK, 4096, null]);
    expect(start).toBeGreaterThan(2 ** 32);
    expect(lines).toContain(mapsLine(start, start + 4096, "---p"));
    expect(lines).toContain(mapsLine(start + 4096, start + bytes, "rw-p"));
    // the TCB and TLS page at the top is resident, the rest of the stack not
    expect(resident(proc, start + bytes - 4096)).toBe(1);
    expect(resident(proc, start + bytes - 8192)).toBe(0);
    // the real process's status there: VmSize 76208 kB, VmData 8548, VmPeak 141744 (new_heap maps
    // 2 × HEAP_MAX_SIZE to find an aligned 64 MiB, then unmaps the rest)
    const s = proc.status();
    expect(s.VmPeak - s.VmSize).toBe(HEAP_MAX_SIZE / KiB);
    expect(s.VmData).toBe(8548);
  });

  it("the main thread callocs the DTV: 17 slots of 16 bytes, a 288-byte chunk of the main arena", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 2 });
    proc.malloc(100);
    proc.createThread();
    // test/fixtures/threads64/two-threads.txt, op=2
    expect(proc.mallinfo2().uordblks).toBe(1056);
    const before = proc.mallinfo2().uordblks;
    proc.createThread();
    expect(proc.mallinfo2().uordblks - before).toBe(288);
  });

  it("the 40 MiB stack cache keeps four stacks: the fifth joined unmaps the oldest and frees its DTV", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 6 });
    const threads = Array.from({ length: 6 }, () => proc.createThread());
    const mapped = (t: Thread) => proc.maps().includes(mapsLine(t.stack.start, t.stack.start + 4096, "---p"));
    for (const t of threads.slice(0, 4)) t.exit();
    expect(threads.every(mapped)).toBe(true);
    const used = proc.mallinfo2().uordblks;
    threads[4].exit();
    expect(mapped(threads[0])).toBe(false);
    // the DTV went to the main thread's tcache: its next 288-byte chunk is it
    expect(proc.mallinfo2().uordblks).toBe(used);
    proc.malloc(272);
    expect(proc.mallinfo2().uordblks).toBe(used);
    threads[5].exit();
    const next = Array.from({ length: 5 }, () => proc.createThread().stack.cachedFrom);
    expect(next).toEqual([6, 5, 4, 3, null]);
  });

  it("exit gives back (MADV_DONTNEED) the stack more than 16 KiB below the thread's frame", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 7 });
    const t = proc.createThread();
    const { start, bytes } = t.stack;
    const low = start + 4096;
    const nearTop = start + bytes - 2 * 4096;
    proc.fill(low, 1, 4096);
    proc.fill(nearTop, 1, 4096);
    t.exit();
    expect(resident(proc, low)).toBe(0);
    expect(proc.read(low, 1)[0]).toBe(0);
    expect(resident(proc, nearTop)).toBe(1);
  });

  it("a thread's calls take and give 64-bit C values, with its own arena and errno", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 8 });
    const t = proc.createThread();
    const p = t.malloc(100);
    const q = proc.malloc(100);
    expect(p).toBeGreaterThan(2 ** 32);
    expect(sizeField(proc, p) % 8 >= NON_MAIN_ARENA).toBe(true);
    expect(sizeField(proc, q) % 8 >= NON_MAIN_ARENA).toBe(false);
    expect(p % HEAP_MAX_SIZE).toBe(2928);
    t.free(q); // any thread may free any block
    proc.free(p);
    expect(t.malloc_usable_size(t.malloc(24))).toBe(24);
    const c = t.calloc(4, 8);
    expect(proc.read(c, 32).every((b) => b === 0)).toBe(true);
    expect(t.malloc_usable_size(t.reallocarray(t.realloc(c, 100), 10, 20))).toBeGreaterThanOrEqual(200);
    expect(t.memalign(64, 10) % 64).toBe(0);
    expect(t.posix_memalign(4, 10).err).toBe(22); // not a multiple of sizeof (void *) = 8
    proc.errno = 0;
    expect(t.malloc(-1)).toBe(0); // SIZE_MAX
    expect(t.errno).toBe(ENOMEM);
    expect(proc.errno).toBe(0);
    expect(t.calloc(2 ** 33, 2 ** 32)).toBe(0); // the product overflows 64 bits
    // 2 GiB in one mapping: Linux's overcommit heuristic refuses it on a machine of 1 GiB (the
    // default ramBytes), as here; 32 MiB is mmapped as on Linux.
    expect(t.malloc(2 ** 31)).toBe(0);
    expect(t.errno).toBe(ENOMEM);
    expect(t.malloc(32 * MiB)).toBeGreaterThan(2 ** 32);
  });

  it("a double free in a thread kills the process with glibc's x86-64 message", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 9 });
    const t = proc.createThread();
    const p = t.malloc(24);
    t.free(p);
    expect(() => t.free(p)).toThrow(ProcessAbort);
    expect(() => proc.malloc(1)).toThrow(/free\(\): double free detected in tcache 2/);
  });
});

describe("createThread's failure in an x86_64 process", () => {
  it("RLIMIT_AS too small for the stack: ThreadCreateError (EAGAIN), nothing mapped, the process alive", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 14 });
    proc.malloc(10);
    expect(proc.sys.setrlimit("RLIMIT_AS", { cur: proc.status().VmSize * KiB + 4 * MiB, max: Infinity })).toBe(0);
    const maps = proc.maps();
    const info = proc.mallinfo2();
    expect(() => proc.createThread()).toThrow(expect.objectContaining({ name: "ThreadCreateError", errno: EAGAIN }));
    expect(proc.maps()).toBe(maps);
    expect(proc.mallinfo2()).toEqual(info);
    expect(proc.errno).toBe(ENOMEM);
    proc.sys.setrlimit("RLIMIT_AS", { cur: Infinity, max: Infinity });
    expect(proc.createThread().id).toBe(1);
  });

  it("RLIMIT_STACK at start sets the stack size as on i386 (unlimited: 2 MiB, measured on x86-64 too)", async () => {
    const sizes: number[] = [];
    for (const cur of [Infinity, 1000, MiB + 1]) {
      const proc = await createProcess({ arch: "x86_64", seed: 16, rlimits: { RLIMIT_STACK: { cur, max: Infinity } } });
      sizes.push(proc.createThread().stack.bytes - 4096);
    }
    expect(sizes).toEqual([2 * MiB, 16 * KiB, MiB + 4096]);
  });

  it("400 stacks (3.2 GiB) go on below the mmap zone's window, as on Linux: in far pages, each costing only what it touched", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 17 });
    const before = proc.status();
    const threads: Thread[] = [];
    for (let i = 0; i < 400; i++) threads.push(proc.createThread());
    const lowest = Math.min(...threads.map((t) => t.stack.start));
    expect(lowest).toBeLessThan(threads[0]!.stack.start - 3 * 2 ** 30); // far below the first one
    const after = proc.status();
    expect(after.VmSize - before.VmSize).toBeGreaterThan(400 * 8 * 1024); // 8 MiB + 4 KiB each
    expect(after.VmRSS - before.VmRSS).toBeLessThan(400 * 16); // a few pages each
    const p = threads[399]!.malloc(100);
    threads[399]!.free(p);
    expect(proc.malloc(100)).not.toBe(0);
  });
});

describe("the threads format in an x86_64 process", () => {
  const scenario = (name: string) => readFileSync(join(root, `oracle/threads/scenarios/${name}.ops`));
  const fixture = (name: string) => readFileSync(join(root, `test/fixtures/threads64/${name}.txt`), "utf8");

  it("streaming replay prints the same blocks and lines", async () => {
    const proc = await createProcess({ arch: "x86_64", seed: 3 });
    const pieces: Uint8Array[] = [];
    const r = await replayStream(proc, [scenario("exit-reuse")], { checkpointEvery: 1, scenario: "exit-reuse", write: (b) => void pieces.push(b) });
    const expected = fixture("exit-reuse");
    expect(Buffer.concat(pieces).toString("utf8")).toBe(expected.slice(expected.indexOf("\n") + 1));
    expect(r.threads).toEqual({ created: 5, live: 0, arenasSeen: 3 });
  });
});
