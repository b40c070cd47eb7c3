// The emulated kernel against the real one. Each scenario of oracle/kernel/scenarios/ ran on the
// real Linux kernel (oracle/kernel/interp.c, 32-bit, one fresh process per scenario) and its output
// is kept in test/fixtures/kernel/; here the same scenario runs in a fresh emulated process and
// must print the same lines. oracle/kernel/regen.sh rebuilds the fixtures where gcc is present.

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseOutput, parseScenarios, runScenario, type KernelTarget, type Scenario } from "../oracle/kernel/interpreter.js";

const scenarioDir = fileURLToPath(new URL("../oracle/kernel/scenarios/", import.meta.url));
const fixtureDir = fileURLToPath(new URL("./fixtures/kernel/", import.meta.url));

/** A seed per scenario name: runs are reproducible, and scenarios do not share a layout. */
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A fresh emulated process: through the public API when it loads, else a bare Kernel. */
async function freshProcess(scenario: Scenario): Promise<KernelTarget> {
  const seed = seedOf(scenario.name);
  let createProcess: ((o: object) => Promise<KernelTarget>) | undefined;
  try {
    ({ createProcess } = (await import("../host/index.js")) as unknown as { createProcess: typeof createProcess });
  } catch {
    createProcess = undefined;
  }
  if (createProcess) {
    try {
      return await createProcess({ seed, privileged: scenario.privileged });
    } catch {
      // the allocator may not be built: the kernel alone is enough here
    }
  }
  const { Kernel } = await import("../host/kernel/kernel.js");
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const kernel = new Kernel({
    memory,
    seed,
    aslr: 2,
    overcommit: 0,
    overcommitRatio: 50,
    ramBytes: 1024 * 1024 * 1024,
    swapBytes: 0,
    privileged: scenario.privileged,
    rlimits: {},
    program: { textStart: 0x10000, dataStart: 0x11000, dataEnd: 0x12000 },
  });
  return {
    sys: kernel,
    maps: () => kernel.maps(),
    status: () => kernel.status(),
    read: (a, l) => kernel.read(a, l),
    write: (a, b) => kernel.write(a, b),
    fill: (a, b, l) => kernel.fill(a, b, l),
  };
}

let checked = 0;
let differing = 0;

const files = readdirSync(scenarioDir).filter((f) => f.endsWith(".txt")).sort();

for (const file of files) {
  const base = file.replace(/\.txt$/, "");
  const scenarios = parseScenarios(readFileSync(scenarioDir + file, "utf8"));
  const expected = parseOutput(readFileSync(`${fixtureDir}${base}.out`, "utf8"));

  describe(`kernel oracle: ${base}`, () => {
    for (const scenario of scenarios) {
      it(scenario.name, async () => {
        const want = expected.get(scenario.name);
        expect(want, `fixture has no scenario ${scenario.name}: run oracle/kernel/regen.sh`).toBeDefined();
        const proc = await freshProcess(scenario);
        const got = runScenario(scenario, proc);
        checked += want!.length;
        differing += want!.filter((line, i) => got[i] !== line).length + Math.max(0, got.length - want!.length);
        expect(got).toEqual(want);
      });
    }
  });
}

afterAll(() => {
  console.log(`kernel oracle: ${checked} lines checked, ${differing} differ`);
});
