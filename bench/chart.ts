// The allocator benchmark as a picture: a standalone SVG (no scripts, no external fonts) with one
// panel per workload and one horizontal bar per peer, on a log-scale ns-per-op axis shared by all
// panels, so that a 5 ns in-Wasm loop and a 50 µs list walk can be read off the same chart.
// `npm run bench` writes it next to bench/results.json; the README shows it.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface ChartRow {
  workload: string;
  peer: string;
  nsPerOpMedian: number;
  nsPerOpMin: number;
  nsPerOpMax: number;
  /** The peer's mode (bench/peers/peer.ts): "native" bars are grey, floor bars dashed outlines. */
  mode?: string;
  /** Ops in the workload, shown next to its name. */
  ops?: number;
}

export interface ChartOptions {
  title: string;
  /** e.g. the machine and the date. */
  subtitle?: string;
  /** Pixels (default 900). */
  width?: number;
}

/** How a bar is painted. */
interface Paint {
  fill: string;
  stroke?: string;
  dashed?: boolean;
}

// The font every viewer has: the generic family, with common faces named first for a steadier look.
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
/** Average glyph width as a share of the font size, for laying out text without measuring it. */
const GLYPH = 0.6;

const BAR_PITCH = 14;
const BAR_HEIGHT = 9;
const PANEL_HEAD = 22;
const PANEL_GAP = 10;

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const textWidth = (s: string, size: number) => s.length * size * GLYPH;

/** 1.23 ns, 45.6 ns, 7.89 µs, 1.2 ms: three significant digits. */
export function formatNs(ns: number): string {
  const [v, unit] = ns >= 1e6 ? [ns / 1e6, "ms"] : ns >= 1e3 ? [ns / 1e3, "µs"] : [ns, "ns"];
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}

function tickLabel(ns: number): string {
  return ns >= 1e6 ? `${ns / 1e6} ms` : ns >= 1e3 ? `${ns / 1e3} µs` : `${ns} ns`;
}

// Colours: ptmalloc-wasm's own rows strong (an x86_64 row a tint of its i386 twin's), every other
// allocator a muted hue of its own (the in-allocator loop a shade darker than the JS-driven row),
// the native references grey and the floors a light dashed outline. Chosen by name and mode, so a peer keeps its colour from run to run.
const STRONG = ["#1565c0", "#e4570f", "#2e7d32", "#7b1fa2"];
const FAMILIES: [RegExp, [string, string]][] = [
  [/baseline|twin/i, ["#9fb6d0", "#6f8fb2"]],
  [/tlsf/i, ["#a9d19f", "#79aa6e"]],
  [/dlmalloc/i, ["#cdb5df", "#a486c0"]],
  [/thi\.ng/i, ["#dcc296", "#bf9e66"]],
  [/mimalloc|jemalloc|emmalloc/i, ["#e3aaa5", "#c47f78"]],
];
const OTHERS: [string, string][] = [
  ["#a8d2d0", "#76acaa"],
  ["#ddd196", "#b9aa5f"],
  ["#d9aec8", "#b47f9f"],
];
const GREYS = ["#7d7d7d", "#a6a6a6", "#5e5e5e", "#c2c2c2"];

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
  return h;
}

/** A colour mixed halfway to white: the x86_64 build's bar beside its i386 twin's. */
export function tint(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (shift: number) => Math.round(((n >> shift) & 255) / 2 + 127.5);
  return `#${((mix(16) << 16) | (mix(8) << 8) | mix(0)).toString(16).padStart(6, "0")}`;
}

/** The i386 peer an x86_64 peer of ptmalloc-wasm is the twin of ("ptmalloc-wasm x86_64, X" → "ptmalloc-wasm, X"). */
const X86_64_PEER = /^ptmalloc-wasm x86_64(?=,)/i;

function paints(peers: string[], modes: Map<string, string | undefined>): Map<string, Paint> {
  const out = new Map<string, Paint>();
  let strong = 0;
  let grey = 0;
  // The i386 rows first, so that an x86_64 row can take a tint of its twin's colour.
  const ordered = [...peers.filter((p) => !X86_64_PEER.test(p)), ...peers.filter((p) => X86_64_PEER.test(p))];
  for (const peer of ordered) {
    const mode = modes.get(peer) ?? "";
    const inLoop = mode === "wasm" || /loop/i.test(peer);
    if (mode.startsWith("floor") || /^floor/i.test(peer)) {
      out.set(peer, { fill: "#f5f5f5", stroke: "#8a8a8a", dashed: true });
    } else if (mode === "native" || /^native/i.test(peer)) {
      out.set(peer, { fill: GREYS[grey++ % GREYS.length]! });
    } else if (X86_64_PEER.test(peer) && out.has(peer.replace(X86_64_PEER, "ptmalloc-wasm"))) {
      out.set(peer, { fill: tint(out.get(peer.replace(X86_64_PEER, "ptmalloc-wasm"))!.fill) });
    } else if (/^ptmalloc-wasm/i.test(peer)) {
      out.set(peer, { fill: STRONG[strong++ % STRONG.length]! });
    } else {
      const pair = FAMILIES.find(([re]) => re.test(peer))?.[1] ?? OTHERS[hash(peer) % OTHERS.length]!;
      out.set(peer, { fill: pair[inLoop ? 1 : 0] });
    }
  }
  return out;
}

const unique = <T>(xs: T[]) => [...new Set(xs)];

/** The chart as a standalone SVG document. */
export function renderChart(rows: ChartRow[], options: ChartOptions): string {
  const W = options.width ?? 900;
  const good = rows.filter((r) => r.nsPerOpMedian > 0 && Number.isFinite(r.nsPerOpMedian));
  const workloads = unique(good.map((r) => r.workload));
  const peers = unique(good.map((r) => r.peer));
  const paint = paints(peers, new Map(good.map((r) => [r.peer, r.mode])));

  // The shared axis: whole decades around every value drawn, whiskers included.
  const values = good.flatMap((r) => [r.nsPerOpMedian, r.nsPerOpMin, r.nsPerOpMax]).filter((v) => v > 0 && Number.isFinite(v));
  const lo = 10 ** Math.floor(Math.log10(values.length > 0 ? Math.max(Math.min(...values), 0.01) : 1));
  let hi = 10 ** Math.ceil(Math.log10(values.length > 0 ? Math.max(...values) : 10));
  if (hi <= lo) hi = lo * 10;

  // Columns: peer names (right-aligned), the plot, room for the value printed after the whisker.
  const nameSize = 10.5;
  const nameCol = Math.min(300, Math.max(140, Math.max(...peers.map((p) => textWidth(p, nameSize)), 0) + 16));
  const left = 16 + nameCol;
  const right = W - 64;
  const x = (ns: number) => left + ((Math.log10(Math.min(Math.max(ns, lo), hi)) - Math.log10(lo)) / Math.log10(hi / lo)) * (right - left);

  const out: string[] = [];
  const text = (tx: number, ty: number, s: string, attrs = "") =>
    out.push(`<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}"${attrs ? " " + attrs : ""}>${escapeXml(s)}</text>`);

  // Title, subtitle, legend.
  let y = 30;
  text(16, y, options.title, `font-size="17" font-weight="bold" fill="#1a1a1a"`);
  if (options.subtitle) {
    y += 20;
    text(16, y, options.subtitle, `font-size="11.5" fill="#555"`);
  }
  y += 14;
  const legendSize = 11;
  const colW = Math.max(...peers.map((p) => textWidth(p, legendSize)), 60) + 30;
  const cols = Math.max(1, Math.floor((W - 32) / colW));
  peers.forEach((peer, i) => {
    const lx = 16 + (i % cols) * colW;
    const ly = y + 8 + Math.floor(i / cols) * 17;
    out.push(swatch(lx, ly, 14, 10, paint.get(peer)!));
    text(lx + 20, ly + 9, peer, `font-size="${legendSize}" fill="#333"`);
  });
  y += 8 + Math.ceil(peers.length / cols) * 17 + 4;
  text(16, y + 10, "bar: median of the runs · whisker: min–max · value: median · absent: not run on that workload", `font-size="10.5" fill="#666" font-style="italic"`);
  y += 26;

  // Decades and their 2× / 5× steps.
  const majors: number[] = [];
  for (let v = lo; v <= hi * 1.0001; v *= 10) majors.push(v);
  const minors = majors.flatMap((v) => [2 * v, 5 * v]).filter((v) => v < hi);
  const axis = (ay: number, below: boolean) => {
    out.push(`<line x1="${left}" y1="${ay}" x2="${right}" y2="${ay}" stroke="#888" stroke-width="1"/>`);
    for (const v of majors) {
      const tx = x(v);
      out.push(`<line x1="${tx.toFixed(1)}" y1="${ay}" x2="${tx.toFixed(1)}" y2="${below ? ay + 4 : ay - 4}" stroke="#888"/>`);
      text(tx, below ? ay + 15 : ay - 7, tickLabel(+v.toPrecision(1)), `font-size="10.5" fill="#444" text-anchor="middle"`);
    }
  };
  // Ends short of the first tick's label, which is centred on the plot's left edge.
  text(left - 26, y + 5, "ns per op (log scale)", `font-size="10.5" fill="#444" text-anchor="end"`);
  y += 12;
  axis(y, false);
  const plotTop = y;

  // Panels.
  for (const [wi, workload] of workloads.entries()) {
    const inPanel = peers.map((p) => good.find((r) => r.workload === workload && r.peer === p)).filter((r) => r !== undefined);
    const height = PANEL_HEAD + inPanel.length * BAR_PITCH + PANEL_GAP;
    if (wi % 2 === 1) out.push(`<rect x="0" y="${y}" width="${W}" height="${height}" fill="#f7f8fa"/>`);
    const ops = inPanel.find((r) => r.ops !== undefined)?.ops;
    // The op count flows on after the name in the same <text>: no width to guess.
    const opsNote =
      ops === undefined ? "" : `<tspan dx="7" font-size="10.5" font-weight="normal" fill="#777">${ops.toLocaleString("en-US")} ops</tspan>`;
    out.push(`<text x="16" y="${y + 15}" font-size="12.5" font-weight="bold" fill="#1a1a1a">${escapeXml(workload)}${opsNote}</text>`);
    const gridTop = y + PANEL_HEAD - 4;
    const gridBottom = y + height - PANEL_GAP + 2;
    for (const v of minors) {
      out.push(`<line x1="${x(v).toFixed(1)}" y1="${gridTop}" x2="${x(v).toFixed(1)}" y2="${gridBottom}" stroke="#e6e6e6" stroke-dasharray="2 2"/>`);
    }
    for (const v of majors) {
      out.push(`<line x1="${x(v).toFixed(1)}" y1="${gridTop}" x2="${x(v).toFixed(1)}" y2="${gridBottom}" stroke="#d2d2d2"/>`);
    }
    let by = y + PANEL_HEAD;
    for (const r of inPanel) {
      const p = paint.get(r.peer)!;
      const cy = by + BAR_HEIGHT / 2;
      const xm = x(r.nsPerOpMedian);
      text(left - 8, cy + 3.6, r.peer, `font-size="${nameSize}" fill="#444" text-anchor="end"`);
      const tip = `${r.peer} — ${r.workload}: ${formatNs(r.nsPerOpMedian)} (${formatNs(r.nsPerOpMin)}–${formatNs(r.nsPerOpMax)})`;
      out.push(`<g><title>${escapeXml(tip)}</title>${swatch(left, by, Math.max(xm - left, 1), BAR_HEIGHT, p)}</g>`);
      const x0 = x(r.nsPerOpMin);
      const x1 = x(r.nsPerOpMax);
      if (x1 - x0 >= 1) {
        out.push(
          `<path d="M${x0.toFixed(1)} ${cy}H${x1.toFixed(1)}M${x0.toFixed(1)} ${cy - 3}v6M${x1.toFixed(1)} ${cy - 3}v6" ` +
            `stroke="#222" stroke-opacity="0.75" stroke-width="1" fill="none"/>`,
        );
      }
      text(Math.max(xm, x1) + 5, cy + 3.6, formatNs(r.nsPerOpMedian), `font-size="10" fill="#222"`);
      by += BAR_PITCH;
    }
    y += height;
  }
  axis(y + 2, true);
  const H = y + 32;
  out.push(`<line x1="${left}" y1="${plotTop}" x2="${left}" y2="${y + 2}" stroke="#888"/>`);

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(H)}" viewBox="0 0 ${W} ${Math.ceil(H)}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...out,
    `</svg>`,
    ``,
  ].join("\n");
}

function swatch(sx: number, sy: number, w: number, h: number, p: Paint): string {
  const stroke = p.stroke ? ` stroke="${p.stroke}" stroke-width="1"${p.dashed ? ` stroke-dasharray="3 2"` : ""}` : "";
  return `<rect x="${sx.toFixed(1)}" y="${sy.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" fill="${p.fill}"${stroke}/>`;
}

/** Renders the chart and writes it to `path` (its directory is created). */
export function writeChart(path: string, rows: ChartRow[], options: ChartOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderChart(rows, options));
}
