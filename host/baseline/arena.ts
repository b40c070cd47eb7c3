// The fields of struct malloc_state (the picture is in layout.ts), read and written as the Wasm
// build's accessors in assembly/arena.ts: raw, from the arena the code works on (`av`), since an
// arena is the allocator's own memory. Each takes both ABIs' offsets (x86-64's from the
// `// x86_64:` values of config.ts): on i386 a word index into the memory, on x86-64 a translated
// 8-byte word (the int fields — flags, have_fastchunks, the binmap — stay 4 bytes).

import * as C32 from "../../assembly/config.js";
import * as C64 from "../generated/config-x86_64.js";
import { ldf, ldi, stf, sti, type Env } from "./env.js";

export const av_top = (env: Env, av: number): number => ldf(env, av, C32.AV_TOP, C64.AV_TOP);
export const set_av_top = (env: Env, av: number, p: number): void => stf(env, av, C32.AV_TOP, C64.AV_TOP, p);
export const last_remainder = (env: Env, av: number): number => ldf(env, av, C32.AV_LAST_REMAINDER, C64.AV_LAST_REMAINDER);
export const set_last_remainder = (env: Env, av: number, p: number): void =>
  stf(env, av, C32.AV_LAST_REMAINDER, C64.AV_LAST_REMAINDER, p);
export const system_mem = (env: Env, av: number): number => ldf(env, av, C32.AV_SYSTEM_MEM, C64.AV_SYSTEM_MEM);
export const set_system_mem = (env: Env, av: number, v: number): void => stf(env, av, C32.AV_SYSTEM_MEM, C64.AV_SYSTEM_MEM, v);
export const max_system_mem = (env: Env, av: number): number => ldf(env, av, C32.AV_MAX_SYSTEM_MEM, C64.AV_MAX_SYSTEM_MEM);
export const set_max_system_mem = (env: Env, av: number, v: number): void =>
  stf(env, av, C32.AV_MAX_SYSTEM_MEM, C64.AV_MAX_SYSTEM_MEM, v);
export const av_next = (env: Env, av: number): number => ldf(env, av, C32.AV_NEXT, C64.AV_NEXT);
export const set_av_next = (env: Env, av: number, v: number): void => stf(env, av, C32.AV_NEXT, C64.AV_NEXT, v);
export const av_next_free = (env: Env, av: number): number => ldf(env, av, C32.AV_NEXT_FREE, C64.AV_NEXT_FREE);
export const set_av_next_free = (env: Env, av: number, v: number): void => stf(env, av, C32.AV_NEXT_FREE, C64.AV_NEXT_FREE, v);
export const attached_threads = (env: Env, av: number): number => ldf(env, av, C32.AV_ATTACHED_THREADS, C64.AV_ATTACHED_THREADS);
export const set_attached_threads = (env: Env, av: number, v: number): void =>
  stf(env, av, C32.AV_ATTACHED_THREADS, C64.AV_ATTACHED_THREADS, v);

export const have_fastchunks = (env: Env, av: number): boolean => ldi(env, av, C32.AV_HAVE_FASTCHUNKS, C64.AV_HAVE_FASTCHUNKS) !== 0;
export const set_have_fastchunks = (env: Env, av: number, v: boolean): void =>
  sti(env, av, C32.AV_HAVE_FASTCHUNKS, C64.AV_HAVE_FASTCHUNKS, v ? 1 : 0);
export const contiguous = (env: Env, av: number): boolean => (ldi(env, av, C32.AV_FLAGS, C64.AV_FLAGS) & C32.NONCONTIGUOUS_BIT) === 0;
export const set_noncontiguous = (env: Env, av: number): void =>
  sti(env, av, C32.AV_FLAGS, C64.AV_FLAGS, ldi(env, av, C32.AV_FLAGS, C64.AV_FLAGS) | C32.NONCONTIGUOUS_BIT);

/** av->fastbinsY[idx] */
export const fastbin = (env: Env, av: number, idx: number): number =>
  ldf(env, av, C32.AV_FASTBINS + 4 * idx, C64.AV_FASTBINS + 8 * idx);
export const set_fastbin = (env: Env, av: number, idx: number, p: number): void =>
  stf(env, av, C32.AV_FASTBINS + 4 * idx, C64.AV_FASTBINS + 8 * idx, p);

/** av->binmap[block] */
export const binmap = (env: Env, av: number, block: number): number =>
  ldi(env, av, C32.AV_BINMAP + 4 * block, C64.AV_BINMAP + 4 * block);
export const set_binmap = (env: Env, av: number, block: number, v: number): void =>
  sti(env, av, C32.AV_BINMAP + 4 * block, C64.AV_BINMAP + 4 * block, v);

/** bin_at(av, i): the fake chunk whose fd and bk are av->bins[2(i-1)] and [2(i-1)+1]. */
export const bin_at = (env: Env, av: number, i: number): number =>
  env.wide ? av + C64.AV_BINS - 16 + (i - 1) * 16 : av + C32.AV_BINS - 8 + ((i - 1) << 3);
