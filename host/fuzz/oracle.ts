// The differential oracle: the same op sequence replayed by oracle/replay/replay.c on the real
// i386 glibc 2.36 (gcc -m32), its `-x` output (one line per op) compared with the executor's lines.
// Both start from a break moved up to a multiple of 1 MiB (`-a`), so aligned blocks land at the
// same offsets; the emulated machine gets the real one's RAM, swap and overcommit mode, so the
// kernel refuses what the real one refuses. One oracle process runs one sequence.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpSeq } from "./ops.js";
import { allocates } from "./ops.js";

/** The break alignment both sides start from. */
export const ORACLE_ALIGN_BREAK = 1 << 20;

/** The repository root (where package.json names this package), from this file's place. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "ptmalloc-wasm") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("fuzz: cannot find the package root");
    dir = up;
  }
}

let built: string | null | undefined;

/**
 * The oracle replayer, built (gcc -m32 -O2) into oracle/bin when missing or older than its
 * source; null (with the reason in `oracleUnavailable`) where gcc -m32 cannot build it.
 */
export function oracleBinary(): string | null {
  if (built !== undefined) return built;
  try {
    const root = packageRoot();
    const src = join(root, "oracle", "replay", "replay.c");
    const bin = join(root, "oracle", "bin", "fuzz-replay32");
    if (!existsSync(src)) return fail("oracle/replay/replay.c is not there (an installed package has no oracle)");
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
      mkdirSync(dirname(bin), { recursive: true });
      const r = spawnSync("gcc", ["-m32", "-O2", "-o", bin, src], { encoding: "utf8" });
      if (r.error || r.status !== 0) return fail(`gcc -m32 cannot build the oracle: ${(r.error?.message ?? r.stderr).trim().split("\n")[0]}`);
    }
    return (built = bin);
  } catch (err) {
    return fail((err as Error).message);
  }
}

export let oracleUnavailable = "";
function fail(reason: string): null {
  oracleUnavailable = reason;
  return (built = null);
}

/** The real machine's memory settings, for the emulated kernel (see the header). */
export function realMachine(): { ramBytes: number; swapBytes: number; overcommit: 0 | 1 | 2 } {
  let swapBytes = 0;
  let overcommit: 0 | 1 | 2 = 0;
  try {
    const m = /SwapTotal:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
    if (m) swapBytes = Number(m[1]) * 1024;
    const o = Number(readFileSync("/proc/sys/vm/overcommit_memory", "utf8").trim());
    if (o === 1 || o === 2) overcommit = o;
  } catch {
    // not Linux: the defaults
  }
  return { ramBytes: totalmem(), swapBytes, overcommit };
}

export interface OracleRun {
  /** One line per op (the -x lines). */
  lines: string[];
  /** "# mallinfo2 …" at the end, without the prefix. */
  endInfo: string | null;
  /** The signal that ended it ("SIGABRT", "SIGSEGV") and glibc's message, if it died. */
  died: string | null;
  stderr: string;
}

/** Replays `seq` on the real glibc. */
export function runOracle(bin: string, seq: OpSeq): OracleRun {
  const r = spawnSync(bin, ["-x", "-c", "0", "-a", String(ORACLE_ALIGN_BREAK), "-"], {
    input: seq.format(),
    encoding: "utf8",
    maxBuffer: 1 << 28,
    // glibc writes its abort message to the terminal unless told to use stderr
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LIBC_FATAL_STDERR_: "1" },
  });
  if (r.error) throw r.error;
  const lines: string[] = [];
  let endInfo: string | null = null;
  let died: string | null = null;
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("# mallinfo2 ")) endInfo = line.slice("# mallinfo2 ".length);
    else if (line.startsWith("# died ")) died = line.slice("# died ".length);
    else if (line && line[0] !== "#") lines.push(line);
  }
  if (died === null && r.status !== 0) throw new Error(`fuzz: the oracle failed (status ${r.status}): ${r.stderr.trim()}`);
  return { lines, endInfo, died, stderr: r.stderr.trim() };
}

/**
 * The first op whose result differs between the emulator's lines and the oracle's, with both
 * lines; an mmapped block aligned beyond a page is compared by its mmapped decision only (where
 * it lands in the mapping depends on the mapping's address).
 */
export function compareLines(seq: OpSeq, ours: readonly string[], theirs: readonly string[]): { op: number; ours: string; theirs: string } | null {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const a = ours[i] ?? "(nothing)";
    const b = theirs[i] ?? "(nothing)";
    if (a === b) continue;
    if (i < seq.length && allocates(seq.kind[i]) && seq.b[i] > 4096 && "aAP".includes(a[0])) {
      const x = a.split(" "), y = b.split(" ");
      if (x[2] === "M" && y[2] === "M") continue;
    }
    return { op: i, ours: a, theirs: b };
  }
  return null;
}
