// /proc/self/maps text → VMAs, and what each one is (heap, stack, a library, an anonymous mapping).

export type VmaKind = "program" | "heap" | "anon" | "library" | "vdso" | "vvar" | "stack";

export interface Vma {
  /** Half-open [startAddr, endAddr). */
  startAddr: number;
  endAddr: number;
  perms: string;
  path: string;
  kind: VmaKind;
  /** The maps() line it came from. */
  line: string;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+\S+\s+\S+\s+\S+\s*(.*)$/;

/** Parses maps() output; lines that do not parse are skipped. */
export function parseMaps(text: string): Vma[] {
  const out: Vma[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const startAddr = parseInt(m[1], 16);
    const endAddr = parseInt(m[2], 16);
    const path = m[4].trim();
    out.push({ startAddr, endAddr, perms: m[3], path, kind: kindOf(path), line });
  }
  return out;
}

function kindOf(path: string): VmaKind {
  if (path === "[heap]") return "heap";
  if (path === "[stack]") return "stack";
  if (path === "[vdso]") return "vdso";
  if (path.startsWith("[vvar")) return "vvar";
  if (path === "") return "anon";
  // ld.so and libc are shared objects; the other named file is the program's own image.
  return /\.so(\.|$)/.test(path) ? "library" : "program";
}
