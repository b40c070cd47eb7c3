// The command line of `ptmalloc-wasm fuzz` (and `npm run fuzz -- …`): strict parsing, one line
// quoting what was wrong, then the usage.

import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { type Arch, ARCHES } from "./arch.js";
import { EXHAUST_KINDS, type ExhaustSetting } from "./limits.js";
import { PROFILES, type Profile } from "./sizes.js";

export const USAGE = `usage: ptmalloc-wasm fuzz [options]
  --ops N            stop after N ops in all (default 1000000 unless --seconds is given)
  --seconds N        stop after N seconds
  --seed S           the campaign's seed (default: random; printed)
  --workers K        worker threads, each running its own processes (default 2, or 1 on one core)
  --profile P        tiny | mixed | large | adversarial (default mixed)
  --arch A           i386 | x86_64: the processes' ABI and glibc build (default i386)
  --oracle           also replay every sequence on the real glibc of that ABI (needs
                     gcc -m32 for i386, gcc for x86_64)
  --twin             run the pure-TypeScript build in lockstep on every sequence
  --twin-every N     ... on every N-th sequence only (default 4; 0: never)
  --deep             the debug build (the whole heap checked after every call) and every
                     live block's contents checked every 64 ops: O(heap) per op
  --deep-every N     check every live block's contents every N ops (release build)
  --info-every N     check mallinfo2 against the shadow every N ops (default 256)
  --threads K        up to K live threads besides the main one: thread creation, switches,
                     exits, cross-thread frees (default 0: one thread)
  --exhaust W        run against a wall: none | as (RLIMIT_AS) | data (RLIMIT_DATA) | commit
                     (overcommit 2) | oom (small RAM, the OOM killer) | space (fill the space)
                     | mix (each sequence in turn; the default with --profile adversarial)
  --sequence-ops N   ops per sequence, each on a fresh process (default 50000; 4000 with --oracle)
  --trace FILE       mutate this op list or mtrace log (.gz accepted) instead of generating
  --replay FILE      run a repro file (or any op list) once under the checks (its
                     "# arch:" line sets the ABI unless --arch is given)
  --out DIR          where repro files are written (default: the current directory)
  --shrink-seconds N time budget for shrinking a failure (default 120)
  --quiet            no progress line
exit status: 0 clean, 1 a violation (repro file written), 2 bad usage`;

export class UsageError extends Error {}

export interface FuzzArgs {
  ops: number | null;
  seconds: number | null;
  seed: number;
  seedGiven: boolean;
  workers: number;
  profile: Profile;
  arch: Arch;
  /** --arch was given (for --replay: it then wins over the file's `# arch:` line). */
  archGiven: boolean;
  oracle: boolean;
  twinEvery: number;
  deep: boolean;
  deepEvery: number;
  infoEvery: number;
  sequenceOps: number;
  threads: number;
  exhaust: ExhaustSetting;
  trace: string | null;
  replay: string | null;
  outDir: string;
  shrinkSeconds: number;
  quiet: boolean;
  help: boolean;
}

function count(name: string, text: string | undefined, min: number): number | null {
  if (text === undefined) return null;
  if (!/^\d+(e\d+)?$/i.test(text)) throw new UsageError(`--${name} takes a whole number, not ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, not ${JSON.stringify(text)}`);
  return n;
}

export function parseFuzzArgs(argv: string[]): FuzzArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ops: { type: "string" }, seconds: { type: "string" }, seed: { type: "string" }, workers: { type: "string" },
        profile: { type: "string" }, arch: { type: "string" }, oracle: { type: "boolean" }, twin: { type: "boolean" }, "twin-every": { type: "string" },
        deep: { type: "boolean" }, "deep-every": { type: "string" }, "info-every": { type: "string" },
        "sequence-ops": { type: "string" }, trace: { type: "string" }, replay: { type: "string" }, out: { type: "string" },
        "shrink-seconds": { type: "string" }, exhaust: { type: "string" }, threads: { type: "string" }, quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const v = parsed.values;
  const profile = (v.profile ?? "mixed") as Profile;
  if (!PROFILES.includes(profile)) throw new UsageError(`--profile must be one of ${PROFILES.join(", ")}, not ${JSON.stringify(v.profile)}`);
  const arch = (v.arch ?? "i386") as Arch;
  if (!ARCHES.includes(arch)) throw new UsageError(`--arch must be one of ${ARCHES.join(", ")}, not ${JSON.stringify(v.arch)}`);
  const seed = count("seed", v.seed, 0);
  if (seed !== null && seed > 0xffffffff) throw new UsageError(`--seed must fit in 32 bits, not ${JSON.stringify(v.seed)}`);
  const seconds = count("seconds", v.seconds, 1);
  const ops = count("ops", v.ops, 1) ?? (seconds === null ? 1_000_000 : null);
  const twinEvery = v.twin ? 1 : (count("twin-every", v["twin-every"], 0) ?? 4);
  const oracle = v.oracle === true;
  const exhaust = (v.exhaust ?? (profile === "adversarial" && !oracle ? "mix" : "none")) as ExhaustSetting;
  if (!(EXHAUST_KINDS as readonly string[]).includes(exhaust) && exhaust !== "mix") {
    throw new UsageError(`--exhaust must be one of ${EXHAUST_KINDS.join(", ")}, mix, not ${JSON.stringify(v.exhaust)}`);
  }
  if (oracle && exhaust !== "none") throw new UsageError("--exhaust cannot go with --oracle (the real replayer runs without limits)");
  const threads = count("threads", v.threads, 0) ?? 0;
  if (threads > 64) throw new UsageError(`--threads must be at most 64, not ${JSON.stringify(v.threads)}`);
  if (threads > 0 && v.trace !== undefined) throw new UsageError("--threads cannot go with --trace (the trace's own thread lines are kept)");
  return {
    ops, seconds,
    seed: seed ?? Math.floor(Math.random() * 2 ** 32),
    seedGiven: seed !== null,
    workers: count("workers", v.workers, 1) ?? Math.min(2, availableParallelism()),
    profile, arch, archGiven: v.arch !== undefined, oracle, twinEvery,
    deep: v.deep === true,
    deepEvery: count("deep-every", v["deep-every"], 1) ?? (v.deep ? 64 : 0),
    infoEvery: count("info-every", v["info-every"], 1) ?? 256,
    sequenceOps: count("sequence-ops", v["sequence-ops"], 1) ?? (oracle ? 4000 : 50000),
    threads,
    exhaust,
    trace: v.trace ?? null,
    replay: v.replay ?? null,
    outDir: v.out ?? ".",
    shrinkSeconds: count("shrink-seconds", v["shrink-seconds"], 1) ?? 120,
    quiet: v.quiet === true,
    help: v.help === true,
  };
}
