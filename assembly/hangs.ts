// Where the real glibc 2.36 loops forever: its reports (mallinfo2, malloc_stats, malloc_info)
// and malloc_trim walk the fastbins and the bins with no bound, and malloc walks a large bin's
// nextsize list with no bound (sorting a chunk in, searching a best fit), so a list made cyclic by
// a corruption (fastbin dup's a, b, a; a chunk whose fd, bk or nextsize link leads back to itself)
// hangs the process there (oracle/replay/corruption.cases: the *-cyclic-* cases). The emulator finds the
// cycle (Brent's algorithm: one compare per link) and ends the process with one of these messages
// through the abort import; the host turns a message starting with HANG_MESSAGE_PREFIX into a
// ProcessHang instead of a ProcessAbort. Plain string constants, valid AssemblyScript and
// TypeScript alike, like messages.ts.

export const HANG_MESSAGE_PREFIX = "the process hangs: ";

export const MALLINFO2_CYCLIC_FASTBIN = "the process hangs: mallinfo2() loops forever on a cyclic fastbin";
export const MALLINFO2_CYCLIC_BIN = "the process hangs: mallinfo2() loops forever on a cyclic bin";
export const MALLOC_STATS_CYCLIC_FASTBIN = "the process hangs: malloc_stats() loops forever on a cyclic fastbin";
export const MALLOC_STATS_CYCLIC_BIN = "the process hangs: malloc_stats() loops forever on a cyclic bin";
export const MALLOC_INFO_CYCLIC_FASTBIN = "the process hangs: malloc_info() loops forever on a cyclic fastbin";
export const MALLOC_INFO_CYCLIC_BIN = "the process hangs: malloc_info() loops forever on a cyclic bin";
export const MALLOC_TRIM_CYCLIC_BIN = "the process hangs: malloc_trim() loops forever on a cyclic bin";
export const MALLOC_CYCLIC_LARGEBIN_SORT = "the process hangs: malloc() loops forever sorting into a large bin with a cyclic nextsize list";
export const MALLOC_CYCLIC_LARGEBIN_SEARCH = "the process hangs: malloc() loops forever searching a large bin with a cyclic nextsize list";
