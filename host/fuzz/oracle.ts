// The differential oracle: the same op sequence replayed by oracle/replay/replay.c on the real
// glibc 2.36 of the machine — i386 (gcc -m32) or x86-64 (plain gcc), as the processes' arch —,
// its `-x` output (one line per op) compared with the executor's lines.
// Both start from a break moved up to a multiple of 1 MiB (`-a`), so aligned blocks land at the
// same offsets; the emulated machine gets the real one's RAM, swap and overcommit mode, so the
// kernel refuses what the real one refuses. One oracle process runs one sequence.
//
// Threaded sequences (--threads) go to the threads oracle instead, oracle/threads/replay-threads.c
// (real pthreads, serialized by a token), whose output — every block's arena, heap, offset and
// chunk size, the thread lines, mallinfo2 after every op, malloc_stats at the end — is compared
// line by line with the emulator's replay of the same list in the threads format (check.ts). Its
// process gets this machine's get_nprocs() (realNprocs), an 8 MiB stack limit and no MALLOC_*
// environment, as the emulated one has.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Arch } from "./arch.js";
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

const built = new Map<string, string | null>();

/**
 * A C replayer (`source`, under oracle/), built with gcc -O2 (and `flags`; -m32 for i386) into
 * oracle/bin/`name`32 or `name`64 when missing or older than its source or oracle/replay/out.h;
 * null (with the reason in `oracleUnavailable`) where gcc cannot build it.
 */
function buildReplayer(source: string, stem: string, flags: string[], arch: Arch): string | null {
  const name = `${stem}${arch === "x86_64" ? "64" : "32"}`;
  const gcc = arch === "x86_64" ? ["gcc"] : ["gcc", "-m32"];
  if (built.has(name)) return built.get(name)!;
  const fail = (reason: string): null => {
    oracleUnavailable = reason;
    built.set(name, null);
    return null;
  };
  try {
    const root = packageRoot();
    const src = join(root, "oracle", source);
    const header = join(root, "oracle", "replay", "out.h");
    const bin = join(root, "oracle", "bin", name);
    if (!existsSync(src)) return fail(`oracle/${source} is not there (an installed package has no oracle)`);
    const newest = Math.max(statSync(src).mtimeMs, existsSync(header) ? statSync(header).mtimeMs : 0);
    if (!existsSync(bin) || statSync(bin).mtimeMs < newest) {
      mkdirSync(dirname(bin), { recursive: true });
      const r = spawnSync(gcc[0], [...gcc.slice(1), "-O2", ...flags, "-o", bin, src], { encoding: "utf8" });
      if (r.error || r.status !== 0) return fail(`${gcc.join(" ")} cannot build the ${arch} oracle: ${(r.error?.message ?? r.stderr).trim().split("\n")[0]}`);
    }
    built.set(name, bin);
    return bin;
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** The oracle replayer for `arch` (oracle/replay/replay.c: oracle/bin/fuzz-replay32 or 64), or null (see buildReplayer). */
export function oracleBinary(arch: Arch = "i386"): string | null {
  return buildReplayer(join("replay", "replay.c"), "fuzz-replay", [], arch);
}

/** The threads oracle's replayer for `arch` (oracle/threads/replay-threads.c, with -pthread: fuzz-replay-threads32 or 64), or null. */
export function threadsOracleBinary(arch: Arch = "i386"): string | null {
  return buildReplayer(join("threads", "replay-threads.c"), "fuzz-replay-threads", ["-pthread"], arch);
}

export let oracleUnavailable = "";

/**
 * What get_nprocs() answers on this machine: the CPUs listed in /sys/devices/system/cpu/online
 * (glibc 2.36 reads that file; "0-3,6" is five), or null where it cannot be read.
 */
export function realNprocs(): number | null {
  try {
    const text = readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
    let n = 0;
    for (const part of text.split(",")) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!m) return null;
      n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
    }
    return n > 0 ? n : null;
  } catch {
    return null;
  }
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

/** What the threads oracle printed for a sequence. */
export interface ThreadsOracleRun {
  /** Its whole output (the threads format), or what it wrote before it died. */
  text: string;
  /** The signal that ended it, if one did. */
  signal: string | null;
  /** Its exit status (0 when it ran to the end), and what it wrote to stderr. */
  status: number | null;
  stderr: string;
}

/** The stack limit both sides run with (glibc's default thread stack size comes from it). */
const STACK_LIMIT_KB = 8192;

/**
 * Replays `seq` (op-list text) on the real glibc under real pthreads: `replay-threads -c 1 -s fuzz
 * -a ORACLE_ALIGN_BREAK`, with RLIMIT_STACK 8 MiB and an environment of PATH alone.
 */
export function runThreadsOracle(bin: string, text: string): ThreadsOracleRun {
  const dir = mkdtempSync(join(tmpdir(), "fuzz-threads-"));
  try {
    const file = join(dir, "seq.ops");
    writeFileSync(file, text);
    const r = spawnSync("sh", ["-c", `ulimit -s ${STACK_LIMIT_KB} && exec "$0" "$@"`, bin, "-c", "1", "-s", "fuzz", "-a", String(ORACLE_ALIGN_BREAK), file], {
      encoding: "utf8",
      maxBuffer: 1 << 30,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LIBC_FATAL_STDERR_: "1" },
    });
    if (r.error) throw r.error;
    return { text: r.stdout, signal: r.signal, status: r.status, stderr: r.stderr.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
