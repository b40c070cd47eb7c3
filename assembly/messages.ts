// glibc 2.36's malloc_printerr messages, exactly as malloc.c spells them (the process aborts
// with "<message>\n" on stderr; the host's ProcessAbort carries the message without the newline).
// One table for the allocator, the host, the tests and the explorer: plain string constants,
// valid AssemblyScript and TypeScript alike. In the Wasm module each is a static string, handed
// to the `abort(msgPtr, msgLen)` import as UTF-16LE bytes (msgLen in bytes).

// free
export const FREE_INVALID_POINTER = "free(): invalid pointer";
export const FREE_INVALID_SIZE = "free(): invalid size";
export const FREE_TCACHE_DOUBLE_FREE = "free(): double free detected in tcache 2";
export const FREE_TCACHE_TOO_MANY = "free(): too many chunks detected in tcache";
export const FREE_TCACHE_UNALIGNED = "free(): unaligned chunk detected in tcache 2";
export const FREE_INVALID_NEXT_SIZE_FAST = "free(): invalid next size (fast)";
export const FREE_INVALID_NEXT_SIZE_NORMAL = "free(): invalid next size (normal)";
export const FREE_CORRUPTED_UNSORTED = "free(): corrupted unsorted chunks";
export const DOUBLE_FREE_FASTTOP = "double free or corruption (fasttop)";
export const DOUBLE_FREE_TOP = "double free or corruption (top)";
export const DOUBLE_FREE_OUT = "double free or corruption (out)";
export const DOUBLE_FREE_PREV = "double free or corruption (!prev)";
export const INVALID_FASTBIN_ENTRY_FREE = "invalid fastbin entry (free)";
export const CORRUPTED_SIZE_VS_PREV_SIZE_CONSOLIDATING = "corrupted size vs. prev_size while consolidating";

// unlink
export const CORRUPTED_SIZE_VS_PREV_SIZE = "corrupted size vs. prev_size";
export const CORRUPTED_DOUBLE_LINKED_LIST = "corrupted double-linked list";
export const CORRUPTED_DOUBLE_LINKED_LIST_NOT_SMALL = "corrupted double-linked list (not small)";

// malloc
export const MALLOC_UNALIGNED_TCACHE = "malloc(): unaligned tcache chunk detected";
export const MALLOC_UNALIGNED_FASTBIN = "malloc(): unaligned fastbin chunk detected";
export const MALLOC_UNALIGNED_FASTBIN_2 = "malloc(): unaligned fastbin chunk detected 2";
export const MALLOC_UNALIGNED_FASTBIN_3 = "malloc(): unaligned fastbin chunk detected 3";
export const MALLOC_MEMORY_CORRUPTION_FAST = "malloc(): memory corruption (fast)";
export const MALLOC_SMALLBIN_CORRUPTED = "malloc(): smallbin double linked list corrupted";
export const MALLOC_INVALID_SIZE_UNSORTED = "malloc(): invalid size (unsorted)";
export const MALLOC_INVALID_NEXT_SIZE_UNSORTED = "malloc(): invalid next size (unsorted)";
export const MALLOC_MISMATCHING_PREV_SIZE_UNSORTED = "malloc(): mismatching next->prev_size (unsorted)";
export const MALLOC_UNSORTED_CORRUPTED = "malloc(): unsorted double linked list corrupted";
export const MALLOC_INVALID_NEXT_PREV_INUSE_UNSORTED = "malloc(): invalid next->prev_inuse (unsorted)";
export const MALLOC_CORRUPTED_UNSORTED = "malloc(): corrupted unsorted chunks";
export const MALLOC_CORRUPTED_UNSORTED_2 = "malloc(): corrupted unsorted chunks 2";
export const MALLOC_CORRUPTED_UNSORTED_3 = "malloc(): corrupted unsorted chunks 3";
export const MALLOC_LARGEBIN_CORRUPTED_NEXTSIZE = "malloc(): largebin double linked list corrupted (nextsize)";
export const MALLOC_LARGEBIN_CORRUPTED_BK = "malloc(): largebin double linked list corrupted (bk)";
export const MALLOC_CORRUPTED_TOP_SIZE = "malloc(): corrupted top size";

// malloc_consolidate
export const CONSOLIDATE_UNALIGNED_FASTBIN = "malloc_consolidate(): unaligned fastbin chunk detected";
export const CONSOLIDATE_INVALID_CHUNK_SIZE = "malloc_consolidate(): invalid chunk size";
export const CORRUPTED_SIZE_VS_PREV_SIZE_FASTBINS = "corrupted size vs. prev_size in fastbins";

// realloc, mmapped chunks, sysmalloc
export const REALLOC_INVALID_POINTER = "realloc(): invalid pointer";
export const REALLOC_INVALID_OLD_SIZE = "realloc(): invalid old size";
export const REALLOC_INVALID_NEXT_SIZE = "realloc(): invalid next size";
export const MUNMAP_CHUNK_INVALID_POINTER = "munmap_chunk(): invalid pointer";
export const MREMAP_CHUNK_INVALID_POINTER = "mremap_chunk(): invalid pointer";
export const BREAK_ADJUSTED = "break adjusted to free malloc space";

// statistics walkers
export const MALLINFO_UNALIGNED_FASTBIN = "int_mallinfo(): unaligned fastbin chunk detected";
export const MALLOC_INFO_UNALIGNED_FASTBIN = "__malloc_info(): unaligned fastbin chunk detected";

/** The debug build's whole-heap checker (do_check_malloc_state's role): not a glibc message. */
export const CHECK_MALLOC_STATE_FAILED = "malloc state check failed";

// glibc's malloc keeps its assert()s in release builds (__malloc_assert): the text is the
// function and the asserted expression as the preprocessor spells it.
export const ASSERT_SYSMALLOC_OLD_TOP =
  "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && old_size == 0) || ((unsigned long) (old_size) >= MINSIZE && prev_inuse (old_top) && ((unsigned long) old_end & (pagesize - 1)) == 0)";
export const ASSERT_SYSMALLOC_OLD_SIZE =
  "Fatal glibc error: malloc assertion failure in sysmalloc: (unsigned long) (old_size) < (unsigned long) (nb + MINSIZE)";
export const ASSERT_INT_MALLOC_BCK_BK_MAIN_ARENA =
  "Fatal glibc error: malloc assertion failure in _int_malloc: chunk_main_arena (bck->bk)";
export const ASSERT_INT_MALLOC_FWD_MAIN_ARENA =
  "Fatal glibc error: malloc assertion failure in _int_malloc: chunk_main_arena (fwd)";
export const ASSERT_INT_MALLOC_BIT = "Fatal glibc error: malloc assertion failure in _int_malloc: bit != 0";
export const ASSERT_INT_MALLOC_SIZE =
  "Fatal glibc error: malloc assertion failure in _int_malloc: (unsigned long) (size) >= (unsigned long) (nb)";

// arena.c: non-main heaps and the arena list (threads)
export const TCACHE_THREAD_SHUTDOWN_UNALIGNED = "tcache_thread_shutdown(): unaligned tcache chunk detected";
export const ASSERT_INT_FREE_HEAP_AR_PTR = "Fatal glibc error: malloc assertion failure in _int_free: heap->ar_ptr == av";
export const ASSERT_HEAP_TRIM_FENCEPOST =
  "Fatal glibc error: malloc assertion failure in heap_trim: chunksize_nomask (p) == (0 | PREV_INUSE)";
export const ASSERT_HEAP_TRIM_NEW_SIZE =
  "Fatal glibc error: malloc assertion failure in heap_trim: new_size > 0 && new_size < (long) (2 * MINSIZE)";
export const ASSERT_HEAP_TRIM_NEW_SIZE_MAX =
  "Fatal glibc error: malloc assertion failure in heap_trim: new_size > 0 && new_size < max_size";
export const ASSERT_HEAP_TRIM_PAGE_END =
  "Fatal glibc error: malloc assertion failure in heap_trim: ((unsigned long) ((char *) p + new_size) & (heap->pagesize - 1)) == 0";
export const ASSERT_HEAP_TRIM_TOP_END =
  "Fatal glibc error: malloc assertion failure in heap_trim: ((char *) p + new_size) == ((char *) heap + heap->size)";
export const ASSERT_DETACH_ARENA =
  "Fatal glibc error: malloc assertion failure in detach_arena: replaced_arena->attached_threads > 0";
export const ASSERT_GET_FREE_LIST =
  "Fatal glibc error: malloc assertion failure in get_free_list: result->attached_threads == 0";
export const ASSERT_REMOVE_FROM_FREE_LIST =
  "Fatal glibc error: malloc assertion failure in remove_from_free_list: p->attached_threads == 0";
export const ASSERT_ARENA_THREAD_FREERES =
  "Fatal glibc error: malloc assertion failure in __malloc_arena_thread_freeres: a->attached_threads > 0";
