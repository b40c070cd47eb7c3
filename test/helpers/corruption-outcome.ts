// One corruption case (oracle/replay/corruption.cases) run on a process, checked against how the
// real i386 glibc's process ended: the same abort message at the same step, SIGSEGV at the same
// step, or no signal at all; a process that died stays dead.

import { expect } from "vitest";
import { runCorruptionSteps, type CorruptionCase, type CorruptionTarget } from "../../host/trace/corruption.js";

export interface DeathClasses {
  ProcessAbort: new (...a: never[]) => Error;
  SegmentationFault: new (...a: never[]) => Error;
}

/** The test's title for a case. */
export function corruptionTitle(c: CorruptionCase): string {
  return `${c.name}: ${c.outcome.signal === "SIGABRT" ? JSON.stringify(c.outcome.message) : (c.outcome.signal ?? "no signal")}`;
}

export function expectCorruptionOutcome(proc: CorruptionTarget, c: CorruptionCase, classes: DeathClasses): void {
  const run = runCorruptionSteps(proc, c.steps);
  const shown = run.error instanceof Error ? `${run.error.name}: ${run.error.message}` : String(run.error);
  const got = run.step === null ? "no error" : `${shown} at step ${run.step}`;
  const { signal, step } = c.outcome;
  if (signal === null) {
    expect(run.step, shown).toBeNull();
    return;
  }
  expect(run.step, `${c.about}\nexpected ${signal} at step ${step} ${JSON.stringify(c.steps[step!])}; got ${got}`).toBe(step);
  if (signal === "SIGABRT") {
    expect(run.error).toBeInstanceOf(classes.ProcessAbort);
    expect((run.error as Error).message).toBe(c.outcome.message);
  } else {
    expect(signal, "a signal the emulator knows").toBe("SIGSEGV");
    expect(run.error).toBeInstanceOf(classes.SegmentationFault);
  }
  expect((run.error as { signal?: string }).signal).toBe(signal);
  // the process is dead: every later call throws the same error
  expect(() => proc.malloc(16)).toThrow(run.error as Error);
}
