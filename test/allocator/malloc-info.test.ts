// malloc_info(0, fp) on a fragmented heap: fastbins, a small bin, large bins (sizes shown with
// their PREV_INUSE bit, as glibc prints chunksize_nomask) and the unsorted bin, in glibc's order.
// fixtures/malloc_info-fragmented.xml is the output of this C program under i386 glibc 2.36
// (the FILE is created first, so its 320-byte chunk is the first block of the heap):
//
//   FILE *fp = fdopen(1, "w"); setvbuf(fp, fbuf, _IOFBF, sizeof fbuf);
//   for (i = 0; i < 200; i++) v[i] = malloc(8 + (i * 97) % 3000);
//   for (i = 0; i < 200; i += 2) free(v[i]);
//   malloc(5000);
//   for (i = 0; i < 40; i++) s[i] = malloc(24 + (i % 2) * 16);
//   for (i = 0; i < 40; i++) free(s[i]);
//   for (i = 1; i < 40; i += 4) free(v[i]);
//   malloc_info(0, fp);

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeProcess } from "./harness.js";

const fixture = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "fixtures", "malloc_info-fragmented.xml"), "utf8");

describe("malloc_info", () => {
  it("lists every bin with blocks, then the totals, exactly as glibc 2.36", async () => {
    const { libc, brk0, memory } = await makeProcess();
    const file = libc.malloc(308); // stands for the FILE of the C program: chunk size 320
    expect(file - brk0).toBe(416);
    expect(new Uint32Array(memory.buffer, file - 4, 1)[0]).toBe(321);
    const v: number[] = [];
    for (let i = 0; i < 200; i++) v.push(libc.malloc(8 + ((i * 97) % 3000)));
    for (let i = 0; i < 200; i += 2) libc.free(v[i]);
    libc.malloc(5000);
    const s: number[] = [];
    for (let i = 0; i < 40; i++) s.push(libc.malloc(24 + (i % 2) * 16));
    for (const p of s) libc.free(p);
    for (let i = 1; i < 40; i += 4) libc.free(v[i]);
    expect(libc.malloc_info()).toBe(fixture);
  });
});
