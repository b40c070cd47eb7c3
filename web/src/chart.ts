// The chart over the steps: heap size (the brk heap's system bytes, mallinfo2.arena), mmapped
// bytes (hblkhd) and VmRSS after each statement. Drawn by hand as one SVG (three polylines, a
// cursor): a chart library would cost more bytes than the whole drawing. The series come from a
// replay on a process of their own, so that asking mallinfo2()/status() after every statement
// never touches the process the other panels show.

import { createProcess } from "../../host/index.js";
import { bytes } from "./format.js";
import { runStatement } from "./session.js";
import type { Statement } from "./statements.js";

/** Longer sessions get no chart (one replay with a probe per step would take too long). */
export const CHART_MAX_STEPS = 2000;

export interface Series {
  heap: number[];
  mmapped: number[];
  rss: number[];
}

let cached: { statements: readonly Statement[]; seed: number; series: Series } | null = null;

/** Values after 0, 1, 2, … statements, up to the end or the death of the process. */
export async function seriesFor(statements: readonly Statement[], seed: number): Promise<Series | null> {
  if (statements.length > CHART_MAX_STEPS) return null;
  if (cached && cached.statements === statements && cached.seed === seed) return cached.series;
  const proc = await createProcess({ seed });
  const vars = new Map<string, number>();
  const series: Series = { heap: [], mmapped: [], rss: [] };
  const probe = () => {
    const mi = proc.mallinfo2();
    series.heap.push(mi.arena);
    series.mmapped.push(mi.hblkhd);
    series.rss.push(proc.status().VmRSS * 1024);
  };
  probe();
  for (const s of statements) {
    try {
      runStatement(proc, vars, s);
    } catch {
      break; // the process died: the series end at the last step it lived through
    }
    probe();
  }
  cached = { statements, seed, series };
  return series;
}

const LINES: [keyof Series, string, string][] = [
  ["heap", "heap (mallinfo2.arena)", ""],
  ["mmapped", "mmapped (hblkhd)", "6 3"],
  ["rss", "VmRSS", "2 3"],
];

export function renderChart(series: Series | null, step: number): string {
  if (series === null) return `<p class="note">No chart for sessions over ${CHART_MAX_STEPS} statements.</p>`;
  const n = series.heap.length;
  const W = 600, H = 150, L = 64, B = 20, T = 8;
  const max = Math.max(4096, ...series.heap, ...series.mmapped, ...series.rss);
  const x = (i: number) => L + (n <= 1 ? 0 : ((W - L - 8) * i) / (n - 1));
  const y = (v: number) => T + (H - T - B) * (1 - v / max);
  const lines = LINES.map(([key, , dash]) => {
    const pts = series[key].map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    return `<polyline class="s-${key}" points="${pts}" fill="none" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;
  }).join("");
  const ticks = [0, 0.5, 1].map((f) => `<text x="${L - 6}" y="${y(max * f) + 4}" text-anchor="end">${bytes(max * f)}</text>` +
    `<line x1="${L}" x2="${W - 8}" y1="${y(max * f)}" y2="${y(max * f)}" class="grid"/>`).join("");
  const cur = Math.min(step, n - 1);
  const cursor = `<line x1="${x(cur)}" x2="${x(cur)}" y1="${T}" y2="${H - B}" class="cursor"/>` +
    `<text x="${x(cur)}" y="${H - 5}" text-anchor="${x(cur) > W - 40 ? "end" : x(cur) < L + 30 ? "start" : "middle"}">step ${cur}</text>`;
  const legend = LINES.map(([key, name, dash]) =>
    `<span class="lg"><svg width="26" height="10"><line x1="0" x2="26" y1="5" y2="5" class="s-${key}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg>${name}: ${bytes(series[key][cur] ?? 0)}</span>`).join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="heap, mmapped bytes and RSS over the steps">${ticks}${lines}${cursor}</svg><div class="legend">${legend}</div>`;
}
