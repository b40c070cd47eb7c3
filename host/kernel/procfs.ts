// /proc/self/maps and the memory lines of /proc/self/status, as fs/proc/task_mmu.c prints them.

import { PAGE_SIZE } from "../constants.js";
import { pageAlign, pageDown } from "./aslr.js";
import { PROGRAM_DEV, PROGRAM_PATH, type Mm } from "./mm.js";
import { PAGE_ANON, PAGE_FILE, PAGE_SHMEM } from "./pages.js";
import { imageFile, SPECIAL_NAMES } from "./images.js";
import { BACKING_FILE, BACKING_SHMEM, BACKING_SPECIAL, VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE, type Vma } from "./vma.js";

/** The memory fields of /proc/self/status, in kB. */
/** The memory lines of /proc/self/status, each in kB (fs/proc/task_mmu.c task_mem). */
export interface Status {
  /** Peak of VmSize. */
  VmPeak: number;
  /** Everything mapped (total_vm): the whole address space in use, resident or not. */
  VmSize: number;
  /** Locked memory (mlock, mlockall): what RLIMIT_MEMLOCK is checked against. */
  VmLck: number;
  /** Pinned memory: always 0 here. */
  VmPin: number;
  /** Peak of VmRSS. */
  VmHWM: number;
  /** Resident pages: RssAnon + RssFile + RssShmem. */
  VmRSS: number;
  /** Resident anonymous pages (written heap, stack, private copies). */
  RssAnon: number;
  /** Resident file pages (the program's and libraries' pages read in). */
  RssFile: number;
  /** Resident shared anonymous pages (MAP_SHARED | MAP_ANONYMOUS). */
  RssShmem: number;
  /** Private writable mappings other than the stack (data_vm): the heap, mmapped blocks; RLIMIT_DATA counts it. */
  VmData: number;
  /** The stack (stack_vm). */
  VmStk: number;
  /** The program's text (end_code − start_code). */
  VmExe: number;
  /** Executable mappings other than the program's text (exec_vm − VmExe): the libraries. */
  VmLib: number;
  /** Page-table pages. */
  VmPTE: number;
  /** Anonymous pages swapped out (with swapBytes, resident pages beyond RAM). */
  VmSwap: number;
}

/** %08lx: 8 digits at least, so 12 for the 47-bit addresses of an x86_64 process. */
const hex8 = (n: number) => n.toString(16).padStart(8, "0");
/** seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) of a 64-bit kernel: names start at column 73. */
const NAME_COLUMN = 72;

/** The name show_map_vma gives a VMA (program path, shmem object, [heap], [stack]), or "". */
export function vmaName(mm: Mm, v: Vma): string {
  if (v.backing === BACKING_FILE) return imageFile(v.objectId)?.path ?? PROGRAM_PATH;
  if (v.backing === BACKING_SPECIAL) return SPECIAL_NAMES[v.objectId] ?? "";
  if (v.backing === BACKING_SHMEM) return "/dev/zero (deleted)";
  if (v.start <= mm.brk && v.end >= mm.startBrk) return "[heap]";
  const sp = mm.layout.startStack;
  if (v.start <= sp && v.end >= sp) return "[stack]";
  return "";
}

export function mapsLine(mm: Mm, v: Vma): string {
  const perms =
    (v.flags & VM_READ ? "r" : "-") +
    (v.flags & VM_WRITE ? "w" : "-") +
    (v.flags & VM_EXEC ? "x" : "-") +
    (v.flags & VM_MAYSHARE ? "s" : "p");
  let dev = "00:00";
  let inode = 0;
  let offset = 0;
  if (v.backing === BACKING_FILE) {
    dev = imageFile(v.objectId)?.dev ?? PROGRAM_DEV;
    inode = v.objectId;
    offset = v.pgoff * PAGE_SIZE;
  } else if (v.backing === BACKING_SHMEM) {
    dev = "00:01";
    inode = v.objectId;
    offset = v.pgoff * PAGE_SIZE;
  }
  const header = `${hex8(v.start)}-${hex8(v.end)} ${perms} ${hex8(offset)} ${dev} ${inode} `;
  const name = vmaName(mm, v);
  return name === "" ? header : `${header.padEnd(NAME_COLUMN)} ${name}`;
}

/**
 * The vsyscall page of an x86-64 process (vsyscall=xonly): not a VMA of the mm (no VmSize), but
 * /proc/self/maps ends with it. Its address (0xffffffffff600000) is above 2^53: only its text exists.
 */
const VSYSCALL_LINE = `${"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 ".padEnd(NAME_COLUMN)} [vsyscall]\n`;

export function maps(mm: Mm): string {
  let out = "";
  for (const v of mm.vmas.list) out += mapsLine(mm, v) + "\n";
  if (mm.arch === "x86_64") out += VSYSCALL_LINE;
  return out;
}

export function status(mm: Mm): Status {
  mm.scanAll();
  const kB = (pages: number) => (pages * PAGE_SIZE) / 1024;
  const vmas = mm.vmas;
  const pages = mm.pages;
  const total = vmas.totalPages;
  const execBytes = vmas.execPages * PAGE_SIZE;
  const text = Math.min(pageAlign(mm.endCode) - pageDown(mm.startCode), execBytes);
  // Resident memory beyond the emulated RAM is reported as swapped out (anonymous pages first,
  // then shmem), as reclaim would leave it; which pages exactly is not modelled.
  const ramPages = Math.floor(mm.ramBytes / PAGE_SIZE);
  const swapped = Math.max(0, pages.rssTotal - ramPages);
  const anonSwapped = Math.min(swapped, pages.rss[PAGE_ANON]!);
  const shmemSwapped = swapped - anonSwapped;
  return {
    VmPeak: kB(Math.max(total, vmas.hiwaterPages)),
    VmSize: kB(total),
    VmLck: kB(mm.lockedVm),
    VmPin: 0,
    VmHWM: kB(Math.min(Math.max(pages.hiwaterRss, pages.rssTotal), ramPages)),
    VmRSS: kB(pages.rssTotal - swapped),
    RssAnon: kB(pages.rss[PAGE_ANON]! - anonSwapped),
    RssFile: kB(pages.rss[PAGE_FILE]!),
    RssShmem: kB(pages.rss[PAGE_SHMEM]! - shmemSwapped),
    VmData: kB(vmas.dataPages),
    VmStk: kB(vmas.stackPages),
    VmExe: text / 1024,
    VmLib: (execBytes - text) / 1024,
    VmPTE: kB(pages.tablePages),
    VmSwap: kB(anonSwapped),
  };
}

/** The same fields as /proc/self/status prints them ("VmPeak:\t    2112 kB", …). */
export function statusText(s: Status): string {
  let out = "";
  for (const [key, value] of Object.entries(s)) out += `${key}:\t${String(value).padStart(8)} kB\n`;
  return out;
}
