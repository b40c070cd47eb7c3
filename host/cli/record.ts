// `record -- COMMAND ARGS...`: a real program's allocations, recorded on this machine by glibc's
// own tracer (mtrace, in libc_malloc_debug.so.0 since glibc 2.34) into an mtrace log that
// `replay` and `convert` read.
//
// A small LD_PRELOAD library, built with the system's `cc` on first use and cached per user,
// starts mtrace() before main() and routes calloc and the memalign family through functions
// named mtrx_calloc and mtrx_al_K (alignment 2^K): mtrace logs every allocation as "+", but the
// caller it prints is the function that called glibc, so those names say which call it was
// (host/trace/mtrace.ts reads them back). The library then drops MALLOC_TRACE from the
// environment, so that programs the command starts do not overwrite the log.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { constants as osConstants, homedir, tmpdir, userInfo } from "node:os";
import { basename, join, resolve } from "node:path";
import { PROGRAM, UserError } from "./args.js";
import { fileError } from "./input.js";

const PRELOAD_SOURCE = String.raw`/* ptmalloc-wasm record: starts glibc's mtrace() and tags calloc and the memalign family. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <mcheck.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static void *(*real_calloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

/* While the real functions are looked up, a calloc (glibc's dlsym does not make one for names
 * that exist) fails rather than recursing. */
static int resolving;

/* glibc's tracing entry points live in libc_malloc_debug.so.0 under the base symbol versions
 * only (not as default versions), so an unversioned dlsym would find libc's untraced ones. */
static void *traced(const char *name) {
  static const char *const versions[] = {"GLIBC_2.2.5", "GLIBC_2.0", "GLIBC_2.17", "GLIBC_2.2", "GLIBC_2.27"};
  void *debug = dlopen("libc_malloc_debug.so.0", RTLD_NOW | RTLD_NOLOAD);
  if (debug) {
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
      void *f = dlvsym(debug, name, versions[i]);
      if (f) return f;
    }
  }
  return dlsym(RTLD_NEXT, name);
}

static void resolve_all(void) {
  if (real_calloc) return;
  resolving = 1;
  real_calloc = (void *(*)(size_t, size_t))traced("calloc");
  /* glibc 2.36's aligned_alloc is memalign (and libc_malloc_debug has no traced aligned_alloc) */
  real_memalign = (void *(*)(size_t, size_t))traced("memalign");
  real_aligned_alloc = real_memalign;
  real_posix_memalign = (int (*)(void **, size_t, size_t))traced("posix_memalign");
  real_valloc = (void *(*)(size_t))traced("valloc");
  real_pvalloc = (void *(*)(size_t))traced("pvalloc");
  resolving = 0;
}

__attribute__((constructor)) static void start_tracing(void) {
  resolve_all();
  mtrace();
  unsetenv("MALLOC_TRACE");
}

/* The call into glibc must be made from the tagging function's own frame (never a tail call):
 * mtrace prints the return address of glibc's entry point as the caller. */
#define BARRIER() __asm__ volatile("" ::: "memory")

__attribute__((noinline, visibility("default"))) void *mtrx_calloc(size_t n, size_t size) {
  void *p = real_calloc(n, size);
  BARRIER();
  return p;
}

enum { K_MEMALIGN, K_ALIGNED_ALLOC, K_POSIX_MEMALIGN, K_VALLOC, K_PVALLOC };

static inline __attribute__((always_inline)) void *aligned_call(int kind, size_t align, size_t size, int *err) {
  void *p = NULL;
  switch (kind) {
    case K_MEMALIGN: p = real_memalign(align, size); break;
    case K_ALIGNED_ALLOC: p = real_aligned_alloc(align, size); break;
    case K_POSIX_MEMALIGN: *err = real_posix_memalign(&p, align, size); break;
    case K_VALLOC: p = real_valloc(size); break;
    default: p = real_pvalloc(size); break;
  }
  BARRIER();
  return p;
}

#define TAG(K) \
  __attribute__((noinline, visibility("default"))) void *mtrx_al_##K(int kind, size_t align, size_t size, int *err) { \
    return aligned_call(kind, align, size, err); \
  }
TAG(0) TAG(1) TAG(2) TAG(3) TAG(4) TAG(5) TAG(6) TAG(7) TAG(8) TAG(9) TAG(10) TAG(11) TAG(12) TAG(13)
TAG(14) TAG(15) TAG(16) TAG(17) TAG(18) TAG(19) TAG(20) TAG(21) TAG(22) TAG(23) TAG(24) TAG(25)
TAG(26) TAG(27) TAG(28) TAG(29) TAG(30) TAG(31) TAG(np)

typedef void *(*tag_fn)(int, size_t, size_t, int *);
static const tag_fn tags[33] = {
  mtrx_al_0, mtrx_al_1, mtrx_al_2, mtrx_al_3, mtrx_al_4, mtrx_al_5, mtrx_al_6, mtrx_al_7, mtrx_al_8,
  mtrx_al_9, mtrx_al_10, mtrx_al_11, mtrx_al_12, mtrx_al_13, mtrx_al_14, mtrx_al_15, mtrx_al_16,
  mtrx_al_17, mtrx_al_18, mtrx_al_19, mtrx_al_20, mtrx_al_21, mtrx_al_22, mtrx_al_23, mtrx_al_24,
  mtrx_al_25, mtrx_al_26, mtrx_al_27, mtrx_al_28, mtrx_al_29, mtrx_al_30, mtrx_al_31, mtrx_al_np,
};

/* 2^K: the alignment rounded up to a power of two, as glibc itself does; 32 means above 2^31. */
static int tag_of(size_t align) {
  int k = 0;
  while (k < 32 && ((size_t)1 << k) < align) k++;
  return k;
}

static void *tagged(int kind, size_t align, size_t size, int *err) {
  resolve_all();
  return tags[tag_of(align)](kind, align, size, err);
}

void *calloc(size_t n, size_t size) {
  if (resolving) return NULL;
  resolve_all();
  return mtrx_calloc(n, size);
}
void *memalign(size_t align, size_t size) { return tagged(K_MEMALIGN, align, size, NULL); }
void *aligned_alloc(size_t align, size_t size) { return tagged(K_ALIGNED_ALLOC, align, size, NULL); }
int posix_memalign(void **out, size_t align, size_t size) {
  int err = 0;
  void *p = tagged(K_POSIX_MEMALIGN, align, size, &err);
  if (err == 0) *out = p;
  return err;
}
void *valloc(size_t size) { return tagged(K_VALLOC, 4096, size, NULL); }
void *pvalloc(size_t size) { return tagged(K_PVALLOC, 4096, size, NULL); }

`;

/** Splits `record` arguments into its own options and the command (after `--`, or the first word). */
export function splitRecordArgs(args: string[]): [string[], string[]] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return [args.slice(0, i), args.slice(i + 1)];
    if (a === "-o" || a === "--output") {
      i++;
      continue;
    }
    if (!a.startsWith("-")) return [args.slice(0, i), args.slice(i)];
  }
  return [args, []];
}

/** Where the library is kept: the user's cache, else (none, or not writable) the temporary directory. */
function cacheDir(): string {
  const candidates: string[] = [];
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg?.startsWith("/")) candidates.push(join(xdg, "ptmalloc-wasm"));
  try {
    const home = homedir();
    if (home && existsSync(home)) candidates.push(join(home, ".cache", "ptmalloc-wasm"));
  } catch {
    // no home directory: the temporary one
  }
  candidates.push(join(tmpdir(), `ptmalloc-wasm-${userInfo().uid}`));
  let failure: unknown;
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, fsConstants.W_OK);
      return dir;
    } catch (err) {
      failure ??= fileError(dir, err);
    }
  }
  const why = failure instanceof UserError ? failure.message : String(failure);
  throw new UserError(`no directory to keep the preload library in (${candidates.join(", ")}): ${why}; set XDG_CACHE_HOME`);
}

/** The preload library, built on first use (and again when its source changes). */
function preloadLibrary(): string {
  const hash = createHash("sha256").update(PRELOAD_SOURCE).digest("hex").slice(0, 12);
  const dir = cacheDir();
  const lib = join(dir, `mtrace-preload-${process.arch}-${hash}.so`);
  if (existsSync(lib)) return lib;
  const src = join(dir, `mtrace-preload-${hash}.c`);
  writeFileSync(src, PRELOAD_SOURCE);
  const tmp = `${lib}.${process.pid}.tmp`;
  const cc = process.env.CC || "cc";
  const r = spawnSync(cc, ["-shared", "-fPIC", "-O2", "-o", tmp, src, "-ldl"], { encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new UserError(`record needs a C compiler to build its small preload library, and there is no '${cc}' (install gcc or clang, or set CC)`);
  }
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    const first = (r.stderr || r.error?.message || "").split("\n").find((l) => l.trim() !== "")?.trim();
    const why = first ?? (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}, and nothing on stderr`);
    throw new UserError(`cannot build the preload library with '${cc}': ${why}`);
  }
  renameSync(tmp, lib);
  return lib;
}

/** glibc 2.34 or later (where mtrace lives in libc_malloc_debug.so.0), or a UserError. */
function checkGlibc(): void {
  if (process.platform !== "linux") throw new UserError("record works on Linux with glibc only (it uses glibc's mtrace)");
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const version = header?.glibcVersionRuntime;
  if (!version) throw new UserError("record needs glibc (it uses glibc's mtrace); this system's C library is not glibc");
  const [major, minor] = version.split(".").map(Number);
  if (major < 2 || (major === 2 && minor < 34)) {
    throw new UserError(`record needs glibc 2.34 or later (libc_malloc_debug.so.0); this system has glibc ${version}`);
  }
}

export async function recordCommand(program: string[], output: string | undefined): Promise<number> {
  checkGlibc();
  const lib = preloadLibrary();
  const out = resolve(output ?? `${basename(program[0])}.mtrace`);
  const shown = output ?? out;
  checkWritable(out, shown);
  const preload = [lib, "libc_malloc_debug.so.0", process.env.LD_PRELOAD].filter(Boolean).join(":");
  const r = spawnSync(program[0], program.slice(1), {
    stdio: "inherit",
    env: { ...process.env, LD_PRELOAD: preload, MALLOC_TRACE: out },
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError("command not found", program[0]);
    if (code === "EACCES") {
      let directory = false;
      try {
        directory = program[0].includes("/") && statSync(program[0]).isDirectory();
      } catch {
        // not there to look at: permission denied it is
      }
      throw new UserError(directory ? "is a directory, not a program" : "permission denied (not an executable?)", program[0]);
    }
    throw new UserError(`cannot run: ${r.error.message}`, program[0]);
  }
  const records = countRecords(out);
  if (records < 0) {
    throw new UserError(`nothing was recorded: is '${program[0]}' a dynamically linked program using this system's glibc?`, shown);
  }
  process.stderr.write(`${PROGRAM}: wrote ${shown}: ${records} mtrace record${records === 1 ? "" : "s"} of ${program.join(" ")}\n`);
  // A command killed by a signal ends `record` as the shell would report it: 128 + the signal.
  if (r.signal) return 128 + (osConstants.signals[r.signal] ?? 0);
  return r.status ?? 0;
}

/** Fails now, before COMMAND runs, if the log cannot be written where asked (glibc would say nothing). */
function checkWritable(out: string, shown: string): void {
  try {
    if (statSync(out).isDirectory()) throw new UserError("is a directory", shown);
  } catch (err) {
    if (err instanceof UserError) throw err;
  }
  try {
    closeSync(openSync(out, "w"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError("cannot write the log there: no such directory", shown);
    const e = fileError(shown, err);
    throw e instanceof UserError ? new UserError(`cannot write the log: ${e.message}`, shown) : e;
  }
  // mtrace() creates the log itself: an empty file left here would look like a recording.
  rmSync(out, { force: true });
}

/** The records of the log at `path` (lines other than "= Start" / "= End"), or -1 when it is no mtrace log; read in pieces, as a log may be gigabytes. */
function countRecords(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return -1;
  }
  try {
    const buf = new Uint8Array(1 << 20);
    const start = "= Start";
    let records = 0;
    let lineStart = true;
    let first = true;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      if (first) {
        if (n < start.length || new TextDecoder().decode(buf.subarray(0, start.length)) !== start) return -1;
        first = false;
      }
      for (let i = 0; i < n; i++) {
        if (lineStart && buf[i] !== 61 /* = */) records++;
        lineStart = buf[i] === 10;
      }
    }
    return first ? -1 : records;
  } finally {
    closeSync(fd);
  }
}
