// The package in a real browser (Chromium, headless), loaded twice: bundled by esbuild as an app
// would bundle it, and unbundled as native ES modules through an import map pointing at dist/.
// Each page creates processes (the Wasm build, and the pure-TS twin and the debug build that load
// on demand, and an x86_64 process), allocates, frees, maps, reads maps() and malloc_stats(), and replays a gzipped trace
// that it fetches and gunzips itself (DecompressionStream). The page must log no console error and
// fail no request, and its results must equal what the same code gives in Node (on the same dist/).
//
// Without Chromium (Debian's `chromium` at /usr/bin/chromium, or CHROMIUM_PATH) the tests are
// skipped, and say so.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstDifference } from "../../host/index.js";
// A plain JS module shared with the page.
import { exercise } from "./page/exercise.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const page = (script: string, importMap?: Record<string, string>): string =>
  `<!doctype html><meta charset="utf-8"><title>ptmalloc-wasm</title><link rel="icon" href="data:,">` +
  (importMap ? `<script type="importmap">${JSON.stringify({ imports: importMap })}</script>` : "") +
  `<script type="module" src="${script}"></script>`;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".gz": "application/gzip",
};

/** A tiny static server: the two pages, the page scripts, the bundle, dist/ and the fixture. */
function serve(bundleDir: string): Promise<Server> {
  const pages: Record<string, string> = {
    "/unbundled.html": page("/app.js", { "ptmalloc-wasm": "/pkg/dist/host/index.js" }),
    "/bundled.html": page("/bundled/app.js"),
  };
  // URL prefix → directory; nothing outside these is served.
  const dirs: [string, string][] = [
    ["/pkg/dist/host/", join(root, "dist", "host")],
    ["/pkg/dist/assembly/", join(root, "dist", "assembly")],
    ["/bundled/", bundleDir],
    ["/fixtures/", join(here, "fixtures")],
    ["/", join(here, "page")],
  ];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    if (pages[path] !== undefined) {
      res.writeHead(200, { "content-type": TYPES[".html"] }).end(pages[path]);
      return;
    }
    for (const [prefix, dir] of dirs) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir + sep) || !existsSync(file)) break;
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

if (!haveChromium) {
  const reason = `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;
  console.warn(`test/browser: skipped: ${reason}`);
  describe("the package in Chromium", () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  describe("the package in Chromium", () => {
    let server: Server;
    let origin = "";
    let bundleDir = "";
    let browser: import("playwright-core").Browser;
    let expected: unknown;

    beforeAll(async () => {
      bundleDir = mkdtempSync(join(tmpdir(), "ptmalloc-browser-"));
      // The app bundled as a user's bundler would: the package by its name, through its exports.
      await build({
        entryPoints: [join(here, "page", "app.js")],
        bundle: true,
        minify: true,
        format: "esm",
        splitting: true,
        platform: "browser",
        target: "es2022",
        outdir: bundleDir,
        alias: { "ptmalloc-wasm": root },
        logLevel: "error",
      });
      server = await serve(bundleDir);
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: chromiumPath, args: LAUNCH_ARGS });
      // The same code in Node, on the same built package the pages load.
      const api = await import(join(root, "dist", "host", "index.js"));
      expected = await exercise(api, async (url: string) => gunzipSync(readFileSync(join(here, url))).toString("utf8"));
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
    });

    for (const mode of ["bundled", "unbundled"]) {
      it(`${mode}: creates processes, allocates, frees, replays a gzipped trace, as in Node, with no console error`, async () => {
        const context = await browser.newContext();
        const tab = await context.newPage();
        const problems: string[] = [];
        tab.on("console", (msg) => {
          if (msg.type() === "error" || msg.type() === "warning") problems.push(`console.${msg.type()}: ${msg.text()}`);
        });
        tab.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
        tab.on("requestfailed", (req) => problems.push(`request failed: ${req.url()}`));
        tab.on("response", (res) => {
          if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
        });
        const requested: string[] = [];
        tab.on("request", (req) => requested.push(new URL(req.url()).pathname));
        try {
          await tab.goto(`${origin}/${mode}.html`);
          await tab.waitForFunction(() => "ptmallocResult" in window);
          const outcome = (await tab.evaluate(() => (window as unknown as { ptmallocResult: Promise<unknown> }).ptmallocResult)) as {
            result?: { processes: Record<string, { maps: string; mallocStats: string }>; replay: { ops: number; output: string } };
            error?: string;
          };
          expect(outcome.error).toBeUndefined();
          const result = outcome.result!;
          expect(result.processes.wasm.maps).toMatch(/\[heap\]/);
          expect(result.processes.wasm.mallocStats).toMatch(/^Arena 0:\nsystem bytes {5}= +\d+\n/);
          // the x86_64 process: 64-bit addresses and 12-digit maps() lines, in the browser as in Node
          const x64 = result.processes.x86_64 as unknown as { arch: string; blocks: number[]; maps: string };
          expect(x64.arch).toBe("x86_64");
          expect(x64.blocks.every((b) => b > 2 ** 32)).toBe(true);
          expect(x64.maps).toMatch(/^[0-9a-f]{12}-[0-9a-f]{12} /);
          // The replay reproduces the real glibc's output for this scenario, byte for byte.
          const oracle = readFileSync(join(root, "test", "fixtures", "alloc", "mixed.replay32.txt"), "utf8");
          expect(firstDifference(oracle, result.replay.output)).toBeNull();
          expect(result).toEqual(expected);
          if (mode === "unbundled") expect(requested).toContain("/pkg/dist/host/index.js");
          else expect(requested.some((p) => p.startsWith("/pkg/"))).toBe(false);
          // The debug build and the twin arrived on demand, as modules of their own.
          const lazy = mode === "unbundled" ? ["/pkg/dist/host/generated/wasm-debug.js", "/pkg/dist/host/baseline/index.js"] : [];
          for (const p of lazy) expect(requested).toContain(p);
          if (mode === "bundled") expect(requested.filter((p) => p.startsWith("/bundled/")).length).toBeGreaterThanOrEqual(3);
          expect(problems).toEqual([]);
        } finally {
          await context.close();
        }
      });
    }
  });
}
