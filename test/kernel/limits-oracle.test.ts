// RLIMIT_AS and RLIMIT_DATA walls met by malloc in steps, on the real i386 glibc and kernel
// (scripts/exhaustion.c, built with gcc -m32) and here: the same number of blocks before NULL,
// and the same answer to one malloc(16) after the wall.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createProcess } from "../../host/index.js";

const root = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "exhaustion-"));
const bin = join(dir, "exhaustion");
const built = spawnSync("gcc", ["-m32", "-O2", "-o", bin, join(root, "scripts/exhaustion.c")], { encoding: "utf8" });
const canRun = !built.error && built.status === 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WALLS: Array<["as" | "data", number, number]> = [
  ["as", 256 * 2 ** 20, 64 * 1024],
  ["as", 256 * 2 ** 20, 2 ** 20],
  ["data", 64 * 2 ** 20, 64 * 1024],
  ["data", 64 * 2 ** 20, 2 ** 20],
  ["data", 3 * 2 ** 20, 100_000],
];

describe.skipIf(!canRun)(`malloc against a limit, as on the real system${canRun ? "" : " (skipped: no gcc -m32)"}`, () => {
  for (const [kind, bytes, step] of WALLS) {
    it(`RLIMIT_${kind.toUpperCase()} ${bytes} bytes, malloc(${step}) until NULL`, async () => {
      const real = spawnSync(bin, [kind, String(bytes), String(step)], { encoding: "utf8" });
      expect(real.status, real.stderr).toBe(0);
      const name = kind === "as" ? "RLIMIT_AS" : "RLIMIT_DATA";
      const proc = await createProcess({ seed: 1, rlimits: { [name]: { cur: bytes, max: bytes } } });
      let n = 0;
      while (proc.malloc(step) !== 0) n++;
      expect(proc.errno).toBe(12); // ENOMEM
      const after = proc.malloc(16) !== 0 ? "succeeds" : "returns NULL";
      expect(`${n} blocks, then malloc(16) ${after}\n`).toBe(real.stdout);
    });
  }
});
