// What the real glibc 2.36 (i386) does on a fresh process, shown through the public API:
//  - the classic walk-through (malloc 8, 4083, 3, 136168, 1048576) gives the same text as
//    oracle/replay/walkthrough.c on the real system;
//  - every heap corruption case of oracle/replay/corruption.cases ends as it ends on the real
//    system: ProcessAbort with glibc's exact message, at the same step, and the process stays dead.
// Fixtures: test/fixtures/alloc/walkthrough.txt and corruption-cases.json (oracle/replay/regen.sh).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { firstDifference, runWalkthrough, type CorruptionCase, type CorruptionTarget, type WalkthroughTarget } from "../host/trace/index.js";
import { corruptionTitle, expectCorruptionOutcome } from "./helpers/corruption-outcome.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "test/fixtures/alloc");
const walkthroughText = readFileSync(join(fixtures, "walkthrough.txt"), "utf8");
const corruption = JSON.parse(readFileSync(join(fixtures, "corruption-cases.json"), "utf8")) as { cases: CorruptionCase[] };

type Proc = CorruptionTarget & WalkthroughTarget;
let api: {
  createProcess: (o?: { seed?: number }) => Promise<Proc>;
  ProcessAbort: new (...a: never[]) => Error;
  SegmentationFault: new (...a: never[]) => Error;
  ProcessHang: new (...a: never[]) => Error;
} | null = null;
let loadError: unknown = null;

beforeAll(async () => {
  try {
    const mod = (await import("../host/index.js")) as Record<string, unknown>;
    if (typeof mod.createProcess !== "function" || typeof mod.ProcessAbort !== "function") {
      throw new Error("host/index.ts must export createProcess and ProcessAbort");
    }
    api = mod as unknown as NonNullable<typeof api>;
  } catch (e) {
    loadError = e;
  }
});

async function freshProcess(seed: number): Promise<Proc> {
  if (api === null) {
    throw new Error(`createProcess() from host/index.js is not available yet: ${String((loadError as Error)?.message ?? loadError)}`);
  }
  return api.createProcess({ seed });
}

describe("the walk-through on a fresh process", () => {
  it("is what the real glibc shows (fixture facts)", () => {
    // the facts everyone quotes, as the real i386 glibc 2.36 gives them
    expect(walkthroughText).toContain("malloc(8) = brk0+416 size_field=0x11 brk_delta=139264\n| Arena 0:\n| system bytes     =     139264\n| in use bytes     =        424\n");
    expect(walkthroughText).toContain("malloc(136168) = mmapped size_field=0x21ffa brk_delta=139264\n");
    expect(walkthroughText).toMatch(/malloc\(1048576\) = mmapped size_field=0x100ffa brk_delta=139264\n(\| .*\n)*\| max mmap bytes   =    1191936\n$/);
  });

  it("gives the same text on the emulator, for any seed", async () => {
    for (const seed of [1, 42]) {
      const diff = firstDifference(walkthroughText, runWalkthrough(await freshProcess(seed)));
      expect(diff, diff ? `line ${diff.line}:\n  glibc:    ${diff.expected}\n  emulator: ${diff.actual}` : "").toBeNull();
    }
  });
});

describe("heap corruption is detected as glibc detects it", () => {
  it("has cases for the integrity checks reachable on i386", () => {
    const messages = new Set(corruption.cases.map((c) => c.outcome.message));
    expect(corruption.cases.length).toBeGreaterThanOrEqual(40);
    for (const m of [
      "free(): double free detected in tcache 2",
      "double free or corruption (fasttop)",
      "free(): invalid pointer",
      "free(): invalid size",
      "malloc(): corrupted top size",
      "corrupted size vs. prev_size",
      "malloc_consolidate(): invalid chunk size",
      "realloc(): invalid pointer",
      "realloc(): invalid old size",
      "munmap_chunk(): invalid pointer",
      "free(): invalid next size (fast)",
      "free(): invalid next size (normal)",
      "double free or corruption (!prev)",
      "double free or corruption (out)",
      "double free or corruption (top)",
      "corrupted double-linked list",
    ]) {
      expect(messages, m).toContain(m);
    }
  });

  for (const c of corruption.cases) {
    it(corruptionTitle(c), async () => {
      expectCorruptionOutcome(await freshProcess(5), c, api!);
    });
  }
});
