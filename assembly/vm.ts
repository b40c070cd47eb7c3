// C addresses and Wasm offsets. Every address the allocator holds, stores or compares is a C
// value of type `word` (a virtual address of the process); a load or store reaches the Wasm
// memory at a `usize` offset. The build chooses `word` (scripts/build-wasm.mjs):
//
//   i386    word = u32: a VA is its offset (one window {va 0, offset 0, length TASK_SIZE}).
//           Every function here is the identity and folds away at compile time.
//   x86_64  word = u64: the 47-bit address space lives in three windows of the 4 GiB memory,
//           each a VA range [va, va + length) at offsets [offset, offset + length):
//
//     VA  0x5555…  W0 program + brk heap ──> offset 0x10000 .. 2 GiB
//         0x7f…    W1 mmap zone + libraries ──> 2 GiB .. 4 GiB − W2
//         0x7ffc…  W2 stack ──> the top of the memory
//
//           A VA is translated on every access: W0 (where the static data and most chunks are)
//           with one subtraction and one compare, inline; W1 and W2 out of line; a VA in none
//           of them is a far page, whose frame the kernel names (far_offset: it faults the page
//           in, or throws the process's SIGSEGV where nothing is mapped). The page-map checks
//           (pagemap.ts) then run on the offset, as in the i386 build. A window's VAs are
//           contiguous in the memory; a far page's 4 KiB are, and no more (run_length).
//
// The allocator's static data (main_arena, the main thread's TLS block) has VAs too: W0's VA plus
// its offset from W0's start, as libc's .data sits in the program's image.
//
// The windows come from the kernel, after instantiation: the first call that needs them asks the
// host (need_windows), which answers with set_window for each; the host may also call set_window
// at once.

import { PAGESIZE } from "./config";

// @ts-ignore: decorator
@external("env", "va_fault") declare function host_va_fault(va: f64, write: u32): void;
// @ts-ignore: decorator
@external("env", "need_windows") declare function host_need_windows(): void;
// @ts-ignore: decorator
@external("env", "far_offset") declare function host_far_offset(va: f64, write: u32): usize;

// W0 inline; W1, W2 out of line (x86_64 only: never read in the i386 build).
let w0_va: word = 0;
let w0_len: word = 0;
let w0_off: usize = 0;
let w1_va: word = 0;
let w1_len: word = 0;
let w1_off: usize = 0;
let w2_va: word = 0;
let w2_len: word = 0;
let w2_off: usize = 0;
let windows_set: bool = false;
/** W0's VA less its offset: a VA in W0 minus this is its offset. */
let w0_delta: word = 0;

/** A window of the process (the host calls this for each, i = 0, 1, 2). */
export function set_window_at(i: i32, va: word, length: word, offset: usize): void {
  if (sizeof<word>() == 8) {
    if (i == 0) { w0_va = va; w0_len = length; w0_off = offset; w0_delta = va - <word>offset; windows_set = true; }
    else if (i == 1) { w1_va = va; w1_len = length; w1_off = offset; }
    else if (i == 2) { w2_va = va; w2_len = length; w2_off = offset; }
  }
}

/** Before the first use of a VA in a call from the host: the windows are known (x86_64). */
// @ts-ignore: decorator
@inline export function need_windows(): void {
  if (sizeof<word>() == 8) {
    if (!windows_set) host_need_windows();
  }
}

/** W1, W2, or a far page's frame: the kernel's, which faults (write: the access was a store). */
function va_to_offset_slow(va: word, write: bool): usize {
  let d = va - w1_va;
  if (d < w1_len) return <usize>d + w1_off;
  d = va - w2_va;
  if (d < w2_len) return <usize>d + w2_off;
  return host_far_offset(<f64>va, <u32>write);
}

/**
 * x86_64: the offset `va` has if it lies in W0, as a 64-bit value — anything at all when it does
 * not. A caller that finds the result inside a range of offsets that W0 holds (the page map's hot
 * or store span: the brk heap) has proved both at once, with one subtraction more than i386 pays.
 */
// @ts-ignore: decorator
@inline export function w0_offset_of(va: word): word {
  return va - w0_delta;
}

/** x86_64: whether w0_offset_of's result is an offset W0 holds (the VA was in W0). */
// @ts-ignore: decorator
@inline export function w0_holds(w: word): bool {
  return w - <word>w0_off < w0_len;
}

/**
 * The offset of a VA that a span test (pagemap.ts: read_ok, write_ok) has just placed in the
 * brk heap, so in W0: no window test needed. Only meaningful for such a VA (else any value).
 */
// @ts-ignore: decorator
@inline export function proven_offset(va: word): usize {
  if (sizeof<word>() == 8) return <usize>w0_offset_of(va);
  return <usize>va;
}

/** The offset of a VA that an access at it reaches; a VA outside every window faults. */
// @ts-ignore: decorator
@inline export function va_to_offset(va: word, write: bool = false): usize {
  if (sizeof<word>() == 8) {
    const d = va - w0_va;
    if (d < w0_len) return <usize>d + w0_off;
    return va_to_offset_slow(va, write);
  } else {
    return <usize>va;
  }
}

function va_to_offset_or_0_slow(va: word): usize {
  let d = va - w1_va;
  if (d < w1_len) return <usize>d + w1_off;
  d = va - w2_va;
  if (d < w2_len) return <usize>d + w2_off;
  return 0;
}

/** The offset of a VA, or 0 (the page map's first page: in no span) when no window holds it. Never faults. */
// @ts-ignore: decorator
@inline export function va_to_offset_or_0(va: word): usize {
  if (sizeof<word>() == 8) {
    const d = va - w0_va;
    if (d < w0_len) return <usize>d + w0_off;
    return va_to_offset_or_0_slow(va);
  } else {
    return <usize>va;
  }
}

/**
 * How many of the bytes [va, va + len) (len ≥ 1) lie at consecutive offsets from va's: all of
 * them in a window that holds the range, else up to the end of va's window, or of its page when
 * va is in none (a far page's frame). Never faults.
 */
export function run_length(va: word, len: word): word {
  if (sizeof<word>() == 8) {
    let end: word;
    if (va - w0_va < w0_len) end = w0_va + w0_len;
    else if (va - w1_va < w1_len) end = w1_va + w1_len;
    else if (va - w2_va < w2_len) end = w2_va + w2_len;
    else end = (va | <word>(PAGESIZE - 1)) + 1;
    const left = end - va;
    return len < left ? len : left;
  } else {
    return len;
  }
}

/**
 * The offset of [va, va + len) (len ≥ 1), which must be contiguous in the memory (one window, or
 * one far page: run_length): else the first VA past the run faults.
 */
export function va_range_to_offset(va: word, len: word, write: bool): usize {
  if (sizeof<word>() == 8) {
    const off = va_to_offset(va, write);
    const run = run_length(va, len);
    if (run < len) {
      host_va_fault(<f64>(va + run), <u32>write);
      unreachable();
    }
    return off;
  } else {
    return <usize>va;
  }
}

/** Zeroes [va, va + len) of memory the allocator owns (a tcache, a TLS block): unchecked, run by run. */
export function zero_owned(va: word, len: word): void {
  for (;;) {
    const n = run_length(va, len);
    memory.fill(va_to_offset(va, true), 0, <usize>n);
    if (n == len) return;
    va += n;
    len -= n;
  }
}

/** The VA of an offset of the module's static data (in W0). */
// @ts-ignore: decorator
@inline export function static_va(offset: usize): word {
  if (sizeof<word>() == 8) return w0_va + <word>(offset - w0_off);
  else return <word>offset;
}

// Unchecked word loads and stores through a VA: memory the allocator owns and reaches by its own
// pointers (an arena's struct, a bin header, the tcache struct, a TLS block), never a link the
// program could have corrupted. Translated all the same in x86_64.
// @ts-ignore: decorator
@inline export function load_word(va: word, offset: word = 0): word {
  return load<word>(va_to_offset(va + offset));
}
// @ts-ignore: decorator
@inline export function store_word(va: word, v: word, offset: word = 0): void {
  store<word>(va_to_offset(va + offset, true), v);
}
// @ts-ignore: decorator
@inline export function load_u32(va: word, offset: word = 0): u32 {
  return load<u32>(va_to_offset(va + offset));
}
// @ts-ignore: decorator
@inline export function store_u32(va: word, v: u32, offset: word = 0): void {
  store<u32>(va_to_offset(va + offset, true), v);
}
// @ts-ignore: decorator
@inline export function load_u16(va: word, offset: word = 0): u32 {
  return <u32>load<u16>(va_to_offset(va + offset));
}
// @ts-ignore: decorator
@inline export function store_u16(va: word, v: u32, offset: word = 0): void {
  store<u16>(va_to_offset(va + offset, true), <u16>v);
}

// C values across the boundary: cword is u32 in the i386 build (the i32 ABI), f64 in x86_64,
// where a negative number is its two's complement (malloc(-1) = malloc(SIZE_MAX)) and a
// number ≥ 2^64 saturates.
// @ts-ignore: decorator
@inline export function from_c(x: cword): word {
  if (sizeof<word>() == 8) {
    const f = <f64>x;
    if (f < 0) return <word><i64>f;
    if (f >= 18446744073709551616.0) return <word>-1;
    return <word>f;
  } else {
    return <word>x;
  }
}
// @ts-ignore: decorator
@inline export function to_c(x: word): cword {
  return <cword>x;
}
/** A signed C value (sbrk's increment) across the boundary. */
// @ts-ignore: decorator
@inline export function from_cs(x: csword): sword {
  if (sizeof<word>() == 8) {
    const f = <f64>x;
    if (f >= 9223372036854775808.0) return <sword>(<word>from_c(x));
    if (f < -9223372036854775808.0) return <sword>(<i64>0x8000000000000000);
    return <sword>f;
  } else {
    return <sword>x;
  }
}
