import { describe, expect, it } from "vitest";
import { createProcess } from "../../host/index.js";

// Instantiating the Wasm module writes its data segments (glibc's statics, the message strings)
// into the program's data pages, which the kernel then finds resident at exec. The twin writes the
// same bytes (host/baseline/image.ts); without them a fresh twin process read 12 kB less VmRSS.

describe("a fresh process's resident memory", () => {
  it("is the same for the twin as for the Wasm build: the program's initialized data is written by both", async () => {
    const wasm = await createProcess({ seed: 4, allocator: "wasm" });
    const ts = await createProcess({ seed: 4, allocator: "ts" });
    expect(ts.status().VmRSS).toBe(wasm.status().VmRSS);
    wasm.malloc(100);
    ts.malloc(100);
    expect(ts.status().VmRSS).toBe(wasm.status().VmRSS);
  });
});
