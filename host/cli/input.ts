// Input files for the command line: a path or `-` (standard input), read in 1 MiB pieces, and
// every way reading one can fail turned into a UserError naming the file.

import { createReadStream, statSync } from "node:fs";
import { MtraceSyntaxError, OpsSyntaxError, ReplayOpError } from "../trace/index.js";
import { UserError } from "./args.js";

export interface Input {
  /** As given on the command line ("-" for standard input). */
  name: string;
  /** Size in bytes when known (a regular file), else undefined. */
  size: number | undefined;
  /** Bytes read so far (before any gunzip): progress against `size`. */
  bytesRead: number;
  /** The pieces (raw; gunzip is the trace reader's job). */
  pieces(): AsyncGenerator<Uint8Array>;
}

const PIECE = 1 << 20;

/** Opens `name` for reading, failing now (as a UserError) if it cannot be read. */
export function openInput(name: string): Input {
  let size: number | undefined;
  if (name === "-" && process.stdin.isTTY === true) {
    // Nothing piped in: the trace is typed, or the user expected a file. Say what is awaited.
    process.stderr.write("reading the trace from the terminal (end it with Ctrl-D; or give a file name)\n");
  }
  if (name !== "-") {
    let st;
    try {
      st = statSync(name);
    } catch (err) {
      throw fileError(name, err);
    }
    if (st.isDirectory()) throw new UserError("is a directory, not a trace file", name);
    size = st.isFile() ? st.size : undefined;
  }
  const input: Input = {
    name,
    size,
    bytesRead: 0,
    async *pieces() {
      const stream = name === "-" ? process.stdin : createReadStream(name, { highWaterMark: PIECE });
      try {
        for await (const piece of stream as AsyncIterable<Buffer>) {
          input.bytesRead += piece.length;
          yield new Uint8Array(piece.buffer, piece.byteOffset, piece.length);
        }
      } catch (err) {
        throw fileError(name, err);
      }
    },
  };
  return input;
}

/** An error of the file system as one line about `name`. */
export function fileError(name: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case "ENOENT":
      return new UserError("no such file", name);
    case "EISDIR":
      return new UserError("is a directory, not a trace file", name);
    case "EACCES":
    case "EPERM":
      return new UserError("permission denied", name);
    case undefined:
      return err as Error;
    default:
      return new UserError(`cannot read: ${e.message}`, name);
  }
}

/**
 * The errors of reading and parsing a trace, as UserErrors naming the file (and the line):
 * syntax errors of either format, wrong IDs, gzip data that is corrupt or cut short.
 */
export function traceError(name: string, err: unknown): unknown {
  if (err instanceof UserError) return err;
  if (err instanceof OpsSyntaxError || err instanceof MtraceSyntaxError) {
    return new UserError(`${err.reason}: ${err.text}`, name, err.line);
  }
  if (err instanceof ReplayOpError) return new UserError(`${err.reason} (the op list is wrong; replay stops here)`, name, err.line);
  const code = (err as { code?: string })?.code;
  if (code === "Z_BUF_ERROR" || /unexpected end of file/.test(String((err as Error)?.message))) {
    return new UserError("gzip data cut short (unexpected end of file): the file is truncated", name);
  }
  if (code === "Z_DATA_ERROR" || code === "Z_NEED_DICT") {
    return new UserError(`corrupt gzip data (${(err as Error).message})`, name);
  }
  return err;
}
