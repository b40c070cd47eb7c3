// The Wasm allocator (assembly/, glibc 2.36's ptmalloc2) bound to a process's memory and kernel.
//
// Ordering (process.ts): the memory is created; the module is instantiated against it (its data
// segments land at PROGRAM_DATA_START); heapBase (the end of that static data) is read; only then
// is the kernel created. The imports therefore reach the kernel through a getter, resolved at the
// first system call.
//
// Every u32 crosses the Wasm boundary as an i32: results are converted here with `>>> 0`, once.

import { releaseWasmBase64 } from "./generated/wasm-release.js";
import { ProcessAbort, type SegmentationFault } from "./errors.js";
import type { LibC, Mallinfo2 } from "./libc.js";

export { PROGRAM_DATA_START, PROGRAM_TEXT_START } from "./constants.js";

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
}

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
}

/** The raw exports of the module (all numbers are i32 as Wasm gives them). */
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

// One compiled module per realm and flavour.
const compiled: { release?: Promise<WebAssembly.Module>; debug?: Promise<WebAssembly.Module> } = {};

// The coverage ids' names, loaded with the debug module (generated from assembly/coverage.ts).
let coverageNames: readonly string[] | null = null;

/** The compiled allocator module (cached). */
export function allocatorModule(debug = false): Promise<WebAssembly.Module> {
  const key = debug ? "debug" : "release";
  // The debug build is imported only when asked for, so that a bundle of the default path does not carry it.
  return (compiled[key] ??= (
    debug
      ? Promise.all([import("./generated/wasm-debug.js"), import("./generated/coverage-names.js")]).then(([m, c]) => {
          coverageNames = c.COVERAGE_NAMES;
          return m.debugWasmBase64;
        })
      : Promise.resolve(releaseWasmBase64)
  ).then((b64) => WebAssembly.compile(decodeBase64(b64) as BufferSource)));
}

const MALLINFO2_FIELDS = [
  "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
] as const;

/** Instantiates the allocator against `memory` and binds the C library surface. */
export async function loadAllocator(options: LoadAllocatorOptions): Promise<LoadedAllocator> {
  const module = await allocatorModule(options.debug === true);
  return instantiateAllocator(module, options);
}

/** The synchronous half of loadAllocator, for a module already compiled. */
export function instantiateAllocator(module: WebAssembly.Module, options: LoadAllocatorOptions): LoadedAllocator {
  const { memory } = options;
  let kernel: AllocatorKernel | null = null;
  const k = (): AllocatorKernel => (kernel ??= options.kernel());
  let captured: string[] = [];
  const onAbort = options.onAbort ?? ((message: string) => new ProcessAbort(message));
  const onFault = options.onFault ?? ((fault: SegmentationFault) => fault);

  const env = {
    memory,
    sys_brk: (addr: number) => k().brk(addr >>> 0),
    sys_mmap: (addr: number, len: number, prot: number, flags: number) => k().mmap(addr >>> 0, len >>> 0, prot, flags, -1, 0),
    sys_munmap: (addr: number, len: number) => k().munmap(addr >>> 0, len >>> 0),
    sys_mremap: (old: number, oldLen: number, newLen: number, flags: number) =>
      k().mremap(old >>> 0, oldLen >>> 0, newLen >>> 0, flags),
    sys_madvise: (addr: number, len: number, advice: number) => k().madvise(addr >>> 0, len >>> 0, advice),
    sys_mprotect: (addr: number, len: number, prot: number) => k().mprotect(addr >>> 0, len >>> 0, prot),
    page_fault: (addr: number, write: number) => {
      const fault = k().accessFault(addr >>> 0, write !== 0);
      if (fault !== null) throw onFault(fault);
    },
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
  const instance = new WebAssembly.Instance(module, { env });
  const x = instance.exports as unknown as AllocatorExports;
  x.ptmalloc_seed(options.seed >>> 0);
  x.set_system(options.nprocs ?? 2, options.overcommit ?? 0);
  if (options.debug === true) x.set_debug_checks(1);

  const capture = (run: () => void): string => {
    captured = [];
    run();
    const text = captured.join("");
    captured = [];
    return text;
  };

  // The exports themselves, unwrapped: the process converts their i32 results with >>> 0.
  const libc: LibC = {
    malloc: x.malloc,
    free: x.free,
    calloc: x.calloc,
    realloc: x.realloc,
    reallocarray: x.reallocarray,
    memalign: x.memalign,
    aligned_alloc: x.aligned_alloc,
    valloc: x.valloc,
    pvalloc: x.pvalloc,
    posix_memalign: (align, size) => {
      const err = x.posix_memalign(align, size);
      return { err, ptr: err === 0 ? x.posix_memalign_ptr() >>> 0 : 0 };
    },
    malloc_usable_size: x.malloc_usable_size,
    malloc_trim: (pad) => x.malloc_trim(pad),
    malloc_stats: () => capture(() => x.malloc_stats()),
    malloc_info: () => capture(() => void x.malloc_info(0)),
    mallinfo2: (): Mallinfo2 => {
      const addr = x.mallinfo2() >>> 0;
      const words = new Uint32Array(memory.buffer, addr, MALLINFO2_FIELDS.length);
      const m = {} as Record<(typeof MALLINFO2_FIELDS)[number], number>;
      MALLINFO2_FIELDS.forEach((name, i) => {
        m[name] = words[i];
      });
      return m;
    },
    mallopt: (param, value) => x.mallopt(param, value),
    sbrk: x.sbrk,
    brk: (addr) => x.brk(addr),
    get errno() {
      return x.errno_get();
    },
    set errno(value: number) {
      x.errno_set(value);
    },
    threads: {
      mainTls: x.main_tls_addr() >>> 0,
      tlsBytes: x.tls_size() >>> 0,
      current: () => x.thread_current() >>> 0,
      threadStart: x.thread_start,
      setThread: x.thread_switch,
      threadExit: x.thread_exit,
    },
  };
  return { heapBase: x.heap_base() >>> 0, libc, exports: x, coverage: coverageOf(instance) };
}

/** The debug module's coverage exports as an AllocatorCoverage; undefined for the release module. */
function coverageOf(instance: WebAssembly.Instance): AllocatorCoverage | undefined {
  const c = instance.exports as { cov_count?: () => number; cov_hit?: (id: number) => number; cov_reset?: () => void };
  if (c.cov_count === undefined || c.cov_hit === undefined || c.cov_reset === undefined || coverageNames === null) return undefined;
  const { cov_count, cov_hit, cov_reset } = c;
  if (cov_count() !== coverageNames.length) throw new Error("allocator: the coverage names do not match the debug module");
  return { count: () => cov_count() >>> 0, hit: (id) => cov_hit(id >>> 0) !== 0, reset: () => cov_reset(), names: coverageNames };
}
