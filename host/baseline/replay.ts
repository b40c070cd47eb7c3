// A replay loop for the benchmarks, as assembly/replay.ts: runs an encoded op list
// (bench/ops-program.ts: 4 words per op) straight into the allocator's functions, with no
// wrapper between the calls. The op list and the ID table live in the process's own memory
// (the host maps them), so that both builds read their work the same way.

import { PAGEMAP_WRITE_PLANE } from "../../assembly/config.js";
import { pageBit } from "../kernel/pagemap.js";
import { access_slow, type Env } from "./env.js";
import { libc_free } from "./free.js";
import { libc_calloc, libc_malloc } from "./malloc.js";
import { libc_memalign } from "./memalign.js";
import { libc_realloc } from "./realloc.js";

const OP_MALLOC = 0;
const OP_CALLOC = 1;
const OP_MEMALIGN = 2;
const OP_REALLOC = 3;
const TOUCH = 0x100;
const NULL_ID = 0xffffffff;

export function replay_ops(env: Env, ops: number, count: number, table: number): void {
  env.refresh();
  const opw = ops >>> 2;
  const tablew = table >>> 2;
  for (let i = 0; i < count; i++) {
    // the views are re-read every op: a call may have grown the memory
    const w = opw + i * 4;
    let m = env.u32;
    const word0 = m[w];
    const kind = word0 & 0xff;
    const slot = tablew + m[w + 1];
    const a = m[w + 2];
    let size = a;
    let p: number;
    if (kind === OP_MALLOC) {
      p = libc_malloc(env, a);
    } else if (kind === OP_CALLOC) {
      p = libc_calloc(env, 1, a);
    } else if (kind === OP_MEMALIGN) {
      size = m[w + 3];
      p = libc_memalign(env, a, size);
    } else if (kind === OP_REALLOC) {
      size = m[w + 3];
      p = libc_realloc(env, a === NULL_ID ? 0 : m[tablew + a], size);
    } else {
      libc_free(env, m[slot]);
      continue;
    }
    m = env.u32;
    m[slot] = p;
    if ((word0 & TOUCH) !== 0 && p !== 0 && size !== 0) {
      // a program's first store into a page faults it in, as assembly/replay.ts does
      if (pageBit(env.u8, p, PAGEMAP_WRITE_PLANE) === 0) access_slow(env, p, 1, true);
      env.u8[p] = 1;
      const last = p + size - 1;
      if (pageBit(env.u8, last, PAGEMAP_WRITE_PLANE) === 0) access_slow(env, last, 1, true);
      env.u8[last] = 1;
    }
  }
}
