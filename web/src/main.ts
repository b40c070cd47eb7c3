// The explorer page: a session of statements on a timeline (timeline.ts: replay from the nearest
// checkpoint), a step within it, a seed, an arch (the process is i386 or x86_64). A step draws the
// panels that matter first; the chart over the steps is computed afterwards in idle slices. The URL
// always holds the session (?scenario= | ?ops= | ?cmds=, &step=, &seed=, &arch=), so a link
// reproduces what was seen.

import { ChartSeries, renderChart } from "./chart.js";
import { esc, setHtml } from "./format.js";
import { whenIdle } from "./idle.js";
import { programOfFile } from "./files.js";
import { parseOps } from "../../host/index.js";
import { statementsToOps } from "./ops.js";
import { Program } from "./program.js";
import { SCENARIOS, scenarioByName, scenarioStatements, scenarioTitle } from "./scenarios.js";
import { viewOf, type View } from "./session.js";
import { evaluate, parseStatement, type Statement, StatementError } from "./statements.js";
import { Timeline } from "./timeline.js";
import { renderArena, renderBins } from "./view-bins.js";
import { drawHistory } from "./view-history.js";
import { HeapPanel, LEGEND, renderDetail, renderTryFree } from "./view-heap.js";
import { renderSpace } from "./view-space.js";
import { renderStats } from "./view-stats.js";
import { type Arch, archParam } from "./words.js";

performance.mark("explorer:script");

interface State {
  timeline: Timeline;
  /** Bumped at every change of the statements (the URL form is cached by it). */
  edits: number;
  step: number;
  /** The scenario the statements are, while they are unchanged; or the file they came from. */
  scenario: string | null;
  source: string;
  selected: number | null;
  view: View | null;
}

/** Longer sessions are not written into the URL (it names the trace instead). */
const URL_MAX_STATEMENTS = 20_000;
/** Play speeds, in steps per second; the page draws at most one step per frame. */
const SPEEDS = [2, 10, 60, 600, 6000];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const randomSeed = () => Math.floor(Math.random() * 0x7fffffff) + 1;
const state: State = { timeline: new Timeline([], 1), edits: 0, step: 0, scenario: null, source: "", selected: null, view: null };
const typed: string[] = [];
let typedAt = 0;
let heapPanel: HeapPanel;
let chart: ChartSeries | null = null;

function newSession(statements: readonly Statement[] | Program, seed: number, scenario: string | null, source = "", arch: Arch = state.timeline.arch): void {
  state.timeline.close();
  const timeline = new Timeline(statements, seed, arch);
  timeline.onCheckpoint = () => {
    document.body.dataset.checkpoints = timeline.checkpoints.join(",");
  };
  state.timeline = timeline;
  state.edits++;
  state.scenario = scenario;
  state.source = source;
  state.selected = null;
  chart = null;
}

function loadFromUrl(): void {
  const q = new URLSearchParams(location.search);
  // A session too long for a query string (servers refuse request lines over some 8-16 KiB)
  // may come in the fragment instead, which never leaves the browser: #ops=… or #cmds=….
  const frag = new URLSearchParams(location.hash.slice(1));
  for (const key of ["ops", "cmds"]) if (frag.has(key) && !q.has(key)) q.set(key, frag.get(key)!);
  const seedParam = Number(q.get("seed"));
  const seed = q.has("seed") && Number.isSafeInteger(seedParam) && seedParam >= 0 ? seedParam : randomSeed();
  const arch = archParam(q.get("arch"));
  let error = "";
  let statements: Statement[] | Program = [];
  let scenario: string | null = null;
  try {
    if (q.has("ops")) {
      const text = q.get("ops")!;
      statements = Program.fromOps(parseOps(text.endsWith("\n") ? text : text + "\n"), arch);
    } else if (q.has("trace")) {
      error = `${q.get("trace")} is too long a session to travel in a link: open the file (O) to see it again`;
    } else if (q.has("cmds")) statements = q.get("cmds")!.split("\n").filter((l) => l.trim() !== "").map(parseStatement);
    else {
      const name = q.get("scenario") ?? "walkthrough";
      const sc = scenarioByName(name);
      if (!sc) error = `no scenario named "${name}"`;
      scenario = sc ? sc.name : null;
      statements = sc ? scenarioStatements(sc, arch).map(parseStatement) : [];
    }
  } catch (e) {
    error = (e as Error).message;
    statements = [];
  }
  newSession(statements, seed, scenario, "", arch);
  const n = state.timeline.length;
  const step = Number(q.get("step"));
  state.step = q.has("step") && Number.isInteger(step) && step >= 0 ? Math.min(step, n) : n;
  showError(error);
}

/** The session's URL form, computed once per version of the statements. */
let urlForm: { edits: number; key: string; value: string } | null = null;

let urlTimer: ReturnType<typeof setTimeout> | null = null;
let cancelUrl: (() => void) | null = null;

/** Writes the URL now, or (a long session: replaceState copies the whole URL) once stepping pauses. */
function saveToUrl(): void {
  if (urlTimer !== null) clearTimeout(urlTimer);
  urlTimer = null;
  cancelUrl?.();
  cancelUrl = null;
  if (urlForm !== null && urlForm.edits === state.edits && urlForm.value.length > 4000) {
    urlTimer = setTimeout(writeUrl, 250);
  } else if ((urlForm === null || urlForm.edits !== state.edits) && state.timeline.length > 1000) {
    // Writing a long session's op list waits until the page is drawn and idle.
    cancelUrl = whenIdle(() => writeUrl());
  } else writeUrl();
}

function writeUrl(): void {
  urlTimer = null;
  const q = new URLSearchParams();
  const t = state.timeline;
  if (state.scenario) q.set("scenario", state.scenario);
  else {
    if (urlForm === null || urlForm.edits !== state.edits) {
      if (t.length > URL_MAX_STATEMENTS) {
        // Some megabytes of URL: browsers cut such links, and writing one costs every step.
        urlForm = { edits: state.edits, key: "trace", value: state.source || "this session" };
      } else {
        const statements = t.program.statements;
        const ops = statementsToOps(statements);
        urlForm = ops !== null
          ? { edits: state.edits, key: "ops", value: ops }
          : { edits: state.edits, key: "cmds", value: statements.map((s) => s.text + (s.note ? ` // ${s.note}` : "")).join("\n") };
      }
    }
    if (urlForm.value !== "") q.set(urlForm.key, urlForm.value);
  }
  q.set("step", String(state.step));
  q.set("seed", String(t.seed));
  if (t.arch !== "i386") q.set("arch", t.arch);
  // Long sessions go to the fragment, which no server has to accept.
  const session = urlForm !== null && !state.scenario ? urlForm.value : "";
  if (session.length > 4000) {
    q.delete(urlForm!.key);
    history.replaceState(null, "", `?${q.toString()}#${urlForm!.key}=${encodeURIComponent(session)}`);
  } else {
    history.replaceState(null, "", `?${q.toString()}`);
  }
}

function showError(text: string): void {
  const el = $("cmd-error");
  el.textContent = text;
  el.hidden = text === "";
}

// Rendering: one at a time; a request made while one runs replaces any other waiting request,
// so holding a key never queues a backlog of steps.
let rendering = false;
let pending = false;
let firstDrawn = false;
/** When the last input happened (event.timeStamp): a drawing asked for by it is timed from there. */
let inputAt: number | null = null;

function render(): void {
  if (rendering) {
    pending = true;
    return;
  }
  rendering = true;
  pending = false;
  void renderNow().finally(() => {
    rendering = false;
    if (pending) render();
  });
}

async function renderNow(): Promise<void> {
  const t0 = performance.now();
  // A step's time counts from the key or click, so that time spent waiting for a busy page is in it.
  const asked = inputAt !== null && t0 - inputAt < 1000 ? inputAt : t0;
  inputAt = null;
  const timeline = state.timeline;
  const replayedBefore = timeline.replayed;
  let view: View;
  try {
    view = await viewOf(timeline, state.step);
  } catch (e) {
    showError((e as Error).message);
    if (!firstDrawn) markReady(t0);
    return;
  }
  if (timeline !== state.timeline) return; // a new session came meanwhile
  state.view = view;
  state.step = view.step;
  const t1 = performance.now();
  draw(view);
  saveToUrl();
  const body = document.body;
  body.dataset.replayMs = (t1 - t0).toFixed(1);
  body.dataset.replayed = String(timeline.replayed - replayedBefore);
  body.dataset.renderMs = (performance.now() - t0).toFixed(1);
  body.dataset.checkpoints = timeline.checkpoints.join(",");
  markReady(asked);
  scheduleChart();
}

/** Records when the drawing reached the screen: the frame after the DOM changed. */
function markReady(t0: number): void {
  requestAnimationFrame(() => {
    setTimeout(() => {
      const body = document.body;
      body.dataset.stepMs = (performance.now() - t0).toFixed(1);
      if (!firstDrawn) {
        firstDrawn = true;
        performance.mark("explorer:first-drawing");
        body.dataset.loadMs = performance.now().toFixed(0);
        body.dataset.ready = "1";
      }
      body.dataset.shown = String(state.view?.step ?? 0);
    }, 0);
  });
}

let chartTimer: (() => void) | null = null;

/** Computes the chart in slices after the panels are drawn, and redraws it as it grows. */
function scheduleChart(): void {
  const draw = () => {
    if (chart && state.view) $("chart").innerHTML = renderChart(chart.series, state.view.step);
  };
  draw();
  if (chartTimer !== null) return;
  let lastDraw = performance.now();
  const slice = async (budgetMs: number) => {
    chartTimer = null;
    if (chart === null || chart.timeline !== state.timeline) chart = new ChartSeries(state.timeline);
    const c = chart;
    const done = await c.advance(budgetMs);
    if (c !== chart) return scheduleChart();
    if (done || performance.now() - lastDraw > 500) {
      draw();
      lastDraw = performance.now();
    }
    if (!done) chartTimer = whenIdle(slice);
  };
  chartTimer = whenIdle(slice);
}

function draw(view: View): void {
  const body = document.body;
  const d = view.death;
  const t = state.timeline;
  body.dataset.state = d ? d.state : "alive";
  if (d && d.state === "aborted") body.dataset.abortMessage = d.message;
  else delete body.dataset.abortMessage;
  const banner = $("death");
  banner.hidden = d === null;
  if (d) banner.innerHTML = `<b>${d.signal}</b> at statement ${d.at + 1}: ${esc(d.message)} <span class="note">(the panels show the process just before that call; step back to leave this state)</span>`;

  $("seed").textContent = String(t.seed);
  $<HTMLSelectElement>("arch").value = t.arch;
  body.dataset.arch = t.arch;
  $("source").textContent = state.source;
  const n = t.length;
  const slider = $<HTMLInputElement>("step");
  slider.max = String(n);
  slider.value = String(view.step);
  $("step-label").textContent = `step ${view.step} of ${n}`;
  $<HTMLInputElement>("jump").max = String(n);
  const scenarios = $<HTMLSelectElement>("scenario");
  if (scenarios.dataset.arch !== t.arch) {
    // the titles name the arch's numbers
    scenarios.dataset.arch = t.arch;
    scenarios.innerHTML =
      `<option value="">(your own session)</option>` + SCENARIOS.map((s) => `<option value="${s.name}">${esc(scenarioTitle(s, t.arch))}</option>`).join("");
  }
  scenarios.value = state.scenario ?? "";
  drawHistory($("history"), view, state.timeline, state.edits);
  heapPanel.show(view, state.selected);
  setHtml($("detail"), renderDetail(view, state.selected));
  setHtml($("bins"), renderBins(view));
  setHtml($("arena"), renderArena(view));
  setHtml($("space"), renderSpace(view));
  setHtml($("stats"), renderStats(view));
}

function go(step: number): void {
  state.step = Math.max(0, Math.min(step, state.timeline.length));
  render();
}

function runCommand(line: string): void {
  showError("");
  let s: Statement;
  try {
    s = parseStatement(line);
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  if (state.view?.death) {
    showError("The process is dead at this step: step back to one where it lives (or pick a scenario) first.");
    return;
  }
  // Check names before running: an undefined variable is a typing error, not a step.
  try {
    const vars = state.view?.vars ?? new Map<string, number>();
    const words = state.timeline.program.words;
    if (s.kind === "store") { evaluate(s.addr, vars, words); evaluate(s.value, vars, words); }
    else for (const a of s.args) evaluate(a, vars, state.timeline.program.words);
  } catch (e) {
    if (e instanceof StatementError) return showError(e.message);
    throw e;
  }
  // Typing at an earlier step replaces what came after it, as an editor's undo does.
  const at = state.view?.step ?? state.step;
  state.timeline.replaceFrom(at, [s]);
  state.edits++;
  if (chart && !chart.validAfterEdit(at)) chart = null;
  state.scenario = null;
  typed.push(line);
  typedAt = typed.length;
  go(state.timeline.length);
}

async function openFile(file: File): Promise<void> {
  stopPlay();
  showError("");
  $("source").textContent = `opening ${file.name}…`;
  try {
    const program = await programOfFile(file, state.timeline.arch);
    newSession(program, state.timeline.seed, null, file.name);
    go(program.length);
  } catch (e) {
    $("source").textContent = state.source;
    showError(`${file.name}: ${(e as Error).message}`);
  }
}

// Play: one step per tick, at the chosen speed, never faster than the page draws.
let playTimer: ReturnType<typeof setTimeout> | null = null;

function stopPlay(): void {
  if (playTimer !== null) clearTimeout(playTimer);
  playTimer = null;
  $("play").textContent = "▶ play";
  $("play").setAttribute("aria-pressed", "false");
}

function togglePlay(): void {
  if (playTimer !== null) return stopPlay();
  if (state.step >= state.timeline.length) go(0);
  $("play").textContent = "❚❚ pause";
  $("play").setAttribute("aria-pressed", "true");
  const tick = () => {
    const rate = SPEEDS[Number($<HTMLSelectElement>("speed").value)] ?? 10;
    const stride = Math.max(1, Math.round(rate / 60));
    if (!rendering) {
      if (state.step >= state.timeline.lastStep || state.view?.death) return stopPlay();
      go(state.step + stride);
    }
    playTimer = setTimeout(tick, Math.max(16, (1000 * stride) / rate));
  };
  tick();
}

function wire(): void {
  heapPanel = new HeapPanel($("heap"));
  const select = $<HTMLSelectElement>("scenario");
  select.addEventListener("change", () => {
    const sc = scenarioByName(select.value);
    if (!sc) return;
    stopPlay();
    newSession(scenarioStatements(sc, state.timeline.arch).map(parseStatement), state.timeline.seed, sc.name);
    go(0);
  });
  // The arch: the same session (a scenario in its version for that arch) in a process of the other ABI.
  const archSelect = $<HTMLSelectElement>("arch");
  archSelect.addEventListener("change", () => {
    const arch = archParam(archSelect.value);
    if (arch === state.timeline.arch) return;
    stopPlay();
    const sc = state.scenario !== null ? scenarioByName(state.scenario) : undefined;
    try {
      const statements = sc ? scenarioStatements(sc, arch).map(parseStatement) : state.timeline.program.withArch(arch);
      newSession(statements, state.timeline.seed, sc ? sc.name : null, state.source, arch);
    } catch (e) {
      archSelect.value = state.timeline.arch;
      return showError((e as Error).message);
    }
    showError("");
    go(Math.min(state.step, state.timeline.length));
  });
  const reseed = () => {
    newSession(state.timeline.program, randomSeed(), state.scenario, state.source); // addresses change with the layout
    render();
  };
  $("reseed").addEventListener("click", reseed);
  $("reset").addEventListener("click", () => {
    stopPlay();
    newSession([], state.timeline.seed, null);
    go(0);
  });
  const fileInput = $<HTMLInputElement>("file");
  $("open").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    if (fileInput.files?.[0]) void openFile(fileInput.files[0]);
    fileInput.value = "";
  });
  // Drop a trace anywhere on the page.
  document.addEventListener("dragover", (e) => {
    if (!e.dataTransfer?.types.includes("Files")) return;
    e.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", (e) => {
    if (e.relatedTarget === null) document.body.classList.remove("dropping");
  });
  document.addEventListener("drop", (e) => {
    document.body.classList.remove("dropping");
    const file = e.dataTransfer?.files[0];
    if (!file) return;
    e.preventDefault();
    void openFile(file);
  });
  $("first").addEventListener("click", () => go(0));
  $("prev").addEventListener("click", () => go(state.step - 1));
  $("next").addEventListener("click", () => go(state.step + 1));
  $("last").addEventListener("click", () => go(state.timeline.length));
  $("play").addEventListener("click", togglePlay);
  $<HTMLSelectElement>("speed").innerHTML = SPEEDS.map((s, i) => `<option value="${i}"${s === 10 ? " selected" : ""}>${s} steps/s</option>`).join("");
  $<HTMLInputElement>("step").addEventListener("input", (e) => go(Number((e.target as HTMLInputElement).value)));
  $("jump-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const n = Number($<HTMLInputElement>("jump").value);
    if (Number.isInteger(n) && n >= 0) go(n);
  });
  const input = $<HTMLInputElement>("cmd");
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      if (input.value.trim() !== "") runCommand(input.value);
      if ($("cmd-error").hidden) input.value = "";
    } else if (e.key === "ArrowUp" && typedAt > 0) {
      input.value = typed[--typedAt];
      e.preventDefault();
    } else if (e.key === "ArrowDown") {
      typedAt = Math.min(typed.length, typedAt + 1);
      input.value = typed[typedAt] ?? "";
      e.preventDefault();
    } else if (e.key === "Escape") input.blur();
  });
  $("history").addEventListener("click", (e) => {
    const li = (e.target as HTMLElement).closest("li[data-step]") as HTMLElement | null;
    if (li) go(Number(li.dataset.step));
  });
  $("history").addEventListener("keydown", (e) => {
    const li = (e.target as HTMLElement).closest("li[data-step]") as HTMLElement | null;
    if (li && e.key === "Enter") go(Number(li.dataset.step));
  });
  // A chunk anywhere (heap or a bin's entry) selects it.
  document.addEventListener("click", (e) => {
    const el = (e.target as HTMLElement).closest("[data-chunk-addr]") as HTMLElement | null;
    if (!el || !state.view) return;
    state.selected = parseInt(el.dataset.chunkAddr!, 16);
    heapPanel.select(state.selected);
    $("detail").innerHTML = renderDetail(state.view, state.selected);
  });
  $("tryfree-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $<HTMLInputElement>("tryfree-addr").value;
    const out = $("tryfree-out");
    if (!state.view) return;
    try {
      const s = parseStatement(`free(${text})`);
      if (s.kind !== "call") return;
      out.innerHTML = renderTryFree(state.view.heap.tryFree(evaluate(s.args[0], state.view.vars, state.timeline.program.words)), state.view.hex);
    } catch (err) {
      out.innerHTML = `<p class="bad">${esc((err as Error).message)}</p>`;
    }
  });
  for (const type of ["keydown", "click", "input"]) document.addEventListener(type, (e) => { inputAt = e.timeStamp; }, true);
  document.addEventListener("keydown", (e) => {
    const t = e.target as HTMLElement;
    if (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
    const big = Math.max(10, state.timeline.spacing);
    const focus = (id: string) => $<HTMLInputElement>(id).focus();
    switch (e.key) {
      case "ArrowLeft": go(state.step - (e.shiftKey ? 10 : 1)); break;
      case "ArrowRight": go(state.step + (e.shiftKey ? 10 : 1)); break;
      case "PageUp": go(state.step - big); break;
      case "PageDown": go(state.step + big); break;
      case "Home": go(0); break;
      case "End": go(state.timeline.length); break;
      case " ": case "p": togglePlay(); break;
      case "g": focus("jump"); break;
      case "/": case "c": focus("cmd"); break;
      case "f": focus("tryfree-addr"); break;
      case "o": fileInput.click(); break;
      case "s": reseed(); break;
      default: return;
    }
    e.preventDefault();
  });
  $("legend").innerHTML = LEGEND.map(([cls, tag, name]) => `<span class="lg"><i class="chunk ${cls}">${tag}</i>${name}</span>`).join("");
}

wire();
loadFromUrl();
render();
