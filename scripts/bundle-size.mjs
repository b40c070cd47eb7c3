// What `import { createProcess } from "ptmalloc-wasm"` costs a browser app: bundles that one
// import with esbuild (minified, ESM, code splitting on, as an app bundler would), then reports
// the bytes of the entry chunk — what the page loads before its first createProcess() — and of
// the chunks loaded only on demand (the debug build, the pure-TypeScript twin), raw and gzipped.
//
//   node scripts/bundle-size.mjs [--json]     (after `npm run build`: it bundles dist/)
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Bundles `source` (resolved from the repository root) and measures every output chunk. */
export async function bundleSize(source = 'import { createProcess } from "ptmalloc-wasm";\nglobalThis.createProcess = createProcess;\n', splitting = true) {
  const outdir = mkdtempSync(join(tmpdir(), "ptmalloc-bundle-"));
  try {
    const result = await build({
      stdin: { contents: source, resolveDir: root, sourcefile: "app.js", loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      splitting,
      platform: "browser",
      target: "es2022",
      outdir,
      metafile: true,
      logLevel: "error",
      absWorkingDir: root,
      // The package by its own name, through its package.json "exports", as an app resolves it.
      alias: { "ptmalloc-wasm": root },
    });
    // esbuild makes every dynamically imported module an entry point of its own: what the page
    // loads up front is the app's chunk and the chunks it imports statically, transitively.
    const outputs = result.metafile.outputs;
    const measure = (file) => {
      const bytes = readFileSync(join(root, file));
      return {
        file: relative(outdir, join(root, file)),
        bytes: bytes.length,
        gzipBytes: gzipSync(bytes, { level: 9 }).length,
        inputs: Object.keys(outputs[file].inputs).map((p) => relative(root, p)),
      };
    };
    const app = Object.keys(outputs).find((f) => outputs[f].entryPoint === "app.js");
    const upFront = new Set([app]);
    for (const file of upFront) {
      for (const imp of outputs[file].imports) if (imp.kind === "import-statement") upFront.add(imp.path);
    }
    const front = [...upFront].map(measure);
    const sum = (list, key) => list.reduce((n, c) => n + c[key], 0);
    return {
      upFront: { bytes: sum(front, "bytes"), gzipBytes: sum(front, "gzipBytes"), chunks: front },
      onDemand: Object.keys(outputs).filter((f) => !upFront.has(f) && f.endsWith(".js")).map(measure),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { upFront, onDemand } = await bundleSize();
  // A bundler that does not split code inlines the dynamic imports: everything in one file.
  const { upFront: unsplit } = await bundleSize(undefined, false);
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ upFront, onDemand, unsplit: { bytes: unsplit.bytes, gzipBytes: unsplit.gzipBytes } }, null, 2));
  } else {
    const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
    const ours = (c) => c.inputs.filter((p) => p.startsWith("dist/")).map((p) => p.slice("dist/".length));
    console.log(`import { createProcess } from "ptmalloc-wasm"  (esbuild --bundle --minify --splitting --format=esm)`);
    console.log(`  loaded up front: ${kb(upFront.bytes)} minified, ${kb(upFront.gzipBytes)} gzipped (${upFront.bytes} / ${upFront.gzipBytes} bytes)`);
    for (const c of onDemand) {
      const what = ours(c);
      console.log(`  on demand:       ${kb(c.bytes)} minified, ${kb(c.gzipBytes)} gzipped  (${what.slice(0, 2).join(", ")}${what.length > 2 ? `, … ${what.length} files` : ""})`);
    }
    console.log(`  without --splitting (one file, everything inline): ${kb(unsplit.bytes)} minified, ${kb(unsplit.gzipBytes)} gzipped (${unsplit.bytes} / ${unsplit.gzipBytes} bytes)`);
  }
}
