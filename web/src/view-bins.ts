// The free lists (tcache, fastbins, unsorted, small, large), the binmap, and the arena's and
// mp_'s fields — pwndbg's `bins`, `arena` and `mp`.

import { MP_FIELDS, binmapBit, type BinList } from "../../host/inspect/index.js";
import { esc, num } from "./format.js";
import type { View } from "./session.js";

/** Entries of a list shown unfolded. */
const SHOWN_ENTRIES = 64;

function entryEl(list: BinList, i: number, hex: (n: number) => string): string {
  const e = list.entries[i];
  const size = e.size === null ? "?" : String(e.size);
  const link = e.fdStored !== undefined ? `next ${hex(e.fd)} (stored ${hex(e.fdStored)})` : `fd ${hex(e.fd)} bk ${hex(e.bk ?? 0)}`;
  return `<button class="entry ${list.kind}" data-bin="${list.name}" data-chunk-addr="${hex(e.chunk)}" data-chunk-size="${size}" title="${link}">${hex(e.chunk)}</button>`;
}

function listRow(list: BinList, hex: (n: number) => string): string {
  const count = list.count !== undefined ? `<span class="count">${list.count}</span>` : "";
  // The unsorted bin holds any size; a large bin a range, shown from its smallest chunk.
  const size = list.kind === "unsorted" ? "any" : list.kind === "large" ? `≥ ${num(list.chunkSize)}` : num(list.chunkSize);
  // Every entry is in the page (each carries its hooks); past the first 64, folded away.
  const arrow = '<span class="arrow">→</span>';
  const entries = list.entries.slice(0, SHOWN_ENTRIES).map((_, i) => entryEl(list, i, hex)).join(arrow);
  const rest = list.entries.length - SHOWN_ENTRIES;
  const more = rest > 0
    ? `<details class="more"><summary>… ${rest} more</summary>${list.entries.slice(SHOWN_ENTRIES).map((_, i) => entryEl(list, SHOWN_ENTRIES + i, hex)).join(arrow)}</details>`
    : "";
  const problem = list.problem ? `<span class="problem">${esc(list.problem)}</span>` : "";
  return `<div class="bin"><span class="bin-name">${list.name}</span><span class="bin-size">${size}</span>${count}<span class="chain">${entries || '<span class="note">empty</span>'}${more}${problem}</span></div>`;
}

export function renderBins(view: View): string {
  const h = view.heap;
  const hex = view.hex;
  const row = (list: BinList) => listRow(list, hex);
  const out: string[] = [];
  const section = (title: string, lists: BinList[], empty: string) =>
    out.push(`<h3>${title}</h3>${lists.length ? lists.map(row).join("") : `<p class="note">${empty}</p>`}`);
  section("tcache", h.tcache, h.mp.tcache === 0 ? "no tcache yet (made at the first malloc)" : "all 64 bins empty");
  section("fastbins", h.fastbins.filter((b) => b.entries.length > 0), `all ${h.fastbins.length} empty`);
  section("unsorted, small and large bins", h.bins, "all empty");
  const bits: string[] = [];
  for (let i = 0; i < 128; i++) {
    const on = binmapBit(h.arena.binmap, i);
    bits.push(`<i class="${on ? "on" : ""}" title="bin ${i}${on ? ": marked" : ""}"></i>`);
  }
  out.push(`<h3>binmap <span class="note">(bit i: bin i may hold chunks; glibc clears bits lazily)</span></h3><div class="binmap">${bits.join("")}</div>`);
  // the thread arenas: their own fastbins and bins (the tcache above is the main thread's)
  for (const a of h.arenas) {
    const fast = a.fastbins.filter((b) => b.entries.length > 0);
    out.push(
      `<section class="arena" data-arena="${a.index}"><h3>arena ${a.index} <span class="note">(${hex(a.addr)}, ` +
        `${a.heaps.length} heap${a.heaps.length === 1 ? "" : "s"}, a thread arena)</span></h3>` +
        `${fast.length ? fast.map(row).join("") : '<p class="note">fastbins all empty</p>'}` +
        `${a.bins.length ? a.bins.map(row).join("") : '<p class="note">bins all empty</p>'}</section>`,
    );
  }
  return out.join("");
}

export function renderArena(view: View): string {
  const hex = view.hex;
  const a = view.heap.arena;
  const rows: [string, string][] = [
    ["&main_arena", hex(a.addr)],
    ["top", hex(a.top)],
    ["last_remainder", hex(a.lastRemainder)],
    ["system_mem", num(a.systemMem)],
    ["max_system_mem", num(a.maxSystemMem)],
    ["have_fastchunks", String(a.haveFastchunks)],
    ["flags", `${a.flags}${a.contiguous ? "" : " (NONCONTIGUOUS)"}`],
  ];
  const mp = view.heap.mp;
  const addrFields = new Set(["sbrk_base", "tcache", "tcache_key"]);
  const mpRows = MP_FIELDS.map((name) => [`mp_.${name}`, addrFields.has(name) ? hex(mp[name]) : num(mp[name])] as [string, string]);
  const tr = ([k, v]: [string, string]) => `<tr><td>${k}</td><td class="mono">${v}</td></tr>`;
  // each thread arena: where it is, its top, its memory and its heaps
  const arenaRows = view.heap.arenas.flatMap((t) => [
    [`arena ${t.index}`, `${hex(t.addr)} · top ${hex(t.top)}`],
    [`arena ${t.index} system_mem`, `${num(t.systemMem)} (max ${num(t.maxSystemMem)})`],
    [`arena ${t.index} heaps`, t.heaps.map((x) => `${hex(x.addr)} (${num(x.size)} bytes)`).join(", ") + (t.problem ? ` · ${esc(t.problem)}` : "")],
  ] as [string, string][]);
  return `<table class="kv">${rows.map(tr).join("")}${arenaRows.map(tr).join("")}${mpRows.map(tr).join("")}</table>`;
}
