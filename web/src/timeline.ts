// Time travel by deterministic replay. A process cannot be copied through the public API, so the
// timeline keeps live processes parked at earlier steps (checkpoints) and replays forward from
// the nearest one: a step back costs at most one checkpoint spacing of statements, not the
// whole session. Using a checkpoint consumes it (the process moves on), so a builder refills the
// missing ones from fresh processes in small slices of idle time, nearest the cursor first.
//
//   step:  0 ── K ── 2K ── … ── (m-1)K ── mK ─── cursor
//          spare                 checkpoints  ▲        ▲ the live process (steps forward by one)
//          (fresh)               (the D highest grid steps below the cursor)
//
// Same seed + same calls ⇒ same addresses, so a process replayed to step t is the process that
// was at step t. A process that dies is never shown: the step of a death shows the process just
// before the fatal statement, which replay reaches again from a checkpoint.

import {
  createProcess, type Process, ProcessAbort, ProcessHang, ProcessKilled, SegmentationFault,
} from "../../host/index.js";
import { whenIdle } from "./idle.js";
import { Program } from "./program.js";
import { type Statement, StatementError } from "./statements.js";
import type { Arch } from "./words.js";

export interface Death {
  state: "aborted" | "killed";
  signal: string;
  message: string;
  /** Index of the statement that ended the process. */
  at: number;
}

/** A process at a step, with its variables. */
export interface Run {
  proc: Process;
  step: number;
  slots: Float64Array;
}

/** Checkpoints kept below the cursor (besides a fresh spare at step 0). */
const CHECKPOINTS_BELOW = 4;
/** Spacing of the checkpoint grid: about this many grid steps over a session, at most MAX_SPACING apart. */
const GRID_STEPS = 20;
const MAX_SPACING = 5000;

export function deathOf(err: unknown, at: number): Death | null {
  if (err instanceof ProcessAbort) return { state: "aborted", signal: "SIGABRT", message: err.message, at };
  if (err instanceof SegmentationFault) return { state: "killed", signal: "SIGSEGV", message: err.message, at };
  if (err instanceof ProcessKilled) return { state: "killed", signal: "SIGKILL", message: err.message, at };
  // glibc would loop forever in a cyclic list: the emulator ends the process instead.
  if (err instanceof ProcessHang) return { state: "killed", signal: "hang", message: err.message, at };
  return null;
}

export class Timeline {
  readonly program: Program;
  readonly seed: number;
  /** Known once a replay has met it; statements from `death.at` on never run again. */
  death: Death | null = null;
  /** The process on show (steps forward by one statement at a time). */
  #live: Run | null = null;
  /** Parked processes, by step. */
  readonly #parked: Run[] = [];
  #building: Run | null = null;
  #cancelBuild: (() => void) | null = null;
  /** A slice is running (it may await a new process); `#again`: schedule the next when it ends. */
  #busy = false;
  #again = false;
  #cursor = 0;
  #closed = false;
  /** Statements replayed so far (for the tests' and the page's accounting). */
  replayed = 0;
  /** Called when the builder parks a checkpoint. */
  onCheckpoint: (() => void) | null = null;

  /**
   * A timeline of the statements, or of a program (shared: a new seed replays the same one), in
   * processes of `arch` (default: the program's, or i386).
   */
  constructor(statements: readonly Statement[] | Program, seed: number, arch?: Arch) {
    this.program = statements instanceof Program ? statements.withArch(arch ?? statements.arch) : new Program(statements, arch);
    this.seed = seed;
  }

  /** The processes' arch (the program's). */
  get arch(): Arch {
    return this.program.arch;
  }

  get length(): number {
    return this.program.length;
  }

  /** The spacing of the checkpoint grid for this session's length. */
  get spacing(): number {
    return Math.max(1, Math.min(MAX_SPACING, Math.ceil(this.length / GRID_STEPS)));
  }

  /** Steps of the parked processes (for the page's status line and its test). */
  get checkpoints(): number[] {
    return this.#parked.map((r) => r.step).sort((a, b) => a - b);
  }

  /** Drops the statements from `at` on and appends `statements` (typing at an earlier step). */
  replaceFrom(at: number, statements: readonly Statement[]): void {
    this.program.replaceFrom(at, statements);
    if (this.death && this.death.at >= at) this.death = null;
    const keep = (r: Run | null) => r !== null && r.step <= at;
    if (!keep(this.#live)) this.#live = null;
    if (!keep(this.#building)) this.#building = null;
    for (let i = this.#parked.length - 1; i >= 0; i--) if (!keep(this.#parked[i])) this.#parked.splice(i, 1);
  }

  /** The highest step that can be shown: the end, or the step of the fatal statement. */
  get lastStep(): number {
    return this.death ? this.death.at : this.length;
  }

  /**
   * The process after `step` statements (or just before the fatal one, if the process dies
   * earlier). The run returned stays owned by the timeline: read it, do not call into it.
   */
  async at(step: number): Promise<Run> {
    let target = Math.max(0, Math.min(step, this.length));
    for (;;) {
      if (this.death) target = Math.min(target, this.death.at);
      const run = await this.#source(target);
      const died = this.#forward(run, target);
      if (!died) {
        this.#live = run;
        this.#cursor = target;
        this.#schedule();
        return run;
      }
      // The process died on the way: now the death is known, replay to just before it.
    }
  }

  /** Stops the builder and lets every process go. */
  close(): void {
    this.#closed = true;
    this.#cancelBuild?.();
    this.#live = this.#building = null;
    this.#parked.length = 0;
  }

  /** The best process to replay from: the one at the highest step ≤ target. */
  async #source(target: number): Promise<Run> {
    let best: Run | null = null;
    const consider = (r: Run | null) => {
      if (r !== null && r.step <= target && (best === null || r.step > best.step)) best = r;
    };
    consider(this.#live);
    consider(this.#building);
    for (const r of this.#parked) consider(r);
    if (best === null) return this.#fresh();
    const run: Run = best;
    if (run === this.#building) this.#building = null;
    else if (run !== this.#live) {
      this.#parked.splice(this.#parked.indexOf(run), 1);
      // The live process stays useful (a step forward again): park it if it is worth keeping.
      if (this.#live !== null) this.#park(this.#live);
    }
    this.#live = null;
    return run;
  }

  async #fresh(): Promise<Run> {
    return { proc: await createProcess({ seed: this.seed, arch: this.arch }), step: 0, slots: this.program.slots() };
  }

  /** Runs statements until the run reaches `target`; true if the process died on the way. */
  #forward(run: Run, target: number): boolean {
    if (run.slots.length < this.program.slotCount) run.slots = this.program.slots(run.slots);
    const program = this.program;
    while (run.step < target) {
      const i = run.step;
      try {
        program.run(i, run.proc, run.slots);
      } catch (err) {
        const death = deathOf(err, i);
        if (death === null) {
          if (err instanceof StatementError) throw new StatementError(`statement ${i + 1}: ${err.message}`);
          throw err;
        }
        this.death = death;
        return true;
      }
      run.step++;
      this.replayed++;
    }
    return false;
  }

  /** Grid steps whose checkpoints are wanted now: the highest below the cursor, and 0. */
  #wanted(): number[] {
    const k = this.spacing;
    const top = Math.min(this.#cursor - 1, this.lastStep);
    const out: number[] = [];
    for (let g = Math.floor(top / k) * k; g > 0 && out.length < CHECKPOINTS_BELOW; g -= k) out.push(g);
    out.push(0);
    return out;
  }

  #park(run: Run): void {
    const wanted = this.#wanted();
    if (!wanted.includes(run.step) || this.#parked.some((r) => r.step === run.step)) return;
    this.#parked.push(run);
  }

  #schedule(): void {
    if (this.#busy) this.#again = true;
    if (this.#closed || this.#cancelBuild !== null || this.#busy) return;
    this.#cancelBuild = whenIdle((budgetMs) => {
      this.#cancelBuild = null;
      this.#busy = true;
      void this.#build(budgetMs).finally(() => {
        this.#busy = false;
        if (this.#again) {
          this.#again = false;
          this.#schedule();
        }
      });
    });
  }

  /** Resolves once every wanted checkpoint is parked (for tests and measurements). */
  async settled(): Promise<void> {
    while (!this.#closed) {
      if (this.#cancelBuild === null && !this.#busy && this.#building === null && this.#missing().length === 0) return;
      if (this.#cancelBuild === null && !this.#busy) this.#schedule();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #missing(): number[] {
    return this.#wanted().filter((g) => !this.#parked.some((r) => r.step === g));
  }

  /** One slice of the builder: drop unwanted checkpoints, then advance toward the highest missing one. */
  async #build(budgetMs: number): Promise<void> {
    const wanted = this.#wanted();
    for (let i = this.#parked.length - 1; i >= 0; i--) {
      if (!wanted.includes(this.#parked[i].step)) this.#parked.splice(i, 1);
    }
    const missing = this.#missing();
    if (missing.length === 0) {
      this.#building = null;
      return;
    }
    let b = this.#building;
    // A builder past every missing step is no use; one below the highest is (it passes there first).
    if (b !== null && !missing.some((g) => g >= b!.step)) b = this.#building = null;
    if (b === null) {
      b = await this.#fresh();
      if (this.#closed) return;
      this.#building = b;
      return this.#next(); // creating a process took this slice (its memory makes V8 collect)
    }
    if (b.step === 0 && missing.includes(0)) {
      // The spare at step 0 first: it costs only its creation.
      this.#parked.push(b);
      this.#building = null;
      this.onCheckpoint?.();
      return this.#next();
    }
    // The highest missing step (the first a step back needs): the builder parks there, then
    // starts over from a fresh process for the next one.
    const goal = Math.max(...missing.filter((g) => g >= b.step));
    const deadline = performance.now() + budgetMs;
    while (b.step < goal && performance.now() < deadline) {
      const to = Math.min(goal, b.step + 256);
      if (this.#forward(b, to)) {
        this.#building = null; // a death known now moves the wanted steps
        return this.#next();
      }
    }
    if (b.step === goal && this.#building === b) {
      this.#parked.push(b);
      this.#building = null;
      this.onCheckpoint?.();
    }
    this.#next();
  }

  /** Asks for another slice once this one ends. */
  #next(): void {
    this.#again = true;
  }
}
