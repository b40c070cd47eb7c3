// Sizes and alignments at the edges, with errno after each call, as the real i386 glibc 2.36
// answers them (a C program under gcc -m32; lines whose outcome depends on how much memory the
// machine lets one mapping have are left out).

import { describe, expect, it } from "vitest";
import { makeProcess } from "./harness.js";

describe("argument edges", () => {
  it("gives glibc's results and errno for zero, huge and odd sizes and alignments", async () => {
    const { libc, memory, brk0 } = await makeProcess();
    const out: string[] = [];
    libc.errno = 0;
    const R = (what: string, ptr: number) => {
      const e = libc.errno;
      if (!ptr) out.push(`${what} NULL errno ${e}`);
      else {
        const s = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
        out.push(s & 2 ? `${what} M ${s & ~7} errno ${e}` : `${what} ${ptr - brk0} ${s & ~7} errno ${e}`);
      }
      libc.errno = 0;
    };
    R("malloc(0)", libc.malloc(0));
    R("malloc(0x80000000)", libc.malloc(0x80000000));
    R("malloc(0x7fffffe0)", libc.malloc(0x7fffffe0));
    R("calloc(0,0)", libc.calloc(0, 0));
    R("calloc(0x10000,0x8000)", libc.calloc(0x10000, 0x8000));
    R("realloc(NULL,0)", libc.realloc(0, 0));
    R("memalign(0,10)", libc.memalign(0, 10));
    R("memalign(3,10)", libc.memalign(3, 10));
    R("memalign(24,10)", libc.memalign(24, 10));
    R("memalign(0x80000000,10)", libc.memalign(0x80000000, 10));
    R("memalign(64,0x7ffffff0)", libc.memalign(64, 0x7ffffff0));
    R("valloc(0)", libc.valloc(0));
    R("pvalloc(0)", libc.pvalloc(0));
    R("pvalloc(0xfffff001)", libc.pvalloc(0xfffff001));
    R("pvalloc(0x7ffff000)", libc.pvalloc(0x7ffff000));
    R("aligned_alloc(0,10)", libc.aligned_alloc(0, 10));
    let r = libc.posix_memalign(0, 10);
    out.push(`pm(0) ${r.err} errno ${libc.errno}`);
    r = libc.posix_memalign(8, 10);
    out.push(`pm(8) ${r.err} errno ${libc.errno}`);
    R("pm8", r.ptr);
    r = libc.posix_memalign(4, 10);
    out.push(`pm(4) ${r.err} errno ${libc.errno}`);
    r = libc.posix_memalign(64, 0x7ffffff0);
    out.push(`pm(64,huge) ${r.err} errno ${libc.errno}`);
    libc.errno = 0;
    R("reallocarray(NULL,0,5)", libc.reallocarray(0, 0, 5));
    const a = libc.malloc(100);
    R("a", a);
    R("realloc(a,0x7fffffff)", libc.realloc(a, 0x7fffffff));
    R("realloc(a,0xfffffff0)", libc.realloc(a, 0xfffffff0));
    out.push(`usable(a) ${libc.malloc_usable_size(a)}`);
    expect(out.join("\n")).toBe(`malloc(0) 416 16 errno 0
malloc(0x80000000) NULL errno 12
malloc(0x7fffffe0) NULL errno 12
calloc(0,0) 432 16 errno 0
calloc(0x10000,0x8000) NULL errno 12
realloc(NULL,0) 448 16 errno 0
memalign(0,10) 464 16 errno 0
memalign(3,10) 480 16 errno 0
memalign(24,10) 512 16 errno 0
memalign(0x80000000,10) NULL errno 12
memalign(64,0x7ffffff0) NULL errno 12
valloc(0) 4096 16 errno 0
pvalloc(0) 8192 16 errno 0
pvalloc(0xfffff001) NULL errno 12
pvalloc(0x7ffff000) NULL errno 12
aligned_alloc(0,10) 496 16 errno 0
pm(0) 22 errno 0
pm(8) 0 errno 0
pm8 4720 16 errno 0
pm(4) 0 errno 0
pm(64,huge) 12 errno 12
reallocarray(NULL,0,5) 4752 16 errno 0
a 4768 112 errno 0
realloc(a,0x7fffffff) NULL errno 12
realloc(a,0xfffffff0) NULL errno 12
usable(a) 108`);
  });
});
