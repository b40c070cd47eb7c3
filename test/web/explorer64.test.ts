// The explorer page in Chromium on an x86_64 process (&arch=x86_64, or the page's "process"
// control): its test hooks carry real 64-bit addresses (data-chunk-addr, data-vma-start/end as 0x
// and 12 hex digits, [vsyscall]'s 16), the x86-64 bin names and sizes, and glibc's x86-64 ends;
// each compared with the same session run in Node through the public API. Built into a folder of
// its own, so that it can run beside test/web/explorer.test.ts.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcess, type Process } from "../../host/index.js";
import { inspectHeap } from "../../host/inspect/index.js";
import { Program, type Vars } from "../../web/src/program.js";
import { SCENARIOS, scenarioStatements } from "../../web/src/scenarios.js";
import { parseStatement } from "../../web/src/statements.js";
import { wordsOf } from "../../web/src/words.js";
import { CHROMIUM, type Explorer, hasChromium, startExplorer } from "./chromium.js";

const hex = wordsOf("x86_64").hex;

type Page = import("playwright-core").Page;

/** The x86-64 version of a scenario, its first `step` statements run in Node on a fresh x86_64 process. */
async function nodeRun(name: string, step: number, seed = 1): Promise<{ proc: Process; vars: Vars }> {
  const sc = SCENARIOS.find((s) => s.name === name)!;
  const program = new Program(scenarioStatements(sc, "x86_64").slice(0, step).map(parseStatement), "x86_64");
  const proc = await createProcess({ seed, arch: "x86_64" });
  const slots = program.slots();
  for (let i = 0; i < program.length; i++) program.run(i, proc, slots);
  return { proc, vars: program.vars(slots) };
}

describe.skipIf(!hasChromium)(`the explorer page on an x86_64 process${hasChromium ? "" : ` (skipped: no ${CHROMIUM})`}`, () => {
  let explorer: Explorer;
  const outDir = mkdtempSync(join(tmpdir(), "explorer64-dist-"));
  const problems: string[] = [];

  beforeAll(async () => {
    explorer = await startExplorer(outDir);
  }, 300_000);

  afterAll(async () => {
    await explorer?.close();
    rmSync(outDir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });

  async function open(query: string): Promise<Page> {
    const page = await explorer.browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
    await page.goto(explorer.base + query);
    await page.waitForSelector("body[data-ready='1']");
    return page;
  }

  const attrs = (page: Page, selector: string, names: string[]) =>
    page.$$eval(selector, (els, ns) => els.map((e) => ns.map((n) => e.getAttribute(n))), names);

  it("the walk-through's first malloc: 64-bit chunk addresses and one element per maps() line", async () => {
    const page = await open("?scenario=walkthrough&step=1&seed=1&arch=x86_64");
    const { proc, vars } = await nodeRun("walkthrough", 1);
    expect(await page.getAttribute("body", "data-arch")).toBe("x86_64");
    expect(await page.inputValue("#arch")).toBe("x86_64");
    const lines = proc.maps().trim().split("\n").map((l) => l.split(" ")[0].split("-").map((h) => "0x" + h));
    const vmas = (await attrs(page, "[data-vma-start]", ["data-vma-start", "data-vma-end"])).reverse();
    expect(vmas).toEqual(lines);
    expect(vmas[0][0]).toMatch(/^0x5[0-9a-f]{11}$/); // the program, near 0x55…
    expect(vmas.at(-1)).toEqual(["0xffffffffff600000", "0xffffffffff601000"]); // [vsyscall]

    const heap = await attrs(page, "#heap [data-chunk-addr]", ["data-chunk-addr", "data-chunk-size", "data-bin"]);
    const snap = inspectHeap(proc);
    expect(heap).toEqual(snap.heap!.chunks.map((c) => [hex(c.addr), String(c.size), null]));
    const brk0 = snap.mp.sbrk_base;
    // the tcache struct (0x290) at sbrk_base, then a's chunk: a is at break + 672
    expect(heap.slice(0, 2).map(([a, s]) => [parseInt(a!, 16) - brk0, Number(s)])).toEqual([[0, 0x290], [0x290, 32]]);
    expect(heap[1][0]).toBe(hex(vars.get("a")! - 16));
    expect(heap[1][0]).toMatch(/^0x[0-9a-f]{12}$/);
    expect(await page.locator("#history li.cur").textContent()).toContain(hex(vars.get("a")!));
    await page.close();
  });

  it("the tcache and fastbin lists under their x86-64 names: tcache[0], fastbin[0]", async () => {
    const page = await open("?scenario=tcache-fastbins&step=18&seed=1&arch=x86_64");
    const { vars } = await nodeRun("tcache-fastbins", 18);
    const t = (i: number) => hex(vars.get(`t${i}`)! - 16);
    expect(await attrs(page, "#bins [data-bin]", ["data-bin", "data-chunk-addr", "data-chunk-size"])).toEqual([
      ...[6, 5, 4, 3, 2, 1, 0].map((i) => ["tcache[0]", t(i), "32"]),
      ["fastbin[0]", t(8), "32"],
      ["fastbin[0]", t(7), "32"],
    ]);
    // a click shows the chunk's 8-byte header and what free() would do
    await page.click(`#heap [data-chunk-addr="${t(8)}"]`);
    const detail = (await page.locator("#detail").textContent()) ?? "";
    expect(detail).toContain(`chunk ${t(8)}`);
    expect(detail).toContain("+8");
    expect(detail).toContain("aborts: double free or corruption (fasttop)");
    await page.close();
  });

  it("a large bin with the 64-bit spacing, from an op list (&ops=…&arch=x86_64)", async () => {
    const ops = "m 0 1300\nm 1 16\nf 0\nm 2 5000\n";
    const page = await open(`?ops=${encodeURIComponent(ops)}&seed=3&arch=x86_64`);
    const proc = await createProcess({ seed: 3, arch: "x86_64" });
    const b0 = proc.malloc(1300);
    proc.malloc(16);
    proc.free(b0);
    proc.malloc(5000);
    expect(await attrs(page, "#bins [data-bin]", ["data-bin", "data-chunk-addr", "data-chunk-size"])).toEqual([
      ["large[68]", hex(b0 - 16), "1312"],
    ]);
    expect(new URL(page.url()).searchParams.get("arch")).toBe("x86_64");
    await page.close();
  });

  it("house of force ends with glibc's message after an 8-byte store", async () => {
    const page = await open("?scenario=house-of-force&seed=1&arch=x86_64");
    expect(await page.getAttribute("body", "data-state")).toBe("aborted");
    expect(await page.getAttribute("body", "data-abort-message")).toBe("malloc(): corrupted top size");
    await page.close();
  });

  it("the process control switches an i386 session to x86_64, and the URL says so", async () => {
    const page = await open("?scenario=consolidate&step=7&seed=1");
    expect((await page.getAttribute("#heap [data-chunk-addr]", "data-chunk-addr"))!).toMatch(/^0x[0-9a-f]{8}$/);
    await page.selectOption("#arch", "x86_64");
    await page.waitForSelector("body[data-arch='x86_64'][data-shown='7']");
    const { vars } = await nodeRun("consolidate", 7);
    const heap = await attrs(page, "#heap [data-chunk-addr]", ["data-chunk-addr", "data-chunk-size", "data-bin"]);
    expect(heap).toContainEqual([hex(vars.get("a")! - 16), "3360", "unsorted"]);
    expect(new URL(page.url()).searchParams.get("arch")).toBe("x86_64");
    await page.close();
  });
});
