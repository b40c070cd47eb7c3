// Standard output in big pieces with backpressure, and a spool for output that must wait for its
// header: the replay output's first line says how many IDs the trace has, known only at its end.
// The spool keeps up to 32 MiB in memory, then moves to a temporary file, so memory stays bounded.

import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "./args.js";

/** Writes to standard output, waiting when the pipe is full. */
export async function writeStdout(bytes: Uint8Array | string): Promise<void> {
  if (!process.stdout.write(bytes)) await once(process.stdout, "drain");
}

/**
 * Runs `cleanup` when the user interrupts the command (Ctrl-C: SIGINT; or SIGTERM, SIGHUP), then
 * dies of the same signal, as a program that did not catch it would (the shell then reports
 * 130 for SIGINT and stops a script's loop). Returns the function that takes the handlers off.
 */
export function onInterrupt(cleanup: () => void): () => void {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const handler = (signal: NodeJS.Signals) => {
    off();
    try {
      cleanup();
    } finally {
      process.kill(process.pid, signal);
    }
  };
  const off = () => {
    for (const s of signals) process.off(s, handler);
  };
  for (const s of signals) process.on(s, handler);
  return off;
}

const MEMORY_LIMIT = 32 << 20;

export class Spool {
  #pieces: Uint8Array[] = [];
  #bytes = 0;
  #dir: string | null = null;
  #fd = -1;
  #path = "";

  /** `memoryLimit`: bytes held in memory before the rest goes to a temporary file. */
  constructor(private readonly memoryLimit = MEMORY_LIMIT) {}

  add(bytes: Uint8Array): void {
    try {
      if (this.#fd < 0 && this.#bytes + bytes.length > this.memoryLimit) this.#spill();
      if (this.#fd >= 0) {
        writeAll(this.#fd, bytes);
      } else {
        this.#pieces.push(bytes);
        this.#bytes += bytes.length;
      }
    } catch (err) {
      // A temporary directory that is missing, read-only or full is the user's to fix: one line.
      const e = err as NodeJS.ErrnoException;
      if (e.code === undefined) throw err;
      const reason = e.code === "ENOSPC" ? "no space left on device" : e.code === "ENOENT" ? "no such directory" : e.code === "EACCES" ? "permission denied" : e.message;
      throw new UserError(`cannot keep the replay output in the temporary directory ${tmpdir()} (${reason}): set TMPDIR, or use --summary, --json or --expect, which keep nothing`);
    }
  }

  #spill(): void {
    this.#dir = mkdtempSync(join(tmpdir(), "ptmalloc-wasm-"));
    this.#path = join(this.#dir, "replay.out");
    this.#fd = openSync(this.#path, "w");
    for (const piece of this.#pieces) writeAll(this.#fd, piece);
    this.#pieces = [];
  }

  /** Sends everything spooled to standard output, then frees it. */
  async drainToStdout(): Promise<void> {
    try {
      for (const piece of this.#pieces) await writeStdout(piece);
      this.#pieces = [];
      if (this.#fd >= 0) {
        closeSync(this.#fd);
        this.#fd = -1;
        for await (const piece of createReadStream(this.#path, { highWaterMark: 1 << 20 })) await writeStdout(piece as Buffer);
      }
    } finally {
      this.dispose();
    }
  }

  /** Lines of the spooled text, in order (for comparisons). */
  async *lines(): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    let carry = "";
    const all = async function* (self: Spool): AsyncGenerator<Uint8Array> {
      for (const piece of self.#pieces) yield piece;
      if (self.#fd >= 0) {
        closeSync(self.#fd);
        self.#fd = -1;
        for await (const piece of createReadStream(self.#path, { highWaterMark: 1 << 20 })) yield piece as Buffer;
      }
    };
    for await (const piece of all(this)) {
      const text = carry + decoder.decode(piece, { stream: true });
      const parts = text.split("\n");
      carry = parts.pop()!;
      yield* parts;
    }
    if (carry !== "") yield carry;
  }

  dispose(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    if (this.#dir !== null) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
    this.#pieces = [];
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
