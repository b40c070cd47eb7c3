// A benchmark peer: wasi-libc's malloc (Doug Lea's dlmalloc 2.8.6, as configured by wasi-libc:
// no mmap, 16-byte alignment, sbrk = memory.grow), linked as a WASI reactor (no _start; the host
// calls _initialize once, then the exports).
// Exports one wrapper per allocator entry point, for the JS-driven runs, and replay_ops, the same
// in-Wasm loop over an encoded op list as bench/wasm/tlsf.ts (encoding: bench/ops-program.ts).
// Built by scripts/build-dlmalloc.mjs into build/dlmalloc.wasm.

#include <stdint.h>
#include <stdlib.h>

#define EXPORT(name) __attribute__((export_name(name)))

enum { OP_MALLOC = 0, OP_CALLOC = 1, OP_MEMALIGN = 2, OP_REALLOC = 3, OP_FREE = 4 };
#define TOUCH 0x100u     /* write the block's first and last byte after allocating it */
#define NO_ID 0xffffffffu /* realloc's OLDID for NULL */
#define WASM_PAGE 65536u

EXPORT("bench_malloc") void *bench_malloc(size_t size) { return malloc(size); }
EXPORT("bench_free") void bench_free(void *p) { free(p); }
/* The op list carries calloc's product nmemb × size (see bench/ops-program.ts). */
EXPORT("bench_calloc") void *bench_calloc(size_t size) { return calloc(1, size); }
EXPORT("bench_realloc") void *bench_realloc(void *p, size_t size) { return realloc(p, size); }
/* wasi-libc has no memalign; its aligned_alloc is dlmemalign, which (like glibc's memalign)
 * accepts any alignment and rounds it up to a power of two, and any size. */
EXPORT("bench_memalign") void *bench_memalign(size_t align, size_t size) { return aligned_alloc(align, size); }

/*
 * Space for the op list and the id table, outside the measured heap: fresh pages from
 * memory.grow. wasi-libc's sbrk asks memory.size / memory.grow on every call, so dlmalloc's next
 * sbrk lands above these pages, and dlmalloc takes a non-adjacent sbrk result as a new segment.
 * But on its first call, this wasi-libc's dlmalloc takes everything from __heap_base up to the
 * current memory.size as its initial heap, which would swallow pages grown before it; so the
 * allocator is initialised (by a malloc/free pair that leaves its heap as it was) first.
 * Returns 0 when memory cannot grow.
 */
EXPORT("reserve") void *reserve(size_t bytes) {
  static int heap_started;
  if (!heap_started) {
    free(malloc(1));
    heap_started = 1;
  }
  size_t pages = (bytes + WASM_PAGE - 1) / WASM_PAGE;
  size_t old = __builtin_wasm_memory_grow(0, pages);
  return old == SIZE_MAX ? 0 : (void *)(old * WASM_PAGE);
}

static inline void touch(unsigned char *p, size_t size) {
  if (p != 0 && size != 0) {
    p[0] = 1;
    p[size - 1] = 1;
  }
}

/* Runs `count` ops of 4 words each at `ops`, keeping block addresses in `table` (one per id). */
EXPORT("replay_ops") void replay_ops(const uint32_t *ops, int32_t count, void **table) {
  for (int32_t i = 0; i < count; i++, ops += 4) {
    uint32_t word0 = ops[0], id = ops[1], a = ops[2], b = ops[3];
    uint32_t kind = word0 & 0xff;
    void *p;
    size_t size = a;
    if (kind == OP_MALLOC) {
      p = malloc(a);
    } else if (kind == OP_CALLOC) {
      p = calloc(1, a);
    } else if (kind == OP_MEMALIGN) {
      p = aligned_alloc(a, b);
      size = b;
    } else if (kind == OP_REALLOC) {
      p = realloc(a == NO_ID ? 0 : table[a], b);
      size = b;
    } else {
      free(table[id]);
      continue;
    }
    table[id] = p;
    if (word0 & TOUCH) touch(p, size);
  }
}
