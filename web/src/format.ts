// Small formatting helpers shared by the views.

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 0x-prefixed 8-digit hex (an i386 word; views print addresses with their View's `hex`, words.ts). */
export const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
/** 0x-prefixed short hex (offsets, sizes). */
export const shex = (n: number) => "0x" + (n >>> 0).toString(16);

/** Bytes in the largest unit that keeps a short number: 4 KiB, 2.9 GiB (TiB and up: x86-64's gaps). */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 || v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${s} ${units[u]}`;
}

/** Thousands separated with a thin space (by hand: toLocaleString costs a step of a big heap dearly). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const neg = n < 0;
  const [int, frac] = String(Math.abs(n)).split(".");
  let out = int.length > 3 ? "" : int;
  if (int.length > 3) {
    for (let i = int.length; i > 0; i -= 3) out = int.slice(Math.max(0, i - 3), i) + (out === "" ? "" : "\u2009" + out);
  }
  return (neg ? "-" : "") + out + (frac !== undefined ? "." + frac : "");
}

/** Sets an element's HTML only when it changed (parsing and laying out the same HTML again costs a step). */
export function setHtml(el: HTMLElement, html: string): void {
  if ((el as HTMLElement & { lastHtml?: string }).lastHtml === html) return;
  el.innerHTML = html;
  (el as HTMLElement & { lastHtml?: string }).lastHtml = html;
}

/** The `n` (4 or 8) little-endian bytes of a word as hex pairs. */
export function wordBytes(bytes: Uint8Array, at: number, n = 4): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(at + i < bytes.length ? bytes[at + i].toString(16).padStart(2, "0") : "··");
  return out.join(" ");
}
