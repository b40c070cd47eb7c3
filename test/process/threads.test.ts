// proc.createThread() and Thread: pthread_create from the main thread as glibc 2.36 (i386) does it
// on Linux 6.1 — the stack mapping and its guard page, the DTV the main thread callocs, the stack
// cache — and a thread's C library calls: its own arena and errno, a death that is the whole
// process's, no calls after exit.

import { describe, expect, it } from "vitest";
import {
  createProcess,
  EAGAIN,
  ENOMEM,
  MCL_FUTURE,
  ProcessAbort,
  SegmentationFault,
  Thread,
  ThreadCreateError,
  type Process,
} from "../../host/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const STACK_BLOCK = 8 * MiB + 4 * KiB; // RLIMIT_STACK (8 MiB) + the guard page
const NON_MAIN_ARENA = 4;

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
/** The maps line of an anonymous VMA [start, end), as Linux prints it (no name: "0 " ends it). */
const mapsLine = (start: number, end: number, perms: string) => `${hex8(start)}-${hex8(end)} ${perms} 00000000 00:00 0 `;
const sizeField = (proc: Process, p: number) => new DataView(proc.read(p - 4, 4).buffer).getUint32(0, true);
const resident = (proc: Process, addr: number) => {
  const vec = new Uint8Array(1);
  expect(proc.sys.mincore(addr, 4096, vec)).toBe(0);
  return vec[0] & 1;
};

describe.each(["wasm", "ts"] as const)("allocator %s", (allocator) => {
  describe("createThread maps a stack as glibc's allocate_stack does", () => {
    it("8 MiB + a PROT_NONE guard page below it, shown by maps() as Linux 6.1 shows a thread stack", async () => {
      const proc = await createProcess({ allocator, seed: 1 });
      const t = proc.createThread();
      expect(t).toBeInstanceOf(Thread);
      expect(t.id).toBe(1);
      const { start, bytes, guardBytes, cachedFrom } = t.stack;
      expect([bytes, guardBytes, cachedFrom]).toEqual([STACK_BLOCK, 4096, null]);
      const lines = proc.maps().split("\n");
      // no name: since Linux 4.5 a thread's stack is an anonymous mapping like any other
      expect(lines).toContain(mapsLine(start, start + 4096, "---p"));
      expect(lines).toContain(mapsLine(start + 4096, start + bytes, "rw-p"));
      // only the top page (TCB and TLS) is resident
      expect(resident(proc, start + bytes - 4096)).toBe(1);
      expect(resident(proc, start + bytes - 8192)).toBe(0);
      expect(resident(proc, start + 4096)).toBe(0);
    });

    it("the main thread callocs the DTV (17 × 8 bytes) in the main arena: uordblks as glibc's after pthread_create", async () => {
      const proc = await createProcess({ allocator, seed: 2 });
      proc.createThread();
      // test/fixtures/threads/one-thread.txt, op=1: the DTV's 144-byte chunk and the main thread's tcache
      expect(proc.mallinfo2().uordblks).toBe(552);
      const before = proc.mallinfo2().uordblks;
      proc.createThread();
      expect(proc.mallinfo2().uordblks - before).toBe(144);
    });

    it("status(): the stack counts in VmSize and VmData, not VmStk; its top page in VmRSS", async () => {
      const proc = await createProcess({ allocator, seed: 3 });
      proc.createThread(); // the first one also sets up the main arena (the DTV's calloc)
      const a = proc.status();
      proc.createThread();
      const b = proc.status();
      expect(b.VmSize - a.VmSize).toBe(STACK_BLOCK / KiB);
      expect(b.VmData - a.VmData).toBe(8 * MiB / KiB);
      expect(b.VmStk).toBe(a.VmStk);
      expect(b.VmRSS - a.VmRSS).toBeGreaterThanOrEqual(4);
      expect(b.VmRSS - a.VmRSS).toBeLessThanOrEqual(12);
    });

    it("thread numbers are 1, 2, 3, … and never reused", async () => {
      const proc = await createProcess({ allocator, seed: 4 });
      const t1 = proc.createThread();
      const t2 = proc.createThread();
      t1.exit();
      expect(proc.createThread().id).toBe(3);
      expect(t2.id).toBe(2);
    });
  });

  describe("the stack cache", () => {
    it("a joined thread's stack goes to the next new thread, newest first, with its DTV: no allocation", async () => {
      const proc = await createProcess({ allocator, seed: 5 });
      const t1 = proc.createThread();
      const t2 = proc.createThread();
      t1.exit();
      t2.exit();
      const used = proc.mallinfo2().uordblks;
      const t3 = proc.createThread();
      expect(t3.stack.cachedFrom).toBe(2);
      expect(t3.stack.start).toBe(t2.stack.start);
      const t4 = proc.createThread();
      expect(t4.stack.cachedFrom).toBe(1);
      expect(t4.stack.start).toBe(t1.stack.start);
      expect(proc.mallinfo2().uordblks).toBe(used);
      expect(proc.createThread().stack.cachedFrom).toBeNull();
    });

    it("holds 40 MiB: the fifth stack joined unmaps the oldest (and the main thread frees its DTV)", async () => {
      const proc = await createProcess({ allocator, seed: 6 });
      const threads = Array.from({ length: 6 }, () => proc.createThread());
      const mapped = (t: Thread) => proc.maps().includes(mapsLine(t.stack.start, t.stack.start + 4096, "---p"));
      for (const t of threads.slice(0, 4)) t.exit();
      expect(threads.every(mapped)).toBe(true);
      const used = proc.mallinfo2().uordblks;
      threads[4].exit();
      expect(mapped(threads[0])).toBe(false);
      expect(threads.slice(1).every(mapped)).toBe(true);
      // the DTV went to the main thread's tcache (in use for mallinfo2): its next 144-byte chunk is it
      expect(proc.mallinfo2().uordblks).toBe(used);
      proc.malloc(136);
      expect(proc.mallinfo2().uordblks).toBe(used);
      threads[5].exit();
      expect(mapped(threads[1])).toBe(false);
      // the four cached stacks are taken newest first, then a new one is mapped
      const next = Array.from({ length: 5 }, () => proc.createThread().stack.cachedFrom);
      expect(next).toEqual([6, 5, 4, 3, null]);
    });

    it("exit gives back (MADV_DONTNEED) the stack more than 16 KiB below the thread's frame", async () => {
      const proc = await createProcess({ allocator, seed: 7 });
      const t = proc.createThread();
      const { start, bytes } = t.stack;
      const low = start + 4096;
      const nearTop = start + bytes - 2 * 4096;
      proc.fill(low, 1, 4096);
      proc.fill(nearTop, 1, 4096);
      expect([resident(proc, low), resident(proc, nearTop)]).toEqual([1, 1]);
      t.exit();
      expect(resident(proc, low)).toBe(0);
      expect(proc.read(low, 1)[0]).toBe(0);
      expect(resident(proc, nearTop)).toBe(1);
    });
  });

  describe("a thread's calls are its own", () => {
    it("a thread allocates from its own arena (NON_MAIN_ARENA), the main thread from the main arena", async () => {
      const proc = await createProcess({ allocator, seed: 8 });
      const t = proc.createThread();
      const p = t.malloc(100);
      const q = proc.malloc(100);
      expect(sizeField(proc, p) & NON_MAIN_ARENA).toBe(NON_MAIN_ARENA);
      expect(sizeField(proc, q) & NON_MAIN_ARENA).toBe(0);
      // a thread's block 1 MiB-aligned heap: the arena's tcache, then the block (oracle: offset 1552)
      expect(p % MiB).toBe(1552);
      t.free(q); // any thread may free any block
      proc.free(p);
      expect(t.malloc_usable_size(t.malloc(24))).toBe(28);
    });

    it("every C library call of the API is there, converting its arguments as Process does", async () => {
      const proc = await createProcess({ allocator, seed: 9 });
      const t = proc.createThread();
      const c = t.calloc(4, 8);
      expect(proc.read(c, 32).every((b) => b === 0)).toBe(true);
      const r = t.realloc(c, 100);
      const ra = t.reallocarray(r, 10, 20);
      expect(t.malloc_usable_size(ra)).toBeGreaterThanOrEqual(200);
      expect(t.memalign(64, 10) % 64).toBe(0);
      expect(t.aligned_alloc(128, 10) % 128).toBe(0);
      expect(t.valloc(10) % 4096).toBe(0);
      expect(t.pvalloc(10) % 4096).toBe(0);
      const pm = t.posix_memalign(256, 10);
      expect(pm.err).toBe(0);
      expect(pm.ptr % 256).toBe(0);
      expect(t.posix_memalign(3, 10).err).toBe(22);
      t.free(null);
      expect(t.malloc_usable_size(null)).toBe(0);
      expect(t.realloc(null, 8)).not.toBe(0);
      // the same TypeErrors as Process, before anything happens
      for (const [call, args] of [
        ["malloc", ["1"]],
        ["free", [undefined]],
        ["calloc", [1, 2n]],
        ["realloc", [{}, 1]],
        ["memalign", [16, null]],
      ] as const) {
        const fromProc = (() => {
          try {
            (proc as unknown as Record<string, (...a: unknown[]) => unknown>)[call](...args);
          } catch (err) {
            return err as Error;
          }
        })();
        expect(fromProc).toBeInstanceOf(TypeError);
        expect(() => (t as unknown as Record<string, (...a: unknown[]) => unknown>)[call](...args)).toThrow(fromProc!.message);
      }
      expect(() => {
        t.errno = 1.5;
      }).toThrow(RangeError);
    });

    it("errno is per thread, as C's errno is thread-local", async () => {
      const proc = await createProcess({ allocator, seed: 10 });
      const t1 = proc.createThread();
      const t2 = proc.createThread();
      proc.errno = 0;
      expect(t1.malloc(-1)).toBe(0);
      expect(t1.errno).toBe(ENOMEM);
      expect(t2.errno).toBe(0);
      expect(proc.errno).toBe(0);
      t2.errno = 99;
      proc.errno = 7;
      expect([proc.errno, t1.errno, t2.errno]).toEqual([7, ENOMEM, 99]);
      expect(proc.malloc(2 ** 32 - 1)).toBe(0);
      expect([proc.errno, t1.errno, t2.errno]).toEqual([ENOMEM, ENOMEM, 99]);
    });
  });

  describe("a death in a thread is the process's", () => {
    it("a double free in a thread aborts the process: every later call, anywhere, throws it again", async () => {
      const proc = await createProcess({ allocator, seed: 11 });
      const t1 = proc.createThread();
      const t2 = proc.createThread();
      const p = t1.malloc(24);
      t1.free(p);
      let death: unknown;
      try {
        t1.free(p);
      } catch (err) {
        death = err;
      }
      expect(death).toBeInstanceOf(ProcessAbort);
      expect((death as ProcessAbort).message).toBe("free(): double free detected in tcache 2");
      expect(() => proc.malloc(1)).toThrow(death as Error);
      expect(() => t2.malloc(1)).toThrow(death as Error);
      expect(() => t1.exit()).toThrow(death as Error);
      expect(() => proc.createThread()).toThrow(death as Error);
    });

    it("a pointer whose header is not readable memory is SIGSEGV in a thread too", async () => {
      const proc = await createProcess({ allocator, seed: 12 });
      const t = proc.createThread();
      expect(() => t.free(0x100)).toThrow(SegmentationFault);
      expect(() => proc.free(0)).toThrow(SegmentationFault);
    });
  });

  describe("an exited thread", () => {
    it("makes no more calls: each throws an Error saying so, and the process goes on", async () => {
      const proc = await createProcess({ allocator, seed: 13 });
      const t = proc.createThread();
      const p = t.malloc(40);
      t.exit();
      expect(t.exited).toBe(true);
      expect(() => t.malloc(1)).toThrow(/thread 1 has exited/);
      expect(() => t.free(p)).toThrow(/thread 1 has exited/);
      expect(() => t.errno).toThrow(/thread 1 has exited/);
      expect(() => t.exit()).toThrow(/thread 1 has exited/);
      // its block outlives it: anyone may free it
      proc.free(p);
      expect(proc.malloc(10)).not.toBe(0);
    });
  });

  describe("createThread's failure: pthread_create returns EAGAIN", () => {
    it("RLIMIT_AS too small for the stack: ThreadCreateError (errno EAGAIN), nothing mapped, the process alive", async () => {
      const proc = await createProcess({ allocator, seed: 14 });
      proc.malloc(10);
      const used = proc.status().VmSize * KiB;
      expect(proc.sys.setrlimit("RLIMIT_AS", { cur: used + 4 * MiB, max: Infinity })).toBe(0);
      const maps = proc.maps();
      const info = proc.mallinfo2();
      let error: unknown;
      try {
        proc.createThread();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ThreadCreateError);
      expect((error as ThreadCreateError).errno).toBe(EAGAIN);
      expect(proc.maps()).toBe(maps);
      expect(proc.mallinfo2()).toEqual(info);
      expect(proc.errno).toBe(ENOMEM); // what mmap's wrapper left there
      expect(proc.malloc(10)).not.toBe(0);
      proc.sys.setrlimit("RLIMIT_AS", { cur: Infinity, max: Infinity });
      expect(proc.createThread().id).toBe(1); // the failed one took no number
    });

    it("overcommit 2 refusing the read-write stack: the PROT_NONE reservation is unmapped again", async () => {
      const proc = await createProcess({ allocator, seed: 15, overcommit: 2, ramBytes: 16 * MiB, overcommitRatio: 10 });
      proc.malloc(10);
      const maps = proc.maps();
      expect(() => proc.createThread()).toThrow(ThreadCreateError);
      expect(proc.maps()).toBe(maps);
      expect(proc.malloc(10)).not.toBe(0);
    });

    it("RLIMIT_DATA refusing the read-write stack (mprotect ENOMEM), mlockall(MCL_FUTURE) past RLIMIT_MEMLOCK (mmap EAGAIN)", async () => {
      const data = await createProcess({ allocator, seed: 17 });
      data.malloc(1);
      data.sys.setrlimit("RLIMIT_DATA", { cur: data.status().VmData * KiB + MiB, max: Infinity });
      expect(() => data.createThread()).toThrow(expect.objectContaining({ name: "ThreadCreateError", errno: EAGAIN }));
      expect(data.errno).toBe(ENOMEM);
      const locked = await createProcess({ allocator, seed: 18 });
      locked.malloc(1);
      expect(locked.sys.mlockall(MCL_FUTURE)).toBe(0);
      const maps = locked.maps();
      expect(() => locked.createThread()).toThrow(expect.objectContaining({ name: "ThreadCreateError", errno: EAGAIN }));
      expect(locked.errno).toBe(EAGAIN);
      expect(locked.maps()).toBe(maps);
    });

    it("RLIMIT_STACK sets the stack size at process start (unlimited: 2 MiB; tiny: 16 KiB)", async () => {
      const sizes: number[] = [];
      for (const cur of [Infinity, 1000, 1024 * 1024 + 1]) {
        const proc = await createProcess({ allocator, seed: 16, rlimits: { RLIMIT_STACK: { cur, max: Infinity } } });
        proc.sys.setrlimit("RLIMIT_STACK", { cur: 8 * MiB, max: Infinity }); // too late: fixed at start
        sizes.push(proc.createThread().stack.bytes - 4096);
      }
      expect(sizes).toEqual([2 * MiB, 16 * KiB, MiB + 4096]);
    });
  });
});
