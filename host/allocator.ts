// The Wasm allocator (assembly/, glibc 2.36's ptmalloc2) bound to a process's memory and kernel.
//
// Ordering (process.ts): the memory is created; the module is instantiated against it (its data
// segments land at PROGRAM_DATA_START); heapBase (the end of that static data) is read; only then
// is the kernel created. The imports therefore reach the kernel through a getter, resolved at the
// first system call.
//
// Every u32 crosses the Wasm boundary as an i32: results are converted here with `>>> 0`, once.
//
// Two modules, one source: the i386 build (the default, in the main bundle) and the x86_64 build
// (imported when asked for). In the x86_64 one every C value (pointer, size) crosses as an f64
// holding the C value (a negative number stands for its two's complement), the process's VAs are
// translated inside the module through the kernel's windows (assembly/vm.ts: set_window, asked
// for through need_windows at the first call that needs them), and page_fault still names a Wasm
// offset, converted here to the VA the kernel faults.

import { releaseWasmBase64 } from "./generated/wasm-release.js";
import { ProcessAbort, type SegmentationFault } from "./errors.js";
import type { LibC, Mallinfo2 } from "./libc.js";

export { PROGRAM_DATA_START, PROGRAM_TEXT_START } from "./constants.js";

/** A window of an x86_64 process: VAs [va, va + length) at Wasm offsets [offset, offset + length). */
export interface AllocatorWindow {
  va: number;
  offset: number;
  length: number;
}

/** What the allocator needs from the kernel: raw syscalls (result ≥ 0 or −errno). */
export interface AllocatorKernel {
  brk(addr: number): number;
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
  munmap(addr: number, length: number): number;
  mremap(oldAddr: number, oldLength: number, newLength: number, flags: number, newAddr?: number): number;
  madvise(addr: number, length: number, advice: number): number;
  mprotect(addr: number, length: number, prot: number): number;
  /**
   * The allocator's load (write false) or store at addr found a clear bit in the page map: null
   * if it may go on (the stack grown to cover it, or a region the map had no room for), else the
   * SIGSEGV the real process takes there.
   */
  accessFault(addr: number, write: boolean): SegmentationFault | null;
  /** x86_64: the process's windows (read once, at the module's first call that needs them). */
  readonly windows?: readonly AllocatorWindow[];
  /** x86_64: the VA at a Wasm offset (−1 if none), for page faults, which the module reports by offset. */
  offsetToVa?(offset: number): number;
  /**
   * x86_64: the Wasm offset of the byte at a VA no window holds (a far page), the page faulted in
   * for the access as a load (write false) or store would fault it in; −1 when that access is the
   * process's SIGSEGV (accessFault then names it).
   */
  farOffset?(va: number, write: boolean): number;
}

/** The process's ABI: which build of the allocator runs. */
export type AllocatorArch = "i386" | "x86_64";

export interface LoadAllocatorOptions {
  memory: WebAssembly.Memory;
  /** The process seed: glibc's tcache_key comes from it. */
  seed: number;
  /** The debug build, with the whole-heap checker run after every call. */
  debug?: boolean;
  /** What get_nprocs() returns in the process (the arena limit); default 2. */
  nprocs?: number;
  /** vm.overcommit_memory: under mode 2 a non-main heap gives pages back by remapping them PROT_NONE. */
  overcommit?: number;
  /** The kernel, which may be created after instantiation. */
  kernel: () => AllocatorKernel;
  /** Builds the error thrown when glibc aborts (default: a ProcessAbort with the message). */
  onAbort?: (message: string) => Error;
  /** Builds the error thrown when an access of the allocator faults (default: the fault itself). */
  onFault?: (fault: SegmentationFault) => Error;
  /** The ABI (default i386); the module must be the same arch's (allocatorModule(debug, arch)). */
  arch?: AllocatorArch;
}

/**
 * The raw exports of the module: in the i386 build all numbers are i32 as Wasm gives them; in the
 * x86_64 build every C value is an f64 (sizes, pointers, sbrk's increment; mallopt's value, the
 * int results, heap_base, mp_addr, mallinfo2's and tls_size's results stay i32).
 */
export interface AllocatorExports {
  malloc(size: number): number;
  free(ptr: number): void;
  calloc(n: number, size: number): number;
  realloc(ptr: number, size: number): number;
  reallocarray(ptr: number, n: number, size: number): number;
  memalign(align: number, size: number): number;
  aligned_alloc(align: number, size: number): number;
  valloc(size: number): number;
  pvalloc(size: number): number;
  posix_memalign(align: number, size: number): number;
  posix_memalign_ptr(): number;
  malloc_usable_size(ptr: number): number;
  malloc_trim(pad: number): number;
  malloc_stats(): void;
  malloc_info(options: number): number;
  mallinfo2(): number;
  mallopt(param: number, value: number): number;
  sbrk(increment: number): number;
  brk(addr: number): number;
  errno_get(): number;
  errno_set(value: number): void;
  ptmalloc_seed(seed: number): void;
  heap_base(): number;
  mp_addr(): number;
  set_debug_checks(on: number): void;
  check_malloc_state(): void;
  check_failure(): number;
  /** 0, or the last cyclic list the checker found: kind << 8 | index (CYCLE_* in assembly/config.ts). */
  check_cycle(): number;
  main_tls_addr(): number;
  tls_size(): number;
  thread_current(): number;
  thread_start(tls: number): void;
  thread_switch(tls: number): void;
  thread_exit(): void;
  set_system(nprocs: number, overcommit: number): void;
  /** Window i of the process (x86_64; a no-op in the i386 build). */
  set_window(i: number, va: number, length: number, offset: number): void;
}

/**
 * The debug build's branch coverage (assembly/coverage.ts): one id per allocator path and per
 * integrity check; a path that runs marks its id until reset(). Ids are 0 … count() − 1, and
 * names[id] names each ("tcache_get", "unsorted_exact", …, "check:FREE_INVALID_POINTER", …).
 */
export interface AllocatorCoverage {
  /** The number of ids (names.length). */
  count(): number;
  /** Whether path `id` ran since the last reset (false for an id out of range). */
  hit(id: number): boolean;
  /** Forgets every hit. */
  reset(): void;
  /** Each id's name, in id order. */
  readonly names: readonly string[];
}

export interface LoadedAllocator {
  /** End of the module's static data (__heap_base): the program's data segment ends here. */
  heapBase: number;
  libc: LibC;
  /** The module's exports, for tests and tools. */
  exports: AllocatorExports;
  /** Branch coverage: present only for the debug build (LoadAllocatorOptions.debug). */
  coverage?: AllocatorCoverage;
}

export function decodeBase64(b64: string): Uint8Array {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) return g.Buffer.from(b64, "base64");
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// One compiled module per realm, flavour and arch.
const compiled: Partial<Record<"release" | "debug" | "release64" | "debug64", Promise<WebAssembly.Module>>> = {};

// The coverage ids' names, loaded with the debug module (generated from assembly/coverage.ts).
let coverageNames: readonly string[] | null = null;

/** The compiled allocator module (cached). */
export function allocatorModule(debug = false, arch: AllocatorArch = "i386"): Promise<WebAssembly.Module> {
  const key = arch === "x86_64" ? (debug ? "debug64" : "release64") : debug ? "debug" : "release";
  // Only the i386 release build is in the default bundle: the others are imported when asked for.
  const withNames = <T>(m: Promise<T>) =>
    Promise.all([m, import("./generated/coverage-names.js")]).then(([mod, c]) => {
      coverageNames = c.COVERAGE_NAMES;
      return mod;
    });
  const source: () => Promise<string> = {
    release: () => Promise.resolve(releaseWasmBase64),
    debug: () => withNames(import("./generated/wasm-debug.js")).then((m) => m.debugWasmBase64),
    release64: () => import("./generated/wasm-release64.js").then((m) => m.release64WasmBase64),
    debug64: () => withNames(import("./generated/wasm-debug64.js")).then((m) => m.debug64WasmBase64),
  }[key];
  return (compiled[key] ??= source().then((b64) => WebAssembly.compile(decodeBase64(b64) as BufferSource)));
}

const MALLINFO2_FIELDS = [
  "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
] as const;

/** Instantiates the allocator against `memory` and binds the C library surface. */
export async function loadAllocator(options: LoadAllocatorOptions): Promise<LoadedAllocator> {
  const module = await allocatorModule(options.debug === true, options.arch ?? "i386");
  return instantiateAllocator(module, options);
}

/** The synchronous half of loadAllocator, for a module already compiled. */
export function instantiateAllocator(module: WebAssembly.Module, options: LoadAllocatorOptions): LoadedAllocator {
  const { memory } = options;
  const x64 = options.arch === "x86_64";
  let kernel: AllocatorKernel | null = null;
  const k = (): AllocatorKernel => (kernel ??= options.kernel());
  let captured: string[] = [];
  const onAbort = options.onAbort ?? ((message: string) => new ProcessAbort(message));
  const onFault = options.onFault ?? ((fault: SegmentationFault) => fault);
  // the instance's exports, for need_windows (an import the module calls only after instantiation)
  let x: AllocatorExports | null = null;

  const fault = (va: number, write: boolean): void => {
    const f = k().accessFault(va, write);
    if (f !== null) throw onFault(f);
  };
  const text = {
    write: (_fd: number, ptr: number, len: number) => {
      const bytes = new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0);
      let s = "";
      for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
      captured.push(s);
      return len;
    },
    abort: (msgPtr: number, msgLen: number) => {
      // The message is a static AssemblyScript string: UTF-16LE, msgLen bytes.
      const units = new Uint16Array(memory.buffer, msgPtr >>> 0, (msgLen >>> 0) >>> 1);
      let message = "";
      for (let i = 0; i < units.length; i++) message += String.fromCharCode(units[i]);
      throw onAbort(message);
    },
  };
  const env = x64
    ? {
        memory,
        // C values are f64 already (VAs below 2^47, lengths from the allocator's u64 as doubles)
        sys_brk: (addr: number) => k().brk(addr),
        sys_mmap: (addr: number, len: number, prot: number, flags: number) => k().mmap(addr, len, prot, flags, -1, 0),
        sys_munmap: (addr: number, len: number) => k().munmap(addr, len),
        sys_mremap: (old: number, oldLen: number, newLen: number, flags: number) => k().mremap(old, oldLen, newLen, flags),
        sys_madvise: (addr: number, len: number, advice: number) => k().madvise(addr, len, advice),
        sys_mprotect: (addr: number, len: number, prot: number) => k().mprotect(addr, len, prot),
        page_fault: (offset: number, write: number) => {
          const kern = k();
          if (kern.offsetToVa === undefined) throw new Error("allocator: an x86_64 kernel must give offsetToVa");
          fault(kern.offsetToVa(offset >>> 0), write !== 0);
        },
        far_offset: (va: number, write: number) => {
          // a kernel without far pages maps nothing outside its windows: the access faults
          const offset = k().farOffset?.(va, write !== 0) ?? -1;
          if (offset >= 0) return offset;
          fault(va, write !== 0);
          throw new Error(`allocator: the kernel let an access at 0x${va.toString(16)} (refused a frame) go on`);
        },
        va_fault: (va: number, write: number) => {
          fault(va, write !== 0);
          throw new Error(`allocator: the kernel let an access at 0x${va.toString(16)} (outside every window) go on`);
        },
        need_windows: () => {
          const windows = k().windows;
          if (windows === undefined || windows.length === 0) throw new Error("allocator: an x86_64 kernel must give its windows");
          for (const [i, w] of windows.entries()) x!.set_window(i, w.va, w.length, w.offset);
        },
        ...text,
      }
    : {
        memory,
        sys_brk: (addr: number) => k().brk(addr >>> 0),
        sys_mmap: (addr: number, len: number, prot: number, flags: number) => k().mmap(addr >>> 0, len >>> 0, prot, flags, -1, 0),
        sys_munmap: (addr: number, len: number) => k().munmap(addr >>> 0, len >>> 0),
        sys_mremap: (old: number, oldLen: number, newLen: number, flags: number) =>
          k().mremap(old >>> 0, oldLen >>> 0, newLen >>> 0, flags),
        sys_madvise: (addr: number, len: number, advice: number) => k().madvise(addr >>> 0, len >>> 0, advice),
        sys_mprotect: (addr: number, len: number, prot: number) => k().mprotect(addr >>> 0, len >>> 0, prot),
        page_fault: (addr: number, write: number) => fault(addr >>> 0, write !== 0),
        ...text,
      };
  const instance = new WebAssembly.Instance(module, { env });
  x = instance.exports as unknown as AllocatorExports;
  const ex = x;
  ex.ptmalloc_seed(options.seed >>> 0);
  ex.set_system(options.nprocs ?? 2, options.overcommit ?? 0);
  if (options.debug === true) ex.set_debug_checks(1);

  const capture = (run: () => void): string => {
    captured = [];
    run();
    const out = captured.join("");
    captured = [];
    return out;
  };

  // i386: the exports themselves, unwrapped (the process converts their i32 results with >>> 0);
  // x86_64: the same (their f64 results are the C values).
  const ptrResult = x64 ? (r: number) => r : (r: number) => r >>> 0;
  const libc: LibC = {
    malloc: ex.malloc,
    free: ex.free,
    calloc: ex.calloc,
    realloc: ex.realloc,
    reallocarray: ex.reallocarray,
    memalign: ex.memalign,
    aligned_alloc: ex.aligned_alloc,
    valloc: ex.valloc,
    pvalloc: ex.pvalloc,
    posix_memalign: (align, size) => {
      const err = ex.posix_memalign(align, size);
      return { err, ptr: err === 0 ? ptrResult(ex.posix_memalign_ptr()) : 0 };
    },
    malloc_usable_size: ex.malloc_usable_size,
    malloc_trim: (pad) => ex.malloc_trim(pad),
    malloc_stats: () => capture(() => ex.malloc_stats()),
    malloc_info: () => capture(() => void ex.malloc_info(0)),
    mallinfo2: x64
      ? (): Mallinfo2 => {
          // ten size_t: u64 each, as two u32 halves
          const addr = ex.mallinfo2() >>> 0;
          const words = new Uint32Array(memory.buffer, addr, 2 * MALLINFO2_FIELDS.length);
          const m = {} as Record<(typeof MALLINFO2_FIELDS)[number], number>;
          MALLINFO2_FIELDS.forEach((name, i) => {
            m[name] = words[2 * i] + words[2 * i + 1] * 2 ** 32;
          });
          return m;
        }
      : (): Mallinfo2 => {
          const addr = ex.mallinfo2() >>> 0;
          const words = new Uint32Array(memory.buffer, addr, MALLINFO2_FIELDS.length);
          const m = {} as Record<(typeof MALLINFO2_FIELDS)[number], number>;
          MALLINFO2_FIELDS.forEach((name, i) => {
            m[name] = words[i];
          });
          return m;
        },
    mallopt: (param, value) => ex.mallopt(param, value),
    sbrk: ex.sbrk,
    brk: (addr) => ex.brk(addr),
    get errno() {
      return ex.errno_get();
    },
    set errno(value: number) {
      ex.errno_set(value);
    },
    threads: x64
      ? {
          // a VA: known once the windows are (the kernel may not exist yet)
          get mainTls() {
            return ex.main_tls_addr();
          },
          tlsBytes: ex.tls_size() >>> 0,
          current: () => ex.thread_current(),
          threadStart: ex.thread_start,
          setThread: ex.thread_switch,
          threadExit: ex.thread_exit,
        }
      : {
          mainTls: ex.main_tls_addr() >>> 0,
          tlsBytes: ex.tls_size() >>> 0,
          current: () => ex.thread_current() >>> 0,
          threadStart: ex.thread_start,
          setThread: ex.thread_switch,
          threadExit: ex.thread_exit,
        },
  };
  return { heapBase: ex.heap_base() >>> 0, libc, exports: ex, coverage: coverageOf(instance) };
}

/** The debug module's coverage exports as an AllocatorCoverage; undefined for the release module. */
function coverageOf(instance: WebAssembly.Instance): AllocatorCoverage | undefined {
  const c = instance.exports as { cov_count?: () => number; cov_hit?: (id: number) => number; cov_reset?: () => void };
  if (c.cov_count === undefined || c.cov_hit === undefined || c.cov_reset === undefined || coverageNames === null) return undefined;
  const { cov_count, cov_hit, cov_reset } = c;
  if (cov_count() !== coverageNames.length) throw new Error("allocator: the coverage names do not match the debug module");
  return { count: () => cov_count() >>> 0, hit: (id) => cov_hit(id >>> 0) !== 0, reset: () => cov_reset(), names: coverageNames };
}
