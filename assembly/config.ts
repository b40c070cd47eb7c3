// The numbers that shape the allocator: glibc 2.36's malloc as built for i386.
// Every other size, count or threshold is derived from the first few here, once.
// Plain `export const` numbers only: this file compiles as AssemblyScript (the allocator)
// and as TypeScript (the host, the tests), so both sides read the same values.
//
// Two ABIs, one file: the values here are i386's. A value that differs on x86-64 carries its
// x86-64 value in a trailing `// x86_64: VALUE` comment; scripts/build-wasm.mjs compiles the
// x86-64 allocator with those substituted, and writes host/generated/config-x86_64.ts (the same
// names, x86-64 values) for host code. Everything derived follows from the substituted values.

// ── the machine ─────────────────────────────────────────────────────────────
/** sizeof(size_t) = sizeof(void *) on i386. */
export const SIZE_SZ = 4; // x86_64: 8
/** 2 * sizeof(long double) on i386: 16, larger than the chunk header. */
export const MALLOC_ALIGNMENT = 16;
export const MALLOC_ALIGN_MASK = MALLOC_ALIGNMENT - 1;
/** prev_size + size. */
export const CHUNK_HDR_SZ = 2 * SIZE_SZ;
/** A page (4 KiB), as GLRO(dl_pagesize). */
export const PAGESIZE = 4096;

// ── chunks ──────────────────────────────────────────────────────────────────
/** offsetof(struct malloc_chunk, fd_nextsize): prev_size, size, fd, bk. */
export const MIN_CHUNK_SIZE = 4 * SIZE_SZ;
export const MINSIZE = (MIN_CHUNK_SIZE + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK;
/** sizeof(struct malloc_chunk): the four words above plus fd_nextsize, bk_nextsize. */
export const SIZEOF_MALLOC_CHUNK = 6 * SIZE_SZ;
export const PREV_INUSE = 0x1;
export const IS_MMAPPED = 0x2;
export const NON_MAIN_ARENA = 0x4;
export const SIZE_BITS = PREV_INUSE | IS_MMAPPED | NON_MAIN_ARENA;
/** PTRDIFF_MAX: larger requests fail at once. (2^63 − 1 is exact in AssemblyScript's u64, not in a JS number.) */
export const PTRDIFF_MAX = 0x7fffffff; // x86_64: 0x7fffffffffffffff

// ── bins ────────────────────────────────────────────────────────────────────
export const NBINS = 128;
export const NSMALLBINS = 64;
export const SMALLBIN_WIDTH = MALLOC_ALIGNMENT;
/** 1 when MALLOC_ALIGNMENT > CHUNK_HDR_SZ (i386): small bin indices are bumped by one. */
export const SMALLBIN_CORRECTION = MALLOC_ALIGNMENT > CHUNK_HDR_SZ ? 1 : 0;
export const MIN_LARGE_SIZE = (NSMALLBINS - SMALLBIN_CORRECTION) * SMALLBIN_WIDTH;
export const BINMAPSHIFT = 5;
export const BITSPERMAP = 1 << BINMAPSHIFT;
export const BINMAPSIZE = NBINS / BITSPERMAP;

// ── fastbins ────────────────────────────────────────────────────────────────
export const MAX_FAST_SIZE = (80 * SIZE_SZ) / 4;
export const DEFAULT_MXFAST = (64 * SIZE_SZ) / 4;
/** fastbin_index(sz) = (sz >> FASTBIN_SHIFT) - 2: one bin per 8 bytes on i386, per 16 on x86-64. */
export const FASTBIN_SHIFT = 3; // x86_64: 4
/** fastbin_index(request2size(MAX_FAST_SIZE)) + 1 */
export const NFASTBINS = ((((MAX_FAST_SIZE + SIZE_SZ + MALLOC_ALIGN_MASK) & ~MALLOC_ALIGN_MASK) >> FASTBIN_SHIFT) - 2) + 1;
export const FASTBIN_CONSOLIDATION_THRESHOLD = 65536;

// ── tcache ──────────────────────────────────────────────────────────────────
export const TCACHE_MAX_BINS = 64;
export const TCACHE_FILL_COUNT = 7;
export const MAX_TCACHE_COUNT = 65535;
/** tidx2usize(TCACHE_MAX_BINS - 1): the largest request served from the tcache. */
export const MAX_TCACHE_SIZE = (TCACHE_MAX_BINS - 1) * MALLOC_ALIGNMENT + MINSIZE - SIZE_SZ;
/** sizeof(tcache_perthread_struct): uint16_t counts[64] then entries[64]. */
export const TCACHE_COUNTS_OFFSET = 0;
export const TCACHE_ENTRIES_OFFSET = 2 * TCACHE_MAX_BINS;
export const SIZEOF_TCACHE = TCACHE_ENTRIES_OFFSET + SIZE_SZ * TCACHE_MAX_BINS;

// ── defaults of mp_ (malloc-machine.h, malloc.c) ────────────────────────────
export const DEFAULT_TOP_PAD = 131072;
export const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
export const DEFAULT_MMAP_THRESHOLD_MIN = 128 * 1024;
/** 4 * 1024 * 1024 * sizeof(long) on a 64-bit platform, 512 KiB on a 32-bit one. */
export const DEFAULT_MMAP_THRESHOLD_MAX = 512 * 1024; // x86_64: 32 * 1024 * 1024
export const DEFAULT_MMAP_THRESHOLD = DEFAULT_MMAP_THRESHOLD_MIN;
export const DEFAULT_MMAP_MAX = 65536;
/** NARENAS_FROM_NCORES(1): 2 with sizeof(long) == 4, 8 with 8. */
export const DEFAULT_ARENA_TEST = 2; // x86_64: 8
/** sysmalloc's mmap unit when brk fails (MMAP_AS_MORECORE_SIZE; 2.36 rounds up to it, see sysmalloc). */
export const MMAP_AS_MORECORE_SIZE = 1024 * 1024;

// ── non-main arenas' heaps (arena.c) ────────────────────────────────────────
/** A heap's address space (and alignment): 2 × DEFAULT_MMAP_THRESHOLD_MAX, 1 MiB on i386, 64 MiB on x86-64. */
export const HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX;
/** The smallest read-write part a new heap starts with. */
export const HEAP_MIN_SIZE = 32 * 1024;
// struct heap_info, at the start of every heap (the picture is in heap.ts)
export const HI_AR_PTR = 0;
export const HI_PREV = SIZE_SZ;
export const HI_SIZE = 2 * SIZE_SZ;
export const HI_MPROTECT_SIZE = 3 * SIZE_SZ;
export const HI_PAGESIZE = 4 * SIZE_SZ;
/** sizeof(heap_info): five words, padded so that it plus 2 × SIZE_SZ is a multiple of MALLOC_ALIGNMENT. */
export const SIZEOF_HEAP_INFO = 5 * SIZE_SZ + ((-3 * SIZE_SZ) & MALLOC_ALIGN_MASK);
/** M_ARENA_MAX unset and the arena test passed: the limit is this × get_nprocs() (2 × sizeof(long) / 4). */
export const NARENAS_PER_CORE = 2; // x86_64: 8

// ── a thread's TLS block: its own malloc state (thread.ts), one word each ───
export const TLS_ARENA = 0;
export const TLS_TCACHE = 4; // x86_64: 8
export const TLS_TCACHE_SHUTTING_DOWN = 8; // x86_64: 16
export const TLS_ERRNO = 12; // x86_64: 24
export const SIZEOF_TLS = 16; // x86_64: 32

// ── mallopt parameter numbers (malloc.h) ────────────────────────────────────
export const M_MXFAST = 1;
export const M_TRIM_THRESHOLD = -1;
export const M_TOP_PAD = -2;
export const M_MMAP_THRESHOLD = -3;
export const M_MMAP_MAX = -4;
export const M_CHECK_ACTION = -5;
export const M_PERTURB = -6;
export const M_ARENA_TEST = -7;
export const M_ARENA_MAX = -8;

// ── the kernel ABI the allocator uses (Linux i386) ──────────────────────────
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MREMAP_MAYMOVE = 1;
export const MADV_DONTNEED = 4;
export const ENOMEM = 12;
export const EINVAL = 22;
/** A raw syscall result above this (as a C unsigned long) is -errno. */
export const SYSCALL_ERROR_FLOOR = 0xfffff000; // x86_64: 0xfffffffffffff000

/** File descriptors the text reports go to (through the `write` import). */
export const STDERR_FILENO = 2;
/** malloc_info(0, fp): the host captures whatever the call writes; fd 1 stands for fp. */
export const MALLOC_INFO_FD = 1;

// ── struct malloc_state: field offsets (the picture is in arena.ts) ─────────
export const AV_FLAGS = 4;
export const AV_HAVE_FASTCHUNKS = 8;
/** fastbinsY: after three ints, at the next pointer-aligned offset. */
export const AV_FASTBINS = 12; // x86_64: 16
export const AV_TOP = AV_FASTBINS + NFASTBINS * SIZE_SZ;
export const AV_LAST_REMAINDER = AV_TOP + SIZE_SZ;
export const AV_BINS = AV_LAST_REMAINDER + SIZE_SZ;
export const AV_BINMAP = AV_BINS + (2 * NBINS - 2) * SIZE_SZ;
export const AV_NEXT = AV_BINMAP + BINMAPSIZE * 4;
export const AV_NEXT_FREE = AV_NEXT + SIZE_SZ;
export const AV_ATTACHED_THREADS = AV_NEXT_FREE + SIZE_SZ;
export const AV_SYSTEM_MEM = AV_ATTACHED_THREADS + SIZE_SZ;
export const AV_MAX_SYSTEM_MEM = AV_SYSTEM_MEM + SIZE_SZ;
export const SIZEOF_MALLOC_STATE = AV_MAX_SYSTEM_MEM + SIZE_SZ;
/** flags: the heap is not one contiguous brk region (after the mmap fallback). */
export const NONCONTIGUOUS_BIT = 2;

// ── the debug checker's cycle notes (check_cycle(): kind << 8 | list index) ──────────────────
export const CYCLE_BIN = 1; // bin_at(index): unsorted, small or large
export const CYCLE_FASTBIN = 2;
export const CYCLE_TCACHE = 3;

// ── the page map (kept by the kernel, read by the allocator before it follows a link) ───────────
// Below mmap_min_addr's first page the process can map nothing, and the Wasm module puts nothing
// below PROGRAM_TEXT_START: the kernel keeps there, in the process's own memory, which pages are
// readable and which writable. Two levels: one byte per 4 MiB region naming a 256-byte leaf
// (leaf n at n << 8), each leaf a bitmap of the region's 1024 pages: bytes 0..127 readable,
// 128..255 writable (bit p & 7 of byte p >> 3). A clear bit means "ask the kernel" (it may be a
// region no leaf was left for, or a page just below the stack, which a fault grows), never "no".
// A write bit is set only while the page is also resident: the first store into a page faults
// it in, as on Linux. In front of the map, one span the kernel knows to be readable — the VMA of
// the brk heap, where most chunks are — settles most loads with one subtraction and one compare,
// and a second one, a run of resident pages of that heap, most stores.
//
//  0x0000 ┌ top[1024]: region r's leaf number          (leaves 0..3: the top itself)
//  0x0400 ├ leaf 4: all clear (no mapping, or ask)      ┐ page 0: never mappable (EPERM below
//  0x0500 ├ leaf 5: all readable and writable          │ vm.mmap_min_addr), so these always
//  0x0600 ├ leaf 6: all readable, none writable         │ hold, whatever the program maps
//  0x0700 ├ the hot span: start, length − 3 (u32 each)   │
//  0x0800 ├ leaves 8..15: per-region bitmaps            ┘
//  0x1000 ├ leaves 16..255: per-region bitmaps, in pages a MAP_FIXED below 64 KiB may take
//  0x10000└
export const PAGEMAP_TOP = 0;
export const PAGEMAP_REGION_SHIFT = 22;
export const PAGEMAP_LEAF_SHIFT = 8;
/** The write plane's offset in a leaf. */
export const PAGEMAP_WRITE_PLANE = 128;
export const PAGEMAP_LEAF_NONE = 4;
export const PAGEMAP_LEAF_RW = 5;
export const PAGEMAP_LEAF_RO = 6;
/** The hot span: its start, and its length less PAGEMAP_SPAN_SLACK (a word access starting below it stays inside). */
export const PAGEMAP_HOT_START = 0x700;
export const PAGEMAP_HOT_LEN = 0x704;
/** The store span: a run of resident pages of the brk heap, start and length less PAGEMAP_SPAN_SLACK (as above). */
export const PAGEMAP_STORE_START = 0x708;
export const PAGEMAP_STORE_LEN = 0x70c;
/** SIZE_SZ − 1: what the spans' lengths are short of, so that a whole C word at an address inside stays inside. */
export const PAGEMAP_SPAN_SLACK = SIZE_SZ - 1;
export const PAGEMAP_FIRST_LEAF = 8;
export const PAGEMAP_LEAVES = 256;
/** The end of the page map: the first address the program may map (MAP_FIXED at 0x1000 aside). */
export const PAGEMAP_END = PAGEMAP_LEAVES << PAGEMAP_LEAF_SHIFT;
