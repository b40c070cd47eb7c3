// Replaying an op list on a process, through the public API only, and writing the result in the
// replay output format of the C oracle (oracle/replay/replay.c), so that the two compare line by
// line. The format:
//
//   # replay glibc=2.36 sizeof_size_t=4 brk0_page_offset=P brk_untouched_before_first_op=yes ids=N malloc_env=none
//       P: the initial break modulo 4096; "yes": nothing had moved the break before the first op;
//       N: the number of IDs; malloc_env: MALLOC_* / GLIBC_TUNABLES settings ("none");
//       " align_break=A" is appended when the break was first moved to a multiple of A
//   ID OFFSET CHUNK     one line per allocating op, in op order: a block in the brk heap;
//                       OFFSET = pointer − initial break, CHUNK = size field (at pointer − 4) & ~7
//   ID M CHUNK          a block glibc mmapped (IS_MMAPPED set); no address, it depends on the
//                       layout; on i386 CHUNK = mmap length − 8
//   ID N                NULL
//   # op=K brk=DELTA arena=.. ordblks=.. smblks=.. hblks=.. hblkhd=.. usmblks=.. fsmblks=.. uordblks=.. fordblks=.. keepcost=..
//                       after every `checkpointEvery`-th op: break − initial break, mallinfo2()
//   # mallopt PARAM VALUE => RET     # malloc_trim PAD => RET     (extension ops o, t)
//   # malloc_info:                   then the XML, each line prefixed with "# "  (extension op i)
//   # end ops=.. allocs=.. frees=.. mmapped_allocs=.. errors=..
//                       errors: ops on an ID that was not live (skipped)
//   # brk_delta=FINAL max_brk_delta=MAX
//   # mallinfo2 arena=.. …
//   # malloc_stats:
//   # Arena 0: …        malloc_stats() text, each line prefixed with "# "

import type { Mallinfo2 } from "../libc.js";
import { parseTrace } from "./mtrace.js";
import { NO_ID, Op, type OpList } from "./ops.js";

/** What replay needs from a process: a subset of the public API (Process satisfies it). */
export interface ReplayTarget {
  readonly memory: WebAssembly.Memory;
  malloc(size: number): number;
  calloc(nmemb: number, size: number): number;
  memalign(alignment: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  mallopt(param: number, value: number): number;
  malloc_trim(pad: number): number;
  mallinfo2(): Mallinfo2;
  malloc_stats(): string;
  malloc_info(): string;
  sbrk(increment: number): number;
  maps(): string;
}

export interface ReplayOptions {
  /** mallinfo2() and the break every this many ops (0: never). Default 10000, as the oracle. */
  checkpointEvery?: number;
  /** Time every op (performance.now around each call). Default true. */
  timings?: boolean;
  /**
   * Before the first op, move the break up to a multiple of this power of two (with sbrk) and
   * take offsets from there, as the oracle's `replay -a ALIGN` does: blocks aligned to more than
   * a page then land at offsets that do not depend on where ASLR put the break. Default 0 (no).
   */
  alignBreak?: number;
}

export interface ReplayNote {
  /** How many ID lines come before this note in the output. */
  afterIds: number;
  text: string;
}

export interface ReplayResult {
  /** Ops replayed, IDs created. */
  ops: number;
  ids: number;
  /** The break before the first op (the origin of every OFFSET). */
  brk0: number;
  /** No [heap] existed before the first op (the break had not moved). */
  brkUntouched: boolean;
  /** The alignBreak option (0 when not used). */
  alignBreak: number;
  /** Per ID: the address returned (0 for NULL), and the raw size field at address − 4. */
  addr: Uint32Array;
  sizeField: Uint32Array;
  /** Per ID: 1 if the op ran (0 when its OLDID was dead: an error, no output line). */
  made: Uint8Array;
  /** Per op: nanoseconds spent in the call (when timings are on). */
  opNanos: Float64Array | null;
  /** Total wall time of the ops, in milliseconds (checkpoints excluded). */
  elapsedMs: number;
  frees: number;
  errors: number;
  mmappedAllocs: number;
  brkDelta: number;
  maxBrkDelta: number;
  /** Checkpoints and extension-op results, in output order. */
  notes: ReplayNote[];
  mallinfo2: Mallinfo2;
  mallocStats: string;
}

const IS_MMAPPED = 2;
const SIZE_BITS = 7;

/** The mallinfo2 fields as the oracle prints them. */
export function formatMallinfo2(m: Mallinfo2): string {
  return (
    `arena=${m.arena} ordblks=${m.ordblks} smblks=${m.smblks} hblks=${m.hblks} hblkhd=${m.hblkhd} ` +
    `usmblks=${m.usmblks} fsmblks=${m.fsmblks} uordblks=${m.uordblks} fordblks=${m.fordblks} keepcost=${m.keepcost}`
  );
}

/**
 * Runs every op of `trace` on `proc` (a fresh process, for results comparable with the oracle).
 * `trace` is a parsed op list, or the text (or UTF-8 bytes) of an op list or of a glibc mtrace log.
 * Errors of the process (ProcessAbort, ProcessKilled) propagate unchanged. An op on an ID that is
 * not live is skipped and counted in `errors`, as the oracle does.
 */
export function replay(proc: ReplayTarget, input: OpList | string | Uint8Array, options: ReplayOptions = {}): ReplayResult {
  const trace = typeof input === "string" || input instanceof Uint8Array ? parseTrace(input) : input;
  const every = options.checkpointEvery ?? 10000;
  const timed = options.timings ?? true;
  const { kind, a, b, c } = trace;
  const n = trace.length;
  const ids = trace.ids;
  const addr = new Uint32Array(ids);
  const sizeField = new Uint32Array(ids);
  const made = new Uint8Array(ids);
  const live = new Uint8Array(ids); // 1 while the block is live
  const opNanos = timed ? new Float64Array(n) : null;
  const notes: ReplayNote[] = [];

  const brkUntouched = !/\[heap\]/.test(proc.maps());
  const alignBreak = options.alignBreak ?? 0;
  if (alignBreak > 0) {
    if (!Number.isInteger(alignBreak) || (alignBreak & (alignBreak - 1)) !== 0) {
      throw new RangeError(`replay: alignBreak must be a power of two, not ${alignBreak}`);
    }
    const cur = proc.sbrk(0) >>> 0;
    const aligned = Math.ceil(cur / alignBreak) * alignBreak;
    if (aligned !== cur && proc.sbrk(aligned - cur) === -1) throw new Error("replay: cannot align the break");
  }
  const brk0 = proc.sbrk(0) >>> 0;
  let maxBrkDelta = 0;
  let frees = 0, errors = 0, mmapped = 0, madeCount = 0;
  let buffer = proc.memory.buffer;
  let view = new DataView(buffer);
  const now = () => performance.now();
  let elapsed = 0;

  const record = (id: number, p: number) => {
    p = p >>> 0;
    addr[id] = p;
    made[id] = 1;
    live[id] = 1;
    madeCount++;
    if (p !== 0) {
      if (proc.memory.buffer !== buffer) {
        buffer = proc.memory.buffer;
        view = new DataView(buffer);
      }
      const field = view.getUint32(p - 4, true);
      sizeField[id] = field;
      if (field & IS_MMAPPED) mmapped++;
    }
  };

  for (let i = 0; i < n; i++) {
    const k = kind[i];
    const t0 = timed ? now() : 0;
    let t1 = 0;
    switch (k) {
      case Op.MALLOC: {
        const p = proc.malloc(b[i]);
        if (timed) t1 = now();
        record(a[i], p);
        break;
      }
      case Op.CALLOC: {
        const p = proc.calloc(b[i], c[i]);
        if (timed) t1 = now();
        record(a[i], p);
        break;
      }
      case Op.MEMALIGN: {
        const p = proc.memalign(b[i], c[i]);
        if (timed) t1 = now();
        record(a[i], p);
        break;
      }
      case Op.REALLOC: {
        const old = b[i];
        if (old !== NO_ID && (old >= ids || live[old] === 0)) {
          errors++;
          if (timed) t1 = now();
          break;
        }
        let oldPtr = 0;
        if (old !== NO_ID) {
          oldPtr = addr[old];
          live[old] = 0;
        }
        const p = proc.realloc(oldPtr, c[i]);
        if (timed) t1 = now();
        record(a[i], p);
        break;
      }
      case Op.FREE: {
        frees++;
        const id = a[i];
        if (id >= ids || live[id] === 0) {
          errors++;
          if (timed) t1 = now();
          break;
        }
        proc.free(addr[id]);
        if (timed) t1 = now();
        live[id] = 0;
        break;
      }
      case Op.MALLOPT: {
        const ret = proc.mallopt(a[i] | 0, b[i] | 0);
        if (timed) t1 = now();
        const param = trace.paramText.get(i) ?? String(a[i] | 0);
        notes.push({ afterIds: madeCount, text: `# mallopt ${param} ${b[i] | 0} => ${ret}` });
        break;
      }
      case Op.TRIM: {
        const ret = proc.malloc_trim(b[i]);
        if (timed) t1 = now();
        notes.push({ afterIds: madeCount, text: `# malloc_trim ${b[i]} => ${ret}` });
        break;
      }
      case Op.INFO: {
        const xml = proc.malloc_info();
        if (timed) t1 = now();
        notes.push({ afterIds: madeCount, text: `# malloc_info:\n${prefixLines(xml)}` });
        break;
      }
    }
    if (timed) {
      const dt = t1 - t0;
      opNanos![i] = dt * 1e6;
      elapsed += dt;
    }
    const delta = (proc.sbrk(0) >>> 0) - brk0;
    if (delta > maxBrkDelta) maxBrkDelta = delta;
    if (every > 0 && (i + 1) % every === 0) {
      notes.push({ afterIds: madeCount, text: `# op=${i + 1} brk=${delta} ${formatMallinfo2(proc.mallinfo2())}` });
    }
  }

  return {
    ops: n,
    ids,
    brk0,
    brkUntouched,
    alignBreak,
    addr,
    sizeField,
    made,
    opNanos,
    elapsedMs: elapsed,
    frees,
    errors,
    mmappedAllocs: mmapped,
    brkDelta: (proc.sbrk(0) >>> 0) - brk0,
    maxBrkDelta,
    notes,
    mallinfo2: proc.mallinfo2(),
    mallocStats: proc.malloc_stats(),
  };
}

/** Each line of `text` prefixed with "# " (a final newline ends the last line, it adds none). */
function prefixLines(text: string): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  return body === "" ? "" : body.split("\n").map((line) => `# ${line}`).join("\n");
}

/** The line of one ID, as the oracle prints it ("" if the op did not run). */
export function formatReplayLine(result: ReplayResult, id: number): string {
  if (!result.made[id]) return "";
  const p = result.addr[id];
  if (p === 0) return `${id} N`;
  const field = result.sizeField[id];
  const chunk = (field & ~SIZE_BITS) >>> 0;
  return field & IS_MMAPPED ? `${id} M ${chunk}` : `${id} ${p - result.brk0} ${chunk}`;
}

/** The whole replay output, in the format of the C oracle (same `checkpointEvery`). */
export function formatReplay(result: ReplayResult): string {
  const out: string[] = [
    `# replay glibc=2.36 sizeof_size_t=4 brk0_page_offset=${result.brk0 & 4095} ` +
      `brk_untouched_before_first_op=${result.brkUntouched ? "yes" : "no"} ids=${result.ids} malloc_env=none` +
      (result.alignBreak > 0 ? ` align_break=${result.alignBreak}` : ""),
  ];
  let made = 0;
  let note = 0;
  const notes = result.notes;
  for (let id = 0; id < result.ids; id++) {
    while (note < notes.length && notes[note].afterIds <= made) out.push(notes[note++].text);
    if (result.made[id]) {
      out.push(formatReplayLine(result, id));
      made++;
    }
  }
  while (note < notes.length) out.push(notes[note++].text);
  out.push(
    `# end ops=${result.ops} allocs=${result.ids} frees=${result.frees} mmapped_allocs=${result.mmappedAllocs} errors=${result.errors}`,
  );
  out.push(`# brk_delta=${result.brkDelta} max_brk_delta=${result.maxBrkDelta}`);
  out.push(`# mallinfo2 ${formatMallinfo2(result.mallinfo2)}`);
  out.push("# malloc_stats:");
  const stats = prefixLines(result.mallocStats);
  if (stats !== "") out.push(stats);
  return out.join("\n") + "\n";
}

export interface ReplayDifference {
  /** 1-based line number. */
  line: number;
  expected: string | undefined;
  actual: string | undefined;
}

/** The first line where two replay outputs differ, or null if they are identical. */
export function firstDifference(expected: string, actual: string): ReplayDifference | null {
  if (expected === actual) return null;
  const e = expected.split("\n");
  const a = actual.split("\n");
  const n = Math.max(e.length, a.length);
  for (let i = 0; i < n; i++) {
    if (e[i] !== a[i]) return { line: i + 1, expected: e[i], actual: a[i] };
  }
  return null;
}
