// The generator reaches what it claims: every size class (sizes.CLASSES) over the profiles, both
// sides of every i386 large-bin boundary, and op lists that stay valid when ops are cut out; and a
// seed names the sequences it named before the generator knew x86_64. (x86_64's: x86_64.test.ts.)

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OpSeq, K, NONE, parseSeq, without } from "../../host/fuzz/ops.js";
import { runGenerated } from "../../host/fuzz/sequence.js";
import { CLASSES, SIZES_I386 } from "../../host/fuzz/sizes.js";
import { MIN_LARGE_SIZE } from "../../assembly/config.js";

const SEED = 20261207;
const { chunkFor, largeBinStarts: LARGE_BIN_STARTS, largebinIndex } = SIZES_I386;

describe("the size classes", () => {
  it("has the i386 large-bin boundaries of largebin_index_32_big", () => {
    // 64-byte bins up to 2943 (45 << 6 is the last), then 512-byte ones, 4 KiB, 32 KiB, 256 KiB (bin 126 from 512 KiB on);
    // where one section hands over to the next, two index formulas give the same bin (no boundary)
    expect(LARGE_BIN_STARTS.slice(0, 3)).toEqual([MIN_LARGE_SIZE, 1024, 1088]);
    expect(LARGE_BIN_STARTS).toContain(46 << 6);
    expect(LARGE_BIN_STARTS).toContain(21 << 9);
    expect(LARGE_BIN_STARTS).not.toContain(11 << 12);
    expect(LARGE_BIN_STARTS.at(-1)).toBe(2 << 18);
    expect(largebinIndex(MIN_LARGE_SIZE)).toBe(64);
    expect(largebinIndex(LARGE_BIN_STARTS.at(-1)!)).toBe(126);
    for (const c of LARGE_BIN_STARTS.slice(1)) expect(largebinIndex(c)).toBeGreaterThan(largebinIndex(c - 16));
  });

  it("reaches every class over the four profiles, and all but huge blocks with the default one", async () => {
    const reached = new Map<string, number>();
    for (const profile of ["tiny", "mixed", "large", "adversarial"] as const) {
      const r = await runGenerated(SEED, profile === "adversarial" ? 6000 : 12000, { profile });
      expect(r.violation, profile).toBeNull();
      for (const [i, c] of CLASSES.entries()) reached.set(`${profile}:${c}`, r.classes[i]);
    }
    for (const c of CLASSES) expect(["tiny", "mixed", "large", "adversarial"].some((p) => reached.get(`${p}:${c}`)! > 0), c).toBe(true);
    for (const c of CLASSES) if (c !== "huge") expect(reached.get(`mixed:${c}`), `mixed:${c}`).toBeGreaterThan(0);
  });

  it("asks for chunks on both sides of every large-bin boundary", async () => {
    const r = await runGenerated(SEED, 30000, { profile: "mixed" });
    const chunks = new Set<number>();
    for (let i = 0; i < r.seq.length; i++) if (r.seq.kind[i] === K.MALLOC) chunks.add(chunkFor(r.seq.b[i]));
    for (const start of LARGE_BIN_STARTS.slice(1)) {
      expect(chunks.has(start), `chunk ${start}`).toBe(true);
      expect(chunks.has(start - 16), `chunk ${start - 16}`).toBe(true);
    }
  });
});

describe("i386 sequences", () => {
  // sha-256 (first 16 hex digits) of the op lists these seeds gave before the generator knew x86_64
  const cases = [
    ["tiny", 1, 4000, {}, "090ecc01de1cf862"],
    ["mixed", 2, 6000, {}, "8f1f22960425cbe8"],
    ["adversarial", 4, 3000, {}, "11255dfc763ba8ba"],
    ["adversarial", 6, 2000, { oracleSafe: true, alignBreak: 1 << 20 }, "44594821d9395725"],
    ["mixed", 7, 4000, { threads: 4, nprocs: 2 }, "1539181642be396e"],
  ] as const;
  it("are the ones a seed gave before x86_64 existed", async () => {
    for (const [profile, seed, ops, extra, hash] of cases) {
      const r = await runGenerated(seed, ops, { profile, ...extra });
      expect(createHash("sha256").update(r.seq.format()).digest("hex").slice(0, 16), `${profile} seed ${seed}`).toBe(hash);
    }
  });
});

describe("op lists", () => {
  it("stay valid when ops are cut out: what used a removed block goes too, IDs are renumbered", () => {
    const seq = new OpSeq();
    seq.push(K.MALLOC, 0, 10);
    seq.push(K.MALLOC, 1, 20);
    seq.push(K.REALLOC, 2, 0, 30);
    seq.push(K.FREE, 2);
    seq.push(K.FREE, 1);
    seq.push(K.MMAP, 0, 8192, 3, 34);
    seq.push(K.MUNMAP, 0, 0, 4096);
    const cut = without(seq, (i) => i === 0 || i === 5);
    expect(cut.format()).toBe("m 0 20\nf 0\n");
    const text = seq.format(["a comment"]);
    expect(parseSeq(text).seq.format()).toBe(seq.format());
    expect(parseSeq("r 0 - 5\n").seq.b[0]).toBe(NONE);
    expect(() => parseSeq("m 1 10\n")).toThrow(/expected ID 0/);
    expect(() => parseSeq("q 1\n")).toThrow(/unknown op/);
  });
});
