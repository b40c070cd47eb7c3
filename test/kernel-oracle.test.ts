// The emulated kernel against the real one. Each scenario of oracle/kernel/scenarios/ ran on the
// real Linux kernel (oracle/kernel/interp.c, 32-bit, one fresh process per scenario) and its output
// is kept in test/fixtures/kernel/; here the same scenario runs in a fresh emulated process and
// must print the same lines. oracle/kernel/regen.sh rebuilds the fixtures where gcc is present.

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createProcess } from "../host/index.js";
import { parseOutput, parseScenarios, runScenario, scenarioSeed, type KernelTarget, type Scenario } from "../oracle/kernel/interpreter.js";

const scenarioDir = fileURLToPath(new URL("../oracle/kernel/scenarios/", import.meta.url));
const fixtureDir = fileURLToPath(new URL("./fixtures/kernel/", import.meta.url));

/** A fresh emulated process, through the public API. */
function freshProcess(scenario: Scenario): Promise<KernelTarget> {
  return createProcess({ seed: scenarioSeed(scenario.name), privileged: scenario.privileged });
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
