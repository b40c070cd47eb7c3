// A replay loop inside Wasm, for the benchmarks: runs an encoded op list (bench/ops-program.ts:
// 4 words per op) straight into the C library functions, with no JS between the calls. The op
// list and the ID table live in the process's own memory (the host maps them, as the C replayer
// mmaps its op list), so they never touch the heap being measured.

import { libc_calloc, libc_malloc } from "./malloc";
import { libc_free } from "./free";
import { libc_realloc } from "./realloc";
import { libc_memalign } from "./memalign";
import { check_store_byte } from "./pagemap";

const OP_MALLOC: u32 = 0;
const OP_CALLOC: u32 = 1;
const OP_MEMALIGN: u32 = 2;
const OP_REALLOC: u32 = 3;
const TOUCH: u32 = 0x100;
const NULL_ID: u32 = 0xffffffff;

export function replay_ops(ops: usize, count: u32, table: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    const op = ops + (<usize>i << 4);
    const word0 = load<u32>(op);
    const kind = word0 & 0xff;
    const slot = table + (<usize>load<u32>(op, 4) << 2);
    const a = load<u32>(op, 8);
    let size: usize = a;
    let p: usize;
    if (kind == OP_MALLOC) {
      p = libc_malloc(a);
    } else if (kind == OP_CALLOC) {
      p = libc_calloc(1, a);
    } else if (kind == OP_MEMALIGN) {
      size = load<u32>(op, 12);
      p = libc_memalign(a, size);
    } else if (kind == OP_REALLOC) {
      size = load<u32>(op, 12);
      p = libc_realloc(a == NULL_ID ? 0 : load<usize>(table + (<usize>a << 2)), size);
    } else {
      libc_free(load<usize>(slot));
      continue;
    }
    store<usize>(slot, p);
    if ((word0 & TOUCH) != 0 && p != 0 && size != 0) {
      // a program's first store into a page faults it in: the kernel is told, never searches
      check_store_byte(p);
      store<u8>(p, 1);
      check_store_byte(p + size - 1);
      store<u8>(p + size - 1, 1);
    }
  }
}
