// What the baseline adds around the algorithm: where its static data lives, how it follows a memory
// the kernel grows under it, its debug flavour (the whole-heap walk), its replay loop for the
// benchmarks, and the traps a bad pointer causes — each the same as in the Wasm build.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodeOps, OP_WORDS } from "../../bench/ops-program.js";
import type { AllocatorKernel } from "../../host/allocator.js";
import { PROGRAM_DATA_START } from "../../host/allocator.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from "../../host/constants.js";
import { ProcessAbort } from "../../host/errors.js";
import type { Process } from "../../host/process.js";
import { bootProcess } from "../../host/boot.js";
import { BASELINE_DATA_END, loadBaseline, MAIN_ARENA, MP } from "../../host/baseline/index.js";
import { parseOps } from "../../host/trace/index.js";
import { bootBaseline, bootTwins } from "./harness.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

describe("the baseline's static data", () => {
  it("sits at the start of the program's data, main_arena first, and ends at heapBase", () => {
    const { allocator, kernel } = bootBaseline({ seed: 3 });
    expect(MAIN_ARENA).toBe(PROGRAM_DATA_START);
    expect(MP).toBe(0x11460);
    expect(allocator.heapBase).toBe(BASELINE_DATA_END);
    // the [heap] starts at or above the page after the data
    expect(kernel.startBrk).toBeGreaterThanOrEqual(Math.ceil(BASELINE_DATA_END / PAGE_SIZE) * PAGE_SIZE);
  });

  it("holds mp_'s initial values before the first call, as the Wasm build's data segment", async () => {
    const { wasm, ts } = await bootTwins(4);
    const a = new Uint8Array(wasm.process.memory.buffer, MAIN_ARENA, BASELINE_DATA_END - 8 - MAIN_ARENA);
    const b = new Uint8Array(ts.memory.buffer, MAIN_ARENA, BASELINE_DATA_END - 8 - MAIN_ARENA);
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it("derives tcache_key from the seed as the Wasm build does (the key word of a cached chunk)", async () => {
    for (const seed of [0, 1, 0xdeadbeef]) {
      const { wasm, ts } = await bootTwins(seed);
      const pa = wasm.process.malloc(24);
      const pb = ts.process.malloc(24);
      wasm.process.free(pa);
      ts.process.free(pb);
      expect(new Uint32Array(ts.memory.buffer, pb + 4, 1)[0]).toBe(new Uint32Array(wasm.process.memory.buffer, pa + 4, 1)[0]);
    }
  });
});

/** A kernel with a break only, which grows the memory page by page as the break moves up. */
function growingKernel(memory: WebAssembly.Memory, start: number): AllocatorKernel {
  let brk = start;
  return {
    brk(addr) {
      if (addr === 0 || addr < start) return brk;
      const need = Math.ceil(addr / 65536) - memory.buffer.byteLength / 65536;
      if (need > 0) memory.grow(need);
      return (brk = addr);
    },
    mmap: () => -12,
    munmap: () => -22,
    mremap: () => -12,
    madvise: () => 0,
    // no page map in this memory (all bits clear): every checked access asks, and may go on
    accessFault: () => null,
  };
}

describe("a memory the kernel grows", () => {
  it("is re-wrapped after every syscall that can grow it, and at every entry", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 1024 });
    const { libc, exports } = loadBaseline({ memory, seed: 1, kernel: () => growingKernel(memory, 0x20000) });
    const blocks: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const p = libc.malloc(100 + (i % 700));
      expect(p).not.toBe(0);
      new Uint8Array(memory.buffer).fill(i & 0xff, p, p + 100);
      blocks.push(p);
    }
    expect(memory.buffer.byteLength).toBeGreaterThan(2 * 65536);
    // a grow from outside, between calls
    memory.grow(1);
    for (const [i, p] of blocks.entries()) {
      expect(new Uint8Array(memory.buffer)[p + 99]).toBe(i & 0xff);
      libc.free(p);
    }
    expect(exports.check_failure()).toBe(0);
    const mi = libc.mallinfo2();
    expect(mi.arena).toBe(mi.uordblks + mi.fordblks);
  });

  it("fails malloc with ENOMEM when neither brk nor mmap gives memory", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
    const kernel: AllocatorKernel = { ...growingKernel(memory, 0x20000), brk: () => 0x20000 };
    const { libc } = loadBaseline({ memory, seed: 1, kernel: () => kernel });
    expect(libc.malloc(100)).toBe(0);
    expect(libc.errno).toBe(12);
  });
});

describe("the debug flavour", () => {
  it("walks the whole heap after every call and finds what the Wasm debug build finds", async () => {
    const wasm = await bootProcess({ seed: 8, debug: true });
    const ts = bootBaseline({ seed: 8, debug: true, heapBase: wasm.allocator.heapBase });
    const run = (p: Process) => {
      const blocks = [p.malloc(2000), p.malloc(30), p.malloc(3000), p.malloc(40)];
      p.free(blocks[0]);
      p.free(blocks[2]);
      p.malloc(5000); // sorts both into the large bins
      return blocks;
    };
    const a = run(wasm.process);
    const b = run(ts.process);
    expect(b).toEqual(a);
    expect(ts.allocator.exports.check_failure()).toBe(0);
    // a free chunk's size, changed behind the allocator's back: the foot no longer matches
    wasm.process.write(a[0] - 4, [0x11, 0x08, 0, 0]);
    ts.process.write(b[0] - 4, [0x11, 0x08, 0, 0]);
    let rule = 0;
    try {
      wasm.allocator.exports.check_malloc_state();
    } catch {
      // the Wasm build aborts; its rule number says why
      rule = wasm.allocator.exports.check_failure();
    }
    expect(rule).toBeGreaterThan(0);
    expect(ts.allocator.exports.check_failure()).toBe(rule);
    // the next call aborts: glibc's own checks, or the walk after it
    expect(() => ts.process.malloc(16)).toThrow(ProcessAbort);
  });
});

describe("the benchmarks' replay loop", () => {
  it("leaves the same ID table and the same heap as the Wasm build's replay_ops", async () => {
    const list = parseOps(gunzipSync(readFileSync(join(root, "test/fixtures/traces/sqlite3.ops.gz"))));
    const program = encodeOps(list, { touch: true });
    const { wasm, ts } = await bootTwins(12);
    const results = [wasm.process, ts.process].map((proc, i) => {
      const map = (bytes: number) =>
        proc.sys.mmap(0, Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const ops = map(program.length * OP_WORDS * 4);
      const table = map(program.ids * 4);
      proc.write(ops, new Uint8Array(program.words.buffer, program.words.byteOffset, program.words.byteLength));
      const exports = (i === 0 ? wasm.allocator.exports : ts.allocator.exports) as unknown as {
        replay_ops(ops: number, count: number, table: number): void;
      };
      exports.replay_ops(ops, program.length, table);
      return { table: proc.read(table, program.ids * 4), heap: proc.read(wasm.kernel.startBrk, proc.sbrk(0) - wasm.kernel.startBrk), mi: proc.mallinfo2() };
    });
    expect(results[1].mi).toEqual(results[0].mi);
    expect(Buffer.compare(results[1].table, results[0].table)).toBe(0);
    expect(Buffer.compare(results[1].heap, results[0].heap)).toBe(0);
  });
});

describe("a bad pointer", () => {
  it("traps past the end of the memory as a Wasm load does", async () => {
    const { wasm, ts } = await bootTwins(2);
    for (const bad of [4, 0xfffffffc]) {
      const errors = [wasm.process, ts.process].map((p) => {
        try {
          p.free(bad);
          return null;
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      });
      expect(errors[1]).toBe(errors[0]);
    }
  });

  it("is read unaligned, as the Wasm build reads it, before glibc rejects it", async () => {
    for (const offset of [1, 2, 3, 5, 6, 7]) {
      const { wasm, ts } = await bootTwins(6);
      const messages = [wasm.process, ts.process].map((p) => {
        const blk = p.malloc(5000);
        p.write(blk, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        try {
          p.free(blk + offset);
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      });
      expect(messages[1]).toBe(messages[0]);
    }
  });
});
