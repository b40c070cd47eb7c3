// Sequences run against a wall (host/fuzz/limits.ts): requests are refused with ENOMEM and the
// process lives on within its limits, or the OOM killer ends it; neither is a finding, and every
// other check still holds.

import { describe, expect, it } from "vitest";
import { checkGenerated, type Mode } from "../../host/fuzz/check.js";
import { parseFuzzArgs, UsageError } from "../../host/fuzz/args.js";
import { exhaustFor } from "../../host/fuzz/limits.js";
import { runGenerated } from "../../host/fuzz/sequence.js";
import type { Exhaust } from "../../host/fuzz/limits.js";

const mode = (exhaust: Exhaust): Mode => ({
  profile: "adversarial", twin: false, debug: false, deepEvery: 0, infoEvery: 64, oracle: null, exhaust,
});

describe("sequences against a wall", () => {
  it("RLIMIT_DATA: requests are refused with ENOMEM and the process runs on, its limits and status holding", async () => {
    const r = await checkGenerated(1, 3000, mode("data"));
    expect(r.violation?.what ?? null).toBeNull();
    expect(r.refusals).toBeGreaterThan(50);
    expect(r.ended).toBeNull();
    expect(r.ops).toBe(3000);
  });

  it("strict overcommit: a foreign sbrk refused is not given back (that would cut into the heap)", { timeout: 60_000 }, async () => {
    // seed 1 once undid a refused sbrk(4096): the break went below the top chunk and mallinfo2 faulted
    const r = await checkGenerated(1, 2000, mode("commit"));
    expect(r.violation?.what ?? null).toBeNull();
    expect(r.refusals).toBeGreaterThan(0);
  });

  it("a small RAM: the OOM killer ends the sequence, which is not a finding", { timeout: 60_000 }, async () => {
    const r = await checkGenerated(2, 3000, mode("oom"));
    expect(r.violation?.what ?? null).toBeNull();
    expect(r.ended).toBe("oom");
    expect(r.ops).toBeLessThan(3000);
  });

  it("without a wall declared, the same kill is a finding", { timeout: 60_000 }, async () => {
    const r = await runGenerated(2, 3000, { profile: "adversarial", ramBytes: 96 * 2 ** 20, swapBytes: 0, overcommit: 1, infoEvery: 64 });
    expect(r.ended).toBeNull();
    expect(r.violation?.what).toMatch(/the process died: .*Killed|Out of memory/);
  });

  it("mix gives the sequences every kind in turn; --exhaust is refused with --oracle", () => {
    expect(Array.from({ length: 6 }, (_, i) => exhaustFor("mix", i))).toEqual(["none", "as", "data", "commit", "oom", "space"]);
    expect(exhaustFor("data", 5)).toBe("data");
    expect(parseFuzzArgs(["--profile", "adversarial"]).exhaust).toBe("mix");
    expect(parseFuzzArgs([]).exhaust).toBe("none");
    expect(() => parseFuzzArgs(["--exhaust", "oom", "--oracle"])).toThrow(UsageError);
    expect(() => parseFuzzArgs(["--exhaust", "disk"])).toThrow(/--exhaust must be one of/);
  });
});
