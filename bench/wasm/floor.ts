// The benchmark's floors: what the harness costs with no allocator behind it. Every allocator
// entry point is an export that returns a fake non-zero address (its size argument + 16) and free
// does nothing, for the JS-driven floor; replay_ops decodes and stores exactly like the real
// in-Wasm loops (bench/wasm/tlsf.ts, assembly/replay.ts) but calls no allocator. A peer's ns/op
// minus (or divided by) the floor's is then what its allocator costs.

import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, TOUCH } from "./ops";
const FAKE = 16; // added to sizes so that a fake address is non-zero even for size 0

/**
 * Where TOUCH writes go: the fake addresses point nowhere, so both floors write into this 64 KiB
 * area at the address masked by SCRATCH_MASK (an AND more than a real touch, and nothing else).
 */
const SCRATCH_MASK: usize = 0xffff;
const scratch: usize = memory.data(65536, 16);

/** The scratch area, for the JS-driven floor's touch writes. */
export function scratch_base(): usize {
  return scratch;
}

export function malloc(size: usize): usize {
  return size + FAKE;
}

export function calloc(size: usize): usize {
  return size + FAKE;
}

export function memalign(align: usize, size: usize): usize {
  return size + FAKE;
}

export function realloc(ptr: usize, size: usize): usize {
  return size + FAKE;
}

export function free(ptr: usize): void {}

/** Space in this module's memory for the op list and the id table; returns its address. */
export function reserve(bytes: usize): usize {
  return heap.alloc(bytes);
}

/**
 * Runs `count` ops of 4 words each at `ops`, keeping fake addresses in `table`. The loads the real
 * loops make (realloc's old address, the freed address) are folded into `sink`, stored at the end,
 * so that the optimizer keeps them; the table stores keep the loop itself.
 */
export function replay_ops(ops: usize, count: i32, table: usize): void {
  let sink: usize = 0;
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
      p = a + FAKE;
    } else if (kind == OP_CALLOC) {
      p = a + FAKE;
    } else if (kind == OP_MEMALIGN) {
      p = b + FAKE;
      size = b;
    } else if (kind == OP_REALLOC) {
      sink ^= a == 0xffffffff ? 0 : load<usize>(table + (<usize>a << 2));
      p = b + FAKE;
      size = b;
    } else if (kind == OP_FREE) {
      sink ^= load<usize>(table + (<usize>id << 2));
      continue;
    }
    store<usize>(table + (<usize>id << 2), p);
    if ((word0 & TOUCH) != 0 && size != 0) {
      store<u8>(scratch + (p & SCRATCH_MASK), 1);
      store<u8>(scratch + ((p + size - 1) & SCRATCH_MASK), 1);
    }
  }
  store<usize>(scratch, sink);
}
