// Shared by the fuzz tests: a quiet stream for campaign output, and a target broken on purpose.

import { Writable } from "node:stream";
import type { Target } from "../../host/fuzz/executor.js";
import type { Process } from "../../host/process.js";

/** A stderr stand-in that keeps what was written. */
export function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

/**
 * A process whose malloc, on its 12th call, returns the block its 3rd call returned (the real
 * allocation still happens, so the allocator stays consistent): an overlapping block whenever the
 * 3rd one is still live.
 */
export function overlappingMalloc(proc: Process): Target {
  let calls = 0;
  let third = 0;
  return withMalloc(proc, (size) => {
    const p = proc.malloc(size);
    calls++;
    if (calls === 3) third = p;
    return calls === 12 && third !== 0 ? third : p;
  });
}

/**
 * An x86_64 process whose malloc keeps only the low 32 bits of its size (the classic bug of a
 * 32-bit program ported to 64 bits): malloc(2^32 + 16) is malloc(16), malloc(SIZE_MAX) malloc(2^32 − 1).
 */
export function truncatingMalloc(proc: Process): Target {
  return withMalloc(proc, (size) => proc.malloc(Number(BigInt.asUintN(32, BigInt(size)))));
}

/** The process with its malloc replaced, every other call its own. */
function withMalloc(proc: Process, malloc: (size: number) => number): Target {
  const t = { malloc } as Partial<Target>;
  for (const key of [
    "calloc", "realloc", "reallocarray", "free", "memalign", "aligned_alloc", "posix_memalign", "valloc", "pvalloc",
    "malloc_usable_size", "malloc_trim", "mallopt", "sbrk", "mallinfo2", "maps", "status",
  ] as const) {
    (t as Record<string, unknown>)[key] = (proc[key] as (...a: unknown[]) => unknown).bind(proc);
  }
  Object.defineProperty(t, "errno", { get: () => proc.errno, set: (v: number) => (proc.errno = v) });
  Object.defineProperty(t, "sys", { get: () => proc.sys });
  Object.defineProperty(t, "memory", { get: () => proc.memory });
  return t as Target;
}
