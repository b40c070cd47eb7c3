// The npm package as a user meets it: what `npm pack` puts in the tarball, and a consumer project
// that installs that tarball and uses it from TypeScript (every module resolution a project may
// use), from require() and from an ESM import, and through its bin.
//
// It packs the dist/ that `npm ci` (prepare) built; the pack itself runs no scripts.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

interface PackedFile {
  path: string;
  size: number;
  mode: number;
}

// Asynchronous, so that the test worker keeps answering vitest while npm and tsc run.
const execFileAsync = promisify(execFile);
const run = async (cmd: string, args: string[], cwd: string): Promise<string> =>
  (await execFileAsync(cmd, args, { cwd, encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 })).stdout;

/** stdout and stderr of a command that may fail, and its exit status. */
async function attempt(cmd: string, args: string[], cwd: string): Promise<{ status: number; output: string }> {
  try {
    return { status: 0, output: await run(cmd, args, cwd) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === "number" ? e.code : 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

let work = "";
let tarball = "";
let files: PackedFile[] = [];
let paths = new Set<string>();
let installed = ""; // the package as installed in the consumer project

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ptmalloc-package-"));
  const packed = JSON.parse(await run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], root)) as {
    filename: string;
    files: PackedFile[];
  }[];
  tarball = join(work, packed[0].filename);
  files = packed[0].files;
  paths = new Set(files.map((f) => f.path));

  const consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  // The package has no dependencies: installing its tarball needs no registry.
  await run(npm, ["install", tarball, "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], consumer);
  installed = join(consumer, "node_modules", "ptmalloc-wasm");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("carries the entry point, its declarations, the bin, package.json, README and LICENSE", () => {
    for (const p of ["dist/host/index.js", "dist/host/index.d.ts", "dist/host/cli.js", "package.json", "README.md", "LICENSE"]) {
      expect(paths, p).toContain(p);
    }
  });

  it("carries nothing only the repository uses: no benchmarks, tests, sources or .wasm files", () => {
    const strays = [...paths].filter(
      (p) =>
        /^(dist\/bench|dist\/test|test|bench|host|assembly|oracle|build|scripts|web|docs)\//.test(p) ||
        p.endsWith(".wasm") ||
        (p.endsWith(".ts") && !p.endsWith(".d.ts")),
    );
    expect(strays).toEqual([]);
  });

  it("ships every module that a shipped module imports (static and dynamic imports)", () => {
    const missing: string[] = [];
    for (const p of paths) {
      if (!p.endsWith(".js")) continue;
      const text = readFileSync(join(installed, p), "utf8");
      for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g)) {
        const target = posix.normalize(posix.join(posix.dirname(p), m[1]));
        if (!paths.has(target)) missing.push(`${p} → ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("has no source map whose sources are neither shipped nor inlined", () => {
    const maps = [...paths].filter((p) => p.endsWith(".map"));
    const orphans: string[] = [];
    for (const p of maps) {
      const map = JSON.parse(readFileSync(join(installed, p), "utf8")) as { sources: string[]; sourcesContent?: (string | null)[] };
      map.sources.forEach((source, i) => {
        const inlined = typeof map.sourcesContent?.[i] === "string";
        if (!inlined && !paths.has(posix.normalize(posix.join(posix.dirname(p), source)))) orphans.push(`${p}: ${source}`);
      });
    }
    expect(orphans).toEqual([]);
  });

  it("has an executable bin that starts with a shebang", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    const bin = posix.normalize(pkg.bin["ptmalloc-wasm"]);
    const entry = files.find((f) => f.path === bin);
    expect(entry, bin).toBeDefined();
    expect(entry!.mode & 0o111, `mode ${entry!.mode.toString(8)}`).toBe(0o111);
    expect(readFileSync(join(installed, bin), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
  });

  it("publishes no declaration marked @internal, while the internals still work from source", async () => {
    const declarations = [...paths].filter((p) => p.endsWith(".d.ts"));
    expect(declarations.length).toBeGreaterThan(10);
    const leaks = declarations.filter((p) => /@internal\b/.test(readFileSync(join(installed, p), "utf8")));
    expect(leaks).toEqual([]);
    const bootDts = readFileSync(join(installed, "dist/host/boot.d.ts"), "utf8");
    expect(bootDts).toMatch(/createProcess/);
    expect(bootDts).not.toMatch(/bootProcess|processKernel/);
    // Tests and benchmarks reach them from the sources.
    const internals = await import("../../host/boot.js");
    expect(typeof internals.bootProcess).toBe("function");
    expect(typeof internals.processKernel).toBe("function");
  });
});

// A consumer's TypeScript: real types (not `any`: the @ts-expect-error lines would then fail).
const ESM_CONSUMER = `import { createProcess, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, ProcessAbort, type Mallinfo2, type Process } from "ptmalloc-wasm";
export async function use(): Promise<number> {
  const proc: Process = await createProcess({ seed: 42, aslr: 0 });
  const p: number = proc.malloc(100);
  // @ts-expect-error a size is a number
  proc.malloc("100");
  const info: Mallinfo2 = proc.mallinfo2();
  const stats: string = proc.malloc_stats();
  const m: number = proc.sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const isAbort: boolean = new Error("x") instanceof ProcessAbort;
  return p + info.arena + stats.length + m + Number(isAbort) + proc.maps().length;
}
`;
const CJS_CONSUMER = `import ptm = require("ptmalloc-wasm");
export async function use(): Promise<string> {
  const proc = await ptm.createProcess({ seed: 1 });
  // @ts-expect-error no such option
  await ptm.createProcess({ sed: 1 });
  return proc.maps();
}
`;

describe("a consumer project that installed the tarball", () => {
  const cases: { resolution: string; module: string; sources: Record<string, string> }[] = [
    { resolution: "node10", module: "commonjs", sources: { "consumer.ts": ESM_CONSUMER } },
    { resolution: "node16", module: "node16", sources: { "consumer.mts": ESM_CONSUMER } },
    { resolution: "nodenext", module: "nodenext", sources: { "consumer.mts": ESM_CONSUMER, "required.cts": CJS_CONSUMER } },
    { resolution: "bundler", module: "esnext", sources: { "consumer.ts": ESM_CONSUMER } },
  ];
  it.each(cases)("type-checks with moduleResolution $resolution", async ({ resolution, module, sources }) => {
    const dir = join(work, "consumer", `ts-${resolution}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(sources)) writeFileSync(join(dir, name), text);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution: resolution,
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false, // the published declarations themselves are checked…
          skipDefaultLibCheck: true, // …not TypeScript's own lib files
        },
        files: Object.keys(sources),
      }),
    );
    const { status, output } = await attempt(process.execPath, [tsc, "-p", dir], dir);
    expect(output).toBe("");
    expect(status).toBe(0);
  });

  const script = `.then(async (m) => { const proc = await m.createProcess({ seed: 7 }); const p = proc.malloc(100); proc.free(p);
    console.log(typeof m.createProcess, p > 0, proc.maps().includes("[heap]"), proc.malloc_stats().includes("Arena 0:")); })`;

  it("require('ptmalloc-wasm').createProcess is a function that makes a working process", async () => {
    const out = await run(process.execPath, ["-e", `Promise.resolve(require("ptmalloc-wasm"))${script}`], join(work, "consumer"));
    expect(out.trim()).toBe("function true true true");
  });

  it("an ESM import of ptmalloc-wasm makes a working process", async () => {
    const out = await run(process.execPath, ["--input-type=module", "-e", `import("ptmalloc-wasm")${script}`], join(work, "consumer"));
    expect(out.trim()).toBe("function true true true");
  });

  it("the installed bin runs the demo", async () => {
    const out = await run(join(work, "consumer", "node_modules", ".bin", "ptmalloc-wasm"), ["demo"], join(work, "consumer"));
    expect(out).toMatch(/malloc\(8\) = 0x[0-9a-f]{8}/);
  });
});
