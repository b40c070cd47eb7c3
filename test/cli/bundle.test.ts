// The bin starts the one-file bundle of the command line when it is at least as new as the
// modules tsc wrote, else the modules: a stale bundle must never run in place of newer code.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, root, run, scratch, traces } from "./run.js";

const tmp = scratch("ptmalloc-wasm-bundle-");
const hasEsbuild = spawnSync(process.execPath, ["-e", "import('esbuild')"], { cwd: root }).status === 0;

describe("the launcher", () => {
  it("picks the bundle when it is fresh, the modules when they are newer", () => {
    const dir = tmp.path("pkg");
    mkdirSync(join(dir, "cli"), { recursive: true });
    copyFileSync(cli, join(dir, "cli.js"));
    writeFileSync(join(dir, "package.json"), '{"type":"module"}');
    writeFileSync(join(dir, "cli", "bundle.js"), 'console.log("bundle");');
    writeFileSync(join(dir, "cli", "start.js"), 'console.log("modules");');
    const which = () => spawnSync(process.execPath, [join(dir, "cli.js")], { encoding: "utf8" }).stdout.trim();
    const at = (file: string, seconds: number) => utimesSync(join(dir, "cli", file), seconds, seconds);
    at("start.js", 1000);
    at("bundle.js", 2000);
    expect(which()).toBe("bundle");
    at("start.js", 3000); // tsc ran again, the bundle step did not
    expect(which()).toBe("modules");
  });
});

describe.skipIf(!hasEsbuild)("the build's bundle", () => {
  it("answers as the modules do", async () => {
    // build:ts makes it after tsc, unless tsc stopped on a type error: then make it here
    const bundle = join(root, "dist/host/cli/bundle.js");
    const start = join(root, "dist/host/cli/start.js");
    if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(start).mtimeMs) {
      expect(spawnSync(process.execPath, [join(root, "scripts/bundle-cli.mjs")], { cwd: root }).status).toBe(0);
    }
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(statSync(start).mtimeMs);
    const args = ["replay", join(traces, "python3.ops.gz"), "--checkpoint", "0"];
    const viaBin = await run(args);
    const viaModules = spawnSync(process.execPath, [join(root, "dist/host/cli/start.js"), ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(viaBin.code).toBe(0);
    expect(viaModules.status).toBe(0);
    expect(viaBin.stdout).toBe(viaModules.stdout);
    expect(viaBin.stdout.length).toBeGreaterThan(100_000);
  });
});
