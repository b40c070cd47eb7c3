// The command line's entry (the package's bin, cli.ts, loads it, or its bundle): commands in
// main.ts. Here: how it ends. A failure the user caused is one line on stderr and exit status 1
// (never a stack trace, unless --debug); a wrong command line is one line, the command's usage,
// and exit status 2.

import { PROGRAM, UsageError, UserError } from "./args.js";
import { main, usage } from "./main.js";

const argv = process.argv.slice(2);
const debug = argv.includes("--debug");

// Output piped into a command that stops reading (| head) is not an error; any other failure to
// write it (a full disk: ENOSPC, EIO) is one line, exit status 1.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  const reason = err.code === "ENOSPC" ? "no space left on device (ENOSPC)" : err.message;
  process.stderr.write(`${PROGRAM}: cannot write the output: ${reason}\n`);
  if (debug) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${PROGRAM}: ${err.command ? `${err.command}: ` : ""}${err.message}\n\n${usage(err.command)}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(err.format() + "\n");
      if (debug) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
      return;
    }
    // Anything else is a fault of this program, not of the input: still one line, unless --debug.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${PROGRAM}: internal error: ${message.split("\n")[0]}${debug ? "" : " (--debug shows where)"}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  },
);
