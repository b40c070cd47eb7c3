// What every benchmark peer offers the suite (bench/alloc.bench.ts): a runner that replays one
// encoded op program (bench/ops-program.ts) on a fresh allocator per run.

import type { OpsProgram } from "../ops-program.js";

/** What a peer obtained from its system during one run. */
export interface PeerMemory {
  /**
   * Peak bytes the allocator held from its system: for glibc (ours and native) the high-water
   * marks it keeps itself, max system bytes + max mmap bytes (malloc_info's `<system type="max">`
   * and malloc_stats' "max mmap bytes"); for allocators that never give memory back, what their
   * heap grew to.
   */
  peakBytes: number;
  /** Peak resident set (VmHWM) of the process, in KiB, where there is one to ask. */
  rssPeakKiB?: number;
}

/** Returned by a run that timed itself (the native replayer, in a process of its own). */
export interface SelfTimed {
  /** Milliseconds. */
  overriddenDuration: number;
}

export interface Runner {
  /** A fresh allocator (new instance, new process): not timed. */
  prepare(): void | Promise<void>;
  /** One replay of the whole program: timed. */
  run(): void | SelfTimed;
  /** After run(): what the run obtained. */
  memory?(): PeerMemory;
  /**
   * After run() of a threaded program, where serializing the threads costs time of its own (the
   * native replayer's real threads hand a token at every thread op): how many handoffs, and
   * their time in nanoseconds (part of the run's time).
   */
  handoffs?(): { count: number; ns: number };
}

export interface Peer {
  /** Row label, e.g. "ptmalloc-wasm, in-Wasm loop". */
  name: string;
  /** How the ops reach the allocator. */
  mode: "js" | "wasm" | "native" | "floor-js" | "floor-wasm";
  /** null when the peer can run here; otherwise why it is skipped (printed as a note). */
  unavailable(): string | null;
  /**
   * Whether it replays programs with threads (OpsProgram.threads > 0: thread switches and exits):
   * null when it does, otherwise why not. Absent: it does not (its allocator runs one thread).
   */
  threads?(): string | null | Promise<string | null>;
  runner(program: OpsProgram): Runner;
  /**
   * A runner for the steady-state section, on one long-lived instance that this peer keeps for
   * every program of that section (an application holds one allocator); prepare() makes it only
   * the first time. Default: runner(), a long-lived instance per program. Only the peers whose
   * calls pass through code shared by every instance (ptmalloc-wasm's Process) need it: there, a
   * second instance makes V8's call site to the export see two functions, which costs a few ns
   * per call that one application with one process never pays.
   */
  steadyRunner?(program: OpsProgram): Runner;
}
