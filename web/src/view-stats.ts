// What the process would tell about itself: /proc/self/status's memory lines, mallinfo2 and
// malloc_stats' text.

import { esc, num } from "./format.js";
import type { View } from "./session.js";

export function renderStats(view: View): string {
  const s = view.status as unknown as Record<string, number>;
  const cards = ["VmSize", "VmRSS", "VmHWM", "VmData", "VmStk", "VmLib"]
    .map((k) => `<div class="card"><span>${k}</span><b>${num(s[k] ?? 0)}</b><small>kB</small></div>`)
    .join("");
  const mi = view.mallinfo as unknown as Record<string, number>;
  const mrows = Object.keys(mi).map((k) => `<tr><td>${k}</td><td class="mono">${num(mi[k])}</td></tr>`).join("");
  return (
    `<div class="cards">${cards}<div class="card"><span>minor faults</span><b>${num(view.faults)}</b></div></div>` +
    `<div class="two"><div><h3>mallinfo2()</h3><table class="kv">${mrows}</table></div>` +
    `<div><h3>malloc_stats()</h3><pre class="stats">${esc(view.mallocStats)}</pre></div></div>`
  );
}
