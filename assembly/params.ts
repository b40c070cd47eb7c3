// mallopt: glibc 2.36 consolidates the fastbins first, then sets the parameter. Setting
// any of the thresholds, the top pad or the mmap count turns the dynamic mmap threshold off.
// Unknown parameters (and M_ARENA_* with a value <= 0) are accepted and ignored: result 1.

import {
  M_ARENA_MAX, M_ARENA_TEST, M_CHECK_ACTION, M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_PERTURB,
  M_TOP_PAD, M_TRIM_THRESHOLD, MAX_FAST_SIZE,
} from "./config";
import { main_arena, mp_ } from "./arena";
import { set_max_fast } from "./bins";
import { malloc_consolidate } from "./free";
import { ptmalloc_init } from "./malloc";

export function libc_mallopt(param: i32, value: i32): i32 {
  if (!mp_.malloc_initialized) ptmalloc_init();
  // mallopt acts on main_arena alone (glibc's too): the parameters are process-wide
  const av = main_arena;
  malloc_consolidate(av);
  let res = 1;
  switch (param) {
    case M_MXFAST: {
      if (<word>value <= <word>MAX_FAST_SIZE) set_max_fast(<word>value);
      else res = 0;
      break;
    }
    case M_TRIM_THRESHOLD: {
      mp_.trim_threshold = <word>value;
      mp_.no_dyn_threshold = 1;
      break;
    }
    case M_TOP_PAD: {
      mp_.top_pad = <word>value;
      mp_.no_dyn_threshold = 1;
      break;
    }
    case M_MMAP_THRESHOLD: {
      mp_.mmap_threshold = <word>value;
      mp_.no_dyn_threshold = 1;
      break;
    }
    case M_MMAP_MAX: {
      mp_.n_mmaps_max = value;
      mp_.no_dyn_threshold = 1;
      break;
    }
    case M_CHECK_ACTION: break;
    case M_PERTURB: {
      mp_.perturb_byte = value;
      break;
    }
    case M_ARENA_TEST: {
      if (value > 0) mp_.arena_test = <word>value;
      break;
    }
    case M_ARENA_MAX: {
      if (value > 0) mp_.arena_max = <word>value;
      break;
    }
    default: break;
  }
  return res;
}
