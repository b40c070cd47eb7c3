// One corruption case (oracle/replay/corruption.cases) run on a process, checked against how the
// real i386 glibc's process ended: the same abort message at the same step, SIGSEGV at the same
// step, a hang at the same step (glibc looping forever on a cyclic list: here a ProcessHang), or
// no signal at all; the same values seen on the way (what each malloc returned, what each check
// read: an attack that succeeds succeeds the same way); and a process that died stays dead.

import { expect } from "vitest";
import { runCorruptionSteps, type CorruptionCase, type CorruptionRun, type CorruptionTarget } from "../../host/trace/corruption.js";

export interface DeathClasses {
  ProcessAbort: new (...a: never[]) => Error;
  SegmentationFault: new (...a: never[]) => Error;
  ProcessHang: new (...a: never[]) => Error;
}

/**
 * Cases where the emulator is known to end differently, each with the reason (none today: a link
 * into memory no mapping covers, or without the access right, now faults as on Linux through the
 * kernel's page map). A listed case must still differ (so that the entry is dropped the day it
 * starts to match).
 */
export const KNOWN_DIFFERENCES: Record<string, string> = {};

/** The test's title for a case. */
export function corruptionTitle(c: CorruptionCase): string {
  const o = c.outcome;
  const end = o.hang ? "hangs" : o.signal === "SIGABRT" ? JSON.stringify(o.message) : (o.signal ?? "no signal");
  return `${c.name}: ${end}${KNOWN_DIFFERENCES[c.name] ? " (known to differ)" : ""}`;
}

/** How a run ended, in the fixture's terms. */
export function runEnding(run: CorruptionRun, classes: DeathClasses): { signal: string | null; hang: boolean; step: number | null; message: string } {
  const e = run.error as { signal?: string | null; message?: string } | null;
  if (run.step === null) return { signal: null, hang: false, step: null, message: "" };
  const hang = run.error instanceof classes.ProcessHang;
  return { signal: hang ? null : (e?.signal ?? "not a death"), hang, step: run.step, message: hang ? "" : String(e?.message) };
}

/** The seen values the real process had reached before it ended (all of them when it did not). */
function seenBefore(c: CorruptionCase, run: CorruptionRun): { expected: [number, string][]; got: [number, string][] } {
  return { expected: c.outcome.seen ?? [], got: run.seen };
}

export function expectCorruptionOutcome(proc: CorruptionTarget, c: CorruptionCase, classes: DeathClasses): void {
  const run = runCorruptionSteps(proc, c.steps);
  const shown = run.error instanceof Error ? `${run.error.name}: ${run.error.message}` : String(run.error);
  const got = run.step === null ? "no error" : `${shown} at step ${run.step}`;
  const { signal, step } = c.outcome;
  const hang = c.outcome.hang === true;
  const known = KNOWN_DIFFERENCES[c.name];
  if (known !== undefined) {
    // still differs: either the ending or the values seen
    const end = runEnding(run, classes);
    const same =
      end.step === step && end.signal === signal && end.hang === hang && (signal !== "SIGABRT" || end.message === c.outcome.message) &&
      JSON.stringify(run.seen) === JSON.stringify(c.outcome.seen ?? []);
    expect(same, `${c.name} now ends as on glibc: drop it from KNOWN_DIFFERENCES (${known})`).toBe(false);
    // whatever it does, it is a documented ending, never a stray exception
    if (run.step !== null) expect([classes.ProcessAbort, classes.SegmentationFault, classes.ProcessHang].some((k) => run.error instanceof k), got).toBe(true);
    return;
  }
  const { expected, got: seenGot } = seenBefore(c, run);
  expect(seenGot, `${c.about}\nvalues seen (step, what malloc returned or a check read)`).toEqual(expected);
  if (signal === null && !hang) {
    expect(run.step, shown).toBeNull();
    return;
  }
  const what = hang ? "a hang" : signal;
  expect(run.step, `${c.about}\nexpected ${what} at step ${step} ${JSON.stringify(c.steps[step!])}; got ${got}`).toBe(step);
  if (hang) {
    expect(run.error, got).toBeInstanceOf(classes.ProcessHang);
    expect((run.error as Error).message).toMatch(/^the process hangs: /);
    expect((run.error as { signal?: unknown }).signal).toBeNull();
  } else if (signal === "SIGABRT") {
    expect(run.error, got).toBeInstanceOf(classes.ProcessAbort);
    expect((run.error as Error).message).toBe(c.outcome.message);
    expect((run.error as { signal?: string }).signal).toBe(signal);
  } else {
    expect(signal, "a signal the emulator knows").toBe("SIGSEGV");
    expect(run.error, got).toBeInstanceOf(classes.SegmentationFault);
    expect((run.error as { signal?: string }).signal).toBe(signal);
  }
  // the process is dead: every later call throws the same error. (A step that reads or writes the
  // memory itself is a checked access here: proc.read/write throw SegmentationFault for it without
  // killing the process, which the program's own load would.)
  if (!MEMORY_ACCESS_STEPS.has(String(c.steps[step!][0]))) expect(() => proc.malloc(16)).toThrow(run.error as Error);
}

/** Steps that are the program's own loads and stores, not calls into the C library. */
const MEMORY_ACCESS_STEPS = new Set(["w32", "w64", "wptr", "wsafe", "wsafeptr", "waddr", "w8", "copy", "check", "checksafe", "decrypt"]);

// ── docs/attacks.md: the table of every case, generated from the fixture ──────────────────────

const ATTACKS_BEGIN = "<!-- attacks-table:begin (generated from test/fixtures/alloc/corruption-cases.json) -->";
const ATTACKS_END = "<!-- attacks-table:end -->";

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const stepText = (c: CorruptionCase, i: number): string => `\`${c.steps[i].join(" ")}\``;

/** How a case ended on the real glibc, in words (with the last values it saw, for an attack that ran through). */
export function glibcOutcomeText(c: CorruptionCase): string {
  const o = c.outcome;
  if (o.hang) return `hangs in step ${o.step} ${stepText(c, o.step!)}`;
  if (o.signal === "SIGABRT") return `aborts in step ${o.step} ${stepText(c, o.step!)}: “${o.message}”`;
  if (o.signal !== null) return `${o.signal} in step ${o.step} ${stepText(c, o.step!)}`;
  const seen = (o.seen ?? []).slice(-3).map(([i, v]) => `${stepText(c, i)} → ${v}`);
  return `runs to the end${seen.length ? `; ${seen.join(", ")}` : ""}`;
}

/** How a run here ended, in the same words. */
export function runOutcomeText(c: CorruptionCase, run: CorruptionRun, classes: DeathClasses): string {
  const end = runEnding(run, classes);
  return glibcOutcomeText({ ...c, outcome: { signal: end.signal, hang: end.hang, step: end.step, message: end.message, seen: run.seen } });
}

/** The markdown table (between its markers): case, what it does, glibc 2.36, the Wasm build, the TS baseline. */
export function attacksTable(cases: CorruptionCase[], ours: (c: CorruptionCase) => { wasm: string; ts: string }): string {
  const rows = cases.map((c) => {
    const o = ours(c);
    return `| \`${c.name}\` | ${cell(c.about)} | ${cell(glibcOutcomeText(c))} | ${cell(o.wasm)} | ${cell(o.ts)} |`;
  });
  return [
    ATTACKS_BEGIN,
    "| case | what it does | real glibc 2.36 (i386) | ptmalloc-wasm (Wasm) | ptmalloc-wasm (TS baseline) |",
    "|---|---|---|---|---|",
    ...rows,
    ATTACKS_END,
  ].join("\n");
}

/** The table part of docs/attacks.md, or null when its markers are missing. */
export function attacksTableIn(doc: string): string | null {
  const a = doc.indexOf(ATTACKS_BEGIN);
  const b = doc.indexOf(ATTACKS_END);
  return a < 0 || b < a ? null : doc.slice(a, b + ATTACKS_END.length);
}
