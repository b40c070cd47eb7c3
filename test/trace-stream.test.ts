// Streaming: traces parsed piece by piece (op lists and mtrace logs, gzipped or not) give the
// same ops, with the line numbers of their source, and replayStream gives the output of replay.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createProcess } from "../host/index.js";
import {
  convertMtrace,
  countIds,
  formatOps,
  formatReplay,
  MtraceConverter,
  MtraceSyntaxError,
  parseMtrace,
  parseOps,
  parseTraceStream,
  replay,
  ReplayOpError,
  replayStream,
  type OpList,
} from "../host/trace/index.js";

const tracesDir = join(import.meta.dirname, "fixtures/traces");
const raw = (name: string) => readFileSync(join(tracesDir, name));

function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

async function collect(source: Iterable<Uint8Array>): Promise<{ text: string; lines: number[]; ids: number }> {
  const parts: string[] = [];
  const lines: number[] = [];
  let ids = 0;
  for await (const batch of parseTraceStream(source)) {
    parts.push(formatOps(batch, { comments: false }));
    lines.push(...batch.line);
    ids = batch.ids;
  }
  return { text: parts.join(""), lines, ids };
}

describe("parsing in pieces", () => {
  it("an op list in pieces of any size, gzipped or not, gives the same ops and line numbers", async () => {
    const text = "# header\nm 0 10\n\nc 1 2 3\n# mid\nr 2 0 40\nf 1\nR 3 2 2 8\nf 3\n";
    const whole = parseOps(text);
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 3, 7, 1000]) {
      for (const source of [pieces(bytes, size), pieces(gzipSync(bytes), size)]) {
        const got = await collect(source);
        expect(got.text).toBe(formatOps(whole, { comments: false }));
        expect(got.lines).toEqual([2, 4, 6, 7, 8, 9]);
        expect(got.ids).toBe(4);
      }
    }
  });

  it("a recorded mtrace log in pieces converts as it does whole", async () => {
    const log = gunzipSync(raw("sqlite3.mtrace.gz"));
    const whole = convertMtrace(log);
    const converter = new MtraceConverter();
    const parts: string[] = [];
    for (const piece of pieces(log, 65_521)) {
      converter.push(piece);
      parts.push(formatOps(converter.take(), { comments: false }));
    }
    converter.finish();
    parts.push(formatOps(converter.take(), { comments: false }));
    expect("# ops v1 (format: FORMAT.md)\n" + parts.join("")).toBe(whole.ops);
    expect(converter.counts).toEqual(whole.counts);
  });

  it("counts the IDs of either format without replaying", async () => {
    expect(await countIds(pieces(raw("python3.ops.gz"), 1 << 16))).toBe(82419);
    expect(await countIds([raw("python3.mtrace.gz")])).toBe(82419);
  });
});

describe("mtrace line numbers and sizes", () => {
  it("ops converted from a log carry the log's line numbers", () => {
    const list = parseMtrace("= Start\n@ [0x1] + 0x5000 0x10\n\n@ [0x1] < 0x5000\n@ [0x1] > 0x6000 0x20\n@ [0x1] - 0x6000\n");
    expect(Array.from(list.line)).toEqual([2, 5, 6]);
  });

  it("a size past 32 bits (a 64-bit program's request) becomes SIZE_MAX, which the i386 glibc refuses", () => {
    const { ops, counts } = convertMtrace("= Start\n@ [0x1] + 0x5000 0x100000000\n@ [0x1] + 0x6000 0x00000000ffffffff\n@ [0x1] - 0x5000\n");
    expect(ops).toBe("# ops v1 (format: FORMAT.md)\nm 0 4294967295\nm 1 4294967295\nf 0\n");
    expect(counts.sizesPast32Bits).toBe(1);
    expect(parseOps(ops).length).toBe(3); // and the op list parses
  });

  it("a size past 64 bits is an error at its line", () => {
    expect(() => convertMtrace("= Start\n\n@ [0x1] + 0x5000 0x10000000000000000\n")).toThrowError(/mtrace line 3: SIZE 0x10000000000000000 is past 64 bits/);
    try {
      parseMtrace("= Start\n@ [0x1] + 0x5000 zz\n");
    } catch (e) {
      expect(e).toBeInstanceOf(MtraceSyntaxError);
      expect((e as MtraceSyntaxError).line).toBe(2);
    }
  });

  it("a sqlite3 address of 12 hex digits and one of 16 stay distinct keys", () => {
    const list = parseMtrace("@ [0x1] + 0xffffffffffff0010 0x10\n@ [0x1] + 0xffff0010 0x10\n@ [0x1] - 0xffffffffffff0010\n");
    expect(formatOps(list, { comments: false })).toBe("m 0 16\nm 1 16\nf 0\n");
  });
});

describe("replayStream", () => {
  const text = (bytes: Uint8Array[]) => Buffer.concat(bytes).toString("utf8");

  it("gives replay()'s output for a recorded trace fed as gzip pieces", async () => {
    const gz = raw("sqlite3.ops.gz");
    const expected = formatReplay(replay(await createProcess({ seed: 3 }), gunzipSync(gz), { timings: false }));
    const out: Uint8Array[] = [];
    const result = await replayStream(await createProcess({ seed: 3 }), pieces(gz, 40_000), { write: (b) => void out.push(b) });
    // without `ids`, the header comes back to be put in front
    expect(result.header + text(out)).toBe(expected);
    expect(result.ops).toBe(317144);
    expect(result.format).toBe("ops");
  });

  it("writes the header first when told the number of IDs", async () => {
    const out: Uint8Array[] = [];
    await replayStream(await createProcess(), [new TextEncoder().encode("m 0 8\nf 0\n")], { ids: 1, checkpointEvery: 0, write: (b) => void out.push(b) });
    expect(text(out)).toMatch(/^# replay glibc=2\.36 .* ids=1 malloc_env=none\n0 416 16\n# end ops=2 /);
  });

  it("stops after N ops without reading the rest", async () => {
    let read = 0;
    const source = (function* () {
      for (let i = 0; i < 1000; i++) {
        read++;
        yield new TextEncoder().encode(`m ${i} 8\n`);
      }
    })();
    const result = await replayStream(await createProcess(), source, { stopAfter: 10, checkpointEvery: 0 });
    expect(result.ops).toBe(10);
    expect(read).toBeLessThan(1000);
  });

  it("keeps timings as a histogram, not per op", async () => {
    const result = await replayStream(await createProcess(), [raw("python3.ops.gz")], { timings: true });
    expect(result.latency).not.toBeNull();
    expect(result.latency!.reduce((a, b) => a + b, 0)).toBe(result.ops);
    expect(result.elapsedMs).toBeGreaterThan(0);
  });

  it("with badIds: \"throw\", an op on a dead ID stops the replay at its line", async () => {
    const run = async () => replayStream(await createProcess(), [new TextEncoder().encode("m 0 8\n# x\nf 0\nf 0\n")], { badIds: "throw" });
    await expect(run()).rejects.toBeInstanceOf(ReplayOpError);
    await expect(run()).rejects.toMatchObject({ line: 4 });
  });

  it("without it, such ops are skipped and counted as the C oracle does", async () => {
    const result = await replayStream(await createProcess(), [new TextEncoder().encode("m 0 8\nf 0\nf 0\nf 9\n")]);
    expect(result.errors).toBe(2);
  });

  it("reads an mtrace log as the op list converted from it", async () => {
    const result = await replayStream(await createProcess(), pieces(raw("python3.mtrace.gz"), 1 << 15), {});
    const list: OpList = parseOps(gunzipSync(raw("python3.ops.gz")));
    expect(result.format).toBe("mtrace");
    expect(result.ops).toBe(list.length);
    expect(result.mtrace?.allocations).toBeGreaterThan(0);
  });
});
