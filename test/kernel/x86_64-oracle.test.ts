// The emulated x86_64 kernel against the real one. regen.sh runs every scenario of
// oracle/kernel/scenarios/ (but those marked "# i386 only") as a 64-bit process on the real kernel
// and keeps the output in test/fixtures/kernel64/; here each runs in a fresh x86_64 kernel (the
// process's, with ld.so, the vDSO and libc mapped) and must print the same lines, those at
// addresses no window holds (0x1000, 0x40000000: far pages) included.

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Kernel } from "../../host/kernel/kernel.js";
import type { Syscalls } from "../../host/process.js";
import { parseOutput, parseScenarios, runScenario, scenarioSeed, type KernelTarget, type Scenario } from "../../oracle/kernel/interpreter.js";
import { GiB } from "./helpers.js";

const scenarioDir = fileURLToPath(new URL("../../oracle/kernel/scenarios/", import.meta.url));
const fixtureDir = fileURLToPath(new URL("../fixtures/kernel64/", import.meta.url));

/** A fresh x86_64 kernel as a process gets it (aslr 2, the libraries mapped), as a scenario's target. */
function freshKernel(scenario: Scenario): KernelTarget {
  const kernel = new Kernel({
    arch: "x86_64",
    memory: new WebAssembly.Memory({ initial: 2, maximum: 65536 }),
    seed: scenarioSeed(scenario.name),
    aslr: 2,
    overcommit: 0,
    overcommitRatio: 50,
    ramBytes: GiB,
    swapBytes: 0,
    privileged: scenario.privileged,
    rlimits: {},
    program: { textStart: 0x10000, dataStart: 0x14000, dataEnd: 0x19000 },
    libraries: true,
  });
  return {
    sys: kernel as unknown as Syscalls,
    maps: () => kernel.maps(),
    status: () => kernel.status(),
    read: (addr, length) => kernel.read(addr, length),
    write: (addr, bytes) => kernel.write(addr, bytes),
    fill: (addr, byte, length) => kernel.fill(addr, byte, length),
  };
}

let checked = 0;
let differing = 0;

const files = readdirSync(fixtureDir).filter((f) => f.endsWith(".out")).sort();

for (const file of files) {
  const base = file.replace(/\.out$/, "");
  const expected = parseOutput(readFileSync(fixtureDir + file, "utf8"));
  const scenarios = parseScenarios(readFileSync(`${scenarioDir}${base}.txt`, "utf8")).filter((s) => expected.has(s.name));

  describe(`x86_64 kernel oracle: ${base}`, () => {
    it("runs every scenario the fixture has", () => {
      expect(scenarios.map((s) => s.name).sort()).toEqual([...expected.keys()].sort());
    });
    for (const scenario of scenarios) {
      it(scenario.name, () => {
        const want = expected.get(scenario.name)!;
        const got = runScenario(scenario, freshKernel(scenario), { arch: "x86_64" });
        checked += want.length;
        differing += want.filter((line, i) => got[i] !== line).length + Math.max(0, got.length - want.length);
        expect(got).toEqual(want);
      });
    }
  });
}

afterAll(() => {
  console.log(`x86_64 kernel oracle: ${checked} lines checked, ${differing} differ`);
});
