// The explorer page built by Vite, served on 127.0.0.1 and opened in Debian's Chromium through
// playwright-core: what the page tests share. `outDir` builds into a folder of one's own (two
// test files may build at once).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

type Browser = import("playwright-core").Browser;
type PreviewServer = import("vite").PreviewServer;

export interface Explorer {
  server: PreviewServer;
  browser: Browser;
  /** The page's URL (ends with /). */
  base: string;
  close(): Promise<void>;
}

/** Builds the page (into web/dist/, or `outDir`), serves it and launches Chromium. */
export async function startExplorer(outDir?: string): Promise<Explorer> {
  const vite = await import("vite");
  const configFile = fileURLToPath(new URL("../../web/vite.config.ts", import.meta.url));
  const build = outDir === undefined ? {} : { build: { outDir, emptyOutDir: true } };
  await vite.build({ configFile, logLevel: "error", ...build });
  const server = await vite.preview({ configFile, ...build, preview: { port: 0, host: "127.0.0.1" } });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    server, browser, base: server.resolvedUrls!.local[0],
    async close() {
      await browser.close();
      await new Promise<void>((done) => server.httpServer.close(() => done()));
    },
  };
}
