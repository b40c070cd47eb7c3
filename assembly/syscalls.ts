// The allocator's only way out of the module: the kernel's raw syscalls, abort and write,
// wrapped as glibc's own thin wrappers are (errno on failure, __curbrk caching for brk/sbrk).
// Raw results follow the Linux ABI: a value in the top 4095 of u32 is -errno.

import {
  ENOMEM, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SYSCALL_ERROR_FLOOR,
} from "./config";
import { cov_check } from "./coverage";

// @ts-ignore: decorator
@external("env", "sys_brk") declare function sys_brk(addr: usize): usize;
// @ts-ignore: decorator
@external("env", "sys_mmap") declare function sys_mmap(addr: usize, len: usize, prot: i32, flags: i32): usize;
// @ts-ignore: decorator
@external("env", "sys_munmap") declare function sys_munmap(addr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("env", "sys_mremap") declare function sys_mremap(old: usize, oldLen: usize, newLen: usize, flags: i32): usize;
// @ts-ignore: decorator
@external("env", "sys_mprotect") declare function sys_mprotect(addr: usize, len: usize, prot: i32): i32;
// @ts-ignore: decorator
@external("env", "sys_madvise") declare function sys_madvise(addr: usize, len: usize, advice: i32): i32;
// @ts-ignore: decorator
@external("env", "abort") declare function host_abort(msgPtr: usize, msgLen: usize): void;
// @ts-ignore: decorator
@external("env", "write") declare function host_write(fd: i32, ptr: usize, len: usize): i32;

/** (void *) -1 */
export const MAP_FAILED: usize = <usize>-1;

// errno and __curbrk live in static data, as libc's do.
const ERRNO_ADDR: usize = memory.data(4, 4);
const CURBRK_ADDR: usize = memory.data(4, 4);

// @ts-ignore: decorator
@inline export function get_errno(): i32 { return load<i32>(ERRNO_ADDR); }
// @ts-ignore: decorator
@inline export function set_errno(value: i32): void { store<i32>(ERRNO_ADDR, value); }

// @ts-ignore: decorator
@inline function is_error(raw: usize): bool { return raw > <usize>SYSCALL_ERROR_FLOOR; }

/** malloc_printerr: never returns (the host throws ProcessAbort with the message). */
export function malloc_printerr(message: string): void {
  cov_check(message);
  host_abort(changetype<usize>(message), <usize>message.length << 1);
  unreachable();
}

export function write_fd(fd: i32, ptr: usize, len: usize): void {
  if (len != 0) host_write(fd, ptr, len);
}

// ── brk / sbrk (misc/sbrk.c, sysdeps/unix/sysv/linux/brk.c) ──────────────────

export function get_curbrk(): usize { return load<usize>(CURBRK_ADDR); }

/** __brk: 0, or -1 with ENOMEM. The raw syscall answers the (possibly unchanged) break. */
export function do_brk(addr: usize): i32 {
  const cur = sys_brk(addr);
  store<usize>(CURBRK_ADDR, cur);
  if (cur < addr) {
    set_errno(ENOMEM);
    return -1;
  }
  return 0;
}

/** __sbrk: the previous break, or (void *) -1 with errno. */
export function do_sbrk(increment: isize): usize {
  if (load<usize>(CURBRK_ADDR) == 0) {
    if (do_brk(0) < 0) return MAP_FAILED;
  }
  const oldbrk = load<usize>(CURBRK_ADDR);
  if (increment == 0) return oldbrk;
  if (increment > 0
    ? oldbrk + <usize>increment < oldbrk
    : oldbrk < <usize>(-increment)) {
    set_errno(ENOMEM);
    return MAP_FAILED;
  }
  if (do_brk(oldbrk + <usize>increment) < 0) return MAP_FAILED;
  return oldbrk;
}

/** MORECORE (__glibc_morecore): NULL on failure. */
export function morecore(increment: isize): usize {
  const r = do_sbrk(increment);
  return r == MAP_FAILED ? 0 : r;
}

// ── mmap family (errno on failure, MAP_FAILED as glibc's wrappers) ───────────

/** MMAP(0, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS | extra) */
export function mmap_anon(size: usize, extraFlags: i32): usize {
  const r = sys_mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extraFlags);
  if (is_error(r)) {
    set_errno(-<i32>r);
    return MAP_FAILED;
  }
  return r;
}

/** MMAP(addr, size, prot, flags): arena.c's heaps (PROT_NONE reservations, MAP_FIXED remaps). */
export function do_mmap(addr: usize, size: usize, prot: i32, flags: i32): usize {
  const r = sys_mmap(addr, size, prot, flags);
  if (is_error(r)) {
    set_errno(-<i32>r);
    return MAP_FAILED;
  }
  return r;
}

export function do_mprotect(addr: usize, len: usize, prot: i32): i32 {
  const r = sys_mprotect(addr, len, prot);
  if (r < 0) {
    set_errno(-r);
    return -1;
  }
  return 0;
}

export function do_munmap(addr: usize, len: usize): i32 {
  const r = sys_munmap(addr, len);
  if (r < 0) {
    set_errno(-r);
    return -1;
  }
  return 0;
}

export function do_mremap(old: usize, oldLen: usize, newLen: usize, flags: i32): usize {
  const r = sys_mremap(old, oldLen, newLen, flags);
  if (is_error(r)) {
    set_errno(-<i32>r);
    return MAP_FAILED;
  }
  return r;
}

export function do_madvise(addr: usize, len: usize, advice: i32): i32 {
  const r = sys_madvise(addr, len, advice);
  if (r < 0) {
    set_errno(-r);
    return -1;
  }
  return 0;
}
