// The x86_64 build of the allocator on its own, over a stand-in kernel (x86_64-fake-kernel.ts):
// the scenario op lists and the recorded traces give the real x86-64 glibc 2.36's output line for
// line (offsets from the initial break, chunk sizes, mmapped or not, mallinfo2 at every
// checkpoint, malloc_stats at the end), addresses are 64-bit VAs in the program's window, and an
// access outside every window is the process's fault.

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { allocatorModule, instantiateAllocator } from "../../host/allocator.js";
import { MINSIZE, SIZE_SZ } from "../../host/generated/config-x86_64.js";
import type { TestProcess } from "./harness.js";
import * as config from "../../assembly/config.js";
import { fakeKernel64, type FakeKernel64 } from "./x86_64-fake-kernel.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = join(root, "test/fixtures/alloc64");
const tracesDir = join(root, "test/fixtures/traces");
const scenariosDir = join(root, "oracle/scenarios");

async function process64(debug: boolean): Promise<TestProcess & { kernel64: FakeKernel64 }> {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const module = await allocatorModule(debug, "x86_64");
  let kernel: FakeKernel64 | null = null;
  const loaded = instantiateAllocator(module, { memory, seed: 1, debug, arch: "x86_64", kernel: () => kernel! });
  const kern = fakeKernel64(memory, loaded.heapBase);
  kernel = kern;
  const sizeField = (ptr: number) => {
    const w = new Uint32Array(memory.buffer, kern.vaToOffset(ptr - SIZE_SZ), 2);
    return w[0] + w[1] * 2 ** 32;
  };
  const p = {
    ...loaded,
    memory,
    calls: [],
    brk0: kern.startBrk,
    curBrk: () => kern.brk(0),
    sizeField,
    kernel64: kern,
  };
  return p as unknown as TestProcess & { kernel64: FakeKernel64 };
}

/** The directive `# name: value` of an op list, or its default. */
function directive(ops: string, name: string, otherwise: number): number {
  const m = new RegExp(`^# ${name}[:=] *(\\d+)`, "m").exec(ops);
  return m ? Number(m[1]) : otherwise;
}

/**
 * An op list (ops v1 and the scenarios' extensions: oracle/scenarios/README.md) replayed as the
 * oracle's replayer does, its output lines without the header.
 */
function replay64(p: TestProcess, opsText: string, every: number, alignBreak: number): string[] {
  const { libc } = p;
  let brk0 = p.brk0;
  if (alignBreak > 0) {
    const cur = libc.sbrk(0);
    const target = Math.ceil(cur / alignBreak) * alignBreak;
    if (target > cur) libc.sbrk(target - cur);
    brk0 = target;
  }
  const out: string[] = [];
  const ptrs: number[] = [];
  let nops = 0, maxBrk = 0, mmapped = 0, allocs = 0, frees = 0;
  const mi = () => Object.entries(libc.mallinfo2()).map(([k, v]) => `${k}=${v}`).join(" ");
  const record = (id: number, ptr: number) => {
    allocs++;
    ptrs[id] = ptr;
    if (ptr === 0) return void out.push(`${id} N`);
    const field = p.sizeField(ptr);
    const size = field - (field % 8);
    if (field % 4 >= 2) {
      mmapped++;
      out.push(`${id} M ${size}`);
    } else {
      out.push(`${id} ${ptr - brk0} ${size}`);
    }
  };
  const param = (name: string) => (/^-?\d+$/.test(name) ? Number(name) : (config as unknown as Record<string, number>)[name]);
  for (const line of opsText.split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const f = line.split(" ");
    switch (f[0]) {
      case "m": record(+f[1], libc.malloc(+f[2])); break;
      case "c": record(+f[1], libc.calloc(+f[2], +f[3])); break;
      case "a": record(+f[1], libc.memalign(+f[2], +f[3])); break;
      case "r": record(+f[1], libc.realloc(f[2] === "-" ? 0 : ptrs[+f[2]], +f[3])); break;
      case "f": libc.free(ptrs[+f[1]]); frees++; break;
      case "o": out.push(`# mallopt ${f[1]} ${f[2]} => ${libc.mallopt(param(f[1]), +f[2])}`); break;
      case "t": out.push(`# malloc_trim ${f[1]} => ${libc.malloc_trim(+f[1])}`); break;
      case "i":
        out.push("# malloc_info:");
        for (const l of libc.malloc_info().split("\n")) if (l) out.push(`# ${l}`);
        break;
      default: throw new Error(`unknown op: ${line}`);
    }
    nops++;
    const delta = p.curBrk() - brk0;
    if (delta > maxBrk) maxBrk = delta;
    if (every > 0 && nops % every === 0) out.push(`# op=${nops} brk=${delta} ${mi()}`);
  }
  out.push(`# end ops=${nops} allocs=${allocs} frees=${frees} mmapped_allocs=${mmapped} errors=0`);
  out.push(`# brk_delta=${p.curBrk() - brk0} max_brk_delta=${maxBrk}`);
  out.push(`# mallinfo2 ${mi()}`);
  out.push("# malloc_stats:");
  for (const l of libc.malloc_stats().split("\n")) if (l) out.push(`# ${l}`);
  return out;
}

/** The oracle's output without its header line. */
const body = (text: string) => text.split("\n").filter((l, i) => l !== "" && !(i === 0 && l.startsWith("# replay")));

// Where a 47-bit process and this one part: calloc(65536, 65537) is one 4 GiB mapping on Linux,
// more than the mmap window of a 4 GiB memory holds (a documented limit): NULL here. The replay
// matches up to that line.
const WINDOW_LIMITS: Record<string, { expected: string; actual: string }> = {
  calloc: { expected: "13 M 4294971392", actual: "13 N" },
};

function expectSame(actual: string[], expected: string[], limit?: { expected: string; actual: string }) {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] === expected[i]) continue;
    if (limit !== undefined && expected[i] === limit.expected && actual[i] === limit.actual) return;
    expect(`line ${i + 1}: ${actual[i]}`).toBe(`line ${i + 1}: ${expected[i]}`);
  }
  expect(limit, "the window limit was not met").toBeUndefined();
  expect(actual.length).toBe(expected.length);
}

describe("the x86_64 build over a stand-in kernel", () => {
  it("returns 64-bit addresses in the program's window, 16-aligned, with x86-64 chunk sizes", async () => {
    const p = await process64(true);
    const a = p.libc.malloc(24);
    const b = p.libc.malloc(25);
    expect(a).toBeGreaterThan(0x555555554000);
    expect(a % 16).toBe(0);
    expect(a - p.brk0).toBe(672); // after the tcache struct's chunk (0x290)
    expect(p.sizeField(a)).toBe(MINSIZE | 1);
    expect(p.sizeField(b)).toBe(48 | 1);
    expect(p.libc.malloc_usable_size(a)).toBe(24);
    expect(p.curBrk() - p.brk0).toBe(135168);
    const big = p.libc.malloc(200000);
    expect(big).toBeGreaterThan(0x7f0000000000);
    expect(p.sizeField(big) & 2).toBe(2);
    p.libc.free(big);
    p.libc.free(a);
    expect(p.libc.malloc(24)).toBe(a); // from the tcache
    expect(p.libc.malloc(-1)).toBe(0);
    expect(p.libc.errno).toBe(12);
  });

  it("ends the process at an access outside every window", async () => {
    const p = await process64(false);
    const a = p.libc.malloc(24);
    const b = p.libc.malloc(24);
    p.libc.free(a);
    p.libc.free(b);
    // b's tcache next (safe-linked with b's own address >> 12) made to point far away
    const far = 0x100000000000;
    const mangled = BigInt(far) ^ BigInt(Math.floor(b / 4096));
    const w = new BigUint64Array(p.memory.buffer, p.kernel64.vaToOffset(b), 1);
    w[0] = mangled;
    expect(p.libc.malloc(24)).toBe(b); // the bin's head is now `far`
    expect(() => p.libc.malloc(24)).toThrow(/outside every window/);
    expect(p.kernel64.faults).toEqual([far]);
  });

  const scenarios = readdirSync(fixtures)
    .filter((f) => f.endsWith(".replay64.txt"))
    .map((f) => f.slice(0, -".replay64.txt".length))
    .sort();
  for (const name of scenarios) {
    it(`replays ${name}.ops as glibc 2.36 x86-64 does`, async () => {
      const ops = readFileSync(join(scenariosDir, `${name}.ops`), "utf8");
      const expected = readFileSync(join(fixtures, `${name}.replay64.txt`), "utf8");
      const p = await process64(true);
      const actual = replay64(p, ops, directive(ops, "checkpoint-every", 1), directive(ops, "align-break", 0));
      expectSame(actual, body(expected), WINDOW_LIMITS[name]);
    });
  }

  for (const name of ["python3", "sqlite3", "cmake", "git"]) {
    it(`replays the ${name} trace as glibc 2.36 x86-64 does`, async () => {
      const ops = gunzipSync(readFileSync(join(tracesDir, `${name}.ops.gz`))).toString("utf8");
      const expected = gunzipSync(readFileSync(join(tracesDir, `${name}.replay64.txt.gz`))).toString("utf8");
      const p = await process64(false);
      expectSame(replay64(p, ops, 10000, 0), body(expected));
    }, 120_000);
  }
});
