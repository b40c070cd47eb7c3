// A replay loop inside Wasm, for the benchmarks: runs an encoded op list (bench/ops-program.ts:
// 4 words per op) straight into the C library functions, with no JS between the calls. The op
// list and the ID table live in the process's own memory (the host maps them, as the C replayer
// mmaps its op list), so they never touch the heap being measured.

import { libc_calloc, libc_malloc } from "./malloc";
import { libc_free } from "./free";
import { libc_realloc } from "./realloc";
import { libc_memalign } from "./memalign";
import { check_store_byte } from "./pagemap";
import { SIZE_SZ } from "./config";
import { from_c, need_windows, va_range_to_offset, va_to_offset } from "./vm";

const OP_MALLOC: u32 = 0;
const OP_CALLOC: u32 = 1;
const OP_MEMALIGN: u32 = 2;
const OP_REALLOC: u32 = 3;
const TOUCH: u32 = 0x100;
const NULL_ID: u32 = 0xffffffff;

/**
 * ops, table: C addresses (VAs in an x86-64 process) of the op list (16 bytes an op) and of the
 * ID table (one C word per ID).
 */
export function replay_ops(ops_c: cword, count: u32, table_c: cword): void {
  need_windows();
  // the ID table is one mapping, so one window: translated once, its slots reached by offset
  const table = va_to_offset(from_c(table_c));
  const ops = count != 0 ? va_range_to_offset(from_c(ops_c), <word>count << 4, false) : 0;
  for (let i: u32 = 0; i < count; i++) {
    const op = ops + (<usize>i << 4);
    const word0 = load<u32>(op);
    const kind = word0 & 0xff;
    const slot = table + <usize>load<u32>(op, 4) * <usize>SIZE_SZ;
    const a = load<u32>(op, 8);
    let size: word = a;
    let p: word;
    if (kind == OP_MALLOC) {
      p = libc_malloc(a);
    } else if (kind == OP_CALLOC) {
      p = libc_calloc(1, a);
    } else if (kind == OP_MEMALIGN) {
      size = load<u32>(op, 12);
      p = libc_memalign(a, size);
    } else if (kind == OP_REALLOC) {
      size = load<u32>(op, 12);
      p = libc_realloc(a == NULL_ID ? 0 : load<word>(table + <usize>a * <usize>SIZE_SZ), size);
    } else {
      libc_free(load<word>(slot));
      continue;
    }
    store<word>(slot, p);
    if ((word0 & TOUCH) != 0 && p != 0 && size != 0) {
      // a program's first store into a page faults it in: the kernel is told, never searches
      const first = va_to_offset(p, true);
      check_store_byte(first);
      store<u8>(first, 1);
      const last = va_to_offset(p + size - 1, true);
      check_store_byte(last);
      store<u8>(last, 1);
    }
  }
}
