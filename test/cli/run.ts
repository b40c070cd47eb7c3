// Runs the built command line (dist/host/cli.js) as a user would, after building it if any
// source under host/ is newer than the build. The build goes through the same lock file as every
// other TypeScript build on the machine (flock, when it exists), since several builds may run at once.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const cli = join(root, "dist/host/cli.js");
export const traces = join(root, "test/fixtures/traces");
export const scenarios = join(root, "oracle/scenarios");

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newest(p));
    else if (entry.name.endsWith(".ts")) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist/ when it is missing or older than host/ (type errors elsewhere do not stop tsc emitting). */
export function ensureBuilt(): void {
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest(join(root, "host"))) return;
  const hasFlock = spawnSync("flock", ["--version"]).status === 0;
  const [cmd, args] = hasFlock
    ? ["flock", [join(tmpdir(), "ptm-tsc.lock"), "npm", "run", "build:ts"]]
    : ["npm", ["run", "build:ts"]];
  spawnSync(cmd, args, { cwd: root, stdio: "ignore" });
  if (!existsSync(cli)) throw new Error("the build did not produce dist/host/cli.js");
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr split into lines, without the final empty one. */
  errLines: string[];
}

/** Runs the CLI with `args`, feeding `stdin` (text or bytes) when given. */
export function run(args: string[], options: { stdin?: string | Uint8Array; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: options.cwd ?? root,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      const stderr = Buffer.concat(err).toString("utf8");
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr,
        errLines: stderr === "" ? [] : stderr.replace(/\n$/, "").split("\n"),
      });
    });
    child.stdin.on("error", () => {}); // the CLI may exit before reading all of it
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

/** Runs and checks a failure the user caused: exit 1, nothing on stdout, exactly one stderr line, matching `line`. */
export async function fails(args: string[], line: RegExp, stdin?: string | Uint8Array): Promise<void> {
  const r = await run(args, { stdin });
  expect(r.errLines, r.stderr).toHaveLength(1);
  expect(r.errLines[0]).toMatch(line);
  expect(r.errLines[0]).not.toMatch(/\n|    at /);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
}

/**
 * A scratch directory for one test file (made before its tests, after building the CLI; removed
 * after them): `path(name)` inside it, `file(name, content)` writes one and returns its path.
 */
export function scratch(prefix: string): { readonly dir: string; path(name: string): string; file(name: string, content: string | Uint8Array): string } {
  let dir = "";
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get dir() {
      return dir;
    },
    path: (name) => join(dir, name),
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}
