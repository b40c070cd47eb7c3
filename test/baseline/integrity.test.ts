// The baseline on a fresh process, as test/trace-integrity.test.ts checks the Wasm build:
//  - the classic walk-through gives the text the real glibc gives (oracle/replay/walkthrough.c);
//  - every heap corruption case of oracle/replay/corruption.cases ends as on the real system:
//    ProcessAbort with glibc's exact message, SIGSEGV or a hang (ProcessHang) at the same step,
//    with the same blocks returned and values read on the way, and the process stays dead.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ProcessAbort, ProcessHang, SegmentationFault } from "../../host/errors.js";
import { createProcess } from "../../host/boot.js";
import { firstDifference, runWalkthrough, type CorruptionCase } from "../../host/trace/index.js";
import { corruptionTitle, expectCorruptionOutcome } from "../helpers/corruption-outcome.js";
import { bootBaseline } from "./harness.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const fixtures = join(root, "test/fixtures/alloc");
const walkthroughText = readFileSync(join(fixtures, "walkthrough.txt"), "utf8");
const corruption = JSON.parse(readFileSync(join(fixtures, "corruption-cases.json"), "utf8")) as { cases: CorruptionCase[] };

describe("the walk-through on a fresh baseline process", () => {
  it("gives the real glibc's text, for any seed", () => {
    for (const seed of [1, 42]) {
      const diff = firstDifference(walkthroughText, runWalkthrough(bootBaseline({ seed }).process));
      expect(diff, diff ? `line ${diff.line}:\n  glibc:    ${diff.expected}\n  baseline: ${diff.actual}` : "").toBeNull();
    }
  });
});

describe("the baseline detects heap corruption as glibc does", () => {
  for (const c of corruption.cases) {
    // createProcess, not the bare harness: its abort hook is the one that turns a hang into ProcessHang
    it(corruptionTitle(c), async () => {
      expectCorruptionOutcome(await createProcess({ seed: 5, allocator: "ts" }), c, { ProcessAbort, SegmentationFault, ProcessHang });
    });
  }
});
