// Linux i386 values of the constants the public API exports (asm-generic/mman-common.h,
// asm/mman.h for x86, asm-generic/errno-base.h, asm-generic/resource.h, glibc malloc.h).
// The ones the allocator uses too are defined once, in assembly/config.ts (which compiles as
// both AssemblyScript and TypeScript), and re-exported here.

import { MAP_ANONYMOUS, PAGESIZE } from "../assembly/config.js";
export {
  M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB,
  M_ARENA_TEST, M_ARENA_MAX,
  PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, MREMAP_MAYMOVE, MADV_DONTNEED, ENOMEM, EINVAL,
} from "../assembly/config.js";

// ── mmap / mprotect protections ────────────────────────────────────────────────
export const PROT_NONE = 0x0;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;

// ── mmap flags ─────────────────────────────────────────────────────────────────
export const MAP_SHARED = 0x01;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANON = MAP_ANONYMOUS;
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_NONBLOCK = 0x10000;
export const MAP_STACK = 0x20000;
export const MAP_HUGETLB = 0x40000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;
/** mmap's error return, (void *) -1, as the unsigned 32-bit value the raw ABI never returns. */
export const MAP_FAILED = -1;

// ── mremap ─────────────────────────────────────────────────────────────────────
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

// ── madvise ────────────────────────────────────────────────────────────────────
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;

// ── mlock ──────────────────────────────────────────────────────────────────────
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;
export const MLOCK_ONFAULT = 1;

// ── mallopt parameters (glibc malloc.h) ────────────────────────────────────────
export const M_NLBLKS = 2;
export const M_GRAIN = 3;
export const M_KEEP = 4;

// ── resource limits ────────────────────────────────────────────────────────────
export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
/** RLIM_INFINITY: the API spells an unlimited limit as Infinity. */
export const RLIM_INFINITY = Infinity;

// ── errno ──────────────────────────────────────────────────────────────────────
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EFBIG = 27;
export const ENOSYS = 38;
export const EOVERFLOW = 75;

/** Page size of the emulated process (4 KiB). A Wasm page is 64 KiB: see WASM_PAGE_SIZE. */
export const PAGE_SIZE = PAGESIZE;
export const PAGE_SHIFT = 12;
export const WASM_PAGE_SIZE = 65536;
/** TASK_SIZE of a 32-bit task on x86-64 (IA32_PAGE_OFFSET): the end of user space. */
export const TASK_SIZE = 0xffffe000;
/** TASK_SIZE of a 64-bit task (TASK_SIZE_MAX with 4-level paging: 2^47 − 4 KiB). */
export const TASK_SIZE_X86_64 = 0x7ffffffff000;
/**
 * The stack's window in an x86_64 process (docs/x86_64-layout.md): the top 64 MiB of the Wasm
 * memory hold the VAs just below the stack's top; below them the stack goes on in far pages.
 */
export const X86_64_STACK_WINDOW_BYTES = 64 * 1024 * 1024;
/**
 * The frame pool of an x86_64 process (docs/x86_64-layout.md): the Wasm memory's bytes just above
 * 2 GiB, handed out 4 KiB at a time to the pages no window holds, at their first touch. Its size
 * is what the far pages of a process can hold at once; the mmap window is shorter by as much.
 */
export const X86_64_FRAME_POOL_BYTES = 256 * 1024 * 1024;

// ── the emulated program image ─────────────────────────────────────────────────
/** Where the program's text would start: the Wasm module has no code in memory, a token page. */
export const PROGRAM_TEXT_START = 0x10000;
/** asc --memoryBase (asconfig.json): the module's static data (main_arena, mp_, …) starts here. */
export const PROGRAM_DATA_START = 0x11000;
