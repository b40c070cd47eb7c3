// The explorer page: a session of statements, a step within it, a seed; every change re-runs the
// session on a fresh process (session.ts) and redraws the panels. The URL always holds the
// session (?scenario= | ?ops= | ?cmds=, &step=, &seed=), so a link reproduces what was seen.

import { renderChart, seriesFor } from "./chart.js";
import { LEGEND, renderDetail, renderHeap, renderTryFree } from "./view-heap.js";
import { renderArena, renderBins } from "./view-bins.js";
import { renderSpace } from "./view-space.js";
import { renderStats } from "./view-stats.js";
import { esc } from "./format.js";
import { opsToStatements, statementsToOps } from "./ops.js";
import { SCENARIOS, scenarioByName } from "./scenarios.js";
import { evaluate, parseStatement, StatementError, type Statement } from "./statements.js";
import { viewAt, type View } from "./session.js";

interface State {
  statements: Statement[];
  step: number;
  seed: number;
  /** The scenario the statements are, while they are unchanged. */
  scenario: string | null;
  selected: number | null;
  view: View | null;
}

/** Statements listed at most in the history (a window around the current step). */
const HISTORY_WINDOW = 200;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state: State = { statements: [], step: 0, seed: 1, scenario: null, selected: null, view: null };
const typed: string[] = [];
let typedAt = 0;
let rendering = Promise.resolve();

const randomSeed = () => Math.floor(Math.random() * 0x7fffffff) + 1;

function loadFromUrl(): void {
  const q = new URLSearchParams(location.search);
  // A session too long for a query string (servers refuse request lines over some 8-16 KiB)
  // may come in the fragment instead, which never leaves the browser: #ops=… or #cmds=….
  const frag = new URLSearchParams(location.hash.slice(1));
  for (const key of ["ops", "cmds"]) if (frag.has(key) && !q.has(key)) q.set(key, frag.get(key)!);
  const seed = Number(q.get("seed"));
  state.seed = q.has("seed") && Number.isSafeInteger(seed) && seed >= 0 ? seed : randomSeed();
  let error = "";
  try {
    if (q.has("ops")) {
      state.statements = opsToStatements(q.get("ops")!);
      state.scenario = null;
    } else if (q.has("cmds")) {
      state.statements = q.get("cmds")!.split("\n").filter((l) => l.trim() !== "").map(parseStatement);
      state.scenario = null;
    } else {
      const name = q.get("scenario") ?? "walkthrough";
      const sc = scenarioByName(name);
      if (!sc) error = `no scenario named "${name}"`;
      state.scenario = sc ? sc.name : null;
      state.statements = sc ? sc.statements.map(parseStatement) : [];
    }
  } catch (e) {
    error = (e as Error).message;
    state.statements = [];
  }
  const step = Number(q.get("step"));
  state.step = q.has("step") && Number.isInteger(step) && step >= 0 ? Math.min(step, state.statements.length) : state.statements.length;
  showError(error);
}

/** The session's URL form, computed once per list of statements. */
let urlForm: { statements: Statement[]; key: string; value: string } | null = null;

function saveToUrl(): void {
  const q = new URLSearchParams();
  if (state.scenario) q.set("scenario", state.scenario);
  else {
    if (urlForm === null || urlForm.statements !== state.statements) {
      const ops = statementsToOps(state.statements);
      urlForm = ops !== null
        ? { statements: state.statements, key: "ops", value: ops }
        : { statements: state.statements, key: "cmds", value: state.statements.map((s) => s.text + (s.note ? ` // ${s.note}` : "")).join("\n") };
    }
    q.set(urlForm.key, urlForm.value);
  }
  q.set("step", String(state.step));
  q.set("seed", String(state.seed));
  // Long sessions go to the fragment, which no server has to accept.
  const session = q.get("ops") ?? q.get("cmds");
  if (session !== null && session.length > 4000) {
    const key = q.has("ops") ? "ops" : "cmds";
    q.delete(key);
    history.replaceState(null, "", `?${q.toString()}#${key}=${encodeURIComponent(session)}`);
  } else {
    history.replaceState(null, "", `?${q.toString()}`);
  }
}

function showError(text: string): void {
  const el = $("cmd-error");
  el.textContent = text;
  el.hidden = text === "";
}

/** Re-runs the session to the current step and redraws; calls are queued so views never interleave. */
function render(): Promise<void> {
  rendering = rendering.then(async () => {
    const t0 = performance.now();
    let view: View;
    try {
      view = await viewAt(state.statements, state.step, state.seed);
    } catch (e) {
      showError((e as Error).message);
      return;
    }
    state.view = view;
    state.step = view.step;
    const t1 = performance.now();
    draw(view);
    $("chart").innerHTML = renderChart(await seriesFor(state.statements, state.seed), view.step);
    document.body.dataset.replayMs = (t1 - t0).toFixed(1);
    saveToUrl();
    document.body.dataset.renderMs = (performance.now() - t0).toFixed(1);
  });
  return rendering;
}

function draw(view: View): void {
  const body = document.body;
  const d = view.death;
  body.dataset.state = d ? d.state : "alive";
  if (d && d.state === "aborted") body.dataset.abortMessage = d.message;
  else delete body.dataset.abortMessage;
  const banner = $("death");
  banner.hidden = d === null;
  if (d) banner.innerHTML = `<b>${d.signal}</b> at statement ${d.at + 1}: ${esc(d.message)} <span class="note">(the panels show the process just before that call; step back to leave this state)</span>`;

  $("seed").textContent = String(state.seed);
  const n = state.statements.length;
  const slider = $<HTMLInputElement>("step");
  slider.max = String(n);
  slider.value = String(view.step);
  $("step-label").textContent = `step ${view.step} of ${n}`;
  $<HTMLSelectElement>("scenario").value = state.scenario ?? "";

  // A long session shows a window of statements around the current step.
  const from = Math.max(0, Math.min(view.step - HISTORY_WINDOW / 2, n - HISTORY_WINDOW));
  const to = Math.min(n, from + HISTORY_WINDOW);
  const skipped = (count: number, where: string, step: number) =>
    count > 0 ? `<li class="skip" data-step="${step}" tabindex="0">… ${count} ${where} statements</li>` : "";
  $("history").innerHTML = skipped(from, "earlier", from) + state.statements
    .slice(from, to)
    .map((s, k) => {
      const i = from + k;
      const cls = i < view.step ? (d && d.at === i ? "dead" : "done") : "later";
      const result = i < view.results.length ? `<span class="result">→ ${esc(view.results[i])}</span>` : d && d.at === i ? `<span class="result bad">✗ ${esc(d.message)}</span>` : "";
      const note = s.note ? `<span class="snote">${esc(s.note)}</span>` : "";
      return `<li class="${cls}${i === view.step - 1 ? " cur" : ""}" data-step="${i + 1}" tabindex="0" value="${i + 1}"><code>${esc(s.text)}</code>${result}${note}</li>`;
    })
    .join("") + skipped(n - to, "later", to + 1);
  $("history").querySelector(".cur")?.scrollIntoView({ block: "nearest" });

  $("heap").innerHTML = renderHeap(view, state.selected);
  $("detail").innerHTML = renderDetail(view, state.selected);
  $("bins").innerHTML = renderBins(view);
  $("arena").innerHTML = renderArena(view);
  $("space").innerHTML = renderSpace(view);
  $("stats").innerHTML = renderStats(view);
}

function go(step: number): void {
  state.step = Math.max(0, Math.min(step, state.statements.length));
  void render();
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
    const vars = state.view?.vars ?? new Map();
    if (s.kind === "store") { evaluate(s.addr, vars); evaluate(s.value, vars); }
    else for (const a of s.args) evaluate(a, vars);
  } catch (e) {
    if (e instanceof StatementError) return showError(e.message);
    throw e;
  }
  // Typing at an earlier step replaces what came after it, as an editor's undo does.
  state.statements = [...state.statements.slice(0, state.view?.step ?? state.step), s];
  state.scenario = null;
  typed.push(line);
  typedAt = typed.length;
  go(state.statements.length);
}

function wire(): void {
  const select = $<HTMLSelectElement>("scenario");
  select.innerHTML =
    `<option value="">(your own session)</option>` + SCENARIOS.map((s) => `<option value="${s.name}">${esc(s.title)}</option>`).join("");
  select.addEventListener("change", () => {
    const sc = scenarioByName(select.value);
    if (!sc) return;
    state.scenario = sc.name;
    state.statements = sc.statements.map(parseStatement);
    state.selected = null;
    go(0);
  });
  $("reseed").addEventListener("click", () => {
    state.seed = randomSeed();
    state.selected = null; // addresses change with the layout
    void render();
  });
  $("reset").addEventListener("click", () => {
    state.statements = [];
    state.scenario = null;
    state.selected = null;
    go(0);
  });
  $("first").addEventListener("click", () => go(0));
  $("prev").addEventListener("click", () => go(state.step - 1));
  $("next").addEventListener("click", () => go(state.step + 1));
  $("last").addEventListener("click", () => go(state.statements.length));
  $<HTMLInputElement>("step").addEventListener("input", (e) => go(Number((e.target as HTMLInputElement).value)));
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
    }
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
    $("heap").innerHTML = renderHeap(state.view, state.selected);
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
      out.innerHTML = renderTryFree(state.view.heap.tryFree(evaluate(s.args[0], state.view.vars)));
    } catch (err) {
      out.innerHTML = `<p class="bad">${esc((err as Error).message)}</p>`;
    }
  });
  document.addEventListener("keydown", (e) => {
    const t = e.target as HTMLElement;
    if (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA") return;
    if (e.key === "ArrowLeft") go(state.step - 1);
    else if (e.key === "ArrowRight") go(state.step + 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(state.statements.length);
    else return;
    e.preventDefault();
  });
  $("legend").innerHTML = LEGEND.map(([cls, tag, name]) => `<span class="lg"><i class="chunk ${cls}">${tag}</i>${name}</span>`).join("");
}

wire();
loadFromUrl();
void render().then(() => {
  document.body.dataset.ready = "1";
});
