// Bundles the command line (dist/host/cli/start.js and every module it imports) into one file,
// dist/host/cli/bundle.js, which dist/host/cli.js starts when it is newer than the modules: Node
// reads and links one module instead of about seventy. Run after tsc (npm run build:ts does).
// Without esbuild (an install without dev dependencies) it says so and stops: the command line
// then runs from the modules, as fast once started.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let build;
try {
  ({ build } = await import("esbuild"));
} catch {
  console.warn("bundle-cli: no esbuild; the command line runs from its modules");
  process.exit(0);
}
await build({
  entryPoints: [join(root, "dist/host/cli/start.js")],
  outfile: join(root, "dist/host/cli/bundle.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Imports whose specifier is computed (the fuzz harness, node:zlib in the trace reader) stay
  // imports at run time, resolved from dist/host/cli/ as from the modules.
});
