// The differential slice CI runs: fixed-seed sequences replayed on the real i386 glibc
// (oracle/replay/replay.c -x, built with gcc -m32) and on the emulator, every op's result equal.

import { describe, expect, it } from "vitest";
import { checkGenerated, type Mode } from "../../host/fuzz/check.js";
import { Executor } from "../../host/fuzz/executor.js";
import { OpSeq, K, parseSeq } from "../../host/fuzz/ops.js";
import { compareLines, ORACLE_ALIGN_BREAK, oracleBinary, oracleUnavailable } from "../../host/fuzz/oracle.js";

const bin = oracleBinary();

describe.skipIf(!bin)(`the fuzzer against the real glibc${bin ? "" : ` (skipped: ${oracleUnavailable})`}`, () => {
  const mode: Mode = { profile: "mixed", twin: false, debug: false, deepEvery: 0, infoEvery: 64, oracle: bin };

  it("agrees on every op of a few thousand (addresses, mmapped decisions, errno, usable sizes, results)", async () => {
    for (const seed of [101, 202]) {
      const r = await checkGenerated(seed, 2500, mode);
      expect(r.violation?.what ?? null, `seed ${seed}`).toBeNull();
      expect(r.lines.length).toBe(2500);
    }
  });

  it("agrees on a region grown in place here and moved there (fuzz --profile large --oracle --seed 11, sequence 3)", { timeout: 60_000 }, async () => {
    // its op 3088 was an mremap over a range that was one VMA here and three on the real kernel
    const r = await checkGenerated(GROWN_SEED, 3100, { ...mode, profile: "large" });
    expect(r.violation?.what ?? null).toBeNull();
    expect(r.lines.length).toBe(3100);
  });

  it("agrees on the adversarial mix (boundaries, overflow, alignments up to 1 MiB, mallopt churn)", async () => {
    const r = await checkGenerated(303, 1500, { ...mode, profile: "adversarial" });
    expect(r.violation?.what ?? null).toBeNull();
  });
});

// Region 0 loses pages 4-13; region 1 lands in that hole on the real kernel but not here, so the
// mremap of region 0 grows in place here and moves there; region 0's pages beyond its new length
// are then different pages on the two sides, and the ops after it must not aim at them.
const GROWN_IN_PLACE = `M 0 131081 3 34
U 0 16384 40960
M 1 36864 3 32802
M 2 176128 3 16418
Y 0 16384 36864 1
X 0 77824 57344 1
Y 2 126976 233472 1
`;
const GROWN_SEED = 3984028461;

describe("the comparison", () => {
  it("keeps a region grown in place by mremap to its new length when the real kernel replays the ops", async () => {
    const { seq } = parseSeq(GROWN_IN_PLACE);
    for (const oracleSafe of [false, true]) {
      const ex = await Executor.create({ seed: GROWN_SEED, alignBreak: ORACLE_ALIGN_BREAK, xlines: true, oracleSafe });
      for (let i = 0; i < 4; i++) ex.step(seq, i);
      const before = ex.regions.list[0].addr;
      ex.step(seq, 4);
      expect(ex.regions.list[0].addr, "the mremap grew region 0 in place").toBe(before);
      // without the oracle the shadow keeps the region's pages beyond (still mapped, still its own)
      expect(ex.regions.list[0].pages).toBe(oracleSafe ? 9 : 33);
    }
  });

  it("names the first op whose result differs, and ignores only where an over-page-aligned mmapped block lands", () => {
    const seq = new OpSeq();
    seq.push(K.MALLOC, 0, 10);
    seq.push(K.MEMALIGN, 1, 65536, 300000);
    seq.push(K.FREE, 0);
    expect(compareLines(seq, ["m 0 H 416 16 12", "a 1 M 372736 372728", "f"], ["m 0 H 416 16 12", "a 1 M 368640 368632", "f"])).toBeNull();
    expect(compareLines(seq, ["m 0 H 416 16 12", "a 1 M 1 1", "f"], ["m 0 H 432 16 12", "a 1 M 1 1", "f"])?.op).toBe(0);
    expect(compareLines(seq, ["m 0 H 416 16 12", "a 1 N 12"], ["m 0 H 416 16 12", "a 1 M 1 1", "f"])?.op).toBe(1);
  });
});
