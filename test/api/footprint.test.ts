// What an emulated process costs the Node process in real memory: a mapping nobody touched
// costs nothing, even 3 GiB of it, and looking at it (status, mincore, maps) does not make it
// real either. (scripts/measure-memory.mjs measures the same, and 1,000 processes created and
// dropped, with a collector it can call.)

import { describe, expect, it } from "vitest";
import { createProcess } from "../../host/boot.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MAP_PRIVATE_ANON_NORESERVE = 0x02 | 0x20 | 0x4000;

describe("real memory", () => {
  it("a 3 GiB mapping left untouched adds no RSS to the Node process, looked at or not", async () => {
    const proc = await createProcess({ seed: 3 });
    const rss0 = process.memoryUsage.rss();
    const addr = proc.sys.mmap(0, 3 * GiB, 3, MAP_PRIVATE_ANON_NORESERVE, -1, 0);
    expect(addr).toBeGreaterThan(0);
    const vec = new Uint8Array((256 * MiB) / 4096);
    expect(proc.sys.mincore(addr + 2 * GiB, 256 * MiB, vec)).toBe(0);
    expect(vec.some((b) => b !== 0)).toBe(false);
    const status = proc.status();
    expect(status.VmSize).toBeGreaterThan(3 * 1024 * 1024); // kB
    expect(proc.maps()).toContain(addr.toString(16).padStart(8, "0"));
    // The bookkeeping is all that may appear.
    expect(process.memoryUsage.rss() - rss0).toBeLessThan(64 * MiB);
    // Touching 64 pages makes 64 pages resident: the emulated VmRSS sees them.
    const before = proc.status().VmRSS;
    proc.fill(addr + GiB, 7, 64 * 4096);
    expect(proc.status().VmRSS - before).toBe(64 * 4);
    expect(process.memoryUsage.rss() - rss0).toBeLessThan(64 * MiB);
  });
});
