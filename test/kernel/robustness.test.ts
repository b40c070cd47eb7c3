import { describe, expect, it } from "vitest";
import type { Kernel } from "../../host/kernel/kernel.js";
import { ANON_PRIVATE, PAGE, makeKernel } from "./helpers.js";

const junk: unknown[] = [NaN, Infinity, -Infinity, -1, -4096, 0.5, 4096.5, 2 ** 32, 2 ** 32 + 4096, 2 ** 53, "4096", null, undefined, {}, [], 10n, -1n, true];

function isSyscallResult(r: unknown): boolean {
  return typeof r === "number" && Number.isInteger(r) && r >= -4095 && r <= 0xffffffff;
}

describe("bad arguments never throw", () => {
  const calls: Array<[string, number, (k: Kernel, a: unknown[]) => unknown]> = [
    ["brk", 1, (k, a) => (k.brk as (...x: unknown[]) => number)(...a)],
    ["munmap", 2, (k, a) => (k.munmap as (...x: unknown[]) => number)(...a)],
    ["mremap", 5, (k, a) => (k.mremap as (...x: unknown[]) => number)(...a)],
    ["mprotect", 3, (k, a) => (k.mprotect as (...x: unknown[]) => number)(...a)],
    ["madvise", 3, (k, a) => (k.madvise as (...x: unknown[]) => number)(...a)],
    ["mincore", 3, (k, a) => (k.mincore as (...x: unknown[]) => number)(...a)],
    ["mlock", 2, (k, a) => (k.mlock as (...x: unknown[]) => number)(...a)],
    ["mlock2", 3, (k, a) => (k.mlock2 as (...x: unknown[]) => number)(...a)],
    ["munlock", 2, (k, a) => (k.munlock as (...x: unknown[]) => number)(...a)],
    ["mlockall", 1, (k, a) => (k.mlockall as (...x: unknown[]) => number)(...a)],
    ["setrlimit", 2, (k, a) => (k.setrlimit as (...x: unknown[]) => number)(...a)],
  ];
  for (const [name, arity, call] of calls) {
    it(`${name}`, () => {
      const k = makeKernel({ rlimits: { RLIMIT_MEMLOCK: { cur: 64 * PAGE, max: 64 * PAGE } } });
      const a = k.mmap(0, 8 * PAGE, 3, ANON_PRIVATE, -1, 0);
      for (const j of junk) {
        for (let pos = 0; pos < arity; pos++) {
          const args: unknown[] = [a, PAGE, 1, 0, 0].slice(0, arity);
          if (name === "mincore") args[2] = new Uint8Array(8);
          if (name === "setrlimit") args.splice(0, 2, "RLIMIT_AS", { cur: 1 << 30, max: 1 << 30 });
          args[pos] = j;
          expect(isSyscallResult(call(k, args)), `${name} arg ${pos} = ${String(j)}`).toBe(true);
        }
      }
      k.verify();
    });
  }
  it("getrlimit", () => {
    const k = makeKernel();
    for (const j of junk) {
      const r = (k.getrlimit as (x: unknown) => { cur: number; max: number })(j);
      expect(typeof r.cur).toBe("number");
    }
  });
});
