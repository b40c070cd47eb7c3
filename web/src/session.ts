// A session is a list of statements; the explorer shows the process "after N statements". Every
// view is rebuilt by replaying from a fresh process with the same seed (same seed + same calls ⇒
// same addresses), so stepping back is as exact as stepping forward, and a step where the
// process died can be left for an earlier one where it is alive again.

import {
  createProcess, ProcessAbort, ProcessKilled, SegmentationFault, type Mallinfo2, type Process, type Status,
} from "../../host/index.js";
import * as C from "../../host/index.js";
import { inspectHeap, type HeapSnapshot } from "../../host/inspect/index.js";
import { evaluate, StatementError, type Statement } from "./statements.js";

export interface Death {
  state: "aborted" | "killed";
  signal: string;
  message: string;
  /** Index of the statement that ended the process. */
  at: number;
}

export interface View {
  seed: number;
  /** Statements run (the step). */
  step: number;
  /** What each statement run returned, as text. */
  results: string[];
  death: Death | null;
  /** The process as it was after `step` statements, or just before the one that killed it. */
  proc: Process;
  vars: Map<string, number>;
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

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(C).filter(([k, v]) => /^E[A-Z]+$/.test(k) && typeof v === "number").map(([k, v]) => [v as number, k]),
);
const errnoName = (e: number) => ERRNO_NAMES.get(e) ?? `errno ${e}`;
/** A raw syscall's result: an address, or -errno. */
const sysResult = (r: number) => (r < 0 ? `-${errnoName(-r)}` : hex(r));

/** Runs one statement; returns its result as text. Throws what the process throws. */
export function runStatement(proc: Process, vars: Map<string, number>, s: Statement): string {
  if (s.kind === "store") {
    const addr = evaluate(s.addr, vars);
    const v = evaluate(s.value, vars);
    proc.write(addr, [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]);
    return `${hex(addr)} ← ${hex(v)}`;
  }
  const a = s.args.map((e) => evaluate(e, vars));
  const ptr = (r: number) => (r === 0 ? `NULL (errno ${errnoName(proc.errno)})` : hex(r));
  let value: number | null = null;
  let text: string;
  switch (s.fn) {
    case "malloc": value = proc.malloc(a[0]); text = ptr(value); break;
    case "calloc": value = proc.calloc(a[0], a[1]); text = ptr(value); break;
    case "realloc": value = proc.realloc(a[0], a[1]); text = ptr(value); break;
    case "reallocarray": value = proc.reallocarray(a[0], a[1], a[2]); text = ptr(value); break;
    case "memalign": value = proc.memalign(a[0], a[1]); text = ptr(value); break;
    case "aligned_alloc": value = proc.aligned_alloc(a[0], a[1]); text = ptr(value); break;
    case "valloc": value = proc.valloc(a[0]); text = ptr(value); break;
    case "pvalloc": value = proc.pvalloc(a[0]); text = ptr(value); break;
    case "free": proc.free(a[0]); text = "done"; break;
    case "malloc_usable_size": value = proc.malloc_usable_size(a[0]); text = String(value); break;
    case "malloc_trim": value = proc.malloc_trim(a[0]); text = value ? "1 (memory released)" : "0"; break;
    case "mallopt": value = proc.mallopt(a[0] | 0, a[1] | 0); text = String(value); break;
    case "malloc_info": text = `${proc.malloc_info().length} bytes of XML`; break;
    case "mmap": value = proc.sys.mmap(a[0], a[1], a[2], a[3], a[4] | 0, a[5]); text = sysResult(value); break;
    case "munmap": value = proc.sys.munmap(a[0], a[1]); text = sysResult(value); break;
    case "mprotect": value = proc.sys.mprotect(a[0], a[1], a[2]); text = sysResult(value); break;
    case "madvise": value = proc.sys.madvise(a[0], a[1], a[2]); text = sysResult(value); break;
    case "brk": value = proc.sys.brk(a[0]); text = `break ${hex(value)}`; break;
    case "sbrk": {
      value = proc.sbrk(a[0] | 0);
      text = value === -1 ? `-1 (${errnoName(proc.errno)})` : `${hex(value)} (the old break)`;
      break;
    }
    default: throw new StatementError(`unknown function ${s.fn}`);
  }
  if (s.target !== null) vars.set(s.target, (value ?? 0) >>> 0);
  return text;
}

function deathOf(err: unknown, at: number): Death | null {
  if (err instanceof ProcessAbort) return { state: "aborted", signal: "SIGABRT", message: err.message, at };
  if (err instanceof SegmentationFault) return { state: "killed", signal: "SIGSEGV", message: err.message, at };
  if (err instanceof ProcessKilled) return { state: "killed", signal: "SIGKILL", message: err.message, at };
  return null;
}

interface Run {
  statements: readonly Statement[];
  seed: number;
  proc: Process;
  vars: Map<string, number>;
  results: string[];
  death: Death | null;
}

/**
 * The last living run, kept so that a step forward runs one statement instead of replaying the
 * session (replay is exact but costs time proportional to the step). Reused only for the same
 * seed and the very same statements (by identity) up to where it stands.
 */
let live: Run | null = null;

function continues(run: Run | null, statements: readonly Statement[], count: number, seed: number): run is Run {
  if (run === null || run.seed !== seed || run.death !== null || run.results.length > count) return false;
  for (let i = 0; i < run.results.length; i++) if (run.statements[i] !== statements[i]) return false;
  return true;
}

async function replay(statements: readonly Statement[], count: number, seed: number): Promise<Run> {
  const run: Run = continues(live, statements, count, seed)
    ? { ...live!, statements }
    : { statements, seed, proc: await createProcess({ seed }), vars: new Map(), results: [], death: null };
  live = null;
  for (let i = run.results.length; i < count; i++) {
    try {
      run.results.push(runStatement(run.proc, run.vars, statements[i]));
    } catch (err) {
      const death = deathOf(err, i);
      if (death === null) {
        if (err instanceof StatementError) throw new StatementError(`statement ${i + 1}: ${err.message}`);
        throw err;
      }
      run.death = death;
      return run;
    }
  }
  live = run;
  return run;
}

/** The view after `step` statements (or at the death of the process, if it comes first). */
export async function viewAt(statements: readonly Statement[], step: number, seed: number): Promise<View> {
  const n = Math.max(0, Math.min(step, statements.length));
  let run = await replay(statements, n, seed);
  const death = run.death;
  if (death !== null) {
    // The dead process answers nothing: show the one replayed up to just before the fatal call.
    const before = await replay(statements, death.at, seed);
    run = { ...before, results: run.results, death };
  }
  const proc = run.proc;
  const maps = proc.maps();
  const residency = new Map<number, Uint8Array>();
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16), end = parseInt(m[2], 16);
    const vec = new Uint8Array((end - start) / 4096);
    if (proc.sys.mincore(start, end - start, vec) === 0) residency.set(start, vec);
  }
  return {
    seed, step: death ? death.at + 1 : n, results: run.results.slice(), death, proc, vars: new Map(run.vars), maps,
    status: proc.status(), mallinfo: proc.mallinfo2(), mallocStats: proc.malloc_stats(), brk: proc.sbrk(0) >>> 0,
    residency, heap: inspectHeap(proc, maps), faults: proc.faults.minor,
  };
}
