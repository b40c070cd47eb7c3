// The allocator's only way out: the kernel's raw syscalls, wrapped as glibc's own thin wrappers
// are (errno on failure, __curbrk caching for brk/sbrk). Raw results follow the Linux ABI: a value
// in the top 4095 of u32 (a negative number from the kernel object) is -errno. The memory views
// are refreshed after every call that can map memory (and so grow the WebAssembly.Memory).

import { ENOMEM, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SYSCALL_ERROR_FLOOR } from "../../assembly/config.js";
import type { Env } from "./env.js";
import { W_CURBRK, W_ERRNO } from "./layout.js";

/** (void *) -1: SIZE_MAX, 0xffffffff on i386; on x86-64 the double nearest 2^64 − 1 (2^64), which no mapping returns. */
export const map_failed = (env: Env): number => env.WORD_MOD - 1;

export const get_errno = (env: Env): number => env.mpi[W_ERRNO]!;
export const set_errno = (env: Env, value: number): void => {
  env.mpi[W_ERRNO] = value;
};

// A raw result: the kernel answers a number, -errno on failure (an i386 answer is brought to u32,
// where -errno is one of the top 4095 values; on x86-64 it stays negative).
const raw = (env: Env, r: number): number => (env.wide ? r : r >>> 0);
const is_error = (env: Env, r: number): boolean => (env.wide ? r < 0 : r > SYSCALL_ERROR_FLOOR);
const errno_of = (env: Env, r: number): number => (env.wide ? -r : -(r | 0));

// ── brk / sbrk (misc/sbrk.c, sysdeps/unix/sysv/linux/brk.c) ──────────────────

/** __brk: 0, or -1 with ENOMEM. The raw syscall answers the (possibly unchanged) break. */
export function do_brk(env: Env, addr: number): number {
  if (!env.wide) addr = addr >>> 0;
  const cur = raw(env, env.kernel.brk(addr));
  env.refresh();
  env.mp[W_CURBRK] = cur;
  if (cur < addr) {
    set_errno(env, ENOMEM);
    return -1;
  }
  return 0;
}

/** __sbrk (increment: intptr_t): the previous break, or (void *) -1 with errno. */
export function do_sbrk(env: Env, increment: number): number {
  if (env.mp[W_CURBRK] === 0 && do_brk(env, 0) < 0) return map_failed(env);
  const oldbrk = env.mp[W_CURBRK]!;
  if (increment === 0) return oldbrk;
  if (increment > 0 ? oldbrk + increment > env.WORD_MOD - 1 : oldbrk < -increment) {
    set_errno(env, ENOMEM);
    return map_failed(env);
  }
  if (do_brk(env, oldbrk + increment) < 0) return map_failed(env);
  return oldbrk;
}

/** MORECORE (__glibc_morecore): 0 (NULL) on failure. */
export function morecore(env: Env, increment: number): number {
  const r = do_sbrk(env, increment);
  return r === map_failed(env) ? 0 : r;
}

// ── the mmap family (errno on failure, MAP_FAILED as glibc's wrappers) ───────
// Arguments are C words already (u32 on i386; numbers below 2^64 on x86-64, as the kernel takes them).
const arg = (env: Env, x: number): number => (env.wide ? x : x >>> 0);

/** MMAP(0, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) */
export function mmap_anon(env: Env, size: number): number {
  return do_mmap(env, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
}

/** MMAP(addr, size, prot, flags): arena.c's heaps (PROT_NONE reservations, MAP_FIXED remaps). */
export function do_mmap(env: Env, addr: number, size: number, prot: number, flags: number): number {
  const r = raw(env, env.kernel.mmap(arg(env, addr), arg(env, size), prot, flags, -1, 0));
  env.refresh();
  if (is_error(env, r)) {
    set_errno(env, errno_of(env, r));
    return map_failed(env);
  }
  return r;
}

export function do_mprotect(env: Env, addr: number, len: number, prot: number): number {
  const r = env.kernel.mprotect(arg(env, addr), arg(env, len), prot) | 0;
  env.refresh(); // (whether the kernel grows the memory for a mapping made accessible is its business)
  if (r < 0) {
    set_errno(env, -r);
    return -1;
  }
  return 0;
}

export function do_munmap(env: Env, addr: number, len: number): number {
  const r = env.kernel.munmap(arg(env, addr), arg(env, len)) | 0;
  if (r < 0) {
    set_errno(env, -r);
    return -1;
  }
  return 0;
}

export function do_mremap(env: Env, old: number, oldLen: number, newLen: number, flags: number): number {
  const r = raw(env, env.kernel.mremap(arg(env, old), arg(env, oldLen), arg(env, newLen), flags));
  env.refresh();
  if (is_error(env, r)) {
    set_errno(env, errno_of(env, r));
    return map_failed(env);
  }
  return r;
}

export function do_madvise(env: Env, addr: number, len: number, advice: number): number {
  const r = env.kernel.madvise(arg(env, addr), arg(env, len), advice) | 0;
  if (r < 0) {
    set_errno(env, -r);
    return -1;
  }
  return 0;
}
