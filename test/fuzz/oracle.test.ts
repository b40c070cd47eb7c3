// The differential slice CI runs: fixed-seed sequences replayed on the real i386 glibc
// (oracle/replay/replay.c -x, built with gcc -m32) and on the emulator, every op's result equal.

import { describe, expect, it } from "vitest";
import { checkGenerated, type Mode } from "../../host/fuzz/check.js";
import { OpSeq, K } from "../../host/fuzz/ops.js";
import { compareLines, oracleBinary, oracleUnavailable } from "../../host/fuzz/oracle.js";

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

  it("agrees on the adversarial mix (boundaries, overflow, alignments up to 1 MiB, mallopt churn)", async () => {
    const r = await checkGenerated(303, 1500, { ...mode, profile: "adversarial" });
    expect(r.violation?.what ?? null).toBeNull();
  });
});

describe("the comparison", () => {
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
