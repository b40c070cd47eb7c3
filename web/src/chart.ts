// The chart over the steps: heap size (the brk heap's system bytes, mallinfo2.arena), mmapped
// bytes (hblkhd) and VmRSS after each statement (every stride-th one in a long session). Drawn by
// hand as one SVG (three polylines, a cursor): a chart library would cost more bytes than the
// whole drawing. The series come from a replay on a process of their own, in slices of idle
// time, so that probing mallinfo2()/status() never touches the process the other panels show.

import { createProcess, type Process } from "../../host/index.js";
import { bytes } from "./format.js";
import type { Timeline } from "./timeline.js";

/** Points drawn at most: a longer session is sampled every `stride` steps. */
export const CHART_MAX_POINTS = 2000;

export interface Series {
  /** The steps the values are for: 0, stride, 2·stride, … */
  stride: number;
  heap: number[];
  mmapped: number[];
  rss: number[];
  /** True once the series reach the end of the session (or the death of its process). */
  complete: boolean;
}

/**
 * The series of one timeline, computed in slices on a process of its own. A statement appended
 * at the end extends them; an edit further back starts them over.
 */
export class ChartSeries {
  readonly series: Series;
  #proc: Process | null = null;
  #slots: Float64Array | null = null;
  #step = 0;
  #dead = false;

  constructor(readonly timeline: Timeline) {
    this.series = { stride: Math.max(1, Math.ceil(timeline.length / CHART_MAX_POINTS)), heap: [], mmapped: [], rss: [], complete: false };
  }

  /** Still valid after the timeline's statements changed from index `at` on? */
  validAfterEdit(at: number): boolean {
    if (at < this.#step || this.#dead) return false;
    this.series.complete = false;
    return Math.ceil(this.timeline.length / CHART_MAX_POINTS) <= this.series.stride;
  }

  /** Computes for about `budgetMs`; true when complete. */
  async advance(budgetMs: number): Promise<boolean> {
    const s = this.series;
    if (this.#proc === null) {
      this.#proc = await createProcess({ seed: this.timeline.seed, arch: this.timeline.arch });
      this.#slots = this.timeline.program.slots();
      this.#probe();
      return false; // creating the process was this slice's work
    }
    const proc = this.#proc;
    const program = this.timeline.program;
    if (this.#slots!.length < program.slotCount) this.#slots = program.slots(this.#slots!);
    const end = this.timeline.length;
    const deadline = performance.now() + budgetMs;
    while (!this.#dead && this.#step < end && performance.now() < deadline) {
      try {
        program.run(this.#step, proc, this.#slots!);
      } catch {
        this.#dead = true; // the series end at the last step the process lived through
        break;
      }
      this.#step++;
      if (this.#step % s.stride === 0) this.#probe();
    }
    s.complete = this.#dead || this.#step >= end;
    return s.complete;
  }

  #probe(): void {
    const proc = this.#proc!;
    const mi = proc.mallinfo2();
    this.series.heap.push(mi.arena);
    this.series.mmapped.push(mi.hblkhd);
    this.series.rss.push(proc.status().VmRSS * 1024);
  }
}

const LINES: ["heap" | "mmapped" | "rss", string, string][] = [
  ["heap", "heap (mallinfo2.arena)", ""],
  ["mmapped", "mmapped (hblkhd)", "6 3"],
  ["rss", "VmRSS", "2 3"],
];

export function renderChart(series: Series, step: number): string {
  const n = series.heap.length;
  if (n === 0) return `<p class="note">computing…</p>`;
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
  const cur = Math.min(Math.floor(step / series.stride), n - 1);
  const cursor = `<line x1="${x(cur)}" x2="${x(cur)}" y1="${T}" y2="${H - B}" class="cursor"/>` +
    `<text x="${x(cur)}" y="${H - 5}" text-anchor="${x(cur) > W - 40 ? "end" : x(cur) < L + 30 ? "start" : "middle"}">step ${cur * series.stride}${series.complete ? "" : " (computing…)"}</text>`;
  const legend = LINES.map(([key, name, dash]) =>
    `<span class="lg"><svg width="26" height="10"><line x1="0" x2="26" y1="5" y2="5" class="s-${key}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg>${name}: ${bytes(series[key][cur] ?? 0)}</span>`).join("");
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="heap, mmapped bytes and RSS over the steps">${ticks}${lines}${cursor}</svg><div class="legend">${legend}</div>`;
}
