// The heap: every chunk of the brk heap in address order, then the mmapped chunks; colour and a
// letter say in use / which free list; a click shows the chunk's raw header and links and what
// free() would do with it.

import { revealPtr, type Chunk, type TryFreeResult } from "../../host/inspect/index.js";
import { bytes, esc, hex as hex32, num, shex, wordBytes } from "./format.js";
import type { View } from "./session.js";

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

function chunkEl(c: Chunk, base: number, selected: number | null, hex: (n: number) => string): string {
  const { cls, tag, what } = chunkClass(c);
  const width = chunkWidth(c.size);
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

/** Height of one row of chunks (a chunk's 46 px and the 3 px gap), in CSS pixels. */
const ROW_HEIGHT = 49;
/** Rows drawn above and below the visible ones, so that a scroll shows no blank. */
const OVERSCAN_ROWS = 4;
/** The scroll box's largest height (style.css: .chunks-scroll). */
const VISIBLE_PX = 460;
/** mmapped chunks drawn at most (each is a mapping of its own: a process seldom has many). */
const MAX_MMAPPED_DRAWN = 1000;

const chunkWidth = (size: number) => Math.round(Math.min(220, 46 + 12 * Math.log2(Math.max(16, size) / 16)));

/**
 * The brk heap's chunks as a windowed list: rows are packed from the chunks' widths (as a
 * wrapping flex box would lay them out), and only the rows in or near the visible part of the
 * scroll box are in the DOM, each chunk with its data-chunk-* hooks. Scrolling draws the rest,
 * so a 10,000-chunk heap costs a step what a 100-chunk one does. `data-chunk-count` on the box
 * says how many chunks the walk found.
 */
export class HeapPanel {
  readonly #meta: HTMLElement;
  readonly #scroller: HTMLElement;
  readonly #rowsEl: HTMLElement;
  readonly #problem: HTMLElement;
  readonly #mmapped: HTMLElement;
  #view: View | null = null;
  #selected: number | null = null;
  #chunks: Chunk[] = [];
  /** Index of the first chunk of each row, and chunks.length at the end. */
  #rowStarts: number[] = [0];
  /** The scroll box's content width, as the ResizeObserver last saw it (0: not yet). */
  #width = 0;
  #mmappedHtml = "";
  #frame = 0;
  /** The rows in the page, by row number. */
  readonly #rows = new Map<number, { html: string; el: HTMLElement }>();

  constructor(root: HTMLElement) {
    root.innerHTML =
      `<div class="heap-meta"></div>` +
      `<div class="chunks-scroll" tabindex="0" aria-label="heap chunks, in address order"><div class="chunk-rows"></div></div>` +
      `<p class="problem" hidden></p><div class="mmapped"></div>`;
    this.#meta = root.querySelector(".heap-meta")!;
    this.#scroller = root.querySelector(".chunks-scroll")!;
    this.#rowsEl = root.querySelector(".chunk-rows")!;
    this.#problem = root.querySelector(".problem")!;
    this.#mmapped = root.querySelector(".mmapped")!;
    this.#scroller.addEventListener("scroll", () => this.#onScroll());
    new ResizeObserver((entries) => {
      const width = Math.floor(entries[0].contentRect.width);
      if (width === this.#width) return;
      this.#width = width;
      this.#layout();
      this.#drawRows();
    }).observe(this.#scroller);
  }

  /** Draws the heap of a view (the list's scroll position is kept across steps). */
  show(view: View, selected: number | null): void {
    this.#view = view;
    this.#selected = selected;
    const h = view.heap;
    const hex = view.hex;
    this.#chunks = h.heap?.chunks ?? [];
    const n = this.#chunks.length;
    this.#meta.innerHTML = h.heap === null
      ? `<span class="empty">No heap yet: glibc creates it at the first malloc.</span>`
      : `sbrk_base ${hex(h.heap.startAddr)} · ${num(n)} chunks · offsets from sbrk_base${n > 60 ? " · scroll the list for the rest" : ""}`;
    this.#scroller.hidden = h.heap === null;
    this.#scroller.dataset.chunkCount = String(n);
    this.#problem.hidden = !h.heap?.problem;
    this.#problem.textContent = h.heap?.problem ? `The walk stopped: ${h.heap.problem}` : "";
    let mm = "";
    // the thread arenas' heaps, each drawn whole (up to MAX_MMAPPED_DRAWN chunks), offsets from the heap's start
    for (const a of h.arenas) {
      for (const [k, heap] of a.heaps.entries()) {
        const chunks = heap.walk.chunks;
        const drawn = chunks.slice(0, MAX_MMAPPED_DRAWN).map((c) => chunkEl(c, heap.addr, selected, hex)).join("");
        const more = chunks.length > MAX_MMAPPED_DRAWN ? `<p class="note">${num(chunks.length - MAX_MMAPPED_DRAWN)} more not drawn.</p>` : "";
        const problem = heap.walk.problem ? `<p class="problem">The walk stopped: ${esc(heap.walk.problem)}</p>` : "";
        mm +=
          `<h3 data-arena="${a.index}" data-heap="${hex(heap.addr)}">arena ${a.index} · heap ${k} at ${hex(heap.addr)} ` +
          `<span class="note">(${num(heap.size)} of ${num(h.view.abi.c.HEAP_MAX_SIZE)} bytes read-write; offsets from the heap's start)</span></h3>` +
          `<div class="chunks">${drawn}</div>${more}${problem}`;
      }
    }
    if (h.mmapped.length) {
      const drawn = h.mmapped.slice(0, MAX_MMAPPED_DRAWN).map((c) => chunkEl(c, 0, selected, hex)).join("");
      const more = h.mmapped.length > MAX_MMAPPED_DRAWN ? `<p class="note">${num(h.mmapped.length - MAX_MMAPPED_DRAWN)} more not drawn.</p>` : "";
      mm = `<h3>mmapped chunks</h3><div class="chunks">${drawn}</div>${more}`;
    }
    if (mm !== this.#mmappedHtml) this.#mmapped.innerHTML = this.#mmappedHtml = mm;
    if (this.#width === 0) this.#width = this.#scroller.clientWidth; // the first time only
    this.#layout();
    this.#drawRows();
  }

  /** Selects a chunk and scrolls the list to it. */
  select(addr: number | null): void {
    this.#selected = addr;
    const i = addr === null ? -1 : this.#chunks.findIndex((c) => c.addr === addr);
    if (i >= 0) {
      const top = this.#rowOf(i) * ROW_HEIGHT;
      const s = this.#scroller;
      if (top < s.scrollTop || top + ROW_HEIGHT > s.scrollTop + s.clientHeight) s.scrollTop = top - s.clientHeight / 2;
    }
    if (this.#view) this.show(this.#view, addr);
  }

  #rowOf(i: number): number {
    let lo = 0;
    let hi = this.#rowStarts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#rowStarts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Packs the chunks into rows of the scroll box's width, as a wrapping flex box would. */
  #layout(): void {
    const width = Math.max(100, this.#width);
    const starts = [0];
    let used = 0;
    const chunks = this.#chunks;
    for (let i = 0; i < chunks.length; i++) {
      const w = chunkWidth(chunks[i].size) + 3;
      if (used > 0 && used + w > width) {
        starts.push(i);
        used = 0;
      }
      used += w;
    }
    if (chunks.length > 0) starts.push(chunks.length);
    this.#rowStarts = starts;
    this.#rowsEl.style.height = `${(starts.length - 1) * ROW_HEIGHT}px`;
  }

  #onScroll(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#drawRows();
    });
  }

  #drawRows(): void {
    const s = this.#scroller;
    const view = this.#view;
    if (!view?.heap.heap) {
      this.#rowsEl.textContent = "";
      this.#rows.clear();
      return;
    }
    const rows = this.#rowStarts.length - 1;
    // The box is at most 460 px high: drawing that much below the top needs no layout read.
    const first = Math.max(0, Math.floor(s.scrollTop / ROW_HEIGHT) - OVERSCAN_ROWS);
    const last = Math.min(rows, first + Math.ceil(VISIBLE_PX / ROW_HEIGHT) + 2 * OVERSCAN_ROWS);
    const base = view.heap.heap.startAddr;
    // A row is replaced only when its HTML changed: a step usually changes a chunk or two, and
    // every element dropped and made again is work for the layout and the garbage collector.
    for (const [r, row] of this.#rows) {
      if (r < first || r >= last) {
        row.el.remove();
        this.#rows.delete(r);
      }
    }
    for (let r = first; r < last; r++) {
      const cells: string[] = [];
      for (let i = this.#rowStarts[r]; i < this.#rowStarts[r + 1]; i++) cells.push(chunkEl(this.#chunks[i], base, this.#selected, view.hex));
      const html = cells.join("");
      const old = this.#rows.get(r);
      if (old?.html === html) continue;
      const el = old?.el ?? document.createElement("div");
      if (!old) {
        el.className = "chunk-row";
        el.style.top = `${r * ROW_HEIGHT}px`;
        this.#rowsEl.append(el);
      }
      el.innerHTML = html;
      this.#rows.set(r, { html, el });
    }
  }
}

function findChunk(view: View, addr: number): Chunk | undefined {
  const inArenas = () => {
    for (const a of view.heap.arenas) for (const h of a.heaps) for (const c of h.walk.chunks) if (c.addr === addr) return c;
    return undefined;
  };
  return view.heap.heap?.chunks.find((c) => c.addr === addr) ?? inArenas() ?? view.heap.mmapped.find((c) => c.addr === addr);
}

export function renderTryFree(r: TryFreeResult, hex: (n: number) => string = hex32): string {
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
  const hex = view.hex;
  const c = findChunk(view, addr);
  if (!c) return `<p class="empty">No chunk at ${hex(addr)} at this step.</p>`;
  // the heap's own view: the process's addresses and words (4 bytes on i386, 8 on x86_64)
  const mem = view.heap.view;
  const w = mem.abi.wordBytes;
  const raw = mem.bytes(addr, 6 * w);
  const word = (i: number) => mem.word(addr + w * i) ?? 0;
  const { what } = chunkClass(c);
  const rows: [string, string][] = [
    ["prev_size", c.prevInuse && !c.isMmapped ? "(previous chunk's data)" : String(word(0))],
    ["size", `${c.size} | ${c.nonMainArena ? "A " : ""}${c.isMmapped ? "M " : ""}${c.prevInuse ? "P" : ""}`.trim()],
  ];
  const kind = c.bin?.replace(/\[.*$/, "");
  if (kind === "tcache") {
    rows.push(["next", `${hex(word(2))} mangled → ${hex(revealPtr(addr + 2 * w, word(2)))} real`]);
    rows.push(["key", word(3) === view.heap.mp.tcache_key ? "tcache_key (marks it as in a tcache)" : hex(word(3))]);
  } else if (kind === "fastbin") {
    rows.push(["fd", `${hex(word(2))} mangled → ${hex(revealPtr(addr + 2 * w, word(2)))} real`]);
    rows.push(["(bk)", "unused"]);
  } else if (c.state === "free" || c.state === "top") {
    rows.push(["fd", hex(word(2))], ["bk", hex(word(3))]);
    if (kind === "large") rows.push(["fd_nextsize", hex(word(4))], ["bk_nextsize", hex(word(5))]);
  } else {
    rows.push(["user data", ""], ["", ""]);
  }
  const table = rows
    .map(([name, meaning], i) => `<tr><td class="mono">+${i * w}</td><td class="mono">${wordBytes(raw, i * w, w)}</td><td>${name}</td><td class="mono">${esc(meaning)}</td></tr>`)
    .join("");
  const memAddr = addr + 2 * w;
  const freeView = c.state === "top" ? "" : renderTryFree(view.heap.tryFree(memAddr), hex);
  return (
    `<div class="detail-head"><b>chunk ${hex(addr)}</b> · ${what} · ${bytes(c.size)} · mem ${hex(memAddr)} · usable ${c.usableSize}</div>` +
    `<table class="hdr"><thead><tr><th>off</th><th>bytes</th><th>field</th><th>value</th></tr></thead><tbody>${table}</tbody></table>` +
    freeView
  );
}
