#!/usr/bin/env node
// npm run web [-- --port N] [--no-build]: builds the explorer with Vite into web/dist/ and serves
// that folder on 127.0.0.1 (Vite's preview server), printing the URL.

import { fileURLToPath } from "node:url";
import { build, preview } from "vite";

const args = process.argv.slice(2);
let port = 5173;
let doBuild = true;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") {
    port = Number(args[++i]);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`web: --port wants a port number, not ${args[i]}`);
      process.exit(2);
    }
  } else if (args[i] === "--no-build") doBuild = false;
  else {
    console.error(`web: unknown option ${args[i]} (options: --port N, --no-build)`);
    process.exit(2);
  }
}

const configFile = fileURLToPath(new URL("./vite.config.ts", import.meta.url));
if (doBuild) await build({ configFile });
const server = await preview({ configFile, preview: { port, strictPort: true, host: "127.0.0.1", open: false } });
const url = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
console.log(`heap explorer: ${url}  (walk-through: ${url}?scenario=walkthrough&step=1&seed=1)`);
