// A replay loop for the benchmarks, as assembly/replay.ts: runs an encoded op list
// (bench/ops-program.ts: 4 u32 per op; the ID table one C word per ID) straight into the allocator's functions, with no
// wrapper between the calls. The op list and the ID table live in the process's own memory
// (the host maps them), so that both builds read their work the same way.

import { PAGEMAP_WRITE_PLANE } from "../../assembly/config.js";
import { pageBit } from "../kernel/pagemap.js";
import { access_slow, ldf, stf, type Env } from "./env.js";
import { libc_free } from "./free.js";
import { libc_calloc, libc_malloc } from "./malloc.js";
import { libc_memalign } from "./memalign.js";
import { libc_realloc } from "./realloc.js";
import { va_off, va_range_off } from "./wide.js";

const OP_MALLOC = 0;
const OP_CALLOC = 1;
const OP_MEMALIGN = 2;
const OP_REALLOC = 3;
const TOUCH = 0x100;
const NULL_ID = 0xffffffff;

export function replay_ops(env: Env, ops: number, count: number, table: number): void {
  env.refresh();
  if (env.wide && !env.windowsSet) env.setWindows();
  // ops: 16 bytes an op, read by offset; table: one C word per ID (x86-64: 8 bytes, at VAs)
  const opw = (env.wide ? (count !== 0 ? va_range_off(env, ops, count * 16, false) : 0) : ops) >>> 2;
  for (let i = 0; i < count; i++) {
    // the views are re-read every op: a call may have grown the memory
    const w = opw + i * 4;
    const m = env.u32;
    const word0 = m[w]!;
    const kind = word0 & 0xff;
    const id = m[w + 1]!;
    const a = m[w + 2]!;
    let size = a;
    let p: number;
    if (kind === OP_MALLOC) {
      p = libc_malloc(env, a);
    } else if (kind === OP_CALLOC) {
      p = libc_calloc(env, 1, a);
    } else if (kind === OP_MEMALIGN) {
      size = m[w + 3]!;
      p = libc_memalign(env, a, size);
    } else if (kind === OP_REALLOC) {
      size = m[w + 3]!;
      p = libc_realloc(env, a === NULL_ID ? 0 : ldf(env, table, a * 4, a * 8), size);
    } else {
      libc_free(env, ldf(env, table, id * 4, id * 8));
      continue;
    }
    stf(env, table, id * 4, id * 8, p);
    if ((word0 & TOUCH) !== 0 && p !== 0 && size !== 0) {
      // a program's first store into a page faults it in, as assembly/replay.ts does
      const first = env.wide ? va_off(env, p, true) : p;
      if (pageBit(env.u8, first, PAGEMAP_WRITE_PLANE) === 0) access_slow(env, first, 1, true);
      env.u8[first] = 1;
      const last = env.wide ? va_off(env, p + size - 1, true) : p + size - 1;
      if (pageBit(env.u8, last, PAGEMAP_WRITE_PLANE) === 0) access_slow(env, last, 1, true);
      env.u8[last] = 1;
    }
  }
}
