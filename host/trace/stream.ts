// Streaming replay: a trace (op list or glibc mtrace log, gzipped or not) read piece by piece,
// gunzipped, parsed and replayed batch by batch, its output written in 1 MiB buffers. Memory
// stays bounded whatever the length of the trace: the parser holds one piece, the engine one slot
// per ID (5 bytes) and per region, the mtrace converter its table of live addresses.
//
// Works in Node and browsers (gunzip through the standard DecompressionStream).

import { ByteWriter } from "./bytewriter.js";
import { concatBytes } from "./lines.js";
import { isMtrace, MtraceConverter, type MtraceCounts } from "./mtrace.js";
import { OpsParser, type OpList } from "./ops.js";
import { ReplayWriter, threadsHeader, ThreadsReplayWriter, type ReplaySummaryLines, type ThreadsSummary } from "./replay.js";
import { hasThreadLines, Replayer, type ReplayEvents, type ReplayOptions, type ReplayTarget } from "./replayer.js";

/** Bytes in pieces: a Node stream, a web ReadableStream (async iterable in Node), an array. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** replayStream's options: replay()'s, and where the output goes. */
export interface ReplayStreamOptions extends ReplayOptions {
  /**
   * Receives the output (the replay output format of replay.ts), in buffers of about 1 MiB that
   * it may keep; a returned promise is awaited before more is written (backpressure). Without
   * it nothing is formatted.
   */
  write?: (bytes: Uint8Array) => void | Promise<void>;
  /**
   * The number of IDs, for the header line (countIds gives it). When it is not given, the header
   * is not written through `write` but returned as `header`, to be put in front of the rest.
   */
  ids?: number;
  /** The trace's format; default "auto" (an mtrace log is recognised by its first lines). */
  format?: "auto" | "ops" | "mtrace";
  /** Called after each batch of ops (for progress reports). */
  onProgress?: (opsDone: number) => void;
  /** Called once before the first op with the engine (its counters tell how far the replay got). */
  onStart?: (engine: Replayer) => void;
  /** Stop after this many ops (the rest of the input is not read). */
  stopAfter?: number;
}

/** What replayStream resolves to: the summary of the run (no per-ID addresses: they went to `write`). */
export interface ReplayStreamResult extends ReplaySummaryLines {
  /** Which kind of trace the input was. */
  format: "ops" | "mtrace";
  /** The break before the first op (the origin of every OFFSET). */
  brk0: number;
  /** No [heap] existed before the first op (the break had not moved). */
  brkUntouched: boolean;
  /** The alignBreak option (0 when not used). */
  alignBreak: number;
  /** The header line (with its newline), as written or to be written in front of the output. */
  header: string;
  /** Wall time inside the ops in milliseconds (with timings), else 0. */
  elapsedMs: number;
  /** With timings: op counts per power-of-two bucket of nanoseconds (bucket k: [2^k, 2^(k+1)) ns). */
  latency: Float64Array | null;
  /** For an mtrace log: what the conversion dropped or rewrote. */
  mtrace: MtraceCounts | null;
  /** Lines read from the (decompressed) input. */
  lines: number;
  /** `stopAfter` ended the replay: the input may have more ops, unread. */
  stoppedEarly: boolean;
  /** In the threads oracle's format: the threads and arenas of its end line; else null. */
  threads: ThreadsSummary | null;
}

/**
 * The header line (with its newline) of a replay by `engine`: the threads oracle's when the engine
 * runs in its format, else the replay oracle's. `ids` undefined prints `ids=?`.
 */
export function replayHeader(engine: Replayer, ids: number | undefined): string {
  if (engine.threaded) {
    return threadsHeader(engine.scenario, engine.proc.nprocs ?? 2, engine.stackRlimit, engine.brk0, ids, engine.wide ? 8 : 4);
  }
  let header = "";
  const h = new ByteWriter((bytes) => (header += new TextDecoder().decode(bytes)), 4096);
  new ReplayWriter(h, engine.brk0, engine.wide ? 8 : 4).header(engine.brkUntouched, ids, engine.alignBreak);
  h.flush();
  return header;
}

const GZIP_MAGIC0 = 0x1f, GZIP_MAGIC1 = 0x8b;

/** The pieces of `source`, gunzipped when it starts with the gzip magic bytes. */
export async function* maybeGunzip(source: ByteSource): AsyncGenerator<Uint8Array> {
  const it = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()) as
    AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head = head.length === 0 ? r.value : concatBytes(head, r.value);
  }
  const rest = async function* (): AsyncGenerator<Uint8Array> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  };
  if (!(head.length >= 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1)) {
    yield* rest();
    return;
  }
  // Node's zlib with 1 MiB output pieces is several times cheaper than DecompressionStream's
  // 16 KiB ones; the specifier is computed so that browser bundles do not look for it.
  const zlib = (await import(["node", "zlib"].join(":")).catch(() => null)) as typeof import("node:zlib") | null;
  if (zlib !== null) {
    // Up to 4 MiB of output decompressed ahead (on libuv's thread pool) while the reader parses
    // and replays the piece before: the reader then seldom waits for zlib.
    // (A stream option that @types/node leaves out of ZlibOptions; zlib passes it to the stream.)
    const ahead = { chunkSize: 1 << 20, readableHighWaterMark: 4 << 20 } as import("node:zlib").ZlibOptions;
    const gunzip = zlib.createGunzip(ahead);
    const feeding = (async () => {
      try {
        for await (const piece of rest()) {
          if (gunzip.destroyed) return; // the reader stopped early
          if (!gunzip.write(piece)) {
            await new Promise<void>((ok) => {
              const done = () => {
                gunzip.off("drain", done);
                gunzip.off("close", done);
                ok();
              };
              gunzip.on("drain", done);
              gunzip.on("close", done);
            });
          }
        }
        if (!gunzip.destroyed) gunzip.end();
      } catch (err) {
        gunzip.destroy(err as Error);
      }
    })();
    try {
      // plain Uint8Array views, not Buffers: the parsers' loops then see one array type
      for await (const piece of gunzip as AsyncIterable<Uint8Array>) yield new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
    } finally {
      gunzip.destroy();
      await feeding;
    }
    return;
  }
  const inflate = new DecompressionStream("gzip");
  const writer = inflate.writable.getWriter();
  const feeding = (async () => {
    try {
      for await (const piece of rest()) await writer.write(piece as Uint8Array<ArrayBuffer>);
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
    }
  })();
  const reader = inflate.readable.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      yield r.value;
    }
  } finally {
    // Stopped early (or failed): cancelling the readable side makes the feeding loop stop too.
    await reader.cancel().catch(() => {});
    await feeding;
  }
}

/** A parser of either format, fed piece by piece. */
export interface TraceParser {
  push(piece: Uint8Array): void;
  finish(): void;
  take(): OpList;
  readonly lines: number;
}

/**
 * The ops of a trace, batch by batch (each batch valid until the next is asked for): the format
 * told by the first lines, unless `format` says it.
 */
export async function* parseTraceStream(
  source: ByteSource,
  format: "auto" | "ops" | "mtrace" = "auto",
  onFormat?: (format: "ops" | "mtrace", parser: TraceParser) => void,
): AsyncGenerator<OpList> {
  let parser: TraceParser | null = null;
  let head: Uint8Array[] = [];
  let headBytes = 0;
  const start = (): TraceParser => {
    let all = head.length === 1 ? head[0] : concatAll(head, headBytes);
    // A UTF-8 byte order mark (left by some Windows editors) is not part of the first line.
    if (all.length >= 3 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf) all = all.subarray(3);
    const kind = format !== "auto" ? format : isMtrace(all) ? "mtrace" : "ops";
    const p: TraceParser = kind === "mtrace" ? new MtraceConverter() : new OpsParser();
    onFormat?.(kind, p);
    head = [];
    p.push(all);
    return p;
  };
  for await (const piece of maybeGunzip(source)) {
    if (parser === null) {
      head.push(piece);
      headBytes += piece.length;
      if (headBytes < 4096) continue; // enough to tell the format
      parser = start();
    } else {
      parser.push(piece);
    }
    const batch = parser.take();
    if (batch.length > 0) yield batch;
  }
  if (parser === null) parser = start();
  parser.finish();
  const batch = parser.take();
  if (batch.length > 0) yield batch;
}

/**
 * The number of IDs (allocating ops) of a trace: a pass over the input that replays nothing, for
 * the `ids=` of the output header before the replay starts.
 */
export async function countIds(source: ByteSource, format: "auto" | "ops" | "mtrace" = "auto"): Promise<number> {
  let ids = 0;
  for await (const batch of parseTraceStream(source, format)) ids = batch.ids;
  return ids;
}

/**
 * Replays a trace read piece by piece (see the file comment). Errors of the process propagate
 * (ProcessAbort, ProcessKilled, SegmentationFault), as do OpsSyntaxError, MtraceSyntaxError (with
 * the line of the input) and ReplayOpError; what was written before stays written.
 */
export async function replayStream(
  proc: ReplayTarget,
  source: ByteSource,
  options: ReplayStreamOptions = {},
): Promise<ReplayStreamResult> {
  const engine = new Replayer(proc, options, true);
  if (!options.write) engine.acceptThreadLines(); // no output: the format cannot be wrong
  options.onStart?.(engine);
  const pending: Uint8Array[] = [];
  const sink = options.write;
  const out = new ByteWriter((bytes) => pending.push(bytes));
  let writer: ReplayWriter | ThreadsReplayWriter | null = null;
  const drain = async () => {
    for (let i = 0; i < pending.length; i++) {
      const r = sink!(pending[i]);
      if (r !== undefined) await r;
    }
    pending.length = 0;
  };
  // The format is chosen at the first batch (the threads oracle's if it has a thread line), and
  // the header then written.
  let header = "";
  let events: ReplayEvents = { block() {}, note() {} };
  let begun = false;
  const begin = (first: OpList | null) => {
    begun = true;
    if (options.threads ?? (first !== null && hasThreadLines(first))) engine.useThreads();
    header = replayHeader(engine, options.ids);
    if (sink) {
      writer = engine.threaded ? new ThreadsReplayWriter(out, engine.brk0) : new ReplayWriter(out, engine.brk0, engine.wide ? 8 : 4);
      events = writer;
      if (options.ids !== undefined) out.ascii(header);
    }
  };
  let format: "ops" | "mtrace" = "ops";
  let parser: TraceParser | null = null;
  let stoppedEarly = false;
  try {
    for await (const batch of parseTraceStream(source, options.format ?? "auto", (f, p) => {
      format = f;
      parser = p;
    })) {
      if (!begun) begin(batch);
      const room = (options.stopAfter ?? Infinity) - engine.ops;
      if (batch.length >= room) {
        engine.run({ ...batch, length: room }, events);
        stoppedEarly = true;
        break;
      }
      engine.run(batch, events);
      options.onProgress?.(engine.ops);
      if (pending.length > 0) await drain();
    }
  } catch (err) {
    // What the replay printed up to the failing op is output like any other (a process that
    // aborts has printed its lines); the caller decides what to do with it.
    out.flush();
    await drain();
    throw err;
  }
  if (!begun) begin(null);
  const p = parser as TraceParser | null;
  const summary: ReplaySummaryLines = {
    ops: engine.ops,
    ids: engine.ids,
    frees: engine.frees,
    errors: engine.errors,
    mmappedAllocs: engine.mmappedAllocs,
    brkDelta: engine.brkDelta(),
    maxBrkDelta: engine.maxBrkDelta,
    mallinfo2: proc.mallinfo2(),
    mallocStats: proc.malloc_stats(),
  };
  if (options.ids === undefined) header = header.replace(" ids=? ", ` ids=${engine.ids} `);
  const threads: ThreadsSummary | null = engine.threaded
    ? { created: engine.threadsCreated, live: engine.liveThreads, arenasSeen: engine.arenasSeen }
    : null;
  const w = writer as ReplayWriter | ThreadsReplayWriter | null;
  if (w !== null) {
    if (w instanceof ThreadsReplayWriter) w.end(summary, threads!);
    else w.end(summary);
    out.flush();
    await drain();
  }
  return {
    ...summary,
    format,
    brk0: engine.brk0,
    brkUntouched: engine.brkUntouched,
    alignBreak: engine.alignBreak,
    header,
    elapsedMs: engine.elapsedMs,
    latency: engine.latency,
    mtrace: p instanceof MtraceConverter ? p.counts : null,
    lines: p?.lines ?? 0,
    stoppedEarly,
    threads,
  };
}


function concatAll(pieces: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
