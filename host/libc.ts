// The C library surface an allocator implementation offers the process: glibc's malloc family
// plus the sbrk/brk wrappers and errno. Arguments arrive already converted to the u32/i32 values
// of the i386 ABI (see cargs.ts). Results that are addresses or sizes (malloc … pvalloc,
// malloc_usable_size, sbrk) may come back as the raw 32-bit pattern, negative above 2 GiB — the
// Wasm exports are used unwrapped, for speed — and the process converts them with >>> 0.
//
// Two implementations exist behind it: ptmalloc compiled to Wasm (allocator.ts) and, for
// benchmarks and differential testing, the same algorithm in plain TypeScript.

/** glibc's struct mallinfo2: byte counts (size_t) of the main arena and of mmapped blocks. */
export interface Mallinfo2 {
  /** Bytes the main arena got from sbrk (non-mmapped space). */
  arena: number;
  /** Free chunks that are not fastbin chunks (the top chunk counts as one). */
  ordblks: number;
  /** Free fastbin chunks. */
  smblks: number;
  /** Blocks allocated with mmap. */
  hblks: number;
  /** Bytes in mmapped blocks. */
  hblkhd: number;
  /** Always 0 (unused since glibc 2.x). */
  usmblks: number;
  /** Bytes in free fastbin chunks. */
  fsmblks: number;
  /** Bytes in use in the arenas (allocated chunks, tcache'd ones included). */
  uordblks: number;
  /** Free bytes in the arenas (fastbins included). */
  fordblks: number;
  /** Bytes at the top that malloc_trim could give back. */
  keepcost: number;
}

/** @internal */
export interface LibC {
  malloc(size: number): number;
  free(ptr: number): void;
  calloc(nmemb: number, size: number): number;
  realloc(ptr: number, size: number): number;
  reallocarray(ptr: number, nmemb: number, size: number): number;
  memalign(alignment: number, size: number): number;
  aligned_alloc(alignment: number, size: number): number;
  valloc(size: number): number;
  pvalloc(size: number): number;
  posix_memalign(alignment: number, size: number): { err: number; ptr: number };
  malloc_usable_size(ptr: number): number;
  malloc_trim(pad: number): number;
  malloc_stats(): string;
  malloc_info(): string;
  mallinfo2(): Mallinfo2;
  mallopt(param: number, value: number): number;
  sbrk(increment: number): number;
  brk(addr: number): number;
  errno: number;
  /** The thread switch (threads.ts drives it); absent only for an allocator built without threads. */
  threads?: LibCThreads;
}

/**
 * @internal How the process runs several threads on one allocator, one at a time. Each thread's
 * own malloc state — its arena pointer (glibc's `thread_arena`), its tcache pointer, the tcache's
 * shutting-down flag and its errno — lives in a TLS block of `tlsBytes` bytes in the process's
 * memory: the main thread's in the allocator's static data (`mainTls`), another thread's where
 * the host put it (at the top of its stack mapping, as glibc's TCB is). The current thread's state
 * is held by the allocator; a switch saves it into the old thread's block and loads the new one's.
 * The C library calls act for the current thread, which starts as the main thread.
 */
export interface LibCThreads {
  /** The main thread's TLS block (static data). */
  readonly mainTls: number;
  /** The size of a TLS block in bytes (a multiple of 4). */
  readonly tlsBytes: number;
  /** The current thread's TLS block. */
  current(): number;
  /** Clears the block at `tls` (no arena, no tcache, errno 0) and makes that new thread current. */
  threadStart(tls: number): void;
  /** Makes the thread whose block is at `tls` current; nothing happens if it already is. */
  setThread(tls: number): void;
  /**
   * The current thread's start routine has returned: glibc's teardown of its malloc state
   * (tcache_thread_shutdown: every tcache'd chunk back to its arena, then the tcache struct freed;
   * then its arena detached, onto the free list when no other thread uses it). The thread stays
   * current; the caller switches away.
   */
  threadExit(): void;
}

/**
 * @internal The same C library with its address and size results converted to unsigned numbers, for
 * callers that use a LibC directly rather than through a Process (tests, tools).
 */
export function withUnsignedResults(libc: LibC): LibC {
  const u = Object.create(libc) as LibC;
  u.malloc = (size) => libc.malloc(size) >>> 0;
  u.calloc = (nmemb, size) => libc.calloc(nmemb, size) >>> 0;
  u.realloc = (ptr, size) => libc.realloc(ptr, size) >>> 0;
  u.reallocarray = (ptr, nmemb, size) => libc.reallocarray(ptr, nmemb, size) >>> 0;
  u.memalign = (alignment, size) => libc.memalign(alignment, size) >>> 0;
  u.aligned_alloc = (alignment, size) => libc.aligned_alloc(alignment, size) >>> 0;
  u.valloc = (size) => libc.valloc(size) >>> 0;
  u.pvalloc = (size) => libc.pvalloc(size) >>> 0;
  u.malloc_usable_size = (ptr) => libc.malloc_usable_size(ptr) >>> 0;
  u.sbrk = (increment) => libc.sbrk(increment) >>> 0;
  return u;
}
