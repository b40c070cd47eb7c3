// The op-list extension (R A P v V u s M U X D Y): parsed, written back, and replayed — whole and
// streamed — as the same calls made one by one through the public API.

import { describe, expect, it } from "vitest";
import { createProcess, MAP_ANONYMOUS, MAP_PRIVATE, MADV_DONTNEED, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE, type Process } from "../host/index.js";
import { formatOps, formatReplay, NO_ID, Op, OpsSyntaxError, parseOps, replay, replayStream } from "../host/trace/index.js";

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

const LIST = [
  "m 0 100",
  `R 1 0 3 40`,
  "R 2 - 2 2000000000", // overflowing product: NULL, ENOMEM
  "A 3 64 100",
  "P 4 128 50",
  "P 5 3 50", // not a power of two: EINVAL, NULL
  "v 6 10",
  "V 7 10",
  "u 3",
  "s 4096",
  "s -4096",
  `M 0 65536 ${RW} ${ANON}`,
  `M 1 8192 ${RW} ${ANON}`,
  `X 0 4096 4096 ${PROT_READ}`,
  `D 0 0 8192 ${MADV_DONTNEED}`,
  "U 0 8192 4096",
  `Y 1 8192 16384 ${MREMAP_MAYMOVE}`,
  "f 1",
  "m 8 300000",
  "f 3",
].join("\n") + "\n";

describe("extension ops parse and write back", () => {
  it("every op, with its fields where the layout says", () => {
    const list = parseOps(LIST);
    expect(list.length).toBe(20);
    expect(list.ids).toBe(9);
    expect(list.regions).toBe(2);
    expect(Array.from(list.kind.slice(0, 12))).toEqual([
      Op.MALLOC, Op.REALLOCARRAY, Op.REALLOCARRAY, Op.ALIGNED_ALLOC, Op.POSIX_MEMALIGN, Op.POSIX_MEMALIGN,
      Op.VALLOC, Op.PVALLOC, Op.USABLE_SIZE, Op.SBRK, Op.SBRK, Op.MMAP,
    ]);
    expect([list.a[1], list.b[1], list.c[1], list.d[1]]).toEqual([1, 0, 3, 40]);
    expect(list.b[2]).toBe(NO_ID);
    expect(list.b[10] | 0).toBe(-4096);
    expect([list.a[12], list.b[12], list.c[12], list.d[12]]).toEqual([1, 8192, RW, ANON]);
    expect(Array.from(list.line.slice(0, 3))).toEqual([1, 2, 3]);
    expect(formatOps(list)).toBe(LIST);
  });

  it("refuses what the extension does not allow, naming the line and the expected form", () => {
    const cases: [string, number, RegExp][] = [
      ["m 0 1\nM 1 4096 3 34\n", 2, /next region ID is 0/],
      ["X 0 0 4096 1\n", 1, /region 0 was never mapped/],
      ["s 2147483648\n", 1, /does not fit a signed 32-bit int/],
      ["s x\n", 1, /INCREMENT is not a decimal number/],
      ["R 0 - 1\n", 1, /missing SIZE \(expected "R NEWID OLDID NMEMB SIZE"\)/],
      ["u\n", 1, /missing ID/],
      ["m 0 1\nY 0 1 2 3 4\n", 2, /region 0 was never mapped|trailing text/],
    ];
    for (const [text, line, reason] of cases) {
      let error: unknown;
      try {
        parseOps(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(OpsSyntaxError);
      expect((error as OpsSyntaxError).line, text).toBe(line);
      expect((error as OpsSyntaxError).message, text).toMatch(reason);
    }
  });
});

/** The output the replay must give, from the same calls made one by one. */
function byHand(proc: Process): string {
  const brk0 = proc.sbrk(0);
  const lines: string[] = [];
  const block = (id: number, p: number) => {
    if (p === 0) return lines.push(`${id} N`);
    const b = proc.read(p - 4, 4);
    const field = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
    lines.push(field & 2 ? `${id} M ${field & ~7}` : `${id} ${p - brk0} ${(field & ~7) >>> 0}`);
  };
  const p0 = proc.malloc(100); block(0, p0);
  const p1 = proc.reallocarray(p0, 3, 40); block(1, p1);
  block(2, proc.reallocarray(0, 2, 2000000000));
  const p3 = proc.aligned_alloc(64, 100); block(3, p3);
  const r4 = proc.posix_memalign(128, 50); block(4, r4.err ? 0 : r4.ptr);
  const r5 = proc.posix_memalign(3, 50); block(5, r5.err ? 0 : r5.ptr);
  block(6, proc.valloc(10));
  block(7, proc.pvalloc(10));
  proc.malloc_usable_size(p3);
  proc.sbrk(4096);
  proc.sbrk(-4096);
  const m0 = proc.sys.mmap(0, 65536, RW, ANON, -1, 0);
  const m1 = proc.sys.mmap(0, 8192, RW, ANON, -1, 0);
  proc.sys.mprotect(m0 + 4096, 4096, PROT_READ);
  proc.sys.madvise(m0, 8192, MADV_DONTNEED);
  proc.sys.munmap(m0 + 8192, 4096);
  proc.sys.mremap(m1, 8192, 16384, MREMAP_MAYMOVE);
  proc.free(p1);
  block(8, proc.malloc(300000));
  proc.free(p3);
  return lines.join("\n");
}

describe("extension ops replay as the calls they stand for", () => {
  it("whole and streamed, the same ID lines as the calls made by hand", async () => {
    const expected = byHand(await createProcess({ seed: 7 }));
    const whole = formatReplay(replay(await createProcess({ seed: 7 }), LIST, { checkpointEvery: 0 }));
    const ids = (text: string) => text.split("\n").filter((l) => /^\d/.test(l)).join("\n");
    expect(ids(whole)).toBe(expected);

    let streamed = "";
    const decoder = new TextDecoder();
    const result = await replayStream(await createProcess({ seed: 7 }), [new TextEncoder().encode(LIST)], {
      checkpointEvery: 0,
      ids: 9,
      write: (bytes) => {
        streamed += decoder.decode(bytes);
      },
    });
    expect(streamed).toBe(whole);
    expect(result.ops).toBe(20);
    expect(result.mmappedAllocs).toBe(1);
  });
});
