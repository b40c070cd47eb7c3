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
import type { Arch } from "./aslr.js";
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
export const LIBC_64: ImageFile = { inode: 339380, dev: "fe:00", path: "/usr/lib/x86_64-linux-gnu/libc.so.6" };
export const LD_SO_64: ImageFile = { inode: 338944, dev: "fe:00", path: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" };

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

/** What exec and ld.so leave mapped around a minimal program, for one architecture. */
interface ImageSet {
  libc: ImageFile;
  ldSo: ImageFile;
  /** Segments, lowest address first. */
  ldSoSegments: Segment[];
  libcSegments: Segment[];
  /** ld.so's own early allocations, just below the vDSO. */
  ldSoEarlyAnon: { pages: number; resident: number };
  /** The hole /etc/ld.so.cache leaves (mapped, then unmapped by ld.so). */
  ldSoCachePages: number;
  /** libc's .bss, just above libc (less what the allocator's own state takes). */
  libcBss: { pages: number; resident: number };
  /** Anonymous pages just below libc (the main thread's TLS and struct pthread): x86-64 only. */
  belowLibc: { pages: number; resident: number };
  /** end_data − start_data of the minimal program (brk's RLIMIT_DATA check counts it). */
  programDataBytes: number;
  /** Pages of the allocator's data segment that stand for the minimal program's resident data. */
  programDataResident: number;
}

const I386: ImageSet = {
  libc: LIBC,
  ldSo: LD_SO,
  ldSoSegments: [seg(1, R, 0x0, 1), seg(0x23, RX, 0x1, 0x23), seg(0xe, R, 0x24, 0xe), seg(2, RELRO, 0x31, 2, true), seg(1, RW, 0x33, 1, true)],
  libcSegments: [seg(0x22, R, 0x0, 0x22), seg(0x179, RX, 0x22, 213), seg(0x80, R, 0x19b, 32), seg(2, RELRO, 0x21b, 2, true), seg(1, RW, 0x21d, 1, true)],
  ldSoEarlyAnon: { pages: 2, resident: 2 },
  ldSoCachePages: 10,
  libcBss: { pages: 10, resident: 4 },
  belowLibc: { pages: 0, resident: 0 },
  // the minimal program's .data is 0x13c bytes
  programDataBytes: 0x13c,
  // the module's initial data written at load fills 4 (the allocator's statics, its messages,
  // the stats buffer): the real program's data page and libc's written .data
  programDataResident: 4,
};

/**
 * A minimal `gcc` (x86-64, PIE) program on Debian 12 under Linux 6.18, read off its
 * /proc/self/maps, smaps and status with ASLR off: VmSize 2344 kB, VmData 92, VmLib 1528,
 * RssAnon 88, RssFile 960, VmPTE 32. Unlike i386 it has 3 anonymous pages just below libc.
 */
const X86_64: ImageSet = {
  libc: LIBC_64,
  ldSo: LD_SO_64,
  ldSoSegments: [seg(1, R, 0x0, 1), seg(0x26, RX, 0x1, 37), seg(0xa, R, 0x27, 10), seg(2, RELRO, 0x31, 2, true), seg(2, RW, 0x33, 2, true)],
  libcSegments: [seg(0x26, R, 0x0, 37), seg(0x156, RX, 0x26, 151), seg(0x53, R, 0x17c, 0), seg(4, RELRO, 0x1cf, 4, true), seg(2, RW, 0x1d3, 2, true)],
  ldSoEarlyAnon: { pages: 2, resident: 1 },
  ldSoCachePages: 11,
  libcBss: { pages: 13, resident: 5 },
  belowLibc: { pages: 3, resident: 2 },
  programDataBytes: 0x258,
  programDataResident: 1,
};

export const imageSet = (arch: Arch): ImageSet => (arch === "x86_64" ? X86_64 : I386);

/** The vDSO's special mappings, lowest address first: [vvar] 4 pages, [vvar_vclock] 2, [vdso] 2. */
const VDSO = [
  { objectId: 1, pages: 4, flags: R, resident: 0 },
  { objectId: 2, pages: 2, flags: R, resident: 0 },
  { objectId: 3, pages: 2, flags: RX, resident: 1 },
];

/** The minimal program's data segment: one page (its .data and .bss). */
const PROGRAM_DATA_PAGES = 1;

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

/** The stack pages a minimal 64-bit program's start-up has written by main() (i386: the one exec wrote). */
export const STACK_RESIDENT_PAGES_X86_64 = 2;

/**
 * Maps the loader, the vDSO and libc below mmap_base, as exec and ld.so leave a fresh process.
 * `programDataPages`: the writable pages of the emulated program's data segment, which holds the
 * allocator's state — main_arena, mp_, errno: libc's .data and .bss in a real process. What they
 * take beyond a minimal program's one page comes off libc's .bss here, so that VmData and the
 * commit charge add up to the real process's.
 */
export function mapImages(mm: Mm, programDataPages: number, programDataResident?: number): void {
  const set = imageSet(mm.arch);
  const dataResident = programDataResident ?? set.programDataResident;
  const libcBssPages = Math.max(0, set.libcBss.pages - Math.max(0, programDataPages - PROGRAM_DATA_PAGES));
  // likewise the resident ones: what the data segment has resident beyond its share comes off
  // libc's resident .bss pages, so that RssAnon is the real program's
  const libcBssResident = Math.max(0, Math.min(libcBssPages, set.libcBss.resident - Math.max(0, dataResident - set.programDataResident)));
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
  mapImage(set.ldSo, set.ldSoSegments);
  for (let i = VDSO.length - 1; i >= 0; i--) {
    const v = VDSO[i]!;
    touch(map(v.pages, v.flags, BACKING_SPECIAL, v.objectId, 0), v.resident, false);
  }
  mapAnon(set.ldSoEarlyAnon.pages, set.ldSoEarlyAnon.resident);
  top -= set.ldSoCachePages * PAGE_SIZE;
  if (libcBssPages > 0) mapAnon(libcBssPages, libcBssResident);
  mapImage(set.libc, set.libcSegments);
  if (set.belowLibc.pages > 0) mapAnon(set.belowLibc.pages, set.belowLibc.resident);
  // ld.so unmapped its cache while libc was mapped: the real VmPeak counts it (x86-64's figure;
  // i386's VmPeak was never checked against the real one and stays as it was)
  if (mm.arch === "x86_64") mm.vmas.hiwaterPages = mm.vmas.totalPages + set.ldSoCachePages;
}

/** The file behind a file-backed VMA's objectId, for procfs; undefined for the program's own. */
export function imageFile(inode: number): ImageFile | undefined {
  switch (inode) {
    case LIBC.inode:
      return LIBC;
    case LD_SO.inode:
      return LD_SO;
    case LIBC_64.inode:
      return LIBC_64;
    case LD_SO_64.inode:
      return LD_SO_64;
  }
  return undefined;
}
