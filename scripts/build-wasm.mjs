// Builds the allocator (assembly/) with asc for both targets and both ABIs, and the benchmark
// peers (TLSF, the floors, dlmalloc when clang is here), then embeds the allocator's binaries as
// base64 in host/generated/ (wasm-release.ts, wasm-debug.ts, and wasm-release64.ts,
// wasm-debug64.ts for x86-64) so that the package loads the same way in Node and in a browser (no
// file or fetch access needed). Each build is a module of its own: all but the i386 release one
// are imported dynamically, so an app's bundle of the default path does not carry them.
//
// One source, two ABIs. C words are the type `word` (with `sword` signed, and `cword`/`csword`
// for C words crossing the Wasm boundary), aliases given here: u32 on i386 (the i32 ABI as it has
// always been), u64 on x86-64 (crossing as f64). The x86-64 build reads assembly/config.ts with
// each `// x86_64: VALUE` marker's value in place of the i386 one (asc's readFile hook); nothing
// else in the source differs.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { main as ascMain } from "assemblyscript/asc";
import { buildDlmalloc } from "./build-dlmalloc.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");

// Where each build's static data starts (asc's memoryBase; asconfig.json has i386's, 0x11000: one
// page above the program's text page). The x86-64 program is a PIE whose data follows four
// read-only pages (ELF header, text, rodata, RELRO), so its static data starts four pages above
// the text (0x10000), which the kernel maps at loadBase + 0x4000 as the real program's .data.
const DATA_START_X86_64 = 0x14000;
const ABIS = {
  i386: { suffix: "", use: ["word=u32", "sword=i32", "cword=u32", "csword=i32"], extra: [] },
  x86_64: { suffix: "64", use: ["word=u64", "sword=i64", "cword=f64", "csword=f64"], extra: ["--memoryBase", String(DATA_START_X86_64)] },
};
// asc warns of every implicit usize <-> u32 conversion (AS201): C words are u32 on purpose in the i386 build.
const QUIET = ["--disableWarning", "201"];

/** assembly/config.ts with each marked value replaced by its x86-64 value. */
export function configX86_64(src) {
  let marked = 0;
  const out = src.replace(/^(export const \w+ = )(.+?);( *)\/\/ x86_64: (.+)$/gm, (_m, head, _i386, _sp, value) => {
    marked++;
    return `${head}${value.trim()};`;
  });
  if (marked === 0) throw new Error("assembly/config.ts: no `// x86_64:` markers");
  return out;
}
const configPath = resolve(root, "assembly", "config.ts");
const config64 = configX86_64(readFileSync(configPath, "utf8"));

for (const [abi, { suffix, use, extra }] of Object.entries(ABIS)) {
  for (const target of ["release", "debug"]) {
    // assembly/coverage-exports.ts is an entry of the debug build only: its exports (cov_count,
    // cov_hit, cov_reset) exist there alone, and release compiles every coverage mark out.
    const entries = target === "debug" ? ["assembly/index.ts", "assembly/coverage-exports.ts"] : ["assembly/index.ts"];
    const base = target === "debug" ? `ptmalloc${suffix}.debug` : `ptmalloc${suffix}`;
    const args = [...entries, "--target", target, "-o", `build/${base}.wasm`, "-t", `build/${base}.wat`, ...QUIET, ...extra];
    for (const u of ["abort=", ...use]) args.push("--use", u);
    if (abi === "i386") {
      execFileSync(process.execPath, [asc, ...args], { cwd: root, stdio: "inherit" });
    } else {
      const prev = process.cwd();
      let configRead = false;
      process.chdir(root);
      try {
        const { error, stderr } = await ascMain(args, {
          readFile: (name, baseDir) => {
            const path = resolve(root, baseDir, name);
            if (path === configPath) {
              configRead = true;
              return config64;
            }
            try {
              return readFileSync(path, "utf8");
            } catch {
              return null;
            }
          },
        });
        if (error) {
          process.stderr.write(stderr.toString());
          throw error;
        }
        if (!configRead) throw new Error("build-wasm: the x86_64 build did not read assembly/config.ts through the hook");
      } finally {
        process.chdir(prev);
      }
    }
  }
}
// The benchmark peer: AssemblyScript's TLSF allocator in a module of its own.
execFileSync(process.execPath, [asc, "--config", "asconfig.json", "--target", "release"], {
  cwd: join(root, "bench", "wasm"),
  stdio: "inherit",
});
// The floors: the harness with no allocator behind it (a stub-runtime module of its own).
execFileSync(process.execPath, [asc, "--config", "floor.asconfig.json", "--target", "release"], {
  cwd: join(root, "bench", "wasm"),
  stdio: "inherit",
});
const b64 = (f) => readFileSync(join(root, "build", f)).toString("base64");

// Where each module's static data ends (__heap_base): the pure-TypeScript twin reports the same
// end of data, so both allocators start the heap at the same address for the same seed.
const heapBaseOf = (file) => {
  const mod = new WebAssembly.Module(readFileSync(join(root, "build", file)));
  const stubs = { env: { memory: new WebAssembly.Memory({ initial: 2, maximum: 65536 }) } };
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.kind === "function") stubs[imp.module][imp.name] = () => 0;
  }
  return new WebAssembly.Instance(mod, stubs).exports.heap_base() >>> 0;
};
const heapBase = heapBaseOf("ptmalloc.wasm");
const heapBase64 = heapBaseOf("ptmalloc64.wasm");
mkdirSync(join(root, "host", "generated"), { recursive: true });
// Typed `string`, not the literal: the declaration file then does not repeat the whole binary.
for (const [file, name, wasm] of [
  ["wasm-release.ts", "releaseWasmBase64", "ptmalloc.wasm"],
  ["wasm-debug.ts", "debugWasmBase64", "ptmalloc.debug.wasm"],
  ["wasm-release64.ts", "release64WasmBase64", "ptmalloc64.wasm"],
  ["wasm-debug64.ts", "debug64WasmBase64", "ptmalloc64.debug.wasm"],
]) {
  writeFileSync(
    join(root, "host", "generated", file),
    "// Generated by scripts/build-wasm.mjs from assembly/: do not edit.\n" +
      `export const ${name}: string = "${b64(wasm)}";\n`,
  );
}
// The single file both builds used to share: gone, so that no stale copy is compiled and shipped.
rmSync(join(root, "host", "generated", "wasm-binaries.ts"), { force: true });
writeFileSync(
  join(root, "host", "generated", "wasm-layout.ts"),
  "// Generated by scripts/build-wasm.mjs from assembly/: do not edit.\n" +
    "/** __heap_base of the release module: where the program's static data ends (a Wasm offset). */\n" +
    `export const WASM_HEAP_BASE = 0x${heapBase.toString(16)};\n` +
    "/** The same for the x86-64 module. */\n" +
    `export const WASM_HEAP_BASE_X86_64 = 0x${heapBase64.toString(16)};\n` +
    "/** Where the x86-64 module's static data starts (its memoryBase; i386's is PROGRAM_DATA_START). */\n" +
    `export const WASM_DATA_START_X86_64 = 0x${DATA_START_X86_64.toString(16)};\n`,
);
// The x86-64 values of assembly/config.ts, for host code (same names). PTRDIFF_MAX, 2^63 − 1, is
// not a JS number: it is written as the largest number not above it (2^63 − 1024), so that
// `x > PTRDIFF_MAX` gives C's answer for every number x; PTRDIFF_MAX_BIGINT is exact.
{
  let ts = config64.replace(
    /^export const PTRDIFF_MAX = 0x7fffffffffffffff;$/m,
    "export const PTRDIFF_MAX = 9223372036854774784; // 2^63 − 1024: see PTRDIFF_MAX_BIGINT\n" +
      "export const PTRDIFF_MAX_BIGINT = 0x7fffffffffffffffn;",
  );
  if (ts === config64) throw new Error("assembly/config.ts: PTRDIFF_MAX's x86-64 value not found");
  ts = ts.replace(/^export const SYSCALL_ERROR_FLOOR = 0xfffffffffffff000;$/m, "export const SYSCALL_ERROR_FLOOR = 2 ** 64 - 4096;");
  writeFileSync(
    join(root, "host", "generated", "config-x86_64.ts"),
    "// Generated by scripts/build-wasm.mjs from assembly/config.ts (its `// x86_64:` values): do not edit.\n" + ts,
  );
}
// The coverage ids' names, in id order, from the one list in assembly/coverage.ts: its COV_*
// path constants, then one "check:" name per message of its check_index() list.
{
  const src = readFileSync(join(root, "assembly", "coverage.ts"), "utf8");
  const names = [];
  for (const m of src.matchAll(/^export const COV_(\w+) = (\d+);/gm)) {
    if (m[1] === "CHECKS" || m[1] === "CHECK_COUNT") continue; // not path ids
    if (Number(m[2]) !== names.length) throw new Error(`assembly/coverage.ts: COV_${m[1]} is ${m[2]}, expected ${names.length}`);
    names.push(m[1].toLowerCase());
  }
  const checksBase = Number(/^export const COV_CHECKS = (\d+);/m.exec(src)[1]);
  if (checksBase !== names.length) throw new Error("assembly/coverage.ts: COV_CHECKS must follow the last path id");
  const checks = [...src.matchAll(/^  if \(m == changetype<usize>\((\w+)\)\) return (\d+);$/gm)].map((m, i) => {
    if (Number(m[2]) !== i) throw new Error(`assembly/coverage.ts: check_index gives ${m[1]} ${m[2]}, expected ${i}`);
    return m[1];
  });
  if (checks.length !== Number(/^export const COV_CHECK_COUNT = (\d+);/m.exec(src)[1])) {
    throw new Error(`assembly/coverage.ts: COV_CHECK_COUNT must be ${checks.length}, the checks in check_index`);
  }
  for (const id of checks) names.push(`check:${id}`);
  writeFileSync(
    join(root, "host", "generated", "coverage-names.ts"),
    "// Generated by scripts/build-wasm.mjs from assembly/coverage.ts: do not edit.\n" +
      "/** The debug build's coverage ids' names, in id order (cov_hit(id) is names[id]). */\n" +
      `export const COVERAGE_NAMES: readonly string[] = ${JSON.stringify(names, null, 2)};\n`,
  );
}
console.log("wasm built and embedded in host/generated/ (wasm-release.ts, wasm-debug.ts, wasm-release64.ts, wasm-debug64.ts, wasm-layout.ts, config-x86_64.ts)");
// The wasi-libc dlmalloc peer, when clang can target wasm32-wasi here (optional: never fails).
if (buildDlmalloc(root)) console.log("dlmalloc peer built: build/dlmalloc.wasm");
