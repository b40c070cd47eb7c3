// A peer for the benchmarks: AssemblyScript's own TLSF allocator (heap.alloc / heap.free of the
// "minimal" runtime), driven either from JS (one export call per operation) or by replay_ops, a
// loop inside Wasm over an encoded op list (see bench/ops-program.ts for the encoding).

import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, TOUCH } from "./ops";

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

export function realloc(ptr: usize, size: usize): usize {
  return ptr == 0 ? heap.alloc(size) : heap.realloc(ptr, size);
}

export function calloc(size: usize): usize {
  const p = heap.alloc(size);
  memory.fill(p, 0, size);
  return p;
}

/** TLSF aligns to 16 bytes only: larger alignments over-allocate (the table keeps the block). */
export function memalign(align: usize, size: usize): usize {
  return heap.alloc(align > 16 ? size + align : size);
}

@inline function touch(p: usize, size: usize): void {
  if (size != 0) {
    store<u8>(p, 1);
    store<u8>(p + size - 1, 1);
  }
}

/** Runs `count` ops of 4 words each at `ops`, keeping block addresses in `table` (one word per id). */
export function replay_ops(ops: usize, count: i32, table: usize): void {
  for (let i = 0; i < count; i++) {
    const op = ops + (<usize>i << 4);
    const word0 = load<u32>(op);
    const kind = word0 & 0xff;
    const id = load<u32>(op, 4);
    const a = load<u32>(op, 8);
    const b = load<u32>(op, 12);
    let p: usize = 0;
    let size: usize = a;
    if (kind == OP_MALLOC) {
      p = heap.alloc(a);
    } else if (kind == OP_CALLOC) {
      p = calloc(a);
    } else if (kind == OP_MEMALIGN) {
      p = memalign(a, b);
      size = b;
    } else if (kind == OP_REALLOC) {
      const old: usize = a == 0xffffffff ? 0 : load<usize>(table + (<usize>a << 2));
      p = realloc(old, b);
      size = b;
    } else if (kind == OP_FREE) {
      free(load<usize>(table + (<usize>id << 2)));
      continue;
    }
    store<usize>(table + (<usize>id << 2), p);
    if (word0 & TOUCH) touch(p, size);
  }
}
