// The README's examples run as written. Every TypeScript/JavaScript block is compiled (types
// stripped), its `from "ptmalloc-wasm"` pointed at the built package (dist/host/index.js), and
// run by node from the repository's root; it must exit 0, print nothing on stderr, and print what
// its `// ⇒ TEXT` lines say, in order. Every command-line example (a line of a `sh` block that
// starts with `npx ptmalloc-wasm`) runs through the built CLI, in order, in a scratch directory
// where the repository's `test/` is visible, and must exit 0 and print something (or, redirected
// with `> FILE`, write a non-empty FILE). The HTML page is opened in Chromium when it is installed.
//
// An example that breaks fails here; a block that cannot run as written does not belong in the
// README (signatures go in `text` blocks).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./cli/run.js";

const root = join(import.meta.dirname, "..");
const cli = join(root, "dist", "host", "cli.js");
const entry = pathToFileURL(join(root, "dist", "host", "index.js")).href;
const readme = readFileSync(join(root, "README.md"), "utf8");

interface Block {
  lang: string;
  code: string;
  /** 1-based line of the README where the block's code starts. */
  line: number;
}

/** The fenced code blocks of a markdown text, with their info string. */
function codeBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    blocks.push({ lang: open[1], code: lines.slice(start, end).join("\n"), line: start + 1 });
    i = end;
  }
  return blocks;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 110_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

/** The block as a module node can run: types stripped, the package name mapped to dist/. */
function runnable(code: string): string {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  }).outputText;
  return js.replace(/from\s+"ptmalloc-wasm"/g, `from ${JSON.stringify(entry)}`);
}

/** The `// ⇒ TEXT` lines of a block: what it prints, in order. */
function expectedOutput(code: string): string[] {
  return code
    .split("\n")
    .map((l) => /^\s*\/\/ ⇒ (.*)$/.exec(l)?.[1])
    .filter((t): t is string => t !== undefined);
}

const blocks = codeBlocks(readme);
const scripts = blocks.filter((b) => ["ts", "typescript", "js", "javascript"].includes(b.lang));
const CLI = /^npx ptmalloc-wasm\s/;
const commands = blocks
  .filter((b) => b.lang === "sh")
  .flatMap((b) => b.code.split("\n").map((text, i) => ({ text: text.trim(), line: b.line + i })))
  .filter((c) => CLI.test(c.text));
const canRecord = spawnSync("cc", ["--version"]).status === 0 && existsSync("/usr/bin/ldd");

let scratch = "";
beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), "ptmalloc-readme-"));
  symlinkSync(join(root, "test"), join(scratch, "test"));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the README's code blocks", () => {
  it("include the examples this test runs", () => {
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    expect(commands.length).toBeGreaterThanOrEqual(5);
    // Each block states some of what it prints, so that running it checks something.
    for (const b of scripts) expect(expectedOutput(b.code).length, `README line ${b.line}: no // ⇒ line`).toBeGreaterThan(0);
  });

  for (const block of scripts) {
    it(`the ${block.lang} block at README line ${block.line} runs and prints what it says`, async () => {
      const file = join(scratch, `block-${block.line}.mjs`);
      writeFileSync(file, runnable(block.code));
      const r = await exec(process.execPath, [file], root);
      expect(r.stderr, "stderr").toBe("");
      expect(r.code, "exit status").toBe(0);
      let at = 0;
      for (const text of expectedOutput(block.code)) {
        const found = r.stdout.indexOf(text, at);
        expect(found, `not printed (after offset ${at}): ${text}\n--- stdout:\n${r.stdout}`).toBeGreaterThanOrEqual(0);
        at = found + text.length;
      }
    });
  }
});

describe("the README's command-line examples", () => {
  // In README order: a later example may read what an earlier one wrote (record, then replay).
  for (const command of commands) {
    const needsRecord = /\bptmalloc-wasm record\b/.test(command.text) || /\bls\.mtrace\b/.test(command.text);
    it.skipIf(needsRecord && !canRecord)(`README line ${command.line}: ${command.text.slice(0, 70)}`, async () => {
      const line = command.text.replace(CLI, `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} `);
      const r = await exec("sh", ["-c", line], scratch);
      expect(r.code, `exit status; stderr: ${r.stderr}`).toBe(0);
      const redirect = /(?:^|\s)>\s*(\S+)/.exec(line.replace(/\s#.*$/, ""));
      if (redirect) {
        const out = join(scratch, redirect[1]);
        expect(existsSync(out) && statSync(out).size, `${redirect[1]} written`).toBeGreaterThan(0);
      } else {
        expect((r.stdout + r.stderr).trim(), "output").not.toBe("");
      }
    });
  }
});

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const page = blocks.find((b) => b.lang === "html");

describe.skipIf(!existsSync(chromiumPath))("the README's browser page, in Chromium", () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it("works as written: served with node_modules/ptmalloc-wasm, it shows maps() and malloc_stats()", async () => {
    expect(page, "the README has an html block").toBeDefined();
    const packageDir = `/node_modules/ptmalloc-wasm/`;
    const types: Record<string, string> = { ".js": "text/javascript; charset=utf-8" };
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
      if (path === "/") return void res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page!.code);
      // The browser asks for one on its own; a site would have one (its 404 is not the page's).
      if (path === "/favicon.ico") return void res.writeHead(204).end();
      if (path.startsWith(packageDir)) {
        const file = normalize(join(root, path.slice(packageDir.length)));
        if (file.startsWith(join(root, "dist") + sep) && existsSync(file)) {
          return void res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
        }
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
    try {
      const tab = await browser.newPage();
      const problems: string[] = [];
      tab.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
      });
      tab.on("pageerror", (e) => problems.push(String(e)));
      tab.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
      tab.on("response", (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      await tab.goto(`http://127.0.0.1:${port}/`);
      await tab.waitForFunction(() => document.body?.textContent?.includes("Arena 0"), undefined, { timeout: 30_000 });
      const text = (await tab.textContent("body")) ?? "";
      // The same process as in Node: seed 42, one block freed into the tcache.
      expect(text).toMatch(/^00456000-00478000 rw-p .*\[heap\]$/m);
      expect(text).toMatch(/in use bytes\s+=\s+520$/m);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
