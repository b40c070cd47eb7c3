// Opening a trace from a file (the picker or a drop): an op list or a glibc mtrace log, plain or
// gzipped (gunzipped in the page by the browser's DecompressionStream; nothing is uploaded).

import { parseTrace } from "../../host/index.js";
import { Program } from "./program.js";
import type { Arch } from "./words.js";

/** True for gzip's magic bytes, whatever the file is called. */
const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The bytes of a file, gunzipped if they are gzip. */
export async function fileBytes(file: Blob): Promise<Uint8Array> {
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (!isGzip(head)) return new Uint8Array(await file.arrayBuffer());
  const stream = file.stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The program of a trace file for a process of `arch`; throws with the parser's message (and line) when it is not one. */
export async function programOfFile(file: Blob, arch: Arch = "i386"): Promise<Program> {
  return Program.fromOps(parseTrace(await fileBytes(file)), arch);
}
