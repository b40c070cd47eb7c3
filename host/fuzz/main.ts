// `ptmalloc-wasm fuzz` and `npm run fuzz`: the entry point. The CLI imports this module and calls
// fuzzMain; run directly (node dist/host/fuzz/main.js ARGS) it is its own program.
//
// What a campaign checks, and how to read its output: docs/fuzz.md.

import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { MALLOPT_PARAMS } from "../trace/ops.js";
import { parseFuzzArgs, UsageError, USAGE, type FuzzArgs } from "./args.js";
import { runCampaign, summary } from "./campaign.js";
import { checkList, type Mode } from "./check.js";
import { fitsTraceFormat, isThreadOp, parseSeq } from "./ops.js";
import { oracleBinary, oracleUnavailable, realNprocs, threadsOracleBinary } from "./oracle.js";
import { reproArch, reproNprocs, reproSeed } from "./repro.js";
import type { Arch } from "./arch.js";

function modeOf(a: FuzzArgs, oracle: string | null, threadsOracle: string | null, nprocs: number | undefined): Mode {
  return {
    profile: a.profile, arch: a.arch, twin: a.twinEvery === 1, debug: a.deep, deepEvery: a.deepEvery, infoEvery: a.infoEvery, oracle, threadsOracle,
    threads: a.threads, nprocs,
  };
}

/** Runs `fuzz ARGS`; resolves to the exit status (0 clean, 1 violation, 2 bad usage). */
export async function fuzzMain(argv: string[], err: NodeJS.WriteStream = process.stderr, out: NodeJS.WriteStream = process.stdout): Promise<number> {
  let a: FuzzArgs;
  try {
    a = parseFuzzArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`ptmalloc-wasm fuzz: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (a.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  // --replay: the file's ABI, unless --arch says otherwise
  let parsed: ReturnType<typeof parseSeq> | null = null;
  if (a.replay) {
    let fileArch: Arch | null;
    try {
      parsed = parseSeq(readFileSync(a.replay, "utf8"), MALLOPT_PARAMS);
      fileArch = reproArch(parsed.comments);
    } catch (e) {
      err.write(`ptmalloc-wasm fuzz: --replay ${a.replay}: ${(e as Error).message}\n`);
      return 2;
    }
    if (!a.archGiven) a.arch = fileArch ?? "i386";
    else if (fileArch !== null && fileArch !== a.arch) err.write(`fuzz: note: ${a.replay} was made on ${fileArch}; replaying it on ${a.arch}, as --arch says\n`);
  }
  let oracle: string | null = null;
  let threadsOracle: string | null = null;
  // with the oracle the emulated processes get this machine's get_nprocs(), as the real replayer does
  let nprocs: number | undefined;
  if (a.oracle) {
    oracle = oracleBinary(a.arch);
    threadsOracle = oracle && (a.threads > 0 || a.replay) ? threadsOracleBinary(a.arch) : null;
    if (!oracle || ((a.threads > 0 || a.replay) && !threadsOracle)) {
      err.write(`ptmalloc-wasm fuzz: --oracle: ${oracleUnavailable}\n`);
      return 2;
    }
    const n = realNprocs();
    if (n === null && (a.threads > 0 || a.replay)) {
      err.write("ptmalloc-wasm fuzz: --oracle: cannot read this machine's CPU count (/sys/devices/system/cpu/online), which the threads oracle's get_nprocs() reads\n");
      return 2;
    }
    nprocs = n ?? undefined;
  }
  const mode = modeOf(a, oracle, threadsOracle, nprocs);

  if (a.replay && parsed) {
    const seed = a.seedGiven ? a.seed : (reproSeed(parsed.comments) ?? a.seed);
    // the CPU count the repro was made with (the arena limit), unless the real machine's must be used
    const fileNprocs = reproNprocs(parsed.comments);
    if (!a.oracle && fileNprocs !== null) mode.nprocs = fileNprocs;
    if (a.oracle && fileNprocs !== null && fileNprocs !== nprocs) {
      err.write(`fuzz: note: ${a.replay} was made with nprocs ${fileNprocs}; the real glibc here answers ${nprocs}, which both sides use\n`);
    }
    if (a.exhaust === "mix") {
      err.write("ptmalloc-wasm fuzz: --replay takes one --exhaust kind, not mix\n");
      return 2;
    }
    const seq = parsed.seq;
    const threaded = a.threads > 0 || Array.from(seq.kind.subarray(0, seq.length)).some(isThreadOp);
    if (a.oracle && threaded && !fitsTraceFormat(seq)) {
      // (its emulator side replays the list as ops v1, and its C replayer reads 32-bit numbers)
      err.write(`ptmalloc-wasm fuzz: --oracle: ${a.replay} has thread lines and numbers past 32 bits, which the threads oracle cannot replay\n`);
      return 2;
    }
    const v = await checkList(parsed.seq, seed, { ...mode, exhaust: a.exhaust });
    if (v) {
      err.write(`fuzz: ${a.replay}: fails at op ${v.op} (${parsed.seq.line(v.op)}): ${v.what}\n`);
      return 1;
    }
    err.write(`fuzz: ${a.replay}: ${parsed.seq.length} ops, clean (process seed ${seed}, ${a.arch})\n`);
    return 0;
  }

  err.write(
    `fuzz: seed ${a.seed}, ${a.arch === "i386" ? "" : `arch ${a.arch}, `}profile ${a.profile}, ${a.ops !== null ? `${a.ops} ops` : ""}${a.ops !== null && a.seconds !== null ? " or " : ""}${a.seconds !== null ? `${a.seconds} s` : ""}, ` +
      `${a.workers} worker${a.workers > 1 ? "s" : ""}${a.trace ? `, mutating ${a.trace}` : ""}` +
      `${a.threads ? `, up to ${a.threads} thread${a.threads > 1 ? "s" : ""} besides the main one${oracle ? ` (nprocs ${nprocs})` : ""}` : ""}` +
      `${oracle ? ", against the real glibc" : ""}${a.twinEvery ? `, twin on ${a.twinEvery === 1 ? "every" : `every ${a.twinEvery}th`} sequence` : ""}${a.deep ? ", deep" : ""}${a.exhaust !== "none" ? `, exhaustion ${a.exhaust}` : ""}\n`,
  );
  const r = await runCampaign({
    seed: a.seed, ops: a.ops, seconds: a.seconds, workers: a.workers, mode, exhaust: a.exhaust, sequenceOps: a.sequenceOps, twinEvery: a.twinEvery,
    trace: a.trace, outDir: a.outDir, shrinkSeconds: a.shrinkSeconds, quiet: a.quiet, err,
  });
  err.write(`${summary(r)}\n`);
  return r.violation ? 1 : 0;
}

// Run as a program (not imported by the CLI).
const self = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : "";
if (self === import.meta.url) {
  fuzzMain(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
