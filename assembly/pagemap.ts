// Before the allocator loads or stores through an address it read from memory the program can
// corrupt (a link, a chunk reached through a size), it asks the kernel's page map — kept in this
// memory below 64 KiB (the picture is in config.ts) — whether the page is readable (writable and
// resident). A real process takes SIGSEGV at such an access into an unmapped, PROT_NONE or
// read-only page; a Wasm memory has no holes and would read zeros there. A load is settled by a
// subtraction and a compare in the brk heap (the kernel's hot span), else by two loads and a bit
// test (out of line); a store by a subtraction and a compare in a run of resident heap pages (the
// store span), else by the two loads and the bit test, inline. A clear bit goes to the
// kernel (page_fault), which throws the process's SIGSEGV, or returns when the access may go on:
// a page written for the first time is faulted in there (it becomes resident, as a store makes it
// on Linux, and its bit is set), a stack grown below, or a region the map had no room for.
//
// The allocator's static data (main_arena, mp_: glibc's .data, always mapped) passes unchecked,
// whether reached directly or through a link (a bin header is a fake chunk in main_arena).
//
// Everything here works on Wasm offsets (an x86-64 VA is translated first: vm.ts), but read_ok,
// write_ok, fill_checked and copy_checked, which take the C address. "A word" is SIZE_SZ bytes.

import {
  PAGEMAP_HOT_LEN, PAGEMAP_HOT_START, PAGEMAP_LEAF_SHIFT, PAGEMAP_STORE_LEN, PAGEMAP_STORE_START, PAGEMAP_REGION_SHIFT, PAGEMAP_TOP, PAGEMAP_WRITE_PLANE, PAGESIZE,
  SIZE_SZ,
} from "./config";
import { main_arena_offset_of } from "./arena";
import { run_length, va_to_offset, va_to_offset_or_0, w0_offset_of } from "./vm";

// @ts-ignore: decorator
@external("env", "page_fault") declare function host_page_fault(addr: usize, write: u32): void;

/** The bit of the page holding addr in a leaf's plane (0 readable, PAGEMAP_WRITE_PLANE writable). */
// @ts-ignore: decorator
@inline function page_bit(addr: usize, plane: usize): u32 {
  const leaf = <usize>load<u8>(<usize>PAGEMAP_TOP + (addr >>> PAGEMAP_REGION_SHIFT)) << PAGEMAP_LEAF_SHIFT;
  return (<u32>load<u8>(leaf + plane + ((addr >>> 15) & 127)) >>> <u32>((addr >>> 12) & 7)) & 1;
}

/**
 * The slow path: every page of [addr, addr + len) in address order (len ≥ 1; addresses wrap as
 * i386's do), each page whose bit is clear asked of the kernel. The fault names the first byte of
 * the page that faults (addr itself for the first page), as CR2 does for an access that spans two.
 */
export function access_slow(addr: usize, len: usize, write: bool): void {
  const plane: usize = write ? <usize>PAGEMAP_WRITE_PLANE : 0;
  let a = addr;
  let left = len;
  while (true) {
    if (page_bit(a, plane) == 0) host_page_fault(a, <u32>write);
    const toPageEnd = <usize>PAGESIZE - (a & (PAGESIZE - 1));
    if (left <= toPageEnd) return;
    left -= toPageEnd;
    a += toPageEnd;
  }
}

/** Whether a word access at addr lies inside the hot span (readable and writable). */
// @ts-ignore: decorator
@inline function in_hot_span(addr: usize): bool {
  return addr - <usize>load<u32>(PAGEMAP_HOT_START) < <usize>load<u32>(PAGEMAP_HOT_LEN);
}

/** Whether a word store at addr lies inside the store span (resident and writable). */
// @ts-ignore: decorator
@inline function in_store_span(addr: usize): bool {
  return addr - <usize>load<u32>(PAGEMAP_STORE_START) < <usize>load<u32>(PAGEMAP_STORE_LEN);
}

/**
 * Whether a word access at addr lies in the module's static data (main_arena first, up to
 * __heap_base): libc's .data, always mapped — the bin headers are fake chunks there. The end is
 * cut down to a 16-byte boundary (the bytes past it are asked of the map), so that, like the
 * spans (whole pages), it holds every aligned 16-byte block it holds an address of.
 */
// @ts-ignore: decorator
@inline function in_static_data(addr: usize): bool {
  const start = main_arena_offset_of();
  return addr - start < ((<usize>__heap_base - (SIZE_SZ - 1)) & ~(<usize>15)) - start;
}

// A check that passes proves more than its 4 bytes: the spans are whole pages, the page map's
// bits are per page and the static data ends on a 16-byte boundary, so the whole aligned 16-byte
// block holding the address (never across a page) may be loaded, and after a store check stored
// to, with no further check — until the next call into the host, which may change the map.
// read_ok and write_ok are the spans' tests alone (no side effect): a caller that finds every
// address of a group of accesses there runs the group unchecked, and else the checked code.

/**
 * x86_64: whether `a`, a VA's W0 offset as w0_offset_of gives it (any 64-bit value when the VA
 * is not in W0), lies in the hot span. The span is part of W0, so a VA passes only if it is in W0
 * and in the span: the translation and the check in one subtraction and compare.
 */
// @ts-ignore: decorator
@inline export function hot_span_has(a: word): bool {
  return a - <word>load<u32>(PAGEMAP_HOT_START) < <word>load<u32>(PAGEMAP_HOT_LEN);
}

/**
 * x86_64: the same for the module's static data (main_arena's bins are fake chunks there, reached
 * through links as often as heap chunks are), which W0 holds too; always mapped read-write.
 */
// @ts-ignore: decorator
@inline export function static_data_has(a: word): bool {
  const start = <word>main_arena_offset_of();
  return a - start < <word>(((<usize>__heap_base - (SIZE_SZ - 1)) & ~(<usize>15))) - start;
}

/** x86_64: the same for the store span (resident, writable pages of the brk heap). */
// @ts-ignore: decorator
@inline export function store_span_has(a: word): bool {
  return a - <word>load<u32>(PAGEMAP_STORE_START) < <word>load<u32>(PAGEMAP_STORE_LEN);
}

/** A word load at the VA addr (and its 16-byte block) is settled by the hot span alone. */
// @ts-ignore: decorator
@inline export function read_ok(addr: word): bool {
  if (sizeof<word>() == 8) return hot_span_has(w0_offset_of(addr));
  return in_hot_span(va_to_offset_or_0(addr));
}

/** A word store at the VA addr (and loads and stores in its 16-byte block) is settled by the store span alone. */
// @ts-ignore: decorator
@inline export function write_ok(addr: word): bool {
  if (sizeof<word>() == 8) return store_span_has(w0_offset_of(addr));
  return in_store_span(va_to_offset_or_0(addr));
}

/** The map's bit of addr's page is set and a word access at addr stays in that page (word-aligned). */
// @ts-ignore: decorator
@inline function map_ok(addr: usize, plane: usize): bool {
  return (page_bit(addr, plane) != 0) & ((addr & (SIZE_SZ - 1)) == 0);
}

/** The page map's read bit for a word load at the offset addr (aligned, in one page): x86_64's inline second test. */
// @ts-ignore: decorator
@inline export function map_readable(addr: usize): bool {
  return map_ok(addr, 0);
}

/** The same for a word store (the page writable and resident). */
// @ts-ignore: decorator
@inline export function map_writable(addr: usize): bool {
  return map_ok(addr, PAGEMAP_WRITE_PLANE);
}

// The checks test the span first and branch away at once when it holds, the usual case: the
// static data is tested only after the map's bit (its pages are mapped, so the bit is set but
// for a page the map asks of the kernel), which keeps the optimizer from folding the two range
// tests into one branch-free expression that every access would pay for.

/** A word load at the offset addr. */
// @ts-ignore: decorator
@inline export function check_read(addr: usize): void {
  if (!in_hot_span(addr)) {
    if (!map_ok(addr, 0)) {
      if (!in_static_data(addr)) access_slow(addr, 4, false);
    }
  }
}

/** A word store at the offset addr: the page must be writable and resident (the static data always is). */
// @ts-ignore: decorator
@inline export function check_write(addr: usize): void {
  if (!in_store_span(addr)) {
    if (!map_ok(addr, PAGEMAP_WRITE_PLANE)) {
      if (!in_static_data(addr)) access_slow(addr, 4, true);
    }
  }
}

/**
 * A program's one-byte store at addr (the benchmark replay's touch of a block): faulted in
 * first when its page is not yet resident, as the store would fault on Linux, so the kernel need
 * not search for it (writes: "declared").
 */
// @ts-ignore: decorator
@inline export function check_store_byte(addr: usize): void {
  if (page_bit(addr, PAGEMAP_WRITE_PLANE) == 0) access_slow(addr, 1, true);
}

/** memset(addr, byte, len) into the program's memory: page by page in address order, each checked first. */
export function fill_checked(addr: word, byte: u8, len: word): void {
  if (len == 0) return;
  for (;;) {
    const n = run_length(addr, len);
    const a = va_to_offset(addr, true);
    access_slow(a, <usize>n, true);
    memory.fill(a, byte, <usize>n);
    if (n == len) return;
    addr += n;
    len -= n;
  }
}

/** Every page of [addr, addr + len) (len ≥ 1) checked, in address order, across runs. */
function check_runs(addr: word, len: word, write: bool): void {
  for (;;) {
    const n = run_length(addr, len);
    access_slow(va_to_offset(addr, write), <usize>n, write);
    if (n == len) return;
    addr += n;
    len -= n;
  }
}

/**
 * memcpy(dst, src, n) between blocks that may have come from a corrupted list: the source's pages
 * checked first, then the destination's, as the copy's first loads and stores would fault.
 */
export function copy_checked(dst: word, src: word, n: word): void {
  if (n == 0) return;
  // one run each but for a far page on either side (x86_64), which goes page by page
  check_runs(src, n, false);
  check_runs(dst, n, true);
  for (;;) {
    const a = run_length(src, n);
    const b = run_length(dst, n);
    const k = a < b ? a : b;
    memory.copy(va_to_offset(dst, true), va_to_offset(src), <usize>k);
    if (k == n) return;
    src += k;
    dst += k;
    n -= k;
  }
}
