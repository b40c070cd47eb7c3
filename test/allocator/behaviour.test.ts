// Scenarios run once against the real i386 glibc 2.36 (gcc -m32, Debian 12: the expected text
// below is that program's output) and here, step by step the same. Each line shows where a block
// went (offset from the initial break and chunk size, or M and the size of an mmapped chunk) or
// mallinfo2() with the break delta.

import { describe, expect, it } from "vitest";
import { makeProcess, type TestProcess } from "./harness.js";
import { MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_NONE } from "../../host/constants.js";
import { M_ARENA_MAX, M_ARENA_TEST, M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD, M_TRIM_THRESHOLD } from "../../assembly/config.js";

class Recorder {
  lines: string[] = [];
  constructor(readonly p: TestProcess) {}
  get libc() { return this.p.libc; }
  u32(addr: number): number { return new Uint32Array(this.p.memory.buffer, addr, 1)[0]; }
  u8(addr: number): number { return new Uint8Array(this.p.memory.buffer, addr, 1)[0]; }
  brkDelta(): number { return this.p.curBrk() - this.p.brk0; }
  say(s: string): void { this.lines.push(s); }
  loc(tag: string, ptr: number): void {
    if (ptr === 0) return this.say(`${tag} NULL`);
    const s = this.u32(ptr - 4);
    this.say(s & 2 ? `${tag} M ${s & ~7}` : `${tag} ${ptr - this.p.brk0} ${s & ~7}`);
  }
  mi(tag: string): void {
    const m = this.libc.mallinfo2();
    this.say(`${tag} brk=${this.brkDelta()} arena=${m.arena} ordblks=${m.ordblks} smblks=${m.smblks} hblks=${m.hblks} hblkhd=${m.hblkhd} fsmblks=${m.fsmblks} uordblks=${m.uordblks} fordblks=${m.fordblks} keepcost=${m.keepcost}`);
  }
  text(): string { return this.lines.join("\n") + "\n" + this.libc.malloc_stats(); }
}

async function run(scenario: (r: Recorder) => void, before?: (p: TestProcess) => void): Promise<string> {
  const p = await makeProcess();
  before?.(p);
  const r = new Recorder(p);
  scenario(r);
  return r.text();
}

const stats = (arena: number, inuse: number, total: number, totalInuse: number, regions: number, mmapBytes: number) =>
  `Arena 0:\nsystem bytes     = ${String(arena).padStart(10)}\nin use bytes     = ${String(inuse).padStart(10)}\n` +
  `Total (incl. mmap):\nsystem bytes     = ${String(total).padStart(10)}\nin use bytes     = ${String(totalInuse).padStart(10)}\n` +
  `max mmap regions = ${String(regions).padStart(10)}\nmax mmap bytes   = ${String(mmapBytes).padStart(10)}\n`;

describe("systrim and the dynamic mmap threshold", () => {
  it("gives the top back past the trim threshold, and raises the threshold when an mmapped block is freed", async () => {
    const text = await run((r) => {
      const { libc } = r;
      const a = libc.malloc(100000), b = libc.malloc(100000);
      r.loc("a", a); r.loc("b", b); r.mi("grown");
      libc.free(b); r.mi("free b"); libc.free(a); r.mi("free a");
      const m = libc.malloc(200000); r.loc("m", m); libc.free(m); r.mi("free m");
      const n = libc.malloc(200000); r.loc("n", n); r.mi("n");
      const o = libc.malloc(300000); r.loc("o", o); libc.free(n); r.mi("free n"); libc.free(o); r.mi("free o");
    });
    expect(text).toBe(`a 416 100016
b 100432 100016
grown brk=331776 arena=331776 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=200440 fordblks=131336 keepcost=131336
free b brk=233472 arena=233472 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=100424 fordblks=133048 keepcost=133048
free a brk=135168 arena=135168 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=408 fordblks=134760 keepcost=134760
m M 200696
free m brk=135168 arena=135168 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=408 fordblks=134760 keepcost=134760
n 416 200016
n brk=331776 arena=331776 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=200424 fordblks=131352 keepcost=131352
o M 303096
free n brk=331776 arena=331776 ordblks=1 smblks=0 hblks=1 hblkhd=303104 fsmblks=0 uordblks=408 fordblks=331368 keepcost=331368
free o brk=331776 arena=331776 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=408 fordblks=331368 keepcost=331368
` + stats(331776, 408, 331776, 408, 1, 303104));
  });
});

describe("realloc", () => {
  it("grows into the top or a free successor in place, moves otherwise, and mremaps mmapped blocks", async () => {
    const text = await run((r) => {
      const { libc } = r;
      const a = libc.malloc(100); r.loc("a", a);
      const a2 = libc.realloc(a, 500); r.loc("a2 grow into top", a2);
      const g = libc.malloc(40); r.loc("guard", g);
      const a3 = libc.realloc(a2, 200); r.loc("a3 shrink", a3);
      const a4 = libc.realloc(a3, 480); r.loc("a4 grow into free next", a4);
      const a5 = libc.realloc(a4, 5000); r.loc("a5 move", a5);
      const m = libc.malloc(300000); r.loc("m", m);
      const m2 = libc.realloc(m, 600000); r.loc("m2 mremap", m2);
      const m3 = libc.realloc(m2, 100); r.loc("m3 mremap shrink", m3);
      r.mi("end");
      libc.errno = 0;
      const r0 = libc.realloc(a5, 0); r.say(`realloc0 ${r0 === 0 ? "(nil)" : r0} errno ${libc.errno}`);
      const ra = libc.reallocarray(0, 0x10000, 0x10001); r.say(`reallocarray ovf ${ra === 0 ? "(nil)" : ra} errno ${libc.errno}`);
      r.mi("end2");
    });
    expect(text).toBe(`a 416 112
a2 grow into top 416 512
guard 928 48
a3 shrink 416 208
a4 grow into free next 976 496
a5 move 976 5008
m M 303096
m2 mremap M 602104
m3 mremap shrink M 4088
end brk=139264 arena=139264 ordblks=1 smblks=0 hblks=1 hblkhd=4096 fsmblks=0 uordblks=5976 fordblks=133288 keepcost=133288
realloc0 (nil) errno 0
reallocarray ovf (nil) errno 12
end2 brk=135168 arena=135168 ordblks=1 smblks=0 hblks=1 hblkhd=4096 fsmblks=0 uordblks=968 fordblks=134200 keepcost=134200
` + stats(135168, 968, 139264, 5064, 1, 602112));
  });
});

describe("memalign, valloc, pvalloc, posix_memalign and calloc", () => {
  it("aligns by over-allocating and freeing the edges; calloc clears what may be dirty", async () => {
    const text = await run((r) => {
      const { libc } = r;
      const a = libc.memalign(64, 100); r.loc("memalign64", a); r.say(`mod ${a % 64}`);
      const b = libc.memalign(4096, 5000); r.loc("memalign4096", b); r.say(`mod ${b % 4096}`);
      r.loc("valloc", libc.valloc(100));
      const d = libc.pvalloc(10); r.loc("pvalloc", d); r.say(`usable ${libc.malloc_usable_size(d)}`);
      const pm = libc.posix_memalign(32, 64); r.say(`pm ${pm.err}`); r.loc("pm", pm.ptr);
      r.say(`pm24 ${libc.posix_memalign(24, 64).err}`);
      const f = libc.memalign(48, 10); r.loc("memalign48", f); r.say(`mod ${f % 64}`);
      const g = libc.memalign(100000, 200000); r.loc("memalign big", g); r.say(`mod ${g % 100000}`);
      r.mi("aligned");
      const x = libc.malloc(3000);
      new Uint8Array(r.p.memory.buffer, x, 3000).fill(0xab);
      libc.malloc(16);
      libc.free(x);
      const y = libc.calloc(1, 2990); r.loc("calloc", y);
      r.say(`nonzero ${new Uint8Array(r.p.memory.buffer, y, 2990).filter((v) => v !== 0).length}`);
      const z = libc.calloc(200000, 1); r.loc("calloc big", z);
      r.say(`usable ${libc.malloc_usable_size(y)} ${libc.malloc_usable_size(z)} ${libc.malloc_usable_size(0)}`);
      r.mi("end");
    });
    // The mmapped memalign block's lead (so its size) depends on where the kernel put the mapping.
    expect(text.replace(/^memalign big M \d+\nmod \d+/m, "memalign big M ?\nmod ?")).toBe(`memalign64 64 112
mod 0
memalign4096 4096 5008
mod 0
valloc 12288 112
pvalloc 16384 4112
usable 4108
pm 0
pm 9120 80
pm24 22
memalign48 9280 16
mod 0
memalign big M ?
mod ?
aligned brk=139264 arena=139264 ordblks=7 smblks=0 hblks=1 hblkhd=331776 fsmblks=0 uordblks=9448 fordblks=129816 keepcost=118776
calloc 176 3008
nonzero 0
calloc big M 200696
usable 3004 200688 0
end brk=139264 arena=139264 ordblks=7 smblks=0 hblks=2 hblkhd=532480 fsmblks=0 uordblks=12888 fordblks=126376 keepcost=118776
` + stats(139264, 12888, 671744, 545368, 2, 532480));
  });
});

describe("mallopt, M_PERTURB and malloc_trim", () => {
  it("accepts and refuses parameters as glibc does and applies them", async () => {
    const text = await run((r) => {
      const { libc } = r;
      r.say(`mxfast ${libc.mallopt(M_MXFAST, 0)} ${libc.mallopt(M_MXFAST, 81)}`);
      const v = Array.from({ length: 10 }, () => libc.malloc(20));
      for (const p of v) libc.free(p);
      r.mi("mxfast0");
      r.say(`mmap_threshold ${libc.mallopt(M_MMAP_THRESHOLD, 64 * 1024)}`);
      const a = libc.malloc(70000); r.loc("a", a); libc.free(a);
      r.say(`top_pad ${libc.mallopt(M_TOP_PAD, 0)}`);
      r.say(`trim ${libc.mallopt(M_TRIM_THRESHOLD, 4096)}`);
      const b = libc.malloc(50000), c = libc.malloc(50000); libc.malloc(16);
      r.loc("b", b); r.loc("c", c); libc.free(c); r.mi("trimmed?");
      libc.free(b); r.mi("b freed");
      const big: number[] = [];
      for (let i = 0; i < 6; i++) { big.push(libc.malloc(20000 + i)); libc.malloc(30); }
      for (let i = 0; i < 6; i += 2) libc.free(big[i]);
      r.mi("before trim");
      r.p.calls.length = 0;
      r.say(`malloc_trim ${libc.malloc_trim(0)}`);
      // (strace of the C program: three madvise(…, 16384, MADV_DONTNEED))
      r.say(`madvise ${r.p.calls.filter((c) => c.startsWith("madvise")).join(" ")}`);
      r.mi("after trim");
      r.say(`perturb ${libc.mallopt(M_PERTURB, 0x5a)}`);
      const q = libc.malloc(64);
      r.say(`perturbed ${r.u8(q).toString(16)} ${r.u8(q + 63).toString(16)}`);
      libc.free(q);
      r.say(`arena ${libc.mallopt(M_ARENA_MAX, 0)} ${libc.mallopt(M_ARENA_TEST, -5)} ${libc.mallopt(M_MMAP_MAX, 0)}`);
      r.loc("d (mmap max 0)", libc.malloc(1000000));
      r.mi("end");
    });
    expect(text).toBe(`mxfast 1 0
mxfast0 brk=135168 arena=135168 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=632 fordblks=134536 keepcost=134536
mmap_threshold 1
a 640 70016
top_pad 1
trim 1
b 640 50016
c 50656 50016
trimmed? brk=53248 arena=53248 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=50648 fordblks=2600 keepcost=2600
b freed brk=53248 arena=53248 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=632 fordblks=52616 keepcost=52616
before trim brk=122880 arena=122880 ordblks=4 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=60968 fordblks=61912 keepcost=1864
malloc_trim 1
madvise madvise(16384,4) madvise(16384,4) madvise(16384,4)
after trim brk=122880 arena=122880 ordblks=4 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=60968 fordblks=61912 keepcost=1864
perturb 1
perturbed a5 a5
arena 1 1 1
d (mmap max 0) 121024 1000016
end brk=1122304 arena=1122304 ordblks=4 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=1061064 fordblks=61240 keepcost=1272
` + stats(1122304, 1061064, 1122304, 1061064, 0, 0));
  });
});

describe("sysmalloc when the break runs into a mapping", () => {
  it("falls back to a 1 MiB mapping, fences the old top off and frees it", async () => {
    const text = await run((r) => {
      const { libc } = r;
      const a = libc.malloc(100000); r.loc("a", a); r.mi("a");
      const b = libc.malloc(100000);
      r.say(`b size ${r.u32(b - 4)} far ${b > r.p.brk0 + 0x40000 || b < r.p.brk0 ? 1 : 0}`); r.mi("b");
      const c = libc.malloc(50000); r.say(`c size ${r.u32(c - 4)}`); r.mi("c");
      libc.free(a); r.mi("free a");
      const d = libc.malloc(900000); r.say(`d size ${r.u32(d - 4)}`); r.mi("d");
      r.say(`sbrk0 ${libc.sbrk(0) - r.p.brk0}`);
    }, (p) => {
      // as the C program: a page mapped 256 KiB above the initial break stops the break there
      const at = p.kernel.mmap(p.brk0 + 0x40000, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      expect(at).toBe(p.brk0 + 0x40000);
    });
    expect(text).toBe(`a 416 100016
a brk=139264 arena=139264 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=100424 fordblks=38840 keepcost=38840
b size 100017 far 1
b brk=139264 arena=1187840 ordblks=2 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=200472 fordblks=987368 keepcost=948552
c size 50017
c brk=139264 arena=1187840 ordblks=2 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=250488 fordblks=937352 keepcost=898536
free a brk=139264 arena=1187840 ordblks=2 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=150472 fordblks=1037368 keepcost=898536
d size 901114
d brk=139264 arena=1187840 ordblks=2 smblks=0 hblks=1 hblkhd=901120 fsmblks=0 uordblks=150472 fordblks=1037368 keepcost=898536
sbrk0 139264
` + stats(1187840, 150472, 2088960, 1051592, 1, 901120));
  });
});

describe("sbrk and brk", () => {
  it("share __curbrk with malloc: a foreign sbrk is counted and skipped, errors set errno", async () => {
    const text = await run((r) => {
      const { libc } = r;
      const s = libc.sbrk(4096); r.say(`sbrk ${s - r.p.brk0} now ${libc.sbrk(0) - r.p.brk0}`);
      r.loc("a after foreign sbrk", libc.malloc(10)); r.mi("a");
      r.say(`sbrk100 ${libc.sbrk(100) - r.p.brk0}`);
      r.loc("big", libc.malloc(200000 - 1000));
      r.loc("bb", libc.malloc(100000)); r.mi("bb");
      libc.errno = 0;
      const neg = libc.sbrk(-0x7fffffff); r.say(`sbrk neg ${neg | 0} errno ${libc.errno}`);
      libc.errno = 0;
      const low = libc.brk(r.p.brk0 - 4096); r.say(`brk low ${low} errno ${libc.errno}`);
    });
    expect(text).toBe(`sbrk 0 now 4096
a after foreign sbrk 4512 16
a brk=143360 arena=139264 ordblks=1 smblks=0 hblks=0 hblkhd=0 fsmblks=0 uordblks=424 fordblks=138840 keepcost=138840
sbrk100 143360
big M 200696
bb 4528 100016
bb brk=143460 arena=139264 ordblks=1 smblks=0 hblks=1 hblkhd=200704 fsmblks=0 uordblks=100440 fordblks=38824 keepcost=38824
sbrk neg -1 errno 12
brk low 0 errno 0
` + stats(139264, 100440, 339968, 301144, 1, 200704));
  });
});
