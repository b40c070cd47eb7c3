import { describe, expect, it } from "vitest";
import { bootProcess } from "../../host/boot.js";
import type { AllocatorCoverage } from "../../host/allocator.js";

// The debug build's branch coverage (assembly/coverage.ts), as the fuzz harness reads it through
// bootProcess(...).allocator.coverage: known operations mark the paths they take.

async function debugProcess() {
  const booted = await bootProcess({ seed: 21, debug: true });
  const coverage = (booted.allocator as { coverage?: AllocatorCoverage }).coverage;
  if (coverage === undefined) throw new Error("no coverage on the debug build");
  const hits = () => coverage.names.filter((_, id) => coverage.hit(id));
  return { proc: booted.process, coverage, hits };
}

describe("branch coverage of the debug build", () => {
  it("has a dense id table with a name per id, paths then integrity checks", async () => {
    const { coverage } = await debugProcess();
    expect(coverage.count()).toBe(coverage.names.length);
    expect(coverage.count()).toBeGreaterThanOrEqual(60);
    expect(coverage.count()).toBeLessThanOrEqual(150);
    expect(new Set(coverage.names).size).toBe(coverage.names.length);
    expect(coverage.names[0]).toBe("tcache_get");
    expect(coverage.names).toContain("check:FREE_TCACHE_DOUBLE_FREE");
    expect(coverage.hit(coverage.count())).toBe(false); // out of range
  });

  it("the first malloc carves the tcache and grows the heap with brk from the top", async () => {
    const { proc, coverage, hits } = await debugProcess();
    coverage.reset();
    proc.malloc(24);
    expect(hits()).toEqual(["top_split", "sysmalloc_brk_first", "tcache_init"].sort((a, b) =>
      coverage.names.indexOf(a) - coverage.names.indexOf(b)));
  });

  it("free then malloc of the same size: tcache put, then tcache hit — and reset forgets", async () => {
    const { proc, coverage, hits } = await debugProcess();
    const p = proc.malloc(24);
    coverage.reset();
    proc.free(p);
    expect(hits()).toEqual(["tcache_put"]);
    proc.malloc(24);
    expect(hits()).toEqual(["tcache_get", "tcache_put"]);
    coverage.reset();
    expect(hits()).toEqual([]);
  });

  it("fastbin put and hit once the tcache bin is full; an unsorted exact fit; an mmapped chunk", async () => {
    const { proc, coverage, hits } = await debugProcess();
    const ps = Array.from({ length: 8 }, () => proc.malloc(24));
    const big = proc.malloc(2000);
    proc.malloc(24);
    coverage.reset();
    for (const p of ps) proc.free(p);
    expect(hits()).toEqual(["tcache_put", "fastbin_put"]);
    for (let i = 0; i < 8; i++) proc.malloc(24);
    expect(hits()).toContain("fastbin_hit");
    coverage.reset();
    proc.free(big); // too big for the tcache: the unsorted bin
    expect(hits()).toEqual(["free_to_unsorted"]);
    proc.malloc(2000);
    expect(hits()).toContain("unsorted_exact");
    coverage.reset();
    proc.free(proc.malloc(200_000));
    expect(hits()).toEqual(["sysmalloc_mmap", "munmap_chunk", "free_mmapped", "free_dyn_threshold"].sort((a, b) =>
      coverage.names.indexOf(a) - coverage.names.indexOf(b)));
  });

  it("an integrity check that fires marks its id", async () => {
    const { proc, coverage } = await debugProcess();
    const p = proc.malloc(24);
    proc.free(p);
    coverage.reset();
    expect(() => proc.free(p)).toThrow("free(): double free detected in tcache 2");
    expect(coverage.hit(coverage.names.indexOf("check:FREE_TCACHE_DOUBLE_FREE"))).toBe(true);
    expect(coverage.hit(coverage.names.indexOf("tcache_double_free_scan"))).toBe(true);
  });

  it("is absent from the release build", async () => {
    const booted = await bootProcess({ seed: 21 });
    expect((booted.allocator as { coverage?: AllocatorCoverage }).coverage).toBeUndefined();
  });
});
