// An app that bundles `import { createProcess } from "ptmalloc-wasm"` loads the release build
// up front and nothing else of the allocator: the debug build and the pure-TS twin are chunks
// of their own, fetched only when a process asks for them (scripts/bundle-size.mjs measures it).
import { describe, expect, it } from "vitest";
import { bundleSize } from "../../scripts/bundle-size.mjs";

interface Chunk {
  file: string;
  bytes: number;
  gzipBytes: number;
  inputs: string[];
}

describe("a bundle of createProcess", () => {
  it("carries the release build up front, and the debug build and the TS twin only on demand", async () => {
    const { upFront, onDemand } = (await bundleSize()) as { upFront: Chunk & { chunks: Chunk[] }; onDemand: Chunk[] };
    const front = upFront.chunks.flatMap((c) => c.inputs);
    expect(front).toContain("dist/host/process.js");
    expect(front).toContain("dist/host/generated/wasm-release.js");
    expect(front).not.toContain("dist/host/generated/wasm-debug.js");
    expect(front.filter((p) => p.startsWith("dist/host/baseline/"))).toEqual([]);
    const lazy = onDemand.flatMap((c) => c.inputs);
    expect(lazy).toContain("dist/host/generated/wasm-debug.js");
    expect(lazy).toContain("dist/host/baseline/index.js");
    // The release Wasm build is about 101 KB of base64 (76 KB of Wasm, arena.c's threads and heaps
    // included); the process, kernel, threads and trace code about 80 KB more, minified, x86_64's
    // layout, windows and 64-bit C values included (about 10 KB: the arch is an option of
    // createProcess, so its host code comes with it; the x86_64 Wasm builds are chunks of their own).
    expect(front).not.toContain("dist/host/generated/wasm-release64.js");
    expect(lazy).toContain("dist/host/generated/wasm-release64.js");
    expect(upFront.bytes).toBeLessThan(190_000);
  });
});
