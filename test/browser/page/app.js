// The page's script: the same code whether esbuild bundled it or the browser resolves
// "ptmalloc-wasm" through the page's import map. The test reads window.ptmallocResult.
import * as api from "ptmalloc-wasm";
import { exercise } from "./exercise.js";

async function gunzipText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).text();
}

window.ptmallocResult = exercise(api, gunzipText).then(
  (result) => ({ result }),
  (err) => ({ error: String(err?.stack ?? err) }),
);
