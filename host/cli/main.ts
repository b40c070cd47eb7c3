// The command line's commands, their help, and how each ending becomes an exit status:
//   0 done · 1 a failure the user caused (one line on stderr) · 2 a wrong command line
//   134 / 137 / 139: the emulated process died of SIGABRT / SIGKILL / SIGSEGV, as a shell reports it.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AT_OPTIONS, choiceOption, parse, PROCESS_HELP, PROGRAM, REPLAY_OPTIONS, UsageError, UserError } from "./args.js";
// The commands' own modules (and the emulated process behind them) are imported when a command
// runs: --version, --help and usage errors answer without loading them.
const commands = () => import("./replay.js");

const HELP: Record<string, string> = {
  "": `usage: ${PROGRAM} COMMAND [ARGS]

glibc 2.36's malloc in an emulated 32-bit Linux process.

commands:
  replay TRACE        replay an op list or a glibc mtrace log; print where every block landed
  maps TRACE --at N   /proc/self/maps of the process after the first N ops of a trace
  stats TRACE --at N  malloc_stats() of the process after the first N ops of a trace
  convert MTRACE      a glibc mtrace log as an op list, on stdout
  record -- CMD ARGS  run a real program under glibc's mtrace; write its allocations to a file
  demo                a walk through one emulated process (what \`npm start\` shows)
  fuzz ...            differential fuzzing of the allocator (see \`${PROGRAM} fuzz --help\`)

TRACE and MTRACE are files, gzipped or not, or - for standard input.
${PROGRAM} COMMAND --help tells more; ${PROGRAM} --version prints the version.

exit status: 0 done; 1 a bad input (one line on stderr names it); 2 a wrong command line;
134, 137, 139: the emulated process died of SIGABRT (glibc found heap corruption: its message is
on stderr), SIGKILL (out of memory) or SIGSEGV, as a shell reports a real process's death.`,

  replay: `usage: ${PROGRAM} replay TRACE [options]

Replays TRACE (an op list or a glibc mtrace log, gzipped or not; - reads stdin) on a fresh
emulated process, streaming: memory does not grow with the trace. Prints, in the format of the
real glibc's replayer, one line per allocation (ID OFFSET CHUNK, ID M CHUNK, ID N), mallinfo2()
checkpoints, and malloc_stats() at the end. An op list with thread lines (T N, E N) runs its
threads and prints in the format of the threads oracle: each block's arena and heap
(ID ARENA HEAP OFFSET CHUNK), the threads created and joined.

options:
  --checkpoint N      a "# op=..." line with mallinfo2() every N ops (default 10000; 0: none;
                      threaded op lists: default 1, as the threads oracle)
  --scenario NAME     the scenario's name in a threaded replay's header (default: the file's name
                      without .ops)
  --expect FILE       compare the output with FILE (a replay output, e.g. *.replay32.txt.gz) instead
                      of printing it; exit 1 at the first differing line
  --summary           print a summary instead: wall time, ops/s, peak heap and mmapped bytes, peak
                      RSS (VmHWM), fragmentation, and the final malloc_stats
  --json              the summary as one JSON object
  --timings           time every op (adds about 0.1 µs per op); the summary shows latency percentiles
  --progress          show progress on stderr even when it is not a terminal
  --no-progress       never show progress (the default shows it when stderr is a terminal)
${PROCESS_HELP}
  -h, --help          this help`,

  maps: `usage: ${PROGRAM} maps TRACE [--at N] [options]

Replays the first N ops of TRACE (default: all) and prints the process's /proc/self/maps.

options:
  --at N              how many ops to replay first
  --json              the mappings as one JSON object
${PROCESS_HELP}
  -h, --help          this help`,

  stats: `usage: ${PROGRAM} stats TRACE [--at N] [options]

Replays the first N ops of TRACE (default: all) and prints glibc's malloc_stats() text.

options:
  --at N              how many ops to replay first
  --json              mallinfo2(), malloc_stats() and /proc/self/status as one JSON object
${PROCESS_HELP}
  -h, --help          this help`,

  convert: `usage: ${PROGRAM} convert MTRACE

Converts a glibc mtrace log (gzipped or not; - reads stdin) into an op list on stdout. Sizes past
32 bits become 4294967295 (a request the i386 glibc refuses, as a 32-bit program's would be).

options:
  -h, --help          this help`,

  record: `usage: ${PROGRAM} record [-o FILE] -- COMMAND [ARGS...]

Runs COMMAND on this machine with glibc's mtrace on (LD_PRELOAD of libc_malloc_debug.so.0 and of
a small library built with the system's cc on first use, cached per user), and writes its
allocations to FILE as an mtrace log that \`replay\` and \`convert\` read. calloc and the
memalign family are tagged so that they convert to c and a ops.

options:
  -o, --output FILE   the mtrace log (default: COMMAND.mtrace in the current directory)
  -h, --help          this help`,

  demo: `usage: ${PROGRAM} demo [--arch i386|x86_64]

A walk through one emulated process: the classic malloc walk-through (the numbers the real glibc
2.36 prints, 32-bit or 64-bit), demand paging seen through mincore, brk and mmap, and
/proc/self/maps.

options:
  --arch i386|x86_64  the process's ABI (default i386)
  -h, --help          this help`,
};

export function usage(command: string | undefined): string {
  return HELP[command ?? ""] ?? HELP[""];
}

/** The package's version, from its package.json (found upwards from this module: works from dist/ and when installed). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "ptmalloc-wasm" && pkg.version) return pkg.version;
    } catch {
      // not here: one directory up
    }
    dir = dirname(dir);
  }
  throw new UserError("cannot find the package's package.json");
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const help = async (name: string) => {
    await write(usage(name) + "\n");
    return 0;
  };
  switch (command) {
    case undefined:
      process.stderr.write(usage(undefined) + "\n");
      return 2;
    case "-h":
    case "--help":
      return help("");
    case "help":
      if (args.length > 1 || (args[0] !== undefined && !(args[0] in HELP))) throw new UsageError(`no such command: '${args[0]}'`, undefined);
      return help(args[0] ?? "");
    case "--version":
    case "-V":
      if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`, undefined);
      await write(packageVersion() + "\n");
      return 0;
    case "replay": {
      const parsed = parse(command, args, REPLAY_OPTIONS, { min: 1, max: 1, names: "the trace file (a path, or - for stdin)" });
      return parsed.values.help ? help(command) : (await commands()).replayCommand(parsed);
    }
    case "maps":
    case "stats": {
      const parsed = parse(command, args, AT_OPTIONS, { min: 1, max: 1, names: "the trace file (a path, or - for stdin)" });
      return parsed.values.help ? help(command) : (await commands()).atCommand(command, parsed);
    }
    case "convert": {
      const parsed = parse(command, args, {}, { min: 1, max: 1, names: "the mtrace file (a path, or - for stdin)" });
      return parsed.values.help ? help(command) : (await commands()).convertCommand(parsed);
    }
    case "demo": {
      const parsed = parse(command, args, { arch: { type: "string" } }, { min: 0, max: 0, names: "" });
      if (parsed.values.help) return help(command);
      const arch = choiceOption(command, parsed.values, "arch", ["i386", "x86_64"] as const);
      const { runDemo } = await import("../demo.js");
      await runDemo(arch);
      return 0;
    }
    case "record": {
      const { recordCommand, splitRecordArgs } = await import("./record.js");
      const [own, program] = splitRecordArgs(args);
      const parsed = parse(command, own, { output: { type: "string", short: "o" } }, { min: 0, max: 0, names: "" });
      if (parsed.values.help) return help(command);
      if (program.length === 0) throw new UsageError("missing the command to record (write it after --)", command);
      return recordCommand(program, parsed.values.output as string | undefined);
    }
    case "fuzz":
      return runFuzz(args);
    default:
      throw new UsageError(`unknown command '${command}'`, undefined);
  }
}

/** The fuzz harness lives in ./fuzz/main.js (its own module, loaded only for this command). */
async function runFuzz(args: string[]): Promise<number> {
  // A computed specifier: the build must not depend on the module being there.
  const specifier = ["..", "fuzz", "main.js"].join("/");
  let mod: { fuzzMain?: (args: string[]) => Promise<number> };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes("fuzz")) {
      throw new UserError("the fuzz command is not part of this build (no fuzz/main.js next to the CLI)");
    }
    throw err;
  }
  if (typeof mod.fuzzMain !== "function") throw new UserError("fuzz/main.js has no fuzzMain export");
  return mod.fuzzMain(args);
}

async function write(text: string): Promise<void> {
  const { writeStdout } = await import("./output.js");
  await writeStdout(text);
}
