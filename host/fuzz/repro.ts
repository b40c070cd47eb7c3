// A failure, written as a replayable op list: comment lines say where it came from and what
// failed, then the (shrunk) ops. `ptmalloc-wasm replay FILE --seed S` replays it on a process with
// the same seed; `ptmalloc-wasm fuzz --replay FILE` runs it again under every check, on the ABI of
// its `# arch:` line (a file without one is i386's).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Arch, ARCHES } from "./arch.js";
import { fitsTraceFormat, type OpSeq } from "./ops.js";

export interface ReproInfo {
  /** The campaign's seed, profile, sequence index and the sequence's process seed. */
  campaignSeed: number;
  profile: string;
  index: number;
  processSeed: number;
  /** What failed (the violation, after shrinking), at which op of the written list. */
  what: string;
  op: number;
  /** The flags that select the checks (e.g. "--oracle --twin"). */
  checks: string;
  originalOps: number;
  /** What get_nprocs() returned in the process (the threads oracle's `# nprocs:` directive). */
  nprocs?: number;
  /** The processes' ABI (default i386). */
  arch?: Arch;
  /** The list's sizes fit the trace format's 32 bits (`ptmalloc-wasm replay` reads it). Default true. */
  traceFormat?: boolean;
}

export function reproComments(info: ReproInfo): string[] {
  const arch = info.arch ?? "i386";
  const nprocs = info.nprocs !== undefined && info.nprocs !== 2 ? ` --nprocs ${info.nprocs}` : "";
  const replay = info.traceFormat === false
    ? " (ptmalloc-wasm replay reads sizes of 32 bits only, which this list exceeds)"
    : ` (or: ptmalloc-wasm replay FILE --seed ${info.processSeed}${arch === "i386" ? "" : ` --arch ${arch}`}${nprocs})`;
  return [
    "ops v1 (format: FORMAT.md) with the op-list extension",
    `source: ptmalloc-wasm fuzz --seed ${info.campaignSeed} --profile ${info.profile}${info.checks ? " " + info.checks : ""}: sequence ${info.index}, process seed ${info.processSeed}, ${info.originalOps} ops shrunk to the ones below`,
    `failed: at op ${info.op}: ${info.what.replace(/\n/g, " ")}`,
    `process-seed: ${info.processSeed}`,
    `arch: ${arch}`,
    ...(info.nprocs !== undefined ? [`nprocs: ${info.nprocs}`] : []),
    `reproduce: ptmalloc-wasm fuzz --replay FILE ${info.checks.replace(/--threads \d+ ?/, "").replace(/--arch \S+ ?/, "")}`.trimEnd() + replay,
  ];
}

/** Writes the repro file into `dir`; returns its path. */
export function writeRepro(dir: string, seq: OpSeq, info: ReproInfo): string {
  const path = join(dir, `fuzz-repro-${info.campaignSeed}-${info.index}.ops`);
  writeFileSync(path, seq.format(reproComments({ ...info, traceFormat: info.traceFormat ?? fitsTraceFormat(seq) })));
  return path;
}

/** The ABI a repro file was made on (its `# arch: NAME` line), or null (no such line: i386's, from before x86_64). */
export function reproArch(comments: readonly string[]): Arch | null {
  for (const c of comments) {
    const m = /^arch: (\S+)/.exec(c);
    if (m) {
      if (!(ARCHES as readonly string[]).includes(m[1])) throw new Error(`unknown arch in "# arch: ${m[1]}" (i386 or x86_64)`);
      return m[1] as Arch;
    }
  }
  return null;
}

/** What get_nprocs() returned where the repro was made (its `# nprocs: N` line), or null. */
export function reproNprocs(comments: readonly string[]): number | null {
  for (const c of comments) {
    const m = /^nprocs: (\d+)/.exec(c);
    if (m) return Number(m[1]);
  }
  return null;
}

/** The process seed a repro file names (its `# process-seed: N` line), or null. */
export function reproSeed(comments: readonly string[]): number | null {
  for (const c of comments) {
    const m = /^process-seed: (\d+)/.exec(c);
    if (m) return Number(m[1]);
  }
  return null;
}
