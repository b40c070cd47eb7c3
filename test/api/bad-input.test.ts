// Every public function × every kind of bad JS value, on both allocators, generated from the one
// table in bad-input.table.ts. A kind that stands for a C value must do exactly what that C value
// does (same result, errno, maps, mallinfo2, status, faults, or the same death) — checked on a
// twin process fed the C value in lockstep; a kind no C caller could pass must throw the
// documented error naming the call and the argument, and leave the process exactly as it was.
// The answers must not differ between allocator "wasm" and allocator "ts".

import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { Process } from "../../host/process.js";
import { bootProcess, type BootedProcess } from "../../host/boot.js";
import {
  FUNCTIONS, KINDS, expected, renderFunctionTable, renderKindTable, setup, type Ctx, type Fn, type Kind,
} from "./bad-input.table.js";

const ALLOCATORS = ["wasm", "ts"] as const;
type Allocator = (typeof ALLOCATORS)[number];

function serialize(v: unknown): string {
  if (v instanceof Uint8Array) return `u8[${Array.from(v).join(",")}]`;
  if (v === undefined) return "undefined";
  return JSON.stringify(v, (_k, x) => (x === Infinity ? "Infinity" : x));
}

/** Everything a call could have changed, or how the process died. Checks the kernel's invariants. */
function snapshot(b: BootedProcess): string {
  const proc = b.process;
  try {
    b.kernel.verify();
    return [proc.errno, proc.faults.minor, proc.maps(), serialize(proc.mallinfo2()), serialize(proc.status())].join("\n");
  } catch (err) {
    return `dead: ${(err as Error).name}: ${(err as Error).message}`;
  }
}

function callOutcome(b: BootedProcess, fn: Fn, args: unknown[]): string {
  let result: string;
  try {
    result = serialize(fn.call(b.process, args));
  } catch (err) {
    result = `threw ${(err as Error).name}: ${(err as Error).message}`;
  }
  return `${result}\n${snapshot(b)}`;
}

/** Two processes with the same seed kept in the same state: one gets the JS value, one the C value. */
class Twins {
  a!: BootedProcess;
  b!: BootedProcess;
  constructor(private readonly allocator: Allocator) {}
  async fresh(): Promise<void> {
    this.a = await bootProcess({ seed: 77, allocator: this.allocator });
    this.b = await bootProcess({ seed: 77, allocator: this.allocator });
  }
  alive(): boolean {
    return !snapshot(this.a).startsWith("dead") && !snapshot(this.b).startsWith("dead");
  }
}

const twins = new Map<string, Twins>();
async function twinsFor(fn: Fn, allocator: Allocator): Promise<Twins> {
  const key = `${fn.name}/${allocator}`;
  let t = twins.get(key);
  if (t === undefined) {
    t = new Twins(allocator);
    await t.fresh();
    twins.set(key, t);
  } else if (!t.alive()) await t.fresh();
  return t;
}
afterAll(() => twins.clear());

function trySetup(proc: Process): Ctx | null {
  try {
    const c = setup(proc);
    return c.p !== 0 && c.m > 0 ? c : null;
  } catch {
    return null;
  }
}

/** One call with `kind` in every argument position in turn; the lines every allocator must share. */
async function runKind(fn: Fn, kind: Kind, allocator: Allocator): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < fn.params.length; i++) {
    const param = fn.params[i]!;
    const t = await twinsFor(fn, allocator);
    // A call before may have left the twins unable to allocate (a lowered limit, a heap that a
    // memset of SIZE_MAX bytes overwrote, as in C): then they start over.
    let ca = trySetup(t.a.process);
    let cb = trySetup(t.b.process);
    if (ca === null || cb === null) {
      await t.fresh();
      ca = setup(t.a.process);
      cb = setup(t.b.process);
    }
    expect(cb).toEqual(ca); // the twins are in the same state
    const args = fn.args(ca);
    const junk = [...args];
    junk[i] = kind.value;
    const want = expected(param.type, kind);
    const where = `${fn.name}(${param.name} = ${kind.name}) on ${allocator}`;
    if ("throws" in want) {
      snapshot(t.a); // settles what looking finds (a scan may find pages the setup wrote)
      const before = snapshot(t.a);
      let thrown: unknown;
      try {
        fn.call(t.a.process, junk);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, where).toBeInstanceOf(want.throws === "TypeError" ? TypeError : RangeError);
      const message = (thrown as Error).message;
      expect(message, where).toContain(fn.name.replace(" (setter)", ""));
      expect(message, where).toContain(param.name);
      expect(snapshot(t.a), `${where} left the process untouched`).toBe(before);
      lines.push(`${param.name}: ${(thrown as Error).name}: ${message}`);
    } else {
      const cArgs = [...args];
      cArgs[i] = want.as;
      const got = callOutcome(t.a, fn, junk);
      expect(got, `${where} behaves as ${String(want.as)}`).toBe(callOutcome(t.b, fn, cArgs));
      lines.push(`${param.name}: ${got.split("\n")[0]} (errno ${got.split("\n")[1]})`);
    }
  }
  return lines;
}

describe("bad input: every function with every kind of value, on both allocators", () => {
  for (const fn of FUNCTIONS.filter((f) => f.params.length > 0)) {
    describe(fn.name, () => {
      for (const kind of KINDS) {
        it(kind.name, async () => {
          const byAllocator: string[][] = [];
          for (const allocator of ALLOCATORS) byAllocator.push(await runKind(fn, kind, allocator));
          expect(byAllocator[1], "allocator ts answers as allocator wasm").toEqual(byAllocator[0]);
        });
      }
    });
  }
});

describe("bad input: a process that died rethrows its death from every call, before looking at arguments", () => {
  const dead = new Map<Allocator, { proc: Process; death: unknown; p: number; m: number }>();
  async function deadProcess(allocator: Allocator) {
    let d = dead.get(allocator);
    if (d === undefined) {
      const proc = (await bootProcess({ seed: 5, allocator })).process;
      const p = proc.malloc(100);
      const m = proc.sys.mmap(0, 8192, 3, 0x22, -1, 0);
      const q = proc.malloc(24);
      proc.free(q);
      let death: unknown;
      try {
        proc.free(q);
      } catch (err) {
        death = err;
      }
      expect((death as Error).name).toBe("ProcessAbort");
      d = { proc, death, p, m };
      dead.set(allocator, d);
    }
    return d;
  }
  for (const fn of FUNCTIONS) {
    it(fn.name, async () => {
      for (const allocator of ALLOCATORS) {
        const d = await deadProcess(allocator);
        const good = fn.args({ p: d.p, m: d.m, brk: 0x500000 });
        expect(() => fn.call(d.proc, good), `${fn.name} on ${allocator}`).toThrow(d.death as Error);
        // A value no C caller could pass: still the death, not a TypeError.
        if (fn.params.length > 0) {
          const junk = [...good];
          junk[0] = Symbol("junk");
          expect(() => fn.call(d.proc, junk), `${fn.name} (junk) on ${allocator}`).toThrow(d.death as Error);
        }
      }
    });
  }
  it("keeps errno, faults and memory readable for a post-mortem", async () => {
    const d = await deadProcess("wasm");
    expect(typeof d.proc.errno).toBe("number");
    expect(d.proc.faults.minor).toBeGreaterThan(0);
    expect(d.proc.memory.buffer.byteLength).toBeGreaterThan(0);
  });
});

describe("docs/bad-input.md", () => {
  it("shows the table the tests run", () => {
    const doc = readFileSync(new URL("../../docs/bad-input.md", import.meta.url), "utf8");
    expect(doc).toContain(renderKindTable());
    expect(doc).toContain(renderFunctionTable());
  });
});
