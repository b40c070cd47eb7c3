// The allocator's only way out of the module: the kernel's raw syscalls, abort and write,
// wrapped as glibc's own thin wrappers are (errno on failure, __curbrk caching for brk/sbrk).
// Raw results follow the Linux ABI: a value in the top 4095 of the word is -errno. C values cross
// the boundary as cword (vm.ts: u32 in the i386 build, f64 in x86_64).

import {
  ENOMEM, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SYSCALL_ERROR_FLOOR,
} from "./config";
import { cov_check } from "./coverage";
import { from_c, to_c } from "./vm";

// @ts-ignore: decorator
@external("env", "sys_brk") declare function host_brk(addr: cword): cword;
// @ts-ignore: decorator
@external("env", "sys_mmap") declare function host_mmap(addr: cword, len: cword, prot: i32, flags: i32): cword;
// @ts-ignore: decorator
@external("env", "sys_munmap") declare function host_munmap(addr: cword, len: cword): i32;
// @ts-ignore: decorator
@external("env", "sys_mremap") declare function host_mremap(old: cword, oldLen: cword, newLen: cword, flags: i32): cword;
// @ts-ignore: decorator
@external("env", "sys_mprotect") declare function host_mprotect(addr: cword, len: cword, prot: i32): i32;
// @ts-ignore: decorator
@external("env", "sys_madvise") declare function host_madvise(addr: cword, len: cword, advice: i32): i32;
// @ts-ignore: decorator
@external("env", "abort") declare function host_abort(msgPtr: usize, msgLen: usize): void;
// @ts-ignore: decorator
@external("env", "write") declare function host_write(fd: i32, ptr: usize, len: usize): i32;

// The raw syscalls on C words (the errors that return an int stay an i32).
// @ts-ignore: decorator
@inline function sys_brk(addr: word): word { return from_c(host_brk(to_c(addr))); }
// @ts-ignore: decorator
@inline function sys_mmap(addr: word, len: word, prot: i32, flags: i32): word {
  return from_c(host_mmap(to_c(addr), to_c(len), prot, flags));
}
// @ts-ignore: decorator
@inline function sys_munmap(addr: word, len: word): i32 { return host_munmap(to_c(addr), to_c(len)); }
// @ts-ignore: decorator
@inline function sys_mremap(old: word, oldLen: word, newLen: word, flags: i32): word {
  return from_c(host_mremap(to_c(old), to_c(oldLen), to_c(newLen), flags));
}
// @ts-ignore: decorator
@inline function sys_mprotect(addr: word, len: word, prot: i32): i32 { return host_mprotect(to_c(addr), to_c(len), prot); }
// @ts-ignore: decorator
@inline function sys_madvise(addr: word, len: word, advice: i32): i32 { return host_madvise(to_c(addr), to_c(len), advice); }

/** (void *) -1 */
export const MAP_FAILED: word = <word>-1;

// errno and __curbrk live in static data, as libc's do.
const ERRNO_ADDR: usize = memory.data(4, 4);
const CURBRK_ADDR: usize = memory.data(sizeof<word>(), sizeof<word>());

// @ts-ignore: decorator
@inline export function get_errno(): i32 { return load<i32>(ERRNO_ADDR); }
// @ts-ignore: decorator
@inline export function set_errno(value: i32): void { store<i32>(ERRNO_ADDR, value); }

// @ts-ignore: decorator
@inline function is_error(raw: word): bool { return raw > <word>SYSCALL_ERROR_FLOOR; }

/** malloc_printerr: never returns (the host throws ProcessAbort with the message). */
export function malloc_printerr(message: string): void {
  cov_check(message);
  host_abort(changetype<usize>(message), <usize>message.length << 1);
  unreachable();
}

/** Text of the module's own (a Wasm offset) to a file descriptor. */
export function write_fd(fd: i32, ptr: usize, len: usize): void {
  if (len != 0) host_write(fd, ptr, len);
}

// ── brk / sbrk (misc/sbrk.c, sysdeps/unix/sysv/linux/brk.c) ──────────────────

export function get_curbrk(): word { return load<word>(CURBRK_ADDR); }

/** __brk: 0, or -1 with ENOMEM. The raw syscall answers the (possibly unchanged) break. */
export function do_brk(addr: word): i32 {
  const cur = sys_brk(addr);
  store<word>(CURBRK_ADDR, cur);
  if (cur < addr) {
    set_errno(ENOMEM);
    return -1;
  }
  return 0;
}

/** __sbrk: the previous break, or (void *) -1 with errno. */
export function do_sbrk(increment: sword): word {
  if (load<word>(CURBRK_ADDR) == 0) {
    if (do_brk(0) < 0) return MAP_FAILED;
  }
  const oldbrk = load<word>(CURBRK_ADDR);
  if (increment == 0) return oldbrk;
  if (increment > 0
    ? oldbrk + <word>increment < oldbrk
    : oldbrk < <word>(-increment)) {
    set_errno(ENOMEM);
    return MAP_FAILED;
  }
  if (do_brk(oldbrk + <word>increment) < 0) return MAP_FAILED;
  return oldbrk;
}

/** MORECORE (__glibc_morecore): NULL on failure. */
export function morecore(increment: sword): word {
  const r = do_sbrk(increment);
  return r == MAP_FAILED ? 0 : r;
}

// ── mmap family (errno on failure, MAP_FAILED as glibc's wrappers) ───────────

/** MMAP(0, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS | extra) */
export function mmap_anon(size: word, extraFlags: i32): word {
  const r = sys_mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extraFlags);
  if (is_error(r)) {
    set_errno(-<i32>r);
    return MAP_FAILED;
  }
  return r;
}

/** MMAP(addr, size, prot, flags): arena.c's heaps (PROT_NONE reservations, MAP_FIXED remaps). */
export function do_mmap(addr: word, size: word, prot: i32, flags: i32): word {
  const r = sys_mmap(addr, size, prot, flags);
  if (is_error(r)) {
    set_errno(-<i32>r);
    return MAP_FAILED;
  }
  return r;
}

export function do_mprotect(addr: word, len: word, prot: i32): i32 {
  const r = sys_mprotect(addr, len, prot);
  if (r < 0) {
    set_errno(-r);
    return -1;
  }
  return 0;
}

export function do_munmap(addr: word, len: word): i32 {
  const r = sys_munmap(addr, len);
  if (r < 0) {
    set_errno(-r);
    return -1;
  }
  return 0;
}

export function do_mremap(old: word, oldLen: word, newLen: word, flags: i32): word {
  const r = sys_mremap(old, oldLen, newLen, flags);
  if (is_error(r)) {
    set_errno(-<i32>r);
    return MAP_FAILED;
  }
  return r;
}

export function do_madvise(addr: word, len: word, advice: i32): i32 {
  const r = sys_madvise(addr, len, advice);
  if (r < 0) {
    set_errno(-r);
    return -1;
  }
  return 0;
}
