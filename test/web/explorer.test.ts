// The explorer page in Chromium: built by Vite, served on 127.0.0.1, opened by URL; what it draws
// is read through its test hooks (data-chunk-addr, data-chunk-size, data-bin, data-vma-start/end,
// data-state, data-abort-message) and compared with the same session run in Node through the
// public API (same seed ⇒ same addresses).

import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcess, type Process } from "../../host/index.js";
import { SCENARIOS } from "../../web/src/scenarios.js";
import { Program } from "../../web/src/program.js";
import { parseStatement } from "../../web/src/statements.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

type Browser = import("playwright-core").Browser;
type Page = import("playwright-core").Page;
type PreviewServer = import("vite").PreviewServer;

/** The scenario's first `step` statements run in Node: the process and its variables. */
async function nodeRun(name: string, step: number, seed = 1): Promise<{ proc: Process; vars: Map<string, number> }> {
  const sc = SCENARIOS.find((s) => s.name === name)!;
  const proc = await createProcess({ seed });
  const program = new Program(sc.statements.slice(0, step).map(parseStatement));
  const slots = program.slots();
  for (let i = 0; i < program.length; i++) program.run(i, proc, slots);
  const vars = new Map<string, number>();
  for (const [name, k] of program.slotOf) if (!Number.isNaN(slots[k])) vars.set(name, slots[k]);
  return { proc, vars };
}

describe.skipIf(!hasChromium)(`the explorer page in Chromium${hasChromium ? "" : ` (skipped: no ${CHROMIUM})`}`, () => {
  let server: PreviewServer;
  let browser: Browser;
  let base: string;
  const shots = mkdtempSync(join(tmpdir(), "explorer-"));
  const problems: string[] = [];

  beforeAll(async () => {
    const vite = await import("vite");
    const configFile = fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url));
    await vite.build({ configFile, logLevel: "error" });
    server = await vite.preview({ configFile, preview: { port: 0, host: "127.0.0.1" } });
    base = server.resolvedUrls!.local[0];
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise<void>((done) => server.httpServer.close(() => done()));
    console.log(`explorer screenshots: ${shots}`);
  });

  async function open(query: string): Promise<{ page: Page; ms: number }> {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) problems.push(`outside request ${r.url()}`); });
    const t0 = Date.now();
    await page.goto(base + query);
    await page.waitForSelector("body[data-ready='1']");
    return { page, ms: Date.now() - t0 };
  }

  const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? "";
  const attrs = (page: Page, selector: string, names: string[]) =>
    page.$$eval(selector, (els, ns) => els.map((e) => ns.map((n) => e.getAttribute(n))), names);

  it("draws one element per maps() line, and the chunks and bins of the process", async () => {
    const { page, ms } = await open("?scenario=consolidate&step=7&seed=1");
    console.log(`explorer: page load to first drawing ${ms} ms`);
    const { proc, vars } = await nodeRun("consolidate", 7);
    const lines = proc.maps().trim().split("\n").map((l) => l.split(" ")[0].split("-").map((h) => "0x" + h));
    // drawn highest address first
    expect((await attrs(page, "[data-vma-start]", ["data-vma-start", "data-vma-end"])).reverse()).toEqual(lines);

    const heap = await attrs(page, "#heap [data-chunk-addr]", ["data-chunk-addr", "data-chunk-size", "data-bin"]);
    const byAddr = new Map(heap.map(([a, s, b]) => [a, { size: Number(s), bin: b }]));
    // a, b and c merged into one free chunk at a's header, in the unsorted bin
    expect(byAddr.get(hex(vars.get("a")! - 8))).toEqual({ size: 3 * 1104, bin: "unsorted" });
    expect(byAddr.has(hex(vars.get("b")! - 8))).toBe(false);
    expect(byAddr.get(hex(vars.get("g")! - 8))).toEqual({ size: proc.malloc_usable_size(vars.get("g")!) + 4, bin: null });
    // the last chunk is the top, ending at the break
    const [topAddr, topSize] = heap[heap.length - 1];
    expect(parseInt(topAddr!, 16) + Number(topSize)).toBe(proc.sbrk(0));
    // the bins panel lists the same chunk under the same name
    expect(await attrs(page, "#bins [data-bin]", ["data-bin", "data-chunk-addr"])).toEqual([["unsorted", hex(vars.get("a")! - 8)]]);
    expect(await page.getAttribute("body", "data-state")).toBe("alive");
    expect(await page.getAttribute("body", "data-abort-message")).toBeNull();
    await page.screenshot({ path: join(shots, "consolidate.png"), fullPage: true });
    await page.close();
  });

  it("shows the tcache and fastbin lists in glibc's order", async () => {
    const { page } = await open("?scenario=tcache-fastbins&step=18&seed=1");
    const { vars } = await nodeRun("tcache-fastbins", 18);
    const t = (i: number) => hex(vars.get(`t${i}`)! - 8);
    const bins = await attrs(page, "#bins [data-bin]", ["data-bin", "data-chunk-addr", "data-chunk-size"]);
    expect(bins).toEqual([
      ...[6, 5, 4, 3, 2, 1, 0].map((i) => ["tcache[1]", t(i), "32"]),
      ["fastbin[2]", t(8), "32"],
      ["fastbin[2]", t(7), "32"],
    ]);
    await page.close();
  });

  it("a double free ends the process with glibc's message; stepping back revives it", async () => {
    const { page } = await open("?scenario=tcache-double-free&seed=1");
    const { proc, vars } = await nodeRun("tcache-double-free", 2);
    expect(() => proc.free(vars.get("a")!)).toThrow("free(): double free detected in tcache 2");
    expect(await page.getAttribute("body", "data-state")).toBe("aborted");
    expect(await page.getAttribute("body", "data-abort-message")).toBe("free(): double free detected in tcache 2");
    expect(await text(page, "#death")).toContain("SIGABRT");
    await page.screenshot({ path: join(shots, "aborted.png"), fullPage: true });
    await page.keyboard.press("ArrowLeft");
    await page.waitForSelector("body[data-state='alive']");
    expect(await page.getAttribute("body", "data-abort-message")).toBeNull();
    expect(new URL(page.url()).searchParams.get("step")).toBe("2");
    await page.close();
  });

  it("clicking a chunk shows its header; a typed statement runs on the same process", async () => {
    const { page } = await open("?scenario=tcache-fastbins&step=18&seed=1");
    const { proc, vars } = await nodeRun("tcache-fastbins", 18);
    const t8 = hex(vars.get("t8")! - 8);
    await page.click(`#heap [data-chunk-addr="${t8}"]`);
    const detail = await text(page, "#detail");
    expect(detail).toContain(`chunk ${t8}`);
    expect(detail).toContain("in fastbin[2]");
    expect(detail).toContain("mangled");
    expect(detail).toContain("aborts: double free or corruption (fasttop)");
    const t0 = Date.now();
    await page.fill("#cmd", "p = malloc(100)");
    await page.press("#cmd", "Enter");
    await page.waitForSelector('#history li.cur[data-step="19"]');
    console.log(`explorer: one statement typed and redrawn in ${Date.now() - t0} ms`);
    const p = proc.malloc(100);
    expect(await text(page, "#history li.cur")).toContain(hex(p));
    expect(await page.locator(`#heap [data-chunk-addr="${hex(p - 8)}"]`).getAttribute("data-chunk-size")).toBe("112");
    expect(new URL(page.url()).searchParams.get("cmds")).toContain("p = malloc(100)");
    await page.close();
  });

  it("an op list from the URL, and the time of a step on a 10,000-chunk heap (printed)", async () => {
    const ops = Array.from({ length: 10000 }, (_, i) => `m ${i} ${16 + (i % 7) * 8}`).join("\n") + "\nf 9998\n";
    const { page, ms } = await open(`?step=10000&seed=1#ops=${encodeURIComponent(ops)}`); // too long for a query: the fragment
    const proc = await createProcess({ seed: 1 });
    let last = 0;
    for (let i = 0; i < 10000; i++) last = proc.malloc(16 + (i % 7) * 8);
    expect(await page.locator(`#heap [data-chunk-addr="${hex(last - 8)}"]`).count()).toBe(0); // beyond what is drawn
    expect(await page.locator("#heap [data-chunk-addr]").first().getAttribute("data-chunk-size")).toBe("400");
    const t0 = Date.now();
    await page.keyboard.press("ArrowRight");
    await page.waitForSelector('#history li.cur[data-step="10001"]');
    console.log(`explorer: load of a 10,000-op session ${ms} ms; one step on a 10,000-chunk heap ${Date.now() - t0} ms (render ${await page.getAttribute("body", "data-render-ms")} ms)`);
    await page.close();
  });

  it("asked for nothing outside the page and logged no errors", () => {
    expect(problems).toEqual([]);
  });
});
