// mallopt: glibc 2.36 consolidates the fastbins first, then sets the parameter. Setting
// any of the thresholds, the top pad or the mmap count turns the dynamic mmap threshold off.
// Unknown parameters (and M_ARENA_* with a value <= 0) are accepted and ignored: result 1.

import {
  M_ARENA_MAX, M_ARENA_TEST, M_CHECK_ACTION, M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB, M_TOP_PAD,
  M_TRIM_THRESHOLD,
} from "../../assembly/config.js";
import { set_max_fast } from "./bins.js";
import type { Env } from "./env.js";
import { malloc_consolidate } from "./free.js";
import {
  W_ARENA_MAX, W_ARENA_TEST, W_MALLOC_INITIALIZED, W_MMAP_THRESHOLD, W_N_MMAPS_MAX, W_NO_DYN_THRESHOLD,
  W_PERTURB_BYTE, W_TOP_PAD, W_TRIM_THRESHOLD,
} from "./layout.js";
import { ptmalloc_init } from "./malloc.js";

/** mallopt(param, value): both C ints. */
export function libc_mallopt(env: Env, param: number, value: number): number {
  if (env.mp[W_MALLOC_INITIALIZED] === 0) ptmalloc_init(env);
  // mallopt works on main_arena alone, as glibc's does (no arena_get: the parameters are process-wide)
  malloc_consolidate(env, env.mainArena);
  const m = env.mp;
  // the size_t fields take the int as C converts it (a negative one to its two's complement)
  const uvalue = value < 0 ? value + env.WORD_MOD : value;
  let res = 1;
  switch (param) {
    case M_MXFAST:
      if (uvalue <= env.MAX_FAST_SIZE) set_max_fast(env, uvalue);
      else res = 0;
      break;
    case M_TRIM_THRESHOLD:
      m[W_TRIM_THRESHOLD] = uvalue;
      m[W_NO_DYN_THRESHOLD] = 1;
      break;
    case M_TOP_PAD:
      m[W_TOP_PAD] = uvalue;
      m[W_NO_DYN_THRESHOLD] = 1;
      break;
    case M_MMAP_THRESHOLD:
      m[W_MMAP_THRESHOLD] = uvalue;
      m[W_NO_DYN_THRESHOLD] = 1;
      break;
    case M_MMAP_MAX:
      env.mpi[W_N_MMAPS_MAX] = value;
      m[W_NO_DYN_THRESHOLD] = 1;
      break;
    case M_CHECK_ACTION:
      break;
    case M_PERTURB:
      env.mpi[W_PERTURB_BYTE] = value;
      break;
    case M_ARENA_TEST:
      if (value > 0) m[W_ARENA_TEST] = uvalue;
      break;
    case M_ARENA_MAX:
      if (value > 0) m[W_ARENA_MAX] = uvalue;
      break;
    default:
      break;
  }
  return res;
}
