// The explorer's build: a static folder (web/dist/) with relative URLs, so any static host (or a
// file server at any path) serves it. The page imports the emulator's TypeScript sources
// directly (host/), which Vite compiles; the Wasm allocator comes inlined with them.

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "./",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The allocator's Wasm binaries travel as base64 inside the module: one large chunk is expected.
    chunkSizeWarningLimit: 2048,
  },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
