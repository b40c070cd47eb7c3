// The address space: every line of maps() as a row, highest address first, its height growing
// with the log of its size so that a 4 KiB page and a 1 GiB mapping both read; the gaps between
// mappings drawn compressed, with their size; the break and mmap_base marked; each mapping's
// page residency (mincore) as a strip.

import type { Vma } from "../../host/inspect/index.js";
import { bytes, esc } from "./format.js";
import type { View } from "./session.js";

const PAGE = 4096;
/** More pages than this are drawn in buckets, shaded by the share of resident pages. */
const MAX_CELLS = 512;

function label(v: Vma): string {
  switch (v.kind) {
    case "heap": return "[heap]";
    case "stack": return "[stack]";
    case "vdso": case "vvar": return v.path;
    case "library": return v.path.replace(/^.*\//, "");
    case "program": return "program " + (v.perms.includes("x") ? "text" : v.perms.startsWith("rw") ? "data (main_arena, mp_)" : "rodata");
    default: return "anonymous mapping";
  }
}

function residencyStrip(vec: Uint8Array | undefined): string {
  if (!vec || vec.length === 0) return "";
  const n = vec.length;
  let resident = 0;
  for (let i = 0; i < n; i++) resident += vec[i] & 1;
  const cells = Math.min(n, MAX_CELLS);
  const per = n / cells;
  // One path per shade (four shades of the resident share): a few nodes, not one per cell.
  const shades = ["", "", "", ""];
  let runShade = -1;
  let runStart = 0;
  for (let c = 0; c <= cells; c++) {
    let shade = -1;
    if (c < cells) {
      const from = Math.floor(c * per), to = Math.max(from + 1, Math.floor((c + 1) * per));
      let r = 0;
      for (let i = from; i < to; i++) r += vec[i] & 1;
      shade = r > 0 ? Math.min(3, Math.ceil((4 * r) / (to - from)) - 1) : -1;
    }
    if (shade === runShade) continue;
    // A run of cells of one shade is one rectangle.
    if (runShade >= 0) shades[runShade] += `M${runStart} 0h${c - runStart}v1h${runStart - c}z`;
    runShade = shade;
    runStart = c;
  }
  const rects = shades.map((d, k) => (d ? `<path d="${d}" opacity="${(k + 1) / 4}"/>` : ""));
  const title = `${resident} of ${n} pages resident${per > 1 ? ` (one cell per ${per.toFixed(per < 10 ? 1 : 0)} pages)` : ""}`;
  return `<div class="res" title="${title}"><svg viewBox="0 0 ${cells} 1" preserveAspectRatio="none" role="img" aria-label="${title}">${rects.join("")}</svg><span>${resident}/${n}</span></div>`;
}

/** Where user space ends on i386 (TASK_SIZE): the gap above the last mapping runs to it. */
const TASK_SIZE_I386 = 0xffffe000;

export function renderSpace(view: View): string {
  const hex = view.hex;
  const vmas = view.heap.vmas;
  const rows: string[] = [];
  const libs = vmas.filter((v) => v.kind === "library");
  const mmapBase = libs.length ? Math.max(...libs.map((v) => v.endAddr)) : 0;
  for (let i = vmas.length - 1; i >= 0; i--) {
    const v = vmas[i];
    const above = vmas[i + 1];
    // (x86_64's last line, [vsyscall], is above user space: nothing is drawn above it)
    const gapEnd = above ? above.startAddr : view.arch === "i386" ? TASK_SIZE_I386 : v.endAddr;
    if (gapEnd > v.endAddr) {
      const size = gapEnd - v.endAddr;
      const mark = v.endAddr === mmapBase ? `<span class="mark">▲ mmap_base ≈ ${hex(mmapBase)}</span>` : "";
      rows.push(`<div class="gap">${mark}<span>${bytes(size)} unmapped</span></div>`);
    } else if (v.endAddr === mmapBase) {
      rows.push(`<div class="gap thin"><span class="mark">▲ mmap_base ≈ ${hex(mmapBase)}</span></div>`);
    }
    const pages = (v.endAddr - v.startAddr) / PAGE;
    const h = Math.round(22 + 5 * Math.log2(pages));
    const brk = v.kind === "heap" ? `<span class="mark brk">break ${hex(view.brk)}</span>` : "";
    rows.push(
      `<div class="vma k-${v.kind}" style="min-height:${h}px" data-vma-start="${hex(v.startAddr)}" data-vma-end="${hex(v.endAddr)}" title="${esc(v.line)}">` +
        `<div class="vma-addr">${hex(v.startAddr)}<br>${hex(v.endAddr)}</div>` +
        `<div class="vma-body"><div class="vma-head"><b>${esc(label(v))}</b><span class="perms">${v.perms}</span><span class="size">${bytes(v.endAddr - v.startAddr)}</span>${brk}</div>` +
        residencyStrip(view.residency.get(v.startAddr)) +
        `</div></div>`,
    );
  }
  if (vmas.length && vmas[0].startAddr > 0) rows.push(`<div class="gap"><span>${bytes(vmas[0].startAddr)} null guard</span></div>`);
  return rows.join("");
}
