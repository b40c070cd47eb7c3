// The native glibc peers: this machine's real malloc (glibc 2.36 on Debian 12), 32-bit and 64-bit,
// replaying the same op programs with a small C program (bench/native/replay.c). They are the
// reference the emulation is measured against: same ops, same high-water marks, real hardware.
//
// Each run is one round of the C replayer: a process of its own (a fresh heap, like a fresh Wasm
// instance) that times its replay loop itself, so process start-up is not in the figures.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OpsProgram } from "../ops-program.js";
import type { Peer, PeerMemory, Runner, SelfTimed } from "./peer.js";
import { repoPath } from "./paths.js";

export type NativeArch = "i386" | "x86-64";

/** One round of the replayer, as it prints it. */
export interface NativeRound {
  /** The replay loop, in nanoseconds. */
  ns: number;
  /** max system bytes + max mmap bytes (malloc_info / malloc_stats). */
  peakBytes: number;
  /** VmHWM of the round's process. */
  hwmKiB: number;
  /** Allocations of a non-zero size that returned NULL. */
  nulls: number;
  /** Times the token went from one thread to another (0 for a program without threads). */
  handoffs: number;
  /** The time those handoffs took, in nanoseconds (part of `ns`): from hand() to the taker's wake-up. */
  handoffNs: number;
  /** get_nprocs() in the round's process (the arena limit on i386 is twice it). */
  nprocs: number;
  /** A program with threads: the CPU its threads were pinned to (one runs at a time), or -1. */
  cpu: number;
}

const SOURCE = repoPath("bench", "native", "replay.c");
const MAGIC = 0x3153504f; // "OPS1", as replay.c expects

function binaryPath(arch: NativeArch): string {
  return repoPath("build", "bench", arch === "i386" ? "replay-native-i386" : "replay-native-x86_64");
}

const availability = new Map<NativeArch, string | null>();

/** Builds the replayer for `arch` if missing or older than its source; null, or why it cannot. */
function ensureBuilt(arch: NativeArch): string | null {
  const cached = availability.get(arch);
  if (cached !== undefined) return cached;
  let reason: string | null = null;
  const out = binaryPath(arch);
  try {
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(SOURCE).mtimeMs) {
      mkdirSync(repoPath("build", "bench"), { recursive: true });
      const flags = arch === "i386" ? ["-m32", "-pthread"] : ["-pthread"];
      // Built under another name and renamed: a failed build never leaves a half-written binary.
      const tmp = `${out}.${process.pid}.tmp`;
      try {
        execFileSync("gcc", ["-O2", ...flags, SOURCE, "-o", tmp], { stdio: ["ignore", "ignore", "pipe"] });
        renameSync(tmp, out);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    // gcc's first line is often "In file included from …": the line that says what failed is
    // the one with "error" in it (a missing 32-bit libc shows as a missing header or crt file).
    const lines = (err.stderr?.toString() ?? "").split("\n").filter((l) => l.trim() !== "");
    const detail =
      err.code === "ENOENT"
        ? "gcc not found"
        : (lines.find((l) => /error|cannot find/i.test(l)) ?? lines[0] ?? err.message).trim();
    reason = `${arch === "i386" ? "gcc -m32" : "gcc"} not available here: ${detail}`;
  }
  availability.set(arch, reason);
  return reason;
}

// Program files: one per program, under a directory of our own that goes away at exit.
let tempDir: string | undefined;
const programFiles = new WeakMap<OpsProgram, string>();
let fileCount = 0;

function programFile(program: OpsProgram): string {
  const known = programFiles.get(program);
  if (known !== undefined) return known;
  if (tempDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "replay-native-"));
    tempDir = dir;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  const words = program.words.subarray(0, program.length * 4);
  const bytes = new Uint8Array(16 + words.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, program.length, true);
  view.setUint32(8, program.ids, true);
  view.setUint32(12, program.threads, true);
  // The op words little-endian, as replay.c reads them (x86, the only place it runs, is LE).
  for (let i = 0; i < words.length; i++) view.setUint32(16 + i * 4, words[i]!, true);
  const path = join(tempDir, `program-${fileCount++}.bin`);
  writeFileSync(path, bytes);
  programFiles.set(program, path);
  return path;
}

/** `rounds` replays of `program` by the native replayer, each in a fresh process. */
export function runNative(arch: NativeArch, program: OpsProgram, rounds = 1): NativeRound[] {
  const reason = ensureBuilt(arch);
  if (reason !== null) throw new Error(reason);
  const out = execFileSync(binaryPath(arch), [programFile(program), String(rounds)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 20,
  });
  const results = out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as NativeRound);
  if (results.length !== rounds) throw new Error(`replay-native: ${results.length} results for ${rounds} rounds`);
  for (const r of results) {
    if (r.nulls !== 0) throw new Error(`replay-native (${arch}): ${r.nulls} allocations returned NULL`);
  }
  return results;
}

function nativePeer(arch: NativeArch): Peer {
  return {
    name: `native glibc 2.36 ${arch}`,
    mode: "native",
    unavailable: () => ensureBuilt(arch),
    threads: () => null, // real pthreads, serialized by a token (replay.c)
    runner(program: OpsProgram): Runner {
      let last: NativeRound | undefined;
      return {
        prepare() {
          programFile(program); // written once per program; the process is started by run()
        },
        run(): SelfTimed {
          last = runNative(arch, program, 1)[0]!;
          return { overriddenDuration: last.ns / 1e6 };
        },
        memory(): PeerMemory {
          if (last === undefined) throw new Error("replay-native: memory() before run()");
          return { peakBytes: last.peakBytes, rssPeakKiB: last.hwmKiB };
        },
        handoffs() {
          if (last === undefined) throw new Error("replay-native: handoffs() before run()");
          return { count: last.handoffs, ns: last.handoffNs };
        },
      };
    },
  };
}

/** glibc on this machine, i386 (gcc -m32) and x86-64. */
export function nativePeers(): Peer[] {
  return [nativePeer("i386"), nativePeer("x86-64")];
}
