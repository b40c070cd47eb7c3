// What the page shows at a step: the process there (from the timeline: replayed from the nearest
// checkpoint, never from a dead process) and everything read from it through the public API and
// host/inspect. Reading costs little and changes nothing: the inspector reads proc.memory raw.

import type { Mallinfo2, Process, Status } from "../../host/index.js";
import { inspectHeap, type HeapSnapshot } from "../../host/inspect/index.js";
import type { Vars } from "./program.js";
import type { Statement } from "./statements.js";
import { type Death, Timeline } from "./timeline.js";
import type { Arch } from "./words.js";

export type { Death } from "./timeline.js";

export interface View {
  seed: number;
  arch: Arch;
  /** An address as the page prints it: 0x and 8 hex digits on i386, 12 on x86_64. */
  hex(n: number): string;
  /** Statements run (the step). */
  step: number;
  /** What statement i returned, for i < step (and the fatal one: see death). */
  result(i: number): string;
  death: Death | null;
  /** The process as it was after `step` statements, or just before the one that killed it. */
  proc: Process;
  vars: Vars;
  maps: string;
  status: Status;
  mallinfo: Mallinfo2;
  mallocStats: string;
  brk: number;
  /** mincore of each VMA, by start address. */
  residency: Map<number, Uint8Array>;
  heap: HeapSnapshot;
  faults: number;
}

/** The view after `step` statements (or at the death of the process, if it comes first). */
export async function viewOf(timeline: Timeline, step: number): Promise<View> {
  const run = await timeline.at(step);
  const death = timeline.death !== null && step > timeline.death.at ? timeline.death : null;
  const proc = run.proc;
  const maps = proc.maps();
  const residency = new Map<number, Uint8Array>();
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const end = parseInt(m[2], 16);
    // x86_64's [vsyscall] lies above the address space (mincore refuses it, as on Linux)
    if (!Number.isSafeInteger(end)) continue;
    const vec = new Uint8Array((end - start) / 4096);
    if (proc.sys.mincore(start, end - start, vec) === 0) residency.set(start, vec);
  }
  const program = timeline.program;
  const words = program.words;
  return {
    seed: timeline.seed,
    arch: timeline.arch,
    hex: words.hex,
    step: death ? death.at + 1 : run.step,
    result: (i) => program.resultText(i),
    death,
    proc,
    vars: program.vars(run.slots.slice()),
    maps,
    status: proc.status(),
    mallinfo: proc.mallinfo2(),
    mallocStats: proc.malloc_stats(),
    brk: words.wrap(proc.sbrk(0)),
    residency,
    heap: inspectHeap(proc, maps),
    faults: proc.faults.minor,
  };
}

/** The view after `step` statements of a session on its own timeline (for tests and one-off looks). */
export async function viewAt(statements: readonly Statement[], step: number, seed: number, arch: Arch = "i386"): Promise<View> {
  const timeline = new Timeline(statements, seed, arch);
  try {
    return await viewOf(timeline, step);
  } finally {
    timeline.close();
  }
}
