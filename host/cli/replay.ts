// The commands that replay a trace: `replay` (the oracle's output format, a summary, JSON, or a
// comparison with an oracle output), `maps` and `stats` (the process after N ops), and `convert`
// (mtrace → op list). All of them stream: memory does not grow with the trace.

import { ByteWriter, LateThreadLineError, OpsSyntaxError, parseTraceStream, replayHeader, replayStream, writeOps, type Replayer, type ReplayStreamResult } from "../trace/index.js";
import { ProcessAbort, ProcessKilled, SegmentationFault, ThreadCreateError, type Process, type ProcessOptions } from "../index.js";
import { bootProcess } from "../boot.js";
import { choiceOption, displayName, intOption, UsageError, UserError, type Parsed } from "./args.js";
import { openInput, traceError, type Input } from "./input.js";
import { quoteLine } from "../trace/lines.js";
import { onInterrupt, Spool, writeStdout } from "./output.js";
import { Progress } from "./progress.js";
import { summarize, summaryText, type RunSummary } from "./summary.js";

/** How a process death ends the command, as the shell sees a real process end. */
const SIGNAL_EXIT: Record<string, number> = { SIGABRT: 134, SIGKILL: 137, SIGSEGV: 139 };

export function isDeath(err: unknown): err is ProcessAbort | ProcessKilled | SegmentationFault {
  return err instanceof ProcessAbort || err instanceof ProcessKilled || err instanceof SegmentationFault;
}

/** The process options, checked before any file is opened: a wrong command line is told first. */
function processOptions(command: string, values: Parsed["values"]): ProcessOptions {
  const seed = intOption(command, values, "seed");
  const aslr = intOption(command, values, "aslr", 2) as 0 | 1 | 2 | undefined;
  const allocator = choiceOption(command, values, "allocator", ["wasm", "ts"] as const);
  const arch = choiceOption(command, values, "arch", ["i386", "x86_64"] as const);
  const nprocs = intOption(command, values, "nprocs", 1 << 20);
  if (nprocs === 0) throw new UsageError("option '--nprocs': '0' is not a CPU count (at least 1)", command);
  return { seed, aslr, allocator, arch, nprocs, debug: values.debug === true };
}

/** The scenario's name in a threaded replay's header: the file's name without its directory and `.ops` (as the threads oracle's replayer). */
function scenarioName(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1).replace(/\.gz$/, "");
  return base.length > 4 && base.endsWith(".ops") ? base.slice(0, -4) : base;
}

/** A fresh process, and a reader of its break that needs no system call (the replay reads it after every allocation). */
async function newProcess(options: ProcessOptions): Promise<{ proc: Process; readBreak: () => number }> {
  const { process: proc, kernel } = await bootProcess(options);
  const mm = kernel.mm;
  return { proc, readBreak: () => mm.brk };
}

/** Where a process died, written as the real process's death is seen: glibc's own line for an abort. */
function reportDeath(err: ProcessAbort | ProcessKilled | SegmentationFault, debug: boolean): number {
  // glibc's malloc_printerr writes its message and a newline to stderr, then abort()s; a SIGSEGV
  // or an OOM kill prints nothing from the process itself.
  if (err instanceof ProcessAbort) process.stderr.write(`${err.message}\n`);
  if (debug) process.stderr.write(`${err.stack ?? err.message}\n`);
  return SIGNAL_EXIT[err.signal];
}

export async function replayCommand({ values, positionals }: Parsed): Promise<number> {
  const command = "replay";
  const checkpointEvery = intOption(command, values, "checkpoint");
  const expect = values.expect as string | undefined;
  const summary = values.summary === true;
  const json = values.json === true;
  if (json && summary) throw new UsageError("choose one of '--summary' and '--json'", command);
  if (expect !== undefined && (json || summary)) throw new UsageError("'--expect' compares the replay output; it does not go with '--summary' or '--json'", command);
  if (expect === "-" && positionals[0] === "-") throw new UsageError("standard input ('-') can be the trace or '--expect', not both", command);
  const options = processOptions(command, values);
  const input = openInput(positionals[0]);
  const expected = expect !== undefined ? openInput(expect) : undefined;
  const scenario = (values.scenario as string | undefined) ?? scenarioName(input.name);
  const wantText = !json && !summary;
  // A thread line past the first batch of ops, with the output begun in the single-thread format:
  // a file is replayed again, from the start, in the threads format.
  for (let threads: boolean | undefined = undefined; ; threads = true) {
    try {
      return await replayOnce(input, expected, values, options, { checkpointEvery, scenario, threads }, wantText, json);
    } catch (err) {
      const again = err instanceof UserError && err.cause instanceof LateThreadLineError && threads === undefined && input.name !== "-" && input.size !== undefined;
      if (!again) throw err;
      input.bytesRead = 0;
    }
  }
}

async function replayOnce(input: Input, expected: Input | undefined, values: Parsed["values"], options: ProcessOptions,
  engineOptions: { checkpointEvery: number | undefined; scenario: string; threads: boolean | undefined }, wantText: boolean, json: boolean): Promise<number> {
  const { proc, readBreak } = await newProcess(options);
  const spool = new Spool();
  const progress = new Progress(`replay ${displayName(input.name)}`, () => ({ done: input.bytesRead, total: input.size }),
    values["no-progress"] === true ? false : values.progress === true || process.stderr.isTTY === true);
  // Ctrl-C: no progress line left on the terminal, no spool file left in the temporary directory.
  const offInterrupt = onInterrupt(() => {
    progress.clear();
    spool.dispose();
  });
  try {
    return await replayRun(proc, input, expected, spool, progress, values, { ...engineOptions, readBreak }, wantText, json);
  } finally {
    offInterrupt();
    spool.dispose();
  }
}

async function replayRun(proc: Process, input: Input, expected: Input | undefined, spool: Spool, progress: Progress,
  values: Parsed["values"], engine0: { checkpointEvery: number | undefined; scenario: string; threads: boolean | undefined; readBreak: () => number }, wantText: boolean, json: boolean): Promise<number> {
  let engine: Replayer | null = null;
  const started = performance.now();
  let result: ReplayStreamResult;
  try {
    result = await replayStream(proc, input.pieces(), {
      ...engine0,
      badIds: "throw",
      timings: values.timings === true,
      write: wantText ? (bytes) => spool.add(bytes) : undefined,
      onStart: (e) => (engine = e),
      onProgress: (ops) => progress.update(ops),
    });
  } catch (err) {
    progress.clear();
    if (isDeath(err)) {
      if (wantText && expected === undefined) {
        await writeStdout(replayHeader(engine!, engine!.ids));
        await spool.drainToStdout();
      }
      if (json) await writeStdout(JSON.stringify({ file: input.name, ops: engine!.ops, died: { signal: err.signal, message: err.message } }) + "\n");
      return reportDeath(err, values.debug === true);
    }
    // pthread_create failing stops the C replayer too ("pthread_create failed"): say why, and after how many ops
    if (err instanceof ThreadCreateError) throw new UserError(`${err.message}, creating a thread after ${engine!.ops} ops`, input.name);
    const error = traceError(input.name, err);
    if (error instanceof UserError && err instanceof LateThreadLineError) error.cause = err;
    throw error;
  }
  progress.clear();
  const wallSeconds = (performance.now() - started) / 1000;
  if (result.ops === 0) throw new UserError("no op in it (empty, or only comments)", input.name);
  if (expected !== undefined) return compare(spool, result.header, expected, input, result.ops);
  if (wantText) {
    await writeStdout(result.header);
    await spool.drainToStdout();
    return 0;
  }
  const s = summarize(input.name, result, proc, wallSeconds);
  await writeStdout(json ? JSON.stringify(s) + "\n" : summaryText(s));
  return 0;
}

/** Compares the spooled output (after `header`) with an oracle output, line by line, streaming both. */
async function compare(spool: Spool, header: string, expected: Input, input: Input, ops: number): Promise<number> {
  try {
    const actualLines = (async function* () {
      yield header.slice(0, -1);
      yield* spool.lines();
    })();
    let lineNo = 0;
    const expectedLines = textLines(expected);
    for (;;) {
      const [e, a] = await Promise.all([expectedLines.next(), actualLines.next()]);
      lineNo++;
      if (e.done && a.done) break;
      if (e.value !== a.value) {
        const show = (r: IteratorResult<string>) => (r.done ? "end of output" : quoteLine(r.value));
        throw new UserError(`differs from ${displayName(expected.name)} at line ${lineNo}: expected ${show(e)}, replay gave ${show(a)}`);
      }
    }
  } catch (err) {
    throw traceError(expected.name, err);
  } finally {
    spool.dispose();
  }
  process.stderr.write(`identical to ${displayName(expected.name)} (${ops} ops, replay of ${displayName(input.name)})\n`);
  return 0;
}

/** The lines of a text input (gzipped or not). */
async function* textLines(input: Input): AsyncGenerator<string> {
  const { maybeGunzip } = await import("../trace/index.js");
  const decoder = new TextDecoder();
  let carry = "";
  for await (const piece of maybeGunzip(input.pieces())) {
    const parts = (carry + decoder.decode(piece, { stream: true })).split("\n");
    carry = parts.pop()!;
    yield* parts;
  }
  if (carry !== "") yield carry;
}

/** `maps` and `stats`: the process after the first N ops of a trace. */
export async function atCommand(command: "maps" | "stats", { values, positionals }: Parsed): Promise<number> {
  const at = intOption(command, values, "at", Number.MAX_SAFE_INTEGER);
  const options = processOptions(command, values);
  const input = openInput(positionals[0]);
  const { proc, readBreak } = await newProcess(options);
  let result: ReplayStreamResult;
  try {
    result = await replayStream(proc, input.pieces(), { checkpointEvery: 0, badIds: "throw", stopAfter: at, readBreak });
  } catch (err) {
    if (isDeath(err)) return reportDeath(err, values.debug === true);
    throw traceError(input.name, err);
  }
  if (result.ops === 0 && !result.stoppedEarly) throw new UserError("no op in it (empty, or only comments)", input.name);
  if (at !== undefined && result.ops < at) throw new UserError(`'--at ${at}' is past the end: the trace has ${result.ops} ops`, input.name);
  if (values.json === true) {
    const body =
      command === "maps"
        ? { file: input.name, at: result.ops, maps: parseMaps(proc.maps()) }
        : { file: input.name, at: result.ops, mallinfo2: proc.mallinfo2(), mallocStats: proc.malloc_stats(), status: proc.status() };
    await writeStdout(JSON.stringify(body) + "\n");
  } else {
    await writeStdout(command === "maps" ? proc.maps() : proc.malloc_stats());
  }
  return 0;
}

/** /proc/self/maps lines as objects. */
function parseMaps(text: string): { start: string; end: string; perms: string; offset: string; dev: string; inode: number; path: string }[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const m = /^(\w+)-(\w+) (\S+) (\w+) (\S+) (\d+)\s*(.*)$/.exec(l);
      if (!m) return { start: "", end: "", perms: "", offset: "", dev: "", inode: 0, path: l };
      return { start: m[1], end: m[2], perms: m[3], offset: m[4], dev: m[5], inode: Number(m[6]), path: m[7] };
    });
}

/** `convert`: an mtrace log to an op list on standard output, streaming. */
export async function convertCommand({ positionals }: Parsed): Promise<number> {
  const input = openInput(positionals[0]);
  const pending: Uint8Array[] = [];
  const out = new ByteWriter((bytes) => pending.push(bytes));
  let first = true;
  let ops = 0;
  let opList = false;
  try {
    for await (const batch of parseTraceStream(input.pieces(), "auto", (format) => (opList = format === "ops"))) {
      if (opList) throw new UserError("this is an op list already, not a glibc mtrace log (convert reads mtrace logs; replay takes either)", input.name);
      if (first) {
        for (const c of batch.comments) out.ascii("# ").text(c).byte(10);
        first = false;
      }
      ops += batch.length;
      writeOps(out, batch);
      for (const piece of pending) await writeStdout(piece);
      pending.length = 0;
    }
  } catch (err) {
    if (opList && err instanceof OpsSyntaxError && !err.reason.startsWith("binary data")) {
      throw new UserError(`not a glibc mtrace log (expected lines such as "@ CALLER + ADDR SIZE" or "= Start"): ${err.text}`, input.name, err.line);
    }
    throw traceError(input.name, err);
  }
  if (ops === 0) throw new UserError("no allocation in it: nothing to convert", input.name);
  out.flush();
  for (const piece of pending) await writeStdout(piece);
  return 0;
}

export type { RunSummary };
