// The twin serves x86_64 too, from the same source: seeded random sequences of calls — threads,
// alignments, sizes past 2^32 and past PTRDIFF_MAX, foreign sbrk, mallopt — made on an x86_64
// Wasm process and on an x86_64 twin process with the same seed give the same results (every
// address, errno, mallinfo2, the statistics texts, the maps) and leave the same bytes in the brk
// heap; glibc's own aborts, and a user's write over a chunk header, end both processes alike.

import { describe, expect, it } from "vitest";
import { M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD } from "../../assembly/config.js";
import { createProcess } from "../../host/index.js";
import type { Process } from "../../host/process.js";
import type { Thread } from "../../host/threads.js";

/** A small seeded generator (xorshift32): the sequences are the same on every run. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

const SIZES = [0, 1, 24, 25, 100, 1000, 1100, 5000, 70000, 130000, 600000, 2 ** 32 + 16, 2 ** 63, -1];

type Caller = Process | Thread;

/** One run: the same ops on `proc`, a transcript of every answer. */
function run(proc: Process, seed: number, ops: number): string[] {
  const rand = prng(seed);
  const live: number[] = [];
  const threads: Thread[] = [];
  const out: string[] = [];
  const size = (): number => (rand(4) === 0 ? SIZES[rand(SIZES.length)]! : rand(2000));
  const caller = (): Caller => (threads.length > 0 && rand(2) === 0 ? threads[rand(threads.length)]! : proc);
  const pick = (): number => (live.length === 0 ? 0 : live.splice(rand(live.length), 1)[0]!);
  const keep = (p: number): number => {
    if (p !== 0) live.push(p);
    return p;
  };
  try {
    for (let i = 0; i < ops; i++) step(i);
  } catch (err) {
    // glibc's own ends (a foreign sbrk below the top: "break adjusted to free malloc space")
    out.push(`died: ${String(err)}`);
    return out;
  }
  out.push(proc.malloc_stats(), proc.malloc_info(), proc.maps());
  return out;

  function step(i: number): void {
    const k = rand(20);
    const c = caller();
    let r: unknown;
    if (k < 6) r = keep(c.malloc(size()));
    else if (k < 10) r = (c.free(pick()), "free");
    else if (k === 10) r = keep(c.calloc(rand(3) === 0 ? 2 ** 33 : rand(50), size()));
    else if (k === 11) r = keep(c.realloc(pick(), size()));
    else if (k === 12) r = keep(c.memalign([16, 32, 64, 4096, 65536, 2 ** 40][rand(6)]!, size()));
    else if (k === 13) r = JSON.stringify(c.posix_memalign([8, 24, 32, 4096][rand(4)]!, size()));
    else if (k === 14) r = c.malloc_usable_size(live.length > 0 ? live[rand(live.length)]! : 0);
    else if (k === 15 && threads.length < 3) r = (threads.push(proc.createThread()), "thread");
    else if (k === 15) r = (threads.splice(rand(threads.length), 1)[0]!.exit(), "exit");
    else if (k === 16) r = proc.mallopt([M_MXFAST, M_TOP_PAD, M_MMAP_THRESHOLD, M_PERTURB][rand(4)]!, [0, 64, 4096, 1 << 20][rand(4)]!);
    else if (k === 17) r = proc.malloc_trim(rand(2) * 4096);
    else if (k === 18) r = proc.sbrk([8, 4096, -4096][rand(3)]!);
    else r = JSON.stringify(proc.mallinfo2());
    out.push(`${i} ${String(r)} ${proc.errno}`);
  }
}

/** The bytes of the [heap] mapping (the brk heap). */
function heapBytes(proc: Process): Uint8Array {
  const line = proc.maps().split("\n").find((l) => l.endsWith("[heap]"));
  if (line === undefined) return new Uint8Array(0);
  const [start, end] = line.split(" ")[0]!.split("-").map((h) => Number.parseInt(h, 16)) as [number, number];
  return proc.read(start, end - start);
}

describe("the x86_64 twin and the x86_64 Wasm build, side by side", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7]) {
    it(`give the same answers, statistics, maps and heap bytes (sequence ${seed})`, async () => {
      const wasm = await createProcess({ arch: "x86_64", seed });
      const ts = await createProcess({ arch: "x86_64", seed, allocator: "ts" });
      const a = run(wasm, seed, 600);
      const b = run(ts, seed, 600);
      for (let i = 0; i < a.length; i++) expect(b[i], `answer ${i}`).toBe(a[i]);
      expect(b.length).toBe(a.length);
      if (!a[a.length - 1]!.startsWith("died")) expect(Buffer.from(heapBytes(ts)).equals(Buffer.from(heapBytes(wasm)))).toBe(true);
    });
  }

  it("die alike of an overwritten chunk header", async () => {
    const deaths: string[] = [];
    for (const allocator of ["wasm", "ts"] as const) {
      const proc = await createProcess({ arch: "x86_64", seed: 9, allocator });
      const p = proc.malloc(40);
      proc.malloc(40);
      proc.write(p - 8, [0x11, 0, 0, 0, 0, 0, 0, 0]); // a size of 16 with PREV_INUSE: below MINSIZE
      try {
        proc.free(p);
        deaths.push("lived");
      } catch (err) {
        deaths.push(String(err));
      }
    }
    expect(deaths[1]).toBe(deaths[0]);
    expect(deaths[0]).toContain("free(): invalid size");
  });
});
