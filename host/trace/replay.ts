// Replaying a whole op list on a process, and writing the result in the replay output format of
// the C oracle (oracle/replay/replay.c), so that the two compare line by line. The format:
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
//
// Streaming replay (stream.ts) writes the same text with the same ReplayWriter.
//
// An op list with thread lines (T, E) is written in the format of the threads oracle
// (oracle/threads/replay-threads.c; oracle/threads/README.md), by ThreadsReplayWriter:
//
//   # replay-threads scenario=NAME glibc=2.36 sizeof_size_t=4 nprocs=N stack_rlimit=S brk0_page_offset=P ids=K malloc_env=none
//   ID 0 0 OFFSET CHUNK  a block of the main arena (OFFSET from the initial break)
//   ID A H OFFSET CHUNK  a block of non-main arena A (1, 2, … by first appearance), heap H of its
//                        chain (0: the heap holding the arena), OFFSET from that heap's start
//   ID M CHUNK / ID N    mmapped / NULL
//   # thread T created, stack new | # thread T created, stack cached from thread K
//   # thread T exited and joined
//   checkpoints, mallopt, malloc_trim and malloc_info lines as above (a checkpoint every op by default)
//   # end ops=.. allocs=.. frees=.. mmapped_allocs=.. errors=.. threads=.. live_threads=.. arenas_seen=..
//   # brk_delta=FINAL
//   # mallinfo2 …, # malloc_stats: …   as above

import type { Mallinfo2 } from "../libc.js";
import { ByteWriter } from "./bytewriter.js";
import { parseTrace } from "./mtrace.js";
import type { OpList } from "./ops.js";
import { formatMallinfo2, hasThreadLines, prefixLines, Replayer, type ReplayEvents, type ReplayOptions, type ReplayTarget } from "./replayer.js";

export { formatMallinfo2 } from "./replayer.js";
export type { ReplayOptions, ReplayTarget } from "./replayer.js";

/** A `#` line of the replay output other than the header and the end lines. */
export interface ReplayNote {
  /** How many ID lines come before this note in the output. */
  afterIds: number;
  /** The line (or lines) without the leading `# `: a checkpoint, a mallopt or malloc_trim result, malloc_info's XML. */
  text: string;
}

/** What replay() returns: per ID the address glibc gave, and the summary of the run. */
export interface ReplayResult {
  /** Ops replayed (comment lines not counted). */
  ops: number;
  /** IDs created: allocating ops (m c a r R A P v V), NULL results included. */
  ids: number;
  /** The break before the first op (the origin of every OFFSET). */
  brk0: number;
  /** No [heap] existed before the first op (the break had not moved). */
  brkUntouched: boolean;
  /** The alignBreak option (0 when not used). */
  alignBreak: number;
  /** sizeof(size_t) of the process: 4 (i386) or 8 (x86_64), as the output's header says. */
  sizeofSizeT: 4 | 8;
  /**
   * Per ID: the address returned (0 for NULL). i386: a Uint32Array, each address a byte offset
   * into `proc.memory.buffer`; x86_64: a Float64Array of virtual addresses (proc.offsetOf).
   */
  addr: Uint32Array | Float64Array;
  /** Per ID: the raw size field at address − sizeofSizeT (flag bits included: 2 is IS_MMAPPED); 0 for NULL. */
  sizeField: Uint32Array | Float64Array;
  /** Per ID: 1 if the op ran (0 when its OLDID was dead: an error, no output line). */
  made: Uint8Array;
  /** Per op: nanoseconds spent in the call (when timings are on). */
  opNanos: Float64Array | null;
  /** Total wall time of the ops, in milliseconds (checkpoints excluded; 0 without timings). */
  elapsedMs: number;
  /** `f` ops that ran (free(NULL) included), and reallocs that freed their old block (size 0). */
  frees: number;
  /** Ops skipped because they named an ID that was not live (the C replayer skips them too). */
  errors: number;
  /** Blocks glibc served with their own mmap. */
  mmappedAllocs: number;
  /** The break at the end minus `brk0`, in bytes. */
  brkDelta: number;
  /** The largest break minus `brk0` seen after any op, in bytes. */
  maxBrkDelta: number;
  /** Checkpoints and extension-op results, in output order. */
  notes: ReplayNote[];
  /** glibc's mallinfo2() at the end (bytes and counts). */
  mallinfo2: Mallinfo2;
  /** glibc's malloc_stats() text at the end, as it writes it to stderr. */
  mallocStats: string;
  /** In the threads oracle's format (the list had thread lines, or the threads option): what it adds; else null. */
  threads: ThreadsReplay | null;
}

/** What the threads oracle's format adds to a replay's result. */
export interface ThreadsReplay {
  /** The scenario's name in the header. */
  scenario: string;
  /** What get_nprocs() returned. */
  nprocs: number;
  /** RLIMIT_STACK's soft limit at the start (-1: unlimited). */
  stackRlimit: number;
  /** Per ID: the arena label of its block (0: the main arena, or mmapped, or NULL; 1, 2, …: by first appearance). */
  arena: Uint32Array;
  /** Per ID: for a block of a non-main arena, its heap's place in the arena's chain (0: the first heap). */
  heap: Uint32Array;
  /** Per ID: for a block of a non-main arena, its offset from its heap's start. */
  heapOffset: Uint32Array;
  /** Threads created. */
  created: number;
  /** Threads created and not exited at the end. */
  live: number;
  /** Arenas that held a block, the main arena included. */
  arenasSeen: number;
}

const IS_MMAPPED = 2;
/** A size field's chunk size: its three flag bits taken off, by arithmetic (64-bit fields too). */
const chunkSize = (field: number): number => field - (field % 8);
const NL = 10;
const SPACE = 32;

/** Writes v (a non-negative integer) in decimal at buf[n]; returns the position after it. */
function writeDecimal(buf: Uint8Array, n: number, v: number): number {
  if (v >= 4294967296) {
    const text = String(v);
    for (let i = 0; i < text.length; i++) buf[n + i] = text.charCodeAt(i);
    return n + text.length;
  }
  if (v < 10) {
    buf[n] = 48 + v;
    return n + 1;
  }
  const digits = v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
  let p = n + digits;
  while (v >= 10) {
    const q = (v / 10) >>> 0;
    buf[--p] = 48 + (v - q * 10);
    v = q;
  }
  buf[--p] = 48 + v;
  return n + digits;
}

/**
 * Runs every op of `trace` on `proc` (a fresh process, for results comparable with the oracle).
 * `trace` is a parsed op list, or the text (or UTF-8 bytes) of an op list or of a glibc mtrace log.
 * Errors of the process (ProcessAbort, ProcessKilled, SegmentationFault, ProcessHang) propagate
 * unchanged, as do OpsSyntaxError and MtraceSyntaxError for text that is not a trace. An op
 * on an ID that is not live is skipped and counted in `errors`, as the oracle does (or throws a
 * ReplayOpError with `badIds: "throw"`). For inputs too large to hold, see replayStream.
 */
export function replay(proc: ReplayTarget, input: OpList | string | Uint8Array, options: ReplayOptions = {}): ReplayResult {
  const trace = typeof input === "string" || input instanceof Uint8Array ? parseTrace(input) : input;
  const ids = trace.ids;
  const engine = new Replayer(proc, options);
  const addr = engine.wide ? new Float64Array(ids) : new Uint32Array(ids);
  const sizeField = engine.wide ? new Float64Array(ids) : new Uint32Array(ids);
  const made = new Uint8Array(ids);
  const notes: ReplayNote[] = [];
  let madeCount = 0;
  if (options.threads ?? hasThreadLines(trace)) engine.useThreads();
  const threaded = engine.threaded;
  const arena = new Uint32Array(threaded ? ids : 0);
  const heap = new Uint32Array(threaded ? ids : 0);
  const heapOffset = new Uint32Array(threaded ? ids : 0);
  if (engine.timingsRequested) engine.opNanos = new Float64Array(trace.length);
  engine.run(trace, {
    block(id, p, field) {
      addr[id] = p;
      sizeField[id] = field;
      made[id] = 1;
      madeCount++;
    },
    arenaBlock(id, p, field, a, h, offset) {
      addr[id] = p;
      sizeField[id] = field;
      made[id] = 1;
      madeCount++;
      arena[id] = a;
      heap[id] = h;
      heapOffset[id] = offset;
    },
    note(text) {
      notes.push({ afterIds: madeCount, text });
    },
  });
  return {
    ops: engine.ops,
    ids,
    sizeofSizeT: engine.wide ? 8 : 4,
    brk0: engine.brk0,
    brkUntouched: engine.brkUntouched,
    alignBreak: engine.alignBreak,
    addr,
    sizeField,
    made,
    opNanos: engine.opNanos,
    elapsedMs: engine.elapsedMs,
    frees: engine.frees,
    errors: engine.errors,
    mmappedAllocs: engine.mmappedAllocs,
    brkDelta: engine.brkDelta(),
    maxBrkDelta: engine.maxBrkDelta,
    notes,
    mallinfo2: proc.mallinfo2(),
    mallocStats: proc.malloc_stats(),
    threads: threaded
      ? {
          scenario: engine.scenario,
          nprocs: proc.nprocs ?? 2,
          stackRlimit: engine.stackRlimit,
          arena,
          heap,
          heapOffset,
          created: engine.threadsCreated,
          live: engine.liveThreads,
          arenasSeen: engine.arenasSeen,
        }
      : null,
  };
}

/** What the output's header and end lines say. */
export interface ReplaySummaryLines {
  /** Ops replayed (comment lines not counted). */
  ops: number;
  /** IDs: allocating ops (m c a r R A P v V), NULL results included. */
  ids: number;
  /** `f` ops that ran (free(NULL) included), and reallocs that freed their old block (size 0). */
  frees: number;
  /** Ops skipped because they named an ID that was not live (the C replayer skips them too). */
  errors: number;
  /** Blocks glibc served with their own mmap (the output's `ID M CHUNK` lines). */
  mmappedAllocs: number;
  /** The break at the end minus the initial break, in bytes (negative when trimmed below it). */
  brkDelta: number;
  /** The largest break minus the initial break seen after any op, in bytes. */
  maxBrkDelta: number;
  /** glibc's mallinfo2() at the end (bytes and counts). */
  mallinfo2: Mallinfo2;
  /** glibc's malloc_stats() text at the end, as it writes it to stderr. */
  mallocStats: string;
}

/** Writes replay output as bytes: the header, one line per block and the notes, the end lines. */
export class ReplayWriter implements ReplayEvents {
  constructor(
    readonly out: ByteWriter,
    readonly brk0: number,
    /** sizeof(size_t): 8 in an x86_64 process, whose size fields hold more than 32 bits. */
    readonly sizeofSizeT: 4 | 8 = 4,
  ) {}

  /** `ids`: the number of IDs (undefined prints `ids=?`: a stream whose length is not known). */
  header(brkUntouched: boolean, ids: number | undefined, alignBreak: number): void {
    this.out.ascii(
      `# replay glibc=2.36 sizeof_size_t=${this.sizeofSizeT} brk0_page_offset=${this.brk0 % 4096} ` +
        `brk_untouched_before_first_op=${brkUntouched ? "yes" : "no"} ids=${ids ?? "?"} malloc_env=none` +
        (alignBreak > 0 ? ` align_break=${alignBreak}` : "") +
        "\n",
    );
  }

  block(id: number, p: number, field: number): void {
    const out = this.out;
    if (out.n + 60 > out.buf.length) out.flush();
    const buf = out.buf;
    let n = writeDecimal(buf, out.n, id);
    buf[n++] = SPACE;
    if (p === 0) {
      buf[n++] = 78; // N
    } else {
      if (field & IS_MMAPPED) {
        buf[n++] = 77; // M
      } else {
        const offset = p - this.brk0; // below the initial break only after an `s` op moved it down
        if (offset < 0) buf[n++] = 45; // -
        n = writeDecimal(buf, n, Math.abs(offset));
      }
      buf[n++] = SPACE;
      n = writeDecimal(buf, n, chunkSize(field));
    }
    buf[n++] = NL;
    out.n = n;
  }

  note(text: string): void {
    this.out.ascii(text).byte(NL);
  }

  end(r: ReplaySummaryLines): void {
    this.out.ascii(
      `# end ops=${r.ops} allocs=${r.ids} frees=${r.frees} mmapped_allocs=${r.mmappedAllocs} errors=${r.errors}\n` +
        `# brk_delta=${r.brkDelta} max_brk_delta=${r.maxBrkDelta}\n` +
        `# mallinfo2 ${formatMallinfo2(r.mallinfo2)}\n` +
        "# malloc_stats:\n",
    );
    const stats = prefixLines(r.mallocStats);
    if (stats !== "") this.out.ascii(stats).byte(NL);
  }
}

/** What the threads oracle's header and end lines add to the single-thread ones. */
export interface ThreadsSummary {
  /** Threads created. */
  created: number;
  /** Threads created and not exited at the end. */
  live: number;
  /** Arenas that held a block, the main arena included. */
  arenasSeen: number;
}

/**
 * The threads oracle's header line (with its newline). `ids` undefined prints `ids=?`;
 * `sizeofSizeT` is 8 for an x86_64 process.
 */
export function threadsHeader(scenario: string, nprocs: number, stackRlimit: number, brk0: number, ids: number | undefined, sizeofSizeT = 4): string {
  return (
    `# replay-threads scenario=${scenario} glibc=2.36 sizeof_size_t=${sizeofSizeT} nprocs=${nprocs} stack_rlimit=${stackRlimit} ` +
    `brk0_page_offset=${brk0 % 4096} ids=${ids ?? "?"} malloc_env=none\n`
  );
}

/** Writes replay output in the threads oracle's format (the header is threadsHeader's). */
export class ThreadsReplayWriter implements ReplayEvents {
  constructor(
    readonly out: ByteWriter,
    readonly brk0: number,
  ) {}

  /** A block of the main arena (`ID 0 0 OFFSET CHUNK`), mmapped (`ID M CHUNK`) or NULL (`ID N`). */
  block(id: number, p: number, field: number): void {
    // the flag bits off by arithmetic: an x86_64 size field may pass 2^32
    const chunk = chunkSize(field);
    this.out.ascii(p === 0 ? `${id} N\n` : field & IS_MMAPPED ? `${id} M ${chunk}\n` : `${id} 0 0 ${p - this.brk0} ${chunk}\n`);
  }

  arenaBlock(id: number, _p: number, field: number, arena: number, heap: number, heapOffset: number): void {
    this.out.ascii(`${id} ${arena} ${heap} ${heapOffset} ${chunkSize(field)}\n`);
  }

  note(text: string): void {
    this.out.ascii(text).byte(NL);
  }

  end(r: ReplaySummaryLines, t: ThreadsSummary): void {
    this.out.ascii(
      `# end ops=${r.ops} allocs=${r.ids} frees=${r.frees} mmapped_allocs=${r.mmappedAllocs} errors=${r.errors} ` +
        `threads=${t.created} live_threads=${t.live} arenas_seen=${t.arenasSeen}\n` +
        `# brk_delta=${r.brkDelta}\n` +
        `# mallinfo2 ${formatMallinfo2(r.mallinfo2)}\n` +
        "# malloc_stats:\n",
    );
    const stats = prefixLines(r.mallocStats);
    if (stats !== "") this.out.ascii(stats).byte(NL);
  }
}

/** The line of one ID, as the oracle prints it ("" if the op did not run). */
export function formatReplayLine(result: ReplayResult, id: number): string {
  if (!result.made[id]) return "";
  const p = result.addr[id];
  if (p === 0) return `${id} N`;
  const field = result.sizeField[id];
  const chunk = chunkSize(field);
  if (field & IS_MMAPPED) return `${id} M ${chunk}`;
  const t = result.threads;
  if (t === null) return `${id} ${p - result.brk0} ${chunk}`;
  return t.arena[id] === 0 ? `${id} 0 0 ${p - result.brk0} ${chunk}` : `${id} ${t.arena[id]} ${t.heap[id]} ${t.heapOffset[id]} ${chunk}`;
}

/** Writes the whole replay output of `result` to `out`. */
export function writeReplay(result: ReplayResult, out: ByteWriter): void {
  const t = result.threads;
  let w: ReplayWriter | ThreadsReplayWriter;
  if (t === null) {
    w = new ReplayWriter(out, result.brk0, result.sizeofSizeT);
    w.header(result.brkUntouched, result.ids, result.alignBreak);
  } else {
    w = new ThreadsReplayWriter(out, result.brk0);
    out.ascii(threadsHeader(t.scenario, t.nprocs, t.stackRlimit, result.brk0, result.ids, result.sizeofSizeT));
  }
  let made = 0;
  let note = 0;
  const notes = result.notes;
  const { addr, sizeField } = result;
  for (let id = 0; id < result.ids; id++) {
    while (note < notes.length && notes[note].afterIds <= made) w.note(notes[note++].text);
    if (result.made[id]) {
      if (t !== null && t.arena[id] !== 0) (w as ThreadsReplayWriter).arenaBlock(id, addr[id], sizeField[id], t.arena[id], t.heap[id], t.heapOffset[id]);
      else w.block(id, addr[id], sizeField[id]);
      made++;
    }
  }
  while (note < notes.length) w.note(notes[note++].text);
  if (w instanceof ThreadsReplayWriter) w.end(result, t!);
  else w.end(result);
}

/** The whole replay output, in the format of the C oracle (same `checkpointEvery`). */
export function formatReplay(result: ReplayResult): string {
  const decoder = new TextDecoder();
  let text = "";
  const out = new ByteWriter((bytes) => {
    text += decoder.decode(bytes);
  });
  writeReplay(result, out);
  out.flush();
  return text;
}

/** Where two replay outputs part: firstDifference's answer. */
export interface ReplayDifference {
  /** 1-based line number. */
  line: number;
  /** The expected text's line there (undefined: the expected text ended before it). */
  expected: string | undefined;
  /** The actual text's line there (undefined: the actual text ended before it). */
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
