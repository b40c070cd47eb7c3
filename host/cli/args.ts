// Command-line arguments: node:util parseArgs (strict) per command, with the errors a user can
// make turned into one line that quotes the argument (exit status 2), and each command's help.

import { parseArgs, type ParseArgsConfig } from "node:util";

export const PROGRAM = "ptmalloc-wasm";

/** A mistake in the command line: exit status 2, the message then the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | undefined,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure the user caused (a bad file, a bad line): one line, exit status 1. */
export class UserError extends Error {
  constructor(
    message: string,
    /** The file the message is about ("-": standard input), and the line in it. */
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = "UserError";
  }

  /** `ptmalloc-wasm: FILE:LINE: message`. */
  format(): string {
    const where = this.file === undefined ? "" : `${displayName(this.file)}${this.line !== undefined ? `:${this.line}` : ""}: `;
    return `${PROGRAM}: ${where}${this.message}`;
  }
}

export function displayName(file: string): string {
  return file === "-" ? "<stdin>" : file;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options every replaying command takes: the emulated process. */
export const PROCESS_OPTIONS = {
  seed: { type: "string" },
  aslr: { type: "string" },
  allocator: { type: "string" },
  arch: { type: "string" },
  nprocs: { type: "string" },
  debug: { type: "boolean" },
} as const satisfies Options;

/** The options of `replay`. */
export const REPLAY_OPTIONS = {
  ...PROCESS_OPTIONS,
  checkpoint: { type: "string" },
  scenario: { type: "string" },
  expect: { type: "string" },
  summary: { type: "boolean" },
  json: { type: "boolean" },
  timings: { type: "boolean" },
  progress: { type: "boolean" },
  "no-progress": { type: "boolean" },
} as const satisfies Options;

/** The options of `maps` and `stats`. */
export const AT_OPTIONS = { ...PROCESS_OPTIONS, at: { type: "string" }, json: { type: "boolean" } } as const satisfies Options;

export const PROCESS_HELP = `  --seed N            seed of the process's ASLR (and glibc's tcache key): the same seed gives the
                      same addresses (default: random; replay output does not depend on it)
  --aslr 0|1|2        kernel.randomize_va_space (default 2: stack, mmap base and brk randomized)
  --allocator wasm|ts the allocator: ptmalloc compiled to Wasm (default) or the same algorithm in
                      plain TypeScript (same results, slower)
  --arch i386|x86_64  the process's ABI and glibc build (default i386); x86_64 is a 64-bit PIE
                      program (SIZE_SZ 8, 47-bit addresses), replaying as the real x86-64 glibc
  --nprocs N          what get_nprocs() returns (default 2): the arena limit of threaded op lists
  --debug             the allocator's debug build, which checks the whole heap after every call
                      (much slower); and errors show their stack trace`;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * parseArgs, strict, with its errors rewritten as one line quoting the argument. `--flag value`
 * and `--flag=value` are the same; `-` is a positional (standard input).
 */
export function parse(command: string, args: string[], options: Options, positionals: { min: number; max: number; names: string }): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { help: { type: "boolean", short: "h" }, ...options }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err, args), command);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { values, positionals: parsed.positionals };
  const pos = parsed.positionals;
  if (pos.length < positionals.min) throw new UsageError(`missing ${positionals.names}`, command);
  if (pos.length > positionals.max) throw new UsageError(`unexpected argument '${pos[positionals.max]}'`, command);
  return { values, positionals: pos };
}

function describeParseError(err: unknown, args: string[]): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const quoted = /'(-[^'\s]*)/.exec(message)?.[1];
  const flag = quoted?.split(/[ =]/)[0];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option '${flag ?? "?"}'`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      if (flag && /argument missing|ambiguous/.test(message)) {
        const i = args.indexOf(flag);
        const next = i >= 0 ? args[i + 1] : undefined;
        return next === undefined ? `option '${flag}' needs a value` : `option '${flag}' needs a value (got the option '${next}'; write ${flag}=${next} if that is the value)`;
      }
      if (flag && /does not take an argument/.test(message)) {
        const arg = args.find((a) => a.startsWith(flag + "=")) ?? flag;
        return `option '${flag}' takes no value: '${arg}'`;
      }
      return message.split("\n")[0];
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return message.split("\n")[0];
    default:
      return message.split("\n")[0];
  }
}

/** A non-negative integer option (at most `max`), or undefined when absent. */
export function intOption(command: string, values: Parsed["values"], name: string, max = 0xffffffff): number | undefined {
  const text = values[name];
  if (text === undefined || typeof text === "boolean") return undefined;
  if (!/^\d+$/.test(text) || Number(text) > max) {
    throw new UsageError(`option '--${name}': '${text}' is not a whole number from 0 to ${max}`, command);
  }
  return Number(text);
}

/** An option that must be one of `choices`. */
export function choiceOption<T extends string>(command: string, values: Parsed["values"], name: string, choices: readonly T[]): T | undefined {
  const text = values[name];
  if (text === undefined || typeof text === "boolean") return undefined;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`option '--${name}': '${text}' is not one of ${choices.join(", ")}`, command);
  }
  return text as T;
}
