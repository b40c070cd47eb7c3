// What a fresh 32-bit process has mapped besides its program and stack before main() runs: the
// dynamic loader, the vDSO pages, and glibc itself. Without them a fresh process would be 2.4 MiB
// smaller than a real one (so RLIMIT_AS would bite later), the first mmap would land at mmap_base
// instead of below libc, and VmLib, VmRSS and the map count would all read low.
//
// The figures are those of a minimal `gcc -m32` program on Debian 12 (glibc 2.36, i386) under
// Linux 6.18, read from its /proc/self/maps and smaps. Placement follows how they got there,
// top-down from mmap_base:
//
//   mmap_base ┬ ld-linux.so.2     mapped by the kernel (load_elf_interp), the first mapping
//             ├ [vdso] [vvar_vclock] [vvar]   map_vdso, just below
//             ├ 2 anonymous pages             ld.so's own early allocations
//             ├ (10-page hole)                /etc/ld.so.cache, mapped then unmapped by ld.so
//             ├ 10 anonymous pages            libc's .bss (less what the allocator's state takes)
//             └ libc.so.6
//
// Residency is the real one too: the pages the loader and libc's start-up touched (file pages
// read in, relocated pages written and so anonymous).

import { PAGE_SIZE } from "../constants.js";
import type { Mm } from "./mm.js";
import {
  BACKING_ANON, BACKING_FILE, BACKING_SPECIAL, VM_ACCOUNT, VM_EXEC, VM_READ, VM_WRITE, pagesOf,
} from "./vma.js";

/** An image's path and device as /proc/self/maps shows them, by inode (the VMA's objectId). */
interface ImageFile {
  inode: number;
  dev: string;
  path: string;
}

export const LIBC: ImageFile = { inode: 1441964, dev: "fe:00", path: "/usr/lib32/libc.so.6" };
export const LD_SO: ImageFile = { inode: 1441961, dev: "fe:00", path: "/usr/lib32/ld-linux.so.2" };

/** The special mappings of the vDSO, by objectId (their maps lines show no file). */
export const SPECIAL_NAMES: readonly string[] = ["", "[vvar]", "[vvar_vclock]", "[vdso]"];

const R = VM_READ;
const RX = VM_READ | VM_EXEC;
const RW = VM_READ | VM_WRITE | VM_ACCOUNT;
/** RELRO: written by the loader, then made read-only; the commit charge stays. */
const RELRO = VM_READ | VM_ACCOUNT;

interface Segment {
  pages: number;
  flags: number;
  /** File offset in pages (file segments). */
  offsetPages: number;
  /** Pages resident at start (the first ones of the segment). */
  resident: number;
  /** Whether those pages were written (private copies: RssAnon) or only read (RssFile). */
  written: boolean;
}

const seg = (pages: number, flags: number, offsetPages: number, resident: number, written = false): Segment => ({
  pages, flags, offsetPages, resident, written,
});

/** ld-linux.so.2's segments, lowest address first. */
const LD_SO_SEGMENTS = [
  seg(1, R, 0x0, 1),
  seg(0x23, RX, 0x1, 0x23),
  seg(0xe, R, 0x24, 0xe),
  seg(2, RELRO, 0x31, 2, true),
  seg(1, RW, 0x33, 1, true),
];

/** libc.so.6's segments, lowest address first. */
const LIBC_SEGMENTS = [
  seg(0x22, R, 0x0, 0x22),
  seg(0x179, RX, 0x22, 213),
  seg(0x80, R, 0x19b, 32),
  seg(2, RELRO, 0x21b, 2, true),
  seg(1, RW, 0x21d, 1, true),
];

/** The vDSO's special mappings, lowest address first: [vvar] 4 pages, [vvar_vclock] 2, [vdso] 2. */
const VDSO = [
  { objectId: 1, pages: 4, flags: R, resident: 0 },
  { objectId: 2, pages: 2, flags: R, resident: 0 },
  { objectId: 3, pages: 2, flags: RX, resident: 1 },
];

const LD_SO_EARLY_ANON_PAGES = 2;
const LD_SO_CACHE_PAGES = 10;
const LIBC_BSS_PAGES = 10;
const LIBC_BSS_RESIDENT = 4;

/**
 * The minimal program's own data: end_data − start_data (its .data, 0x13c bytes) and the one
 * writable page its data segment takes. brk's RLIMIT_DATA check counts the first; VmData the page.
 */
export const PROGRAM_DATA_BYTES = 0x13c;
const PROGRAM_DATA_PAGES = 1;
/**
 * The resident pages of the emulated program's data segment that the real process has as its
 * own data page and libc's written .data (where main_arena and mp_ live): the module's initial
 * data written at load fills 4 (the allocator's statics, its messages, the stats buffer).
 */
const PROGRAM_DATA_RESIDENT = 4;

/** A minimal C program's read-only pages: ELF header, text, rodata, RELRO. */
const PROGRAM_READ_ONLY_PAGES = 4;

/**
 * A minimal C program's image is 5 pages: 4 read-only (ELF header, text, rodata, RELRO) and its
 * data page. This one has a text page and writable data pages (what they take beyond one page
 * comes off libc's .bss: mapImages); the 3 read-only pages it lacks, the kernel maps after its
 * data (mm.ts), so that VmSize adds up to the real one however big the allocator's data grows.
 */
export function programReadOnlyPages(): number {
  return PROGRAM_READ_ONLY_PAGES - 1;
}

/**
 * Maps the loader, the vDSO and libc below mmap_base, as exec and ld.so leave a fresh process.
 * `programDataPages`: the writable pages of the emulated program's data segment, which holds the
 * allocator's state — main_arena, mp_, errno: libc's .data and .bss in a real process. What they
 * take beyond a minimal program's one page comes off libc's .bss here, so that VmData and the
 * commit charge add up to the real process's.
 */
export function mapImages(mm: Mm, programDataPages: number, programDataResident = PROGRAM_DATA_RESIDENT): void {
  const libcBssPages = Math.max(0, LIBC_BSS_PAGES - Math.max(0, programDataPages - PROGRAM_DATA_PAGES));
  // likewise the resident ones: what the data segment has resident beyond its share comes off
  // libc's resident .bss pages, so that RssAnon is the real program's
  const libcBssResident = Math.max(0, Math.min(libcBssPages, LIBC_BSS_RESIDENT - Math.max(0, programDataResident - PROGRAM_DATA_RESIDENT)));
  let top = mm.layout.mmapBase;
  const map = (pages: number, flags: number, backing: number, objectId: number, pgoff: number): number => {
    const start = top - pages * PAGE_SIZE;
    if (flags & VM_ACCOUNT) mm.commit.charge(pages, mm.vmas.totalPages);
    mm.insertVma({ start, end: top, flags, pgoff, backing, anonVma: 0, objectId });
    top = start;
    return start;
  };
  const touch = (start: number, pages: number, written: boolean): void => {
    if (pages === 0) return;
    const index = mm.vmas.indexOf(start);
    if (written) mm.writeFault(index, start, start + pages * PAGE_SIZE);
    else mm.readFault(index, start, start + pages * PAGE_SIZE);
  };
  const mapImage = (file: ImageFile, segments: Segment[]): void => {
    for (let i = segments.length - 1; i >= 0; i--) {
      const s = segments[i]!;
      touch(map(s.pages, s.flags, BACKING_FILE, file.inode, s.offsetPages), s.resident, s.written);
    }
  };
  const mapAnon = (pages: number, resident: number): void => {
    const start = top - pages * PAGE_SIZE;
    touch(map(pages, RW, BACKING_ANON, 0, pagesOf(start)), resident, true);
  };

  if (!mm.ensureMemory(top)) throw new RangeError("the Wasm memory cannot cover the shared libraries");
  mapImage(LD_SO, LD_SO_SEGMENTS);
  for (let i = VDSO.length - 1; i >= 0; i--) {
    const v = VDSO[i]!;
    touch(map(v.pages, v.flags, BACKING_SPECIAL, v.objectId, 0), v.resident, false);
  }
  mapAnon(LD_SO_EARLY_ANON_PAGES, LD_SO_EARLY_ANON_PAGES);
  top -= LD_SO_CACHE_PAGES * PAGE_SIZE;
  mapAnon(libcBssPages, libcBssResident);
  mapImage(LIBC, LIBC_SEGMENTS);
}

/** The file behind a file-backed VMA's objectId, for procfs; undefined for the program's own. */
export function imageFile(inode: number): ImageFile | undefined {
  return inode === LIBC.inode ? LIBC : inode === LD_SO.inode ? LD_SO : undefined;
}
