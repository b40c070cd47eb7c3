import { describe, expect, it } from "vitest";
import {
  allPeers, loadTraceProgram, prefixOf, checkGoals, runAllocBench, type AllocBenchRow,
} from "../../bench/alloc.bench.js";
import { simpleWorkload, mixedWorkload } from "../../bench/workloads.js";
import { glibcPeakBytes } from "../../bench/peers/ptmalloc.js";
import type { Runner } from "../../bench/peers/peer.js";

async function once(runner: Runner): Promise<void> {
  await runner.prepare();
  runner.run();
}

describe("every benchmark peer replays the workloads", () => {
  const programs = {
    simple: simpleWorkload(64, 5),
    mixed: mixedWorkload(3000, 300, 7),
    python3: prefixOf(loadTraceProgram("python3"), 20_000),
  };
  for (const peer of allPeers()) {
    const reason = peer.unavailable();
    it.skipIf(reason !== null)(`${peer.name}${reason ? ` (skipped: ${reason})` : ""}`, async () => {
      for (const program of Object.values(programs)) {
        const runner = peer.runner(program);
        await once(runner);
        const mem = runner.memory?.();
        if (mem) expect(mem.peakBytes).toBeGreaterThanOrEqual(0);
        await once(runner); // a second fresh run works as well
      }
    });
  }
});

describe("peak memory of the glibc peers", () => {
  it("reads max system bytes and max mmap bytes from glibc's own reports", () => {
    const info = '<malloc version="1">\n<system type="current" size="100"/>\n<system type="max" size="4096"/>\n</malloc>\n';
    const stats = "Arena 0:\nsystem bytes     =     4096\nmax mmap regions =          1\nmax mmap bytes   =     200704\n";
    expect(glibcPeakBytes(info, stats)).toBe(4096 + 200704);
  });
  for (const [arch, oursName, nativeName] of [
    ["i386", "ptmalloc-wasm, in-Wasm loop", "native glibc 2.36 i386"],
    ["x86-64", "ptmalloc-wasm x86_64, in-Wasm loop", "native glibc 2.36 x86-64"],
  ]) {
    it(`is the same for ptmalloc-wasm and the real ${arch} glibc on a trace`, async () => {
      const peers = allPeers();
      const ours = peers.find((p) => p.name === oursName)!;
      const native = peers.find((p) => p.name === nativeName)!;
      if (native.unavailable() !== null) return; // no gcc for this arch here: nothing to compare with
      const program = prefixOf(loadTraceProgram("sqlite3"), 50_000);
      const a = ours.runner(program);
      const b = native.runner(program);
      await once(a);
      await once(b);
      expect(a.memory!().peakBytes).toBe(b.memory!().peakBytes);
    });
  }
});

describe("the goals", () => {
  const row = (workload: string, peer: string, ns: number): AllocBenchRow => ({
    workload, peer, mode: "wasm", ops: 1, nsPerOpMedian: ns, nsPerOpMin: ns, nsPerOpMax: ns, runs: 1,
  });
  it("say which workloads miss, and that unmeasured goals are unmeasured", () => {
    const goals = checkGoals([
      row("mixed", "ptmalloc-wasm, in-Wasm loop", 10),
      row("mixed", "AS TLSF, in-Wasm loop", 20),
      row("git", "ptmalloc-wasm, in-Wasm loop", 30),
      row("git", "AS TLSF, in-Wasm loop", 20),
    ]);
    const tlsf = goals.find((g) => g.goal.includes("AS TLSF"))!;
    expect(tlsf.met).toBe(false);
    expect(tlsf.detail).toContain("git");
    expect(tlsf.detail).not.toContain("mixed");
    expect(goals.find((g) => g.goal.includes("dlmalloc"))!.met).toBeNull();
  });
});

describe("the suite's arguments", () => {
  it("refuses a workload or a peer it does not know, naming the ones it has", async () => {
    await expect(runAllocBench({ quick: true, only: ["nope"], log: () => {} })).rejects.toThrow(/no workload named nope.*simple-16/);
    await expect(runAllocBench({ quick: true, peers: ["nobody"], log: () => {} })).rejects.toThrow(/no peer name contains "nobody"/);
  });
});
