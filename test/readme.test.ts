// The README quotes what `npm start` prints. A quote that no longer matches the demo misleads
// every new reader, so the quoted lines are checked against a real run of the demo: each quoted
// line (the "…" lines mark what was left out) must appear in the output, in the same order.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runDemo } from "../host/demo.js";

const root = join(import.meta.dirname, "..");

/** The fenced block that follows the sentence introducing the demo's output. */
function quotedDemoOutput(readme: string): string[] {
  const intro = readme.indexOf("What `npm start` shows");
  expect(intro, "the README introduces the demo's output").toBeGreaterThanOrEqual(0);
  const open = readme.indexOf("```", intro);
  const bodyStart = readme.indexOf("\n", open) + 1;
  const close = readme.indexOf("```", bodyStart);
  return readme
    .slice(bodyStart, close)
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "");
}

async function demoOutput(): Promise<string[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(...args.map(String).join(" ").split("\n"));
  });
  try {
    await runDemo();
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => l.trimEnd());
}

describe("the README's quick start", () => {
  it("quotes lines that `npm start` really prints, in order", async () => {
    const quoted = quotedDemoOutput(readFileSync(join(root, "README.md"), "utf8"));
    expect(quoted.filter((l) => l !== "…").length).toBeGreaterThan(5);
    const actual = await demoOutput();
    let at = 0;
    for (const line of quoted) {
      if (line === "…") continue;
      const found = actual.indexOf(line, at);
      expect(found, `README line not in the demo's output (after line ${at}): ${line}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});

// The README's two-thread example sets its malloc_stats beside the real glibc's, which must be
// what the threads oracle printed for the same calls (its fixture), and what the example prints.
describe("the README's two-thread example", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const intro = readme.indexOf("The same calls in a C program on the real glibc 2.36");
  const open = readme.indexOf("```", intro);
  const bodyStart = readme.indexOf("\n", open) + 1;
  const quoted = readme.slice(bodyStart, readme.indexOf("```", bodyStart)).trimEnd().split("\n");
  const fixture = readFileSync(join(root, "test", "fixtures", "threads", "two-threads.txt"), "utf8").split("\n");
  const real = fixture.slice(fixture.indexOf("# malloc_stats:") + 1).filter((l) => l.startsWith("# ")).map((l) => l.slice(2));

  it("quotes the real glibc's malloc_stats for two-threads.ops", () => {
    expect(intro).toBeGreaterThanOrEqual(0);
    expect(quoted).toEqual(real);
  });

  it("prints the same, on the emulated process", async () => {
    const { createProcess } = await import("../host/index.js");
    const proc = await createProcess({ seed: 1 });
    const a = proc.malloc(100);
    const t = proc.createThread();
    const b = t.malloc(100);
    t.malloc(5000);
    t.free(a);
    proc.free(b);
    expect(proc.malloc_stats().trimEnd().split("\n")).toEqual(real);
  });
});
