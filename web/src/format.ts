// Small formatting helpers shared by the views.

/** Escapes text for HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 0x-prefixed 8-digit hex. */
export const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");
/** 0x-prefixed short hex (offsets, sizes). */
export const shex = (n: number) => "0x" + (n >>> 0).toString(16);

/** Bytes in the largest unit that keeps a short number: 4 KiB, 2.9 GiB. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 || v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${s} ${units[u]}`;
}

/** Thousands separated with a thin space. */
export const num = (n: number) => n.toLocaleString("en-US").replace(/,/g, "\u2009");

/** The four little-endian bytes of a word as hex pairs. */
export function wordBytes(bytes: Uint8Array, at: number): string {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) out.push(at + i < bytes.length ? bytes[at + i].toString(16).padStart(2, "0") : "··");
  return out.join(" ");
}
