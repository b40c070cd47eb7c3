// A small text buffer for malloc_stats and malloc_info: ASCII into static memory, flushed
// through the `write` import. No allocation: strings are read from their static data.

import { write_fd } from "./syscalls";

const BUF_SIZE: usize = 4096;
const BUF: usize = memory.data(<i32>BUF_SIZE, 16);
let bufLen: usize = 0;
let bufFd: i32 = 2;

export function out_begin(fd: i32): void {
  bufFd = fd;
  bufLen = 0;
}

export function out_flush(): void {
  write_fd(bufFd, BUF, bufLen);
  bufLen = 0;
}

// @ts-ignore: decorator
@inline function put(c: u32): void {
  if (bufLen == BUF_SIZE) out_flush();
  store<u8>(BUF + bufLen++, <u8>c);
}

/** Append a string literal (ASCII). */
export function out_str(s: string): void {
  const p = changetype<usize>(s);
  const n = <usize>s.length;
  for (let i: usize = 0; i < n; ++i) put(<u32>load<u16>(p + (i << 1)));
}

/** Append an unsigned number, right-aligned in `width` columns (printf "%<width>u"). */
export function out_u32(v: u32, width: i32 = 0): void {
  out_unsigned<u32>(v, width);
}

/** The same for a C word (size_t: "%zu", "%lu"). */
export function out_word(v: word, width: i32 = 0): void {
  out_unsigned<word>(v, width);
}

function out_unsigned<T>(v: T, width: i32): void {
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  for (let i = digits; i < width; ++i) put(32);
  let div: T = 1;
  for (let i = 1; i < digits; ++i) div *= 10;
  let x = v;
  while (div > 0) {
    put(48 + <u32>(x / div));
    x %= div;
    div /= 10;
  }
}

/** printf "%d" */
export function out_i32(v: i32): void {
  if (v < 0) {
    put(45);
    out_u32(<u32>(0 - v));
  } else {
    out_u32(<u32>v);
  }
}
