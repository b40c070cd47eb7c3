// createProcess's options: each bad value is an error naming the option, nothing half-made; and
// sys.setrlimit given what no C caller could pass leaves the limit alone.

import { describe, expect, it } from "vitest";
import { EFAULT, EINVAL, ENOMEM, EPERM } from "../../host/constants.js";
import { resolveOptions } from "../../host/options.js";
import type { ProcessOptions } from "../../host/process.js";
import { createProcess } from "../../host/boot.js";
import { KINDS } from "./bad-input.table.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

async function rejects(options: unknown, kind: typeof TypeError, message: string | RegExp): Promise<void> {
  await expect(createProcess(options as ProcessOptions)).rejects.toThrow(kind);
  await expect(createProcess(options as ProcessOptions)).rejects.toThrow(message);
}

describe("createProcess options", () => {
  it("refuses an unknown option by name (a misspelling would otherwise do nothing)", async () => {
    await rejects({ rlimit: {} }, TypeError, 'createProcess: unknown option "rlimit"');
    await rejects({ seed: 1, ASLR: 0 }, TypeError, '"ASLR"');
  });

  it("refuses options that are not an object", async () => {
    await rejects(null, TypeError, "createProcess: options must be an object, got null");
    await rejects("seed=1", TypeError, "options must be an object");
    await rejects([1], TypeError, "options must be an object");
  });

  const cases: Array<[string, unknown, typeof TypeError]> = [
    ["seed", "42", TypeError],
    ["seed", NaN, RangeError],
    ["seed", Infinity, RangeError],
    ["aslr", 3, RangeError],
    ["aslr", "2", TypeError],
    ["allocator", "c", RangeError],
    ["allocator", 1, TypeError],
    ["overcommit", -1, RangeError],
    ["overcommitRatio", -5, RangeError],
    ["overcommitRatio", 50.5, RangeError],
    ["overcommitRatio", "50", TypeError],
    ["ramBytes", 0, RangeError],
    ["ramBytes", NaN, RangeError],
    ["ramBytes", 2n ** 30n, TypeError],
    ["swapBytes", -1, RangeError],
    ["swapBytes", 0.5, RangeError],
    ["privileged", 1, TypeError],
    ["debug", "yes", TypeError],
    ["arch", "arm", RangeError],
    ["arch", "amd64", RangeError],
    ["nprocs", 0, RangeError],
    ["writes", "lazy", RangeError],
    ["maxMemoryBytes", 16 * MiB, RangeError],
    ["maxMemoryBytes", 4 * GiB + 65536, RangeError],
    ["maxMemoryBytes", NaN, RangeError],
    ["maxMemoryBytes", "1GiB", TypeError],
    ["rlimits", [], TypeError],
    ["rlimits", 5, TypeError],
  ];
  for (const [name, value, kind] of cases) {
    it(`${name}: ${String(value)} is a ${kind.name} naming ${name}`, async () => {
      await rejects({ [name]: value }, kind, `createProcess: ${name}`);
    });
  }

  it('arch "x86_64" runs in the whole 4 GiB memory, with either allocator: another maxMemoryBytes names its option', async () => {
    expect((await createProcess({ arch: "x86_64", allocator: "ts" })).arch).toBe("x86_64");
    await rejects({ arch: "x86_64", maxMemoryBytes: GiB }, RangeError, "createProcess: maxMemoryBytes");
    const proc = await createProcess({ arch: "x86_64", maxMemoryBytes: 4 * GiB, rlimits: { RLIMIT_AS: { cur: 2 ** 64 - 1, max: 2 ** 64 } } });
    expect(proc.arch).toBe("x86_64");
    expect(proc.sys.getrlimit("RLIMIT_AS")).toEqual({ cur: Infinity, max: Infinity });
  });

  it("accepts every option of the API with a good value", async () => {
    const proc = await createProcess({
      seed: 1.5, aslr: 0, allocator: "wasm", overcommit: 1, overcommitRatio: 80, ramBytes: 512 * MiB, swapBytes: 0,
      privileged: true, rlimits: { RLIMIT_DATA: { cur: 64 * MiB, max: 64 * MiB } }, arch: "i386", nprocs: 4,
      writes: "declared", maxMemoryBytes: 4 * GiB, debug: false,
    });
    expect(proc.malloc(100)).toBeGreaterThan(0);
    expect(proc.sys.getrlimit("RLIMIT_DATA")).toEqual({ cur: 64 * MiB, max: 64 * MiB });
  });
});

describe("createProcess rlimits", () => {
  it("names the limit and the field of a value that is no rlim_t", async () => {
    await rejects(
      { rlimits: { RLIMIT_AS: { cur: NaN, max: Infinity } } },
      RangeError,
      "createProcess: rlimits.RLIMIT_AS.cur must be a non-negative integer or Infinity, got NaN",
    );
    await rejects({ rlimits: { RLIMIT_AS: { cur: 0.5, max: Infinity } } }, RangeError, "rlimits.RLIMIT_AS.cur");
    await rejects({ rlimits: { RLIMIT_AS: { cur: -1, max: Infinity } } }, RangeError, "rlimits.RLIMIT_AS.cur");
    await rejects({ rlimits: { RLIMIT_DATA: { cur: "abc", max: Infinity } } }, TypeError, "rlimits.RLIMIT_DATA.cur");
    await rejects({ rlimits: { RLIMIT_DATA: { cur: 1 } } }, TypeError, "rlimits.RLIMIT_DATA.max must be a number");
    await rejects({ rlimits: { RLIMIT_DATA: 5 } }, TypeError, "rlimits.RLIMIT_DATA must be an object");
    await rejects({ rlimits: { RLIMIT_HEAP: { cur: 1, max: 1 } } }, TypeError, 'unknown rlimit "RLIMIT_HEAP"');
  });

  it("refuses cur above max, as setrlimit's EINVAL would", async () => {
    await rejects({ rlimits: { RLIMIT_AS: { cur: 2 * GiB, max: GiB } } }, RangeError, "rlimits.RLIMIT_AS.cur (2147483648) must not exceed");
  });

  it("reads 2^32 and more as RLIM_INFINITY, as i386 glibc's getrlimit reads a 64-bit limit (not as 0)", async () => {
    const proc = await createProcess({ seed: 1, rlimits: { RLIMIT_AS: { cur: 2 ** 32, max: 2 ** 40 } } });
    expect(proc.sys.getrlimit("RLIMIT_AS")).toEqual({ cur: Infinity, max: Infinity });
    expect(proc.malloc(MiB)).toBeGreaterThan(0);
  });

  it("keeps 0xfffffffe as a finite limit, as the real setrlimit does", async () => {
    const proc = await createProcess({ seed: 1, rlimits: { RLIMIT_AS: { cur: 0xfffffffe, max: 0xfffffffe } } });
    expect(proc.sys.getrlimit("RLIMIT_AS")).toEqual({ cur: 0xfffffffe, max: 0xfffffffe });
  });
});

describe("sys.setrlimit with what a C caller could and could not pass", () => {
  it("leaves the limit alone when a field is missing (no C value): TypeError", async () => {
    const proc = await createProcess({ seed: 2 });
    const before = proc.sys.getrlimit("RLIMIT_AS");
    expect(() => proc.sys.setrlimit("RLIMIT_AS", {} as never)).toThrow("sys.setrlimit: limit.cur must be a number, got undefined");
    expect(() => proc.sys.setrlimit("RLIMIT_AS", { cur: 1 } as never)).toThrow(TypeError);
    expect(proc.sys.getrlimit("RLIMIT_AS")).toEqual(before);
    expect(proc.malloc(MiB)).toBeGreaterThan(0);
  });

  it("gives the raw syscall's errno for C values", async () => {
    const proc = await createProcess({ seed: 2 });
    expect(proc.sys.setrlimit("RLIMIT_AS", null as never)).toBe(-EFAULT);
    expect(proc.sys.setrlimit(99, null as never)).toBe(-EFAULT); // copy_from_user comes first
    expect(proc.sys.setrlimit(99, { cur: 1, max: 1 })).toBe(-EINVAL);
    expect(proc.sys.setrlimit("RLIMIT_AS", { cur: 2, max: 1 })).toBe(-EINVAL);
    expect(proc.sys.setrlimit("RLIMIT_MEMLOCK", { cur: 0, max: 16 * MiB })).toBe(-EPERM);
    expect(proc.sys.setrlimit("RLIMIT_AS", { cur: 2 ** 32, max: -1 })).toBe(0);
    expect(proc.sys.getrlimit("RLIMIT_AS")).toEqual({ cur: Infinity, max: Infinity });
    expect(proc.sys.setrlimit("RLIMIT_AS", { cur: 8 * MiB, max: Infinity })).toBe(0);
    proc.errno = 0;
    expect(proc.malloc(16 * MiB)).toBe(0);
    expect(proc.errno).toBe(ENOMEM);
  });

  it("refuses an unknown resource name, and a resource that is no int", async () => {
    const proc = await createProcess({ seed: 2 });
    expect(() => proc.sys.getrlimit("RLIMIT_HEAP")).toThrow('sys.getrlimit: unknown resource name "RLIMIT_HEAP"');
    expect(() => proc.sys.setrlimit(NaN, { cur: 1, max: 1 })).toThrow(RangeError);
    expect(proc.sys.getrlimit(99)).toEqual({ cur: -EINVAL, max: -EINVAL });
  });
});

describe("every option with every kind of value of the bad-input table", () => {
  // What each option accepts; everything else must throw, a TypeError for a value of the wrong
  // type and a RangeError for a number (or string, for the string options) out of range.
  const accepts: Record<string, (v: unknown) => boolean> = {
    seed: (v) => typeof v === "number" && Number.isFinite(v),
    aslr: (v) => v === 0 || v === 1 || v === 2,
    overcommit: (v) => v === 0 || v === 1 || v === 2,
    overcommitRatio: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
    ramBytes: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
    swapBytes: (v) => Number.isSafeInteger(v) && (v as number) >= 0,
    nprocs: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
    maxMemoryBytes: (v) => Number.isSafeInteger(v) && (v as number) >= 32 * MiB && (v as number) <= 4 * GiB,
    privileged: (v) => typeof v === "boolean",
    debug: (v) => typeof v === "boolean",
    allocator: (v) => v === "wasm" || v === "ts",
    writes: (v) => v === "scan" || v === "declared",
    arch: (v) => v === "i386",
    "rlimits.RLIMIT_AS.cur": (v) => v === Infinity || (Number.isInteger(v) && (v as number) >= 0),
  };
  const numeric = new Set(["seed", "aslr", "overcommit", "overcommitRatio", "ramBytes", "swapBytes", "nprocs", "maxMemoryBytes", "rlimits.RLIMIT_AS.cur"]);
  for (const [name, ok] of Object.entries(accepts)) {
    for (const kind of KINDS) {
      if (kind.value === undefined && !name.startsWith("rlimits")) continue; // an option left out is its default
      it(`${name} = ${kind.name}`, () => {
        const options =
          name === "rlimits.RLIMIT_AS.cur" ? { rlimits: { RLIMIT_AS: { cur: kind.value, max: Infinity } } } : { [name]: kind.value };
        if (ok(kind.value)) {
          expect(() => resolveOptions(options)).not.toThrow();
          return;
        }
        const wrongType = typeof kind.value !== "number";
        let thrown: unknown;
        try {
          resolveOptions(options);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(Error);
        expect((thrown as Error).message).toContain(`createProcess: ${name}`);
        if (numeric.has(name)) expect((thrown as Error).name).toBe(wrongType ? "TypeError" : "RangeError");
      });
    }
  }
});
