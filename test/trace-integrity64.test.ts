// What the real glibc 2.36 (x86-64) does with a corrupted heap, shown through the public API of an
// x86_64 process: every case of oracle/replay/corruption.cases that has meaning on x86-64 ends as
// on the real 64-bit process (ProcessAbort with glibc's exact message, SegmentationFault, or a
// hang, at the same step), with the same values seen on the way (what each malloc returned, what
// each check read, relative to the heap, a region or a block), and the process stays dead.
// The i386 twin of this file is test/trace-integrity.test.ts.
// Fixture: test/fixtures/alloc64/corruption-cases.json (oracle/replay/regen.sh, corrupt.c without -m32).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProcess, ProcessAbort, ProcessHang, SegmentationFault } from "../host/index.js";
import type { CorruptionCase } from "../host/trace/index.js";
import { corruptionTitle, expectCorruptionOutcome } from "./helpers/corruption-outcome.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixture = JSON.parse(readFileSync(join(root, "test/fixtures/alloc64/corruption-cases.json"), "utf8")) as {
  format: string;
  cases: CorruptionCase[];
};
const i386 = JSON.parse(readFileSync(join(root, "test/fixtures/alloc/corruption-cases.json"), "utf8")) as { cases: CorruptionCase[] };

const classes = { ProcessAbort, SegmentationFault, ProcessHang };

describe("the x86-64 corruption fixture", () => {
  it("comes from the real x86-64 glibc 2.36 and holds the i386 cases but those marked `only i386`, in the same order", () => {
    expect(fixture.format).toMatch(/glibc 2\.36 x86_64$/);
    const i386Only = new Set<string>();
    let name = "";
    for (const line of readFileSync(join(root, "oracle/replay/corruption.cases"), "utf8").split("\n")) {
      if (line.startsWith("case ")) name = line.slice(5).trim();
      else if (/^only\s+i386\b/.test(line)) i386Only.add(name);
    }
    expect(fixture.cases.map((c) => c.name)).toEqual(i386.cases.map((c) => c.name).filter((n) => !i386Only.has(n)));
  });

  it("writes words as 64-bit values and sizes of x86-64's chunk layout", () => {
    const steps = fixture.cases.flatMap((c) => c.steps.map((s) => s[0]));
    expect(steps).not.toContain("w32");
    expect(steps).toContain("w64");
    const byName = new Map(fixture.cases.map((c) => [c.name, c]));
    // the size field is 8 bytes below the block, the tcache key 8 bytes above it
    expect(byName.get("free-invalid-size")!.steps[1]).toEqual(["w64", "a", -8, 9]);
    expect(byName.get("tcache-dup-key-overwrite")!.steps[2]).toEqual(["w64", "a", 8, 0]);
    // house of force: top's size all ones (-1, its two's complement)
    expect(byName.get("house-of-force")!.steps[1]).toEqual(["w64", "a", 24, -1]);
  });
});

describe("heap corruption on an x86_64 process is detected as the 64-bit glibc detects it", () => {
  for (const c of fixture.cases) {
    it(corruptionTitle(c), async () => {
      const proc = await createProcess({ seed: 5, arch: "x86_64" });
      expect(proc.arch).toBe("x86_64"); // 8-byte words in the steps
      expectCorruptionOutcome(proc, c, classes);
    });
  }
});
