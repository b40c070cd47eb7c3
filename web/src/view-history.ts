// The session's statements as a list: what each returned, the current step highlighted, the
// statement that killed the process in red. A long session shows a window around the step.

import { esc } from "./format.js";
import type { View } from "./session.js";
import type { Timeline } from "./timeline.js";

/** Statements listed at most (a window around the current step). */
const HISTORY_WINDOW = 80;

/** What the history list shows now: its window and the step it was drawn for. */
let historyDrawn: { from: number; to: number; edits: number; timeline: Timeline; step: number; death: boolean } | null = null;

function historyItem(view: View, i: number): [string, string] {
  const d = view.death;
  const dead = d !== null && d.at === i;
  const cls = (i < view.step ? (dead ? "dead" : "done") : "later") + (i === view.step - 1 ? " cur" : "");
  const result = dead ? `<span class="result bad">✗ ${esc(d.message)}</span>` : i < view.step ? `<span class="result">→ ${esc(view.result(i))}</span>` : "";
  return [cls, result];
}

/** Draws the list for a view; `edits` counts the changes to the statements (a new count redraws it all). */
export function drawHistory(list: HTMLElement, view: View, t: Timeline, edits: number): void {
  const program = t.program;
  const n = program.length;
  // A long session shows a window of statements around the current step, moved in jumps of half
  // a window so that a step usually changes two lines of it, not the whole list.
  const half = HISTORY_WINDOW / 2;
  const from = Math.max(0, Math.min(Math.floor(view.step / half) * half - half / 2, n - HISTORY_WINDOW));
  const to = Math.min(n, from + HISTORY_WINDOW);
  const h = historyDrawn;
  if (h && h.from === from && h.to === to && h.edits === edits && h.timeline === t && !h.death && view.death === null) {
    // Only the lines between the old step and the new one change.
    const lo = Math.max(from, Math.min(h.step, view.step) - 1);
    const hi = Math.min(to, Math.max(h.step, view.step) + 1);
    for (let i = lo; i < hi; i++) {
      const li = list.querySelector<HTMLElement>(`li[value="${i + 1}"]`);
      if (!li) continue;
      const [cls, result] = historyItem(view, i);
      li.className = cls;
      li.querySelector(".result")?.remove();
      if (result) li.querySelector("code")!.insertAdjacentHTML("afterend", result);
    }
  } else {
    const skipped = (count: number, where: string, step: number) =>
      count > 0 ? `<li class="skip" data-step="${step}" tabindex="0">… ${count} ${where} statements</li>` : "";
    const items: string[] = [skipped(from, "earlier", from)];
    for (let i = from; i < to; i++) {
      const s = program.statement(i);
      const [cls, result] = historyItem(view, i);
      const note = s.note ? `<span class="snote">${esc(s.note)}</span>` : "";
      items.push(`<li class="${cls}" data-step="${i + 1}" tabindex="0" value="${i + 1}"><code>${esc(s.text)}</code>${result}${note}</li>`);
    }
    items.push(skipped(n - to, "later", to + 1));
    list.innerHTML = items.join("");
  }
  historyDrawn = { from, to, edits, timeline: t, step: view.step, death: view.death !== null };
  // Scrolled in the next frame, after every panel is written: reading offsets now would force a layout.
  requestAnimationFrame(() => {
    const cur = list.querySelector<HTMLElement>(".cur");
    if (cur) list.scrollTop = cur.offsetTop - list.clientHeight / 2;
  });
}

