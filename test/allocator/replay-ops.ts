// A direct replayer of "ops v1" lists (shared traces FORMAT.md) over one allocator instance,
// writing the oracle's replay-output lines (without the "# replay" header) for a line-by-line
// comparison with the real glibc's *.replay32.txt (i386) or *.replay64.txt (x86_64).

import * as config from "../../assembly/config.js";
import type { TestProcess } from "./harness.js";

/** A mallopt parameter as a scenario writes it: a number, or its name (M_MXFAST …). */
const mallopt_param = (name: string) => (/^-?\d+$/.test(name) ? Number(name) : (config as unknown as Record<string, number>)[name]);

/**
 * `alignBreak`: first move the break up to a multiple of it, and take offsets from there (the
 * scenarios' `# align-break:` directive, the C replayer's -a).
 */
export function replayOps(p: TestProcess, opsText: string, checkpointEvery = 10000, withSummary = true, alignBreak = 0): string[] {
  const { libc } = p;
  let brk0 = p.brk0;
  if (alignBreak > 0) {
    const cur = p.curBrk();
    brk0 = Math.ceil(cur / alignBreak) * alignBreak;
    if (brk0 > cur) libc.sbrk(brk0 - cur);
  }
  const out: string[] = [];
  const ptrs: number[] = [];
  let nops = 0, maxBrk = 0, mmapped = 0, allocs = 0, frees = 0;
  const mi = () => {
    const m = libc.mallinfo2();
    return `arena=${m.arena} ordblks=${m.ordblks} smblks=${m.smblks} hblks=${m.hblks} hblkhd=${m.hblkhd} usmblks=${m.usmblks} fsmblks=${m.fsmblks} uordblks=${m.uordblks} fordblks=${m.fordblks} keepcost=${m.keepcost}`;
  };
  const record = (id: number, ptr: number) => {
    allocs++;
    ptrs[id] = ptr;
    if (ptr === 0) return void out.push(`${id} N`);
    const field = p.sizeField(ptr);
    const size = field - (field % 8); // flags masked, without 32-bit bitwise ops (x86_64 sizes)
    if (field & 2) {
      mmapped++;
      out.push(`${id} M ${size}`);
    } else {
      out.push(`${id} ${ptr - brk0} ${size}`);
    }
  };
  for (const line of opsText.split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const f = line.split(" ");
    switch (f[0]) {
      case "m": record(+f[1], libc.malloc(+f[2])); break;
      case "c": record(+f[1], libc.calloc(+f[2], +f[3])); break;
      case "a": record(+f[1], libc.memalign(+f[2], +f[3])); break;
      case "r": record(+f[1], libc.realloc(f[2] === "-" ? 0 : ptrs[+f[2]], +f[3])); break;
      case "f": libc.free(ptrs[+f[1]]); frees++; break;
      // the scenarios' extensions (oracle/scenarios/README.md): mallopt, malloc_trim, malloc_info
      case "o": out.push(`# mallopt ${f[1]} ${f[2]} => ${libc.mallopt(mallopt_param(f[1]), +f[2])}`); break;
      case "t": out.push(`# malloc_trim ${f[1]} => ${libc.malloc_trim(+f[1])}`); break;
      case "i":
        out.push("# malloc_info:");
        for (const l of libc.malloc_info().split("\n")) if (l) out.push(`# ${l}`);
        break;
      default: throw new Error(`unknown op: ${line}`);
    }
    nops++;
    const delta = p.curBrk() - brk0;
    if (delta > maxBrk) maxBrk = delta;
    if (checkpointEvery > 0 && nops % checkpointEvery === 0) out.push(`# op=${nops} brk=${delta} ${mi()}`);
  }
  if (!withSummary) return out;
  out.push(`# end ops=${nops} allocs=${allocs} frees=${frees} mmapped_allocs=${mmapped} errors=0`);
  out.push(`# brk_delta=${p.curBrk() - brk0} max_brk_delta=${maxBrk}`);
  out.push(`# mallinfo2 ${mi()}`);
  out.push("# malloc_stats:");
  for (const l of libc.malloc_stats().split("\n")) if (l) out.push(`# ${l}`);
  return out;
}
