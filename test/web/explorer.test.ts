// The explorer page in Chromium: built by Vite, served on 127.0.0.1, opened by URL; what it draws
// is read through its test hooks (data-chunk-addr, data-chunk-size, data-bin, data-vma-start/end,
// data-state, data-abort-message) and compared with the same session run in Node through the
// public API (same seed ⇒ same addresses).

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProcess, parseTrace, type Process, replay } from "../../host/index.js";
import { inspectHeap } from "../../host/inspect/index.js";
import { SCENARIOS } from "../../web/src/scenarios.js";
import { Program, type Vars } from "../../web/src/program.js";
import { parseStatement, type Statement } from "../../web/src/statements.js";
import { CHROMIUM, type Explorer, hasChromium, startExplorer } from "./chromium.js";

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
const TRACES = fileURLToPath(new URL("../fixtures/traces/", import.meta.url));
/** A gzipped fixture trace cut after its first `ops` records (comments and mtrace's "=" lines kept), gzipped again. */
function traceHead(name: string, ops: number): Buffer {
  const lines = gunzipSync(readFileSync(join(TRACES, name))).toString("latin1").split("\n");
  let end = 0;
  for (let n = 0; end < lines.length && n < ops; end++) if (!/^(#|=|$)/.test(lines[end])) n++;
  return gzipSync(lines.slice(0, end).join("\n") + "\n");
}
/** Set EXPLORER_SCREENSHOT=path to save the README's screenshot there. */
const DOCS_SHOT = process.env.EXPLORER_SCREENSHOT;

type Browser = import("playwright-core").Browser;
type Page = import("playwright-core").Page;

/** Statements run in Node on a fresh process: the process and its variables. */
async function runInNode(statements: Statement[] | Program, seed = 1): Promise<{ proc: Process; vars: Vars }> {
  const proc = await createProcess({ seed });
  const program = statements instanceof Program ? statements : new Program(statements);
  const slots = program.slots();
  for (let i = 0; i < program.length; i++) program.run(i, proc, slots);
  return { proc, vars: program.vars(slots) };
}

/** The scenario's first `step` statements run in Node: the process and its variables. */
async function nodeRun(name: string, step: number, seed = 1): Promise<{ proc: Process; vars: Vars }> {
  const sc = SCENARIOS.find((s) => s.name === name)!;
  return runInNode(sc.statements.slice(0, step).map(parseStatement), seed);
}

describe.skipIf(!hasChromium)(`the explorer page in Chromium${hasChromium ? "" : ` (skipped: no ${CHROMIUM})`}`, () => {
  let browser: Browser;
  let base: string;
  const shots = mkdtempSync(join(tmpdir(), "explorer-"));
  const problems: string[] = [];

  let explorer: Explorer;

  beforeAll(async () => {
    explorer = await startExplorer();
    ({ browser, base } = explorer);
  });

  afterAll(async () => {
    await explorer?.close();
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
    console.log(`explorer: page load to first drawing ${ms} ms seen by the test (${await page.getAttribute("body", "data-load-ms")} ms after navigation start, to the painted frame)`);
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

  /** Waits until the page shows `step` (after a key, a click, a file…). */
  const shown = (page: Page, step: number, timeout = 60_000) =>
    page.waitForSelector(`body[data-shown="${step}"]`, { timeout, state: "attached" });
  /** Presses a key and waits for the step it leads to; the page's own time of it (to the painted frame) and ours. */
  async function press(page: Page, key: string, step: number): Promise<{ pageMs: number; ms: number; replayed: number }> {
    const t0 = Date.now();
    await page.keyboard.press(key);
    await shown(page, step);
    await page.waitForFunction(() => document.body.dataset.stepMs !== undefined);
    const ms = Date.now() - t0;
    const d = await page.evaluate(() => ({ ...document.body.dataset }));
    return { pageMs: Number(d.stepMs), ms, replayed: Number(d.replayed) };
  }
  /** Every chunk of the windowed heap list, scrolled through from top to bottom: [addr, size]. */
  const allChunks = (page: Page) =>
    page.evaluate(async () => {
      const box = document.querySelector<HTMLElement>("#heap .chunks-scroll")!;
      const seen = new Map<string, string>();
      for (let top = 0; ; top += box.clientHeight) {
        box.scrollTop = top;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (const el of box.querySelectorAll<HTMLElement>("[data-chunk-addr]")) seen.set(el.dataset.chunkAddr!, el.dataset.chunkSize!);
        if (top + box.clientHeight >= box.scrollHeight) break;
      }
      box.scrollTop = 0;
      return { count: Number(box.dataset.chunkCount), chunks: [...seen] };
    });
  const waitForCheckpoint = (page: Page, step: number) =>
    page.waitForFunction((s) => (document.body.dataset.checkpoints ?? "").split(",").includes(String(s)), step, { timeout: 60_000 });

  it("a 10,000-chunk heap: every chunk is drawn as its list scrolls; the time of a step (printed)", async () => {
    const ops = Array.from({ length: 10000 }, (_, i) => `m ${i} ${16 + (i % 7) * 8}`).join("\n") + "\nf 9998\n";
    const { page, ms } = await open(`?step=10000&seed=1#ops=${encodeURIComponent(ops)}`); // too long for a query: the fragment
    const loadMs = await page.getAttribute("body", "data-load-ms");
    const proc = await createProcess({ seed: 1 });
    for (let i = 0; i < 10000; i++) proc.malloc(16 + (i % 7) * 8);
    const inNode = inspectHeap(proc).heap!.chunks.map((c) => [hex(c.addr), String(c.size)]);
    // Only the rows near the top are in the DOM …
    expect(await page.locator("#heap [data-chunk-addr]").count()).toBeLessThan(500);
    // … and scrolling draws all of them, each with its hooks, in address order.
    const t0 = Date.now();
    const all = await allChunks(page);
    expect(all.count).toBe(inNode.length);
    expect(all.chunks).toEqual(inNode);
    const scrolled = Date.now() - t0;
    const forward = await press(page, "ArrowRight", 10001);
    expect(await attrs(page, "#bins [data-bin]", ["data-chunk-addr"])).toEqual([[inNode[9999][0]]]); // b9998, freed
    await waitForCheckpoint(page, 9519);
    const back = await press(page, "ArrowLeft", 10000);
    console.log(
      `explorer: a 10,000-op session loaded in ${ms} ms (first drawing ${loadMs} ms after navigation start); ` +
        `one step forward on the 10,000-chunk heap ${forward.pageMs} ms to the painted frame (${forward.ms} ms seen by the test), ` +
        `one step back ${back.pageMs} ms (${back.ms} ms; ${back.replayed} statements replayed from a checkpoint); ` +
        `all ${all.count} chunks scrolled through in ${scrolled} ms`,
    );
    expect(back.replayed).toBeLessThanOrEqual(501);
    await page.close();
  });

  it("a 100,000-op trace opened gzipped by the file picker: a step back replays from a checkpoint (printed)", async () => {
    const gz = traceHead("sqlite3.ops.gz", 100_000);
    const statements = Program.fromOps(parseTrace(gunzipSync(gz)));
    expect(statements.length).toBe(100_000);
    const { page } = await open("?scenario=walkthrough&step=0&seed=1");
    const t0 = Date.now();
    await page.setInputFiles("#file", { name: "sqlite3-100k.ops.gz", mimeType: "application/gzip", buffer: gz });
    await shown(page, 100_000);
    const loaded = Date.now() - t0;
    expect(await text(page, "#step-label")).toBe("step 100000 of 100000");
    expect(await text(page, "#source")).toBe("sqlite3-100k.ops.gz");
    const { proc } = await runInNode(statements);
    const chunks = inspectHeap(proc).heap!.chunks.length;
    expect(await page.getAttribute("#heap .chunks-scroll", "data-chunk-count")).toBe(String(chunks));
    const t1 = Date.now();
    await waitForCheckpoint(page, 95_000);
    const built = Date.now() - t1;
    const back = await press(page, "ArrowLeft", 99_999);
    expect(back.replayed).toBeLessThanOrEqual(5000);
    const back2 = await press(page, "ArrowLeft", 99_998);
    // go to step N from the keyboard: G, the number, Enter
    await page.keyboard.press("g");
    await page.keyboard.type("50000");
    const t2 = Date.now();
    await page.keyboard.press("Enter");
    await shown(page, 50_000);
    const jump = Date.now() - t2;
    console.log(
      `explorer: 100,000 ops (${chunks} chunks at the end) opened and drawn in ${loaded} ms; checkpoints every 5000 built in ` +
        `${built} ms more; steps back ${back.pageMs} and ${back2.pageMs} ms to the painted frame (${back.ms}, ${back2.ms} ms seen by ` +
        `the test; ${back.replayed} and ${back2.replayed} statements replayed); a jump back to step 50,000 ${jump} ms`,
    );
    await page.close();
  });

  it("an mtrace log dropped on the page (gzipped) becomes the session", async () => {
    const gz = traceHead("python3.mtrace.gz", 2000);
    const statements = Program.fromOps(parseTrace(gunzipSync(gz)));
    const { page } = await open("?scenario=walkthrough&seed=1");
    const data = await page.evaluateHandle((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], "python3-head.mtrace.gz", { type: "application/gzip" }));
      return dt;
    }, [...gz]);
    await page.dispatchEvent("body", "dragover", { dataTransfer: data });
    expect(await page.evaluate(() => document.body.classList.contains("dropping"))).toBe(true);
    await page.dispatchEvent("body", "drop", { dataTransfer: data });
    await shown(page, statements.length);
    expect(await text(page, "#source")).toBe("python3-head.mtrace.gz");
    expect(await page.evaluate(() => document.body.classList.contains("dropping"))).toBe(false);
    const { proc } = await runInNode(statements);
    const h = inspectHeap(proc);
    const bins = [...h.tcache, ...h.fastbins, ...h.bins].flatMap((b) => b.entries.map((e) => [b.name, hex(e.chunk)]));
    expect(await attrs(page, "#bins [data-bin]", ["data-bin", "data-chunk-addr"])).toEqual(bins);
    expect((await attrs(page, "[data-vma-start]", ["data-vma-start"])).length).toBe(proc.maps().trim().split("\n").length);
    await page.close();
  });

  it("an op list with posix_memalign and mremap (P, Y) opens, at the addresses replay() gives", async () => {
    const ops = "P 0 64 100\nP 1 3 100\nM 0 8192 3 34\nM 1 4096 3 34\nY 0 8192 65536 1\nY 1 4096 8192 2\nU 1 0 4096\n";
    const { page } = await open(`?ops=${encodeURIComponent(ops)}&seed=11`);
    const proc = await createProcess({ seed: 11 });
    const result = replay(proc, ops);
    const lines = proc.maps().trim().split("\n").map((l) => l.split(" ")[0].split("-").map((h) => "0x" + h));
    expect((await attrs(page, "[data-vma-start]", ["data-vma-start", "data-vma-end"])).reverse()).toEqual(lines);
    expect(await page.locator(`#heap [data-chunk-addr="${hex(result.addr[0] - 8)}"]`).count()).toBe(1);
    const history = await page.locator("#history li").allTextContents();
    expect(history[0]).toContain(`posix_memalign(&b0, 64, 100)`);
    expect(history[0]).toContain(`b0 = ${hex(result.addr[0])}`);
    expect(history[1]).toContain("EINVAL (b1 = NULL)");
    expect(history[5]).toContain("-EINVAL (MAP_FAILED: the mapping stays)");
    expect(new URL(page.url()).searchParams.get("cmds")).toContain("r0 = mremap(r0, 8192, 65536, 1)");
    await page.close();
  });

  it("a threaded op list (T, E) opens: each thread arena's heap and bins drawn, at the addresses replay() gives", async () => {
    const ops = "m 0 100\nT 1\nm 1 100\nm 2 5000\nf 0\nT 2\nm 3 200\nf 3\nT 0\nf 1\n";
    const { page } = await open(`?ops=${encodeURIComponent(ops)}&seed=1`);
    const proc = await createProcess({ seed: 1 });
    const result = replay(proc, ops);
    const h = inspectHeap(proc);
    expect(h.arenas.map((a) => a.index)).toEqual([1, 2]);
    // every chunk of every thread heap, with its hooks
    const heapChunks = h.arenas.flatMap((a) => a.heaps.flatMap((x) => x.walk.chunks.map((c) => [hex(c.addr), String(c.size)])));
    for (const [addr, size] of heapChunks) {
      expect(await page.getAttribute(`#heap [data-chunk-addr="${addr}"]`, "data-chunk-size")).toBe(size);
    }
    expect(await page.locator(`#heap [data-chunk-addr="${hex(result.addr[2] - 8)}"]`).count()).toBe(1);
    // block 3 went to thread 2's tcache (shown only while thread 2 runs), block 1 to the main thread's tcache
    expect(await page.locator(`#bins [data-bin^="tcache"][data-chunk-addr="${hex(result.addr[1] - 8)}"]`).count()).toBe(1);
    expect(await page.locator("#bins section.arena[data-arena]").count()).toBe(2);
    const history = await page.locator("#history li").allTextContents();
    expect(history[1]).toContain("thread(1)");
    expect(history[1]).toContain("thread 1 runs");
    expect(new URL(page.url()).searchParams.get("ops")).toBe(ops);
    await page.close();
  });

  it("plays and pauses from the keyboard; the walk-through's screenshot", async () => {
    const { page } = await open("?scenario=walkthrough&step=0&seed=1");
    await page.selectOption("#speed", "0"); // 2 steps a second
    await page.focus("body");
    await page.keyboard.press(" ");
    expect(await page.getAttribute("#play", "aria-pressed")).toBe("true");
    await page.waitForFunction(() => Number(document.body.dataset.shown) >= 1, undefined, { timeout: 30_000 });
    await page.keyboard.press(" ");
    expect(await page.getAttribute("#play", "aria-pressed")).toBe("false");
    const paused = Number(await page.getAttribute("body", "data-shown"));
    expect(paused).toBeLessThan(5);
    await page.waitForTimeout(1200);
    expect(Number(await page.getAttribute("body", "data-shown"))).toBe(paused);
    // The README's picture: the walk-through after its mmapped malloc, the top chunk selected.
    await page.keyboard.press("End");
    await shown(page, 5);
    await page.click("#heap .chunk.top");
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.screenshot({ path: join(shots, "walkthrough.png") });
    if (DOCS_SHOT) await page.screenshot({ path: DOCS_SHOT });
    expect(await text(page, "#detail")).toContain("top chunk");
    await page.close();
  });

  it("asked for nothing outside the page and logged no errors", () => {
    expect(problems).toEqual([]);
  });
});
