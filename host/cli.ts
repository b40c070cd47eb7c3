#!/usr/bin/env node
// The command line (the package's bin). It starts cli/bundle.js, all of the command line's modules
// in one file, which the build makes after tsc (scripts/bundle-cli.mjs): Node then reads and
// links one module instead of about seventy, some 30 ms less at every start, a tenth of a short
// replay. Without the bundle, or when tsc has written the modules since (the bundle would be
// older than them), it starts the modules themselves (cli/start.js).

import { statSync } from "node:fs";

function bundleIsFresh(): boolean {
  try {
    return statSync(new URL("./cli/bundle.js", import.meta.url)).mtimeMs >= statSync(new URL("./cli/start.js", import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
}

// A computed specifier: the bundle is not there for tsc to see.
const entry = bundleIsFresh() ? "./cli/bundle.js" : "./cli/start.js";
await import(entry);
