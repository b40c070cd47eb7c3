// Like for like: the x86_64 build against the i386 build on simple workloads that take the same
// path through glibc on both. The suite's simple-1024 does not: a 1024-byte request fits the
// x86-64 tcache (requests up to 1032 bytes) but not the i386 one (up to 1020), so on x86-64 seven
// blocks of each round stay cached and the other frees go through the unsorted and large bins,
// while on i386 every free merges into the top. simple-1020 on i386 takes the x86-64 path of
// simple-1024 (tcache, then the large bins); the other sizes take the same path on both already.
//
//   npm run build:ts && node dist/bench/arch-pairs.js [--rounds N]
//
// Each pair runs the in-Wasm replay loop on a fresh process per run, the two arches interleaved
// (N runs each, default 15), and prints the medians and their ratio.

import { parseArgs } from "node:util";
import { ptmallocLoopRunner } from "./peers/ptmalloc.js";
import { simpleWorkload } from "./workloads.js";

/** [i386 request size, x86_64 request size]: the same path through glibc on both. */
export const ARCH_PAIRS_SIMPLE: readonly [number, number][] = [
  [16, 16],
  [256, 256],
  [1020, 1024],
  [4096, 4096],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function nsPerOp(size: number, arch: "i386" | "x86_64"): Promise<number> {
  const program = simpleWorkload(size, 1000);
  const run = ptmallocLoopRunner(program, { seed: 1, aslr: 0, arch });
  await run.prepare();
  const t = performance.now();
  run.run();
  return ((performance.now() - t) * 1e6) / program.length;
}

const { values } = parseArgs({ options: { rounds: { type: "string", default: "15" } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("arch-pairs: --rounds takes a positive integer");
  process.exit(2);
}
console.log("| i386 | x86_64 | i386 ns/op | x86_64 ns/op | x86_64 ÷ i386 |\n|---|---|---:|---:|---:|");
for (const [s32, s64] of ARCH_PAIRS_SIMPLE) {
  const i386: number[] = [];
  const x86_64: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // alternate which goes first, so that neither always runs on a warmer machine
    if (r % 2 === 0) {
      i386.push(await nsPerOp(s32, "i386"));
      x86_64.push(await nsPerOp(s64, "x86_64"));
    } else {
      x86_64.push(await nsPerOp(s64, "x86_64"));
      i386.push(await nsPerOp(s32, "i386"));
    }
  }
  const a = median(i386);
  const b = median(x86_64);
  console.log(`| simple-${s32} | simple-${s64} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)}× |`);
}
