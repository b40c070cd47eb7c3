// The C library surface an allocator implementation offers the process: glibc's malloc family
// plus the sbrk/brk wrappers and errno. Arguments arrive already converted to the u32/i32 values
// of the i386 ABI (see cargs.ts); addresses come back as unsigned numbers.
//
// Two implementations exist behind it: ptmalloc compiled to Wasm (allocator.ts) and, for
// benchmarks and differential testing, the same algorithm in plain TypeScript.

export interface Mallinfo2 {
  arena: number;
  ordblks: number;
  smblks: number;
  hblks: number;
  hblkhd: number;
  usmblks: number;
  fsmblks: number;
  uordblks: number;
  fordblks: number;
  keepcost: number;
}

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
}
