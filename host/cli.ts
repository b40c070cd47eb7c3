#!/usr/bin/env node
// The command line: the demo, trace replay (with comparison against an oracle output) and
// mtrace conversion. A client of the public API only.

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { runDemo } from "./demo.js";
import { createProcess, convertMtrace, firstDifference, formatReplay, parseTrace, replay } from "./index.js";

const USAGE = `usage:
  ptmalloc-wasm demo
      the walk-through of \`npm start\`
  ptmalloc-wasm replay TRACE [--seed N] [--aslr 0|1|2] [--checkpoint N] [--expect ORACLE] [--summary]
      replay an op list or a glibc mtrace log (.gz accepted) on a fresh process and print the
      result in the format of the real glibc's replay (*.replay32.txt); --expect compares with such
      a file and exits 1 at the first difference; --summary prints counts and timing only
  ptmalloc-wasm convert MTRACE
      convert a glibc mtrace log to an op list (ops v1) on stdout`;

function readInput(path: string): Uint8Array {
  const raw = readFileSync(path);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function intOption(args: string[], name: string): number | undefined {
  const text = option(args, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name}: not a non-negative integer: ${text}`);
  return n;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "demo":
      await runDemo();
      return 0;
    case "replay": {
      const seed = intOption(args, "--seed");
      const aslr = intOption(args, "--aslr");
      if (aslr !== undefined && aslr > 2) throw new UsageError("--aslr must be 0, 1 or 2");
      const checkpointEvery = intOption(args, "--checkpoint") ?? 10000;
      const expect = option(args, "--expect");
      const summary = args.includes("--summary");
      const files = args.filter((a) => a !== "--summary");
      if (files.length !== 1) throw new UsageError("replay takes one trace file");
      const trace = parseTrace(readInput(files[0]));
      const proc = await createProcess({ seed, aslr: aslr as 0 | 1 | 2 | undefined });
      const result = replay(proc, trace, { checkpointEvery });
      const text = formatReplay(result);
      if (expect !== undefined) {
        const diff = firstDifference(new TextDecoder().decode(readInput(expect)), text);
        if (diff) {
          console.error(`differs at line ${diff.line}:\n  expected: ${diff.expected}\n  actual:   ${diff.actual}`);
          return 1;
        }
        console.error(`identical to ${expect} (${result.ops} ops)`);
      }
      if (summary) {
        console.log(`${result.ops} ops, ${result.ids} blocks, ${(result.elapsedMs * 1e6 / Math.max(1, result.ops)).toFixed(1)} ns/op`);
      } else if (expect === undefined) {
        process.stdout.write(text);
      }
      return 0;
    }
    case "convert": {
      if (args.length !== 1) throw new UsageError("convert takes one mtrace file");
      process.stdout.write(convertMtrace(readInput(args[0])).ops);
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

// Output piped into a command that stops reading (| head) is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`ptmalloc-wasm: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
