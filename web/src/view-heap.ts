// The heap: every chunk of the brk heap in address order, then the mmapped chunks; colour and a
// letter say in use / which free list; a click shows the chunk's raw header and links and what
// free() would do with it.

import { MemoryView, revealPtr, type Chunk, type TryFreeResult } from "../../host/inspect/index.js";
import { bytes, esc, hex, num, shex, wordBytes } from "./format.js";
import type { View } from "./session.js";

/** Chunks drawn at most (a bigger heap says how many were left out). */
const MAX_DRAWN = 1000;

/** The colour class and the letter of a chunk (the second cue for colour-blind readers). */
export function chunkClass(c: Chunk): { cls: string; tag: string; what: string } {
  if (c.state === "top") return { cls: "top", tag: "top", what: "top chunk" };
  if (c.state === "mmapped") return { cls: "mmapped", tag: "M", what: "mmapped chunk" };
  if (c.state === "fencepost") return { cls: "fence", tag: "fp", what: "fencepost" };
  if (c.bin) {
    const kind = c.bin.replace(/\[.*$/, "");
    const tag = { tcache: "T", fastbin: "F", unsorted: "U", small: "S", large: "L" }[kind] ?? "?";
    return { cls: `free ${kind}`, tag, what: `free, in ${c.bin}` };
  }
  if (c.state === "free") return { cls: "free orphan", tag: "?", what: "free, in no list" };
  return { cls: "inuse", tag: "", what: "in use" };
}

export const LEGEND: [string, string, string][] = [
  ["inuse", "", "in use"],
  ["free tcache", "T", "tcache"],
  ["free fastbin", "F", "fastbin"],
  ["free unsorted", "U", "unsorted"],
  ["free small", "S", "small bin"],
  ["free large", "L", "large bin"],
  ["top", "top", "top chunk"],
  ["mmapped", "M", "mmapped"],
];

function chunkEl(c: Chunk, base: number, selected: number | null): string {
  const { cls, tag, what } = chunkClass(c);
  const width = Math.round(Math.min(220, 46 + 12 * Math.log2(Math.max(16, c.size) / 16)));
  const flags = `${c.nonMainArena ? "A" : ""}${c.isMmapped ? "M" : ""}${c.prevInuse ? "P" : ""}`;
  const bin = c.bin ? ` data-bin="${c.bin}"` : "";
  const title = `${hex(c.addr)} · ${what} · size ${c.size} · flags ${flags || "none"} · usable ${c.usableSize}`;
  const off = c.isMmapped ? hex(c.addr) : `+${shex(c.addr - base)}`;
  return (
    `<button class="chunk ${cls}${selected === c.addr ? " sel" : ""}" style="width:${width}px" data-chunk-addr="${hex(c.addr)}" data-chunk-size="${c.size}"${bin} title="${title}">` +
    `<span class="off">${off}</span><span class="sz">${num(c.size)}</span>` +
    `<span class="meta"><span class="fl">${flags || "·"}</span>${tag ? `<span class="tag">${tag}</span>` : ""}</span></button>`
  );
}

export function renderHeap(view: View, selected: number | null): string {
  const h = view.heap;
  const parts: string[] = [];
  if (h.heap === null) {
    parts.push(`<p class="empty">No heap yet: glibc creates it at the first malloc.</p>`);
  } else {
    const base = h.heap.startAddr;
    const chunks = h.heap.chunks;
    parts.push(`<div class="heap-meta">sbrk_base ${hex(base)} · ${num(chunks.length)} chunks · offsets from sbrk_base</div>`);
    parts.push(`<div class="chunks">${chunks.slice(0, MAX_DRAWN).map((c) => chunkEl(c, base, selected)).join("")}</div>`);
    if (chunks.length > MAX_DRAWN) parts.push(`<p class="note">${num(chunks.length - MAX_DRAWN)} more chunks not drawn.</p>`);
    if (h.heap.problem) parts.push(`<p class="problem">The walk stopped: ${esc(h.heap.problem)}</p>`);
  }
  if (h.mmapped.length) {
    parts.push(`<h3>mmapped chunks</h3><div class="chunks">${h.mmapped.map((c) => chunkEl(c, 0, selected)).join("")}</div>`);
  }
  return parts.join("");
}

function findChunk(view: View, addr: number): Chunk | undefined {
  return view.heap.heap?.chunks.find((c) => c.addr === addr) ?? view.heap.mmapped.find((c) => c.addr === addr);
}

export function renderTryFree(r: TryFreeResult): string {
  const o = r.outcome;
  const verdict =
    o.kind === "abort" ? `<span class="bad">aborts: ${esc(o.message)}</span>`
    : o.kind === "segv" ? `<span class="bad">SIGSEGV reading ${hex(o.addr)}</span>`
    : o.kind === "noop" ? `free(NULL) does nothing`
    : `<span class="good">puts the chunk into ${o.into}${o.consolidates ? ", then consolidates the fastbins" : ""}</span>`;
  const checks = r.checks.map((c) => `<li class="${c.passed ? "ok" : "fail"}">${c.passed ? "✓" : "✗"} ${esc(c.check)}</li>`).join("");
  return `<div class="tryfree"><div>free(${hex(r.mem)}) ${verdict}</div>${checks ? `<ol>${checks}</ol>` : ""}</div>`;
}

/** The selected chunk's header and links, decoded. */
export function renderDetail(view: View, addr: number | null): string {
  if (addr === null) return `<p class="empty">Click a chunk to see its header, links and what free() would do.</p>`;
  const c = findChunk(view, addr);
  if (!c) return `<p class="empty">No chunk at ${hex(addr)} at this step.</p>`;
  const mem = new MemoryView(view.proc.memory);
  const raw = mem.bytes(addr, 24);
  const word = (i: number) => mem.u32(addr + 4 * i) ?? 0;
  const { what } = chunkClass(c);
  const rows: [string, string][] = [
    ["prev_size", c.prevInuse && !c.isMmapped ? "(previous chunk's data)" : String(word(0))],
    ["size", `${c.size} | ${c.nonMainArena ? "A " : ""}${c.isMmapped ? "M " : ""}${c.prevInuse ? "P" : ""}`.trim()],
  ];
  const kind = c.bin?.replace(/\[.*$/, "");
  if (kind === "tcache") {
    rows.push(["next", `${hex(word(2))} mangled → ${hex(revealPtr(addr + 8, word(2)))} real`]);
    rows.push(["key", word(3) === view.heap.mp.tcache_key ? "tcache_key (marks it as in a tcache)" : hex(word(3))]);
  } else if (kind === "fastbin") {
    rows.push(["fd", `${hex(word(2))} mangled → ${hex(revealPtr(addr + 8, word(2)))} real`]);
    rows.push(["(bk)", "unused"]);
  } else if (c.state === "free" || c.state === "top") {
    rows.push(["fd", hex(word(2))], ["bk", hex(word(3))]);
    if (kind === "large") rows.push(["fd_nextsize", hex(word(4))], ["bk_nextsize", hex(word(5))]);
  } else {
    rows.push(["user data", ""], ["", ""]);
  }
  const table = rows
    .map(([name, meaning], i) => `<tr><td class="mono">+${i * 4}</td><td class="mono">${wordBytes(raw, i * 4)}</td><td>${name}</td><td class="mono">${esc(meaning)}</td></tr>`)
    .join("");
  const memAddr = addr + 8;
  const freeView = c.state === "top" ? "" : renderTryFree(view.heap.tryFree(memAddr));
  return (
    `<div class="detail-head"><b>chunk ${hex(addr)}</b> · ${what} · ${bytes(c.size)} · mem ${hex(memAddr)} · usable ${c.usableSize}</div>` +
    `<table class="hdr"><thead><tr><th>off</th><th>bytes</th><th>field</th><th>value</th></tr></thead><tbody>${table}</tbody></table>` +
    freeView
  );
}
