// Builds the wasi-libc dlmalloc benchmark peer (bench/wasm/dlmalloc/replay.c → build/dlmalloc.wasm)
// with clang for wasm32-wasi, when such a toolchain is here (Debian: clang lld wasi-libc
// libclang-rt-14-dev-wasm32). It is optional: without it the peer reports itself unavailable, so
// a failure here prints one line and never fails the build (npm ci runs build-wasm.mjs).
//
// CC_WASM names the compiler (default "clang"), e.g. a wasi-sdk clang that brings its own sysroot.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Why the build failed, in one line: clang's first error, or the spawn error. */
function reason(err, root) {
  if (err.code === "ENOENT") return `${err.path} not found`;
  const text = String(err.stderr ?? "") + String(err.stdout ?? "");
  const line = text.split("\n").find((l) => /error/i.test(l)) ?? text.split("\n").find((l) => l.trim() !== "");
  return (line ?? err.message).split(root + "/").join("").trim();
}

/** Returns true when build/dlmalloc.wasm was built. */
export function buildDlmalloc(root, cc = process.env.CC_WASM || "clang") {
  const out = join(root, "build", "dlmalloc.wasm");
  mkdirSync(join(root, "build"), { recursive: true });
  rmSync(out, { force: true }); // a stale binary must not outlive a failed build
  try {
    execFileSync(
      cc,
      [
        "--target=wasm32-wasi",
        "-O2",
        // The loop must call the allocator exactly as the op list says: without this, clang may
        // treat malloc/free as builtins and merge or drop calls it proves unneeded.
        "-fno-builtin",
        // A library (a WASI reactor: _initialize, no _start). Linked as a command instead, each
        // export would be wrapped in a call of the static constructors and destructors.
        "-mexec-model=reactor",
        "-Wl,--strip-debug",
        "-o",
        out,
        join(root, "bench", "wasm", "dlmalloc", "replay.c"),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    return true;
  } catch (err) {
    console.log(`dlmalloc peer skipped (${cc} cannot build wasm32-wasi with wasi-libc): ${reason(err, root)}`);
    return false;
  }
}
