// The allocator's only way out: the kernel's raw syscalls, wrapped as glibc's own thin wrappers
// are (errno on failure, __curbrk caching for brk/sbrk). Raw results follow the Linux ABI: a value
// in the top 4095 of u32 (a negative number from the kernel object) is -errno. The memory views
// are refreshed after every call that can map memory (and so grow the WebAssembly.Memory).

import {
  ENOMEM, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SYSCALL_ERROR_FLOOR,
} from "../../assembly/config.js";
import type { Env } from "./env.js";
import { W_CURBRK, W_ERRNO } from "./layout.js";

/** (void *) -1 */
export const MAP_FAILED = 0xffffffff;

export const get_errno = (env: Env): number => env.i32[W_ERRNO];
export const set_errno = (env: Env, value: number): void => {
  env.i32[W_ERRNO] = value;
};

/** A raw result as u32, and whether it is -errno. */
const raw = (r: number): number => r >>> 0;
const is_error = (r: number): boolean => r > SYSCALL_ERROR_FLOOR;

// ── brk / sbrk (misc/sbrk.c, sysdeps/unix/sysv/linux/brk.c) ──────────────────

/** __brk: 0, or -1 with ENOMEM. The raw syscall answers the (possibly unchanged) break. */
export function do_brk(env: Env, addr: number): number {
  addr = addr >>> 0;
  const cur = raw(env.kernel.brk(addr));
  env.refresh();
  env.u32[W_CURBRK] = cur;
  if (cur < addr) {
    set_errno(env, ENOMEM);
    return -1;
  }
  return 0;
}

/** __sbrk (increment: intptr_t): the previous break, or (void *) -1 with errno. */
export function do_sbrk(env: Env, increment: number): number {
  if (env.u32[W_CURBRK] === 0 && do_brk(env, 0) < 0) return MAP_FAILED;
  const oldbrk = env.u32[W_CURBRK];
  if (increment === 0) return oldbrk;
  if (increment > 0 ? oldbrk + increment > 0xffffffff : oldbrk < -increment) {
    set_errno(env, ENOMEM);
    return MAP_FAILED;
  }
  if (do_brk(env, oldbrk + increment) < 0) return MAP_FAILED;
  return oldbrk;
}

/** MORECORE (__glibc_morecore): 0 (NULL) on failure. */
export function morecore(env: Env, increment: number): number {
  const r = do_sbrk(env, increment);
  return r === MAP_FAILED ? 0 : r;
}

// ── the mmap family (errno on failure, MAP_FAILED as glibc's wrappers) ───────

/** MMAP(0, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) */
export function mmap_anon(env: Env, size: number): number {
  return do_mmap(env, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
}

/** MMAP(addr, size, prot, flags): arena.c's heaps (PROT_NONE reservations, MAP_FIXED remaps). */
export function do_mmap(env: Env, addr: number, size: number, prot: number, flags: number): number {
  const r = raw(env.kernel.mmap(addr >>> 0, size >>> 0, prot, flags, -1, 0));
  env.refresh();
  if (is_error(r)) {
    set_errno(env, -(r | 0));
    return MAP_FAILED;
  }
  return r;
}

export function do_mprotect(env: Env, addr: number, len: number, prot: number): number {
  const r = env.kernel.mprotect(addr >>> 0, len >>> 0, prot) | 0;
  env.refresh(); // (whether the kernel grows the memory for a mapping made accessible is its business)
  if (r < 0) {
    set_errno(env, -r);
    return -1;
  }
  return 0;
}

export function do_munmap(env: Env, addr: number, len: number): number {
  const r = env.kernel.munmap(addr >>> 0, len >>> 0) | 0;
  if (r < 0) {
    set_errno(env, -r);
    return -1;
  }
  return 0;
}

export function do_mremap(env: Env, old: number, oldLen: number, newLen: number, flags: number): number {
  const r = raw(env.kernel.mremap(old >>> 0, oldLen >>> 0, newLen >>> 0, flags));
  env.refresh();
  if (is_error(r)) {
    set_errno(env, -(r | 0));
    return MAP_FAILED;
  }
  return r;
}

export function do_madvise(env: Env, addr: number, len: number, advice: number): number {
  const r = env.kernel.madvise(addr >>> 0, len >>> 0, advice) | 0;
  if (r < 0) {
    set_errno(env, -r);
    return -1;
  }
  return 0;
}
