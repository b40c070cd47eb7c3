/* replay-threads: runs a thread-tagged op list on real pthreads, one thread at a time, and prints
 * for every block the arena and heap it landed in (see oracle/threads/README.md and the
 * "Threads" section of docs/formats.md).
 *
 *   replay-threads [-c N] [-s NAME] [-a ALIGN] OPS_FILE     (output on stdout)
 *
 *   -c N      a checkpoint line every N ops (default 1; 0: none)
 *   -s NAME   the scenario's name for the header line (default: the file name without ".ops")
 *   -a ALIGN  first move the break up to a multiple of ALIGN (a power of two) with sbrk, and take
 *             offsets from there, as replay.c's -a: blocks of the main arena aligned beyond a page
 *             then land at offsets that do not depend on where ASLR put the break (the fuzzer)
 *
 * Built with `gcc -m32 -O2 -pthread` it is the oracle for threads and arenas in the 32-bit
 * emulation: glibc 2.36 on i386; built without -m32, for the x86-64 one.
 *
 * Serialization: one token, guarded by a mutex and a condition variable, names the thread that may
 * run. Every other thread waits on the condition variable, never inside the allocator, so no arena
 * lock is ever contended and reused_arena's trylock always takes the first arena it tries, as it
 * does in the emulator, where calls are serialized by construction. A thread only ever touches the
 * op array and the output buffer while it holds the token.
 *
 * It calls no allocator function except the ops themselves (plus mallinfo2() at checkpoints and
 * malloc_stats() at the end): the op list and every table are anonymous mappings or static, output
 * goes through out.h's static buffer and write(2), and the program has no thread-local variables of
 * its own (a TLS block of ours would make libc.so.6 the second TLS module and the DTV that
 * pthread_create callocs one entry longer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "../replay/out.h"

extern char **environ;

static void fail(const char *msg) { out_die("replay-threads", msg); }

/* HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX: 2 * 512 KiB on i386, 2 * 32 MiB on x86-64; every
 * heap of a non-main arena starts on a multiple of it: masking a chunk's address finds its heap_info. */
#if __SIZEOF_POINTER__ == 8
#define HEAP_MAX_SIZE (64 * 1024 * 1024)
#else
#define HEAP_MAX_SIZE (1024 * 1024)
#endif

/* The start of glibc's heap_info, as far as the replayer reads it (5 words, then padding so that
 * the chunks after it are 16-byte aligned: 24 bytes on i386, 48 on x86-64; the first heap of an
 * arena holds the arena's malloc_state right after them). */
struct heap_head {
  uintptr_t arena;      /* ar_ptr */
  struct heap_head *prev; /* the arena's previous heap, NULL for its first */
};
#define HEAP_INFO_BYTES (__SIZEOF_POINTER__ == 8 ? 48 : 24)

/* ── the op list, parsed once into an array ────────────────────────────────────────────────── */

enum kind {
  K_MALLOC = 'm', K_CALLOC = 'c', K_MEMALIGN = 'a', K_REALLOC = 'r', K_FREE = 'f',
  K_MALLOPT = 'o', K_TRIM = 't', K_INFO = 'i', K_REALLOCARRAY = 'R', K_ALIGNED_ALLOC = 'A',
  K_POSIX_MEMALIGN = 'P', K_VALLOC = 'v', K_PVALLOC = 'V', K_USABLE = 'u',
  K_THREAD = 'T', K_EXIT = 'E',
};

#define NO_ID (-1LL) /* "-" in an OLDID field: NULL */

struct op {
  char kind;
  unsigned line;           /* 1-based, for messages */
  long long arg[4];        /* the numeric fields, in order */
  const char *word;        /* o: PARAM as written */
  unsigned word_len;
};

static struct op *ops;
static size_t n_ops;

static void *mapped(size_t bytes) {
  void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("out of memory for a table");
  return p;
}

/* How many numeric fields each op letter takes (the o line's PARAM is a word, then one number). */
static int field_count(char k) {
  switch (k) {
    case 'f': case 'u': case 'T': case 'E': case 't': return 1;
    case 'm': case 'v': case 'V': case 'o': return 2;
    case 'c': case 'a': case 'r': case 'A': case 'P': return 3;
    case 'R': return 4;
    case 'i': return 0;
    default: return -1;
  }
}

/* mallopt's parameters by value: index = value + 8 (M_ARENA_MAX is -8, M_KEEP is 4). */
static const char *const mallopt_by_value[] = {
  "M_ARENA_MAX", "M_ARENA_TEST", "M_PERTURB", "M_CHECK_ACTION", "M_MMAP_MAX", "M_MMAP_THRESHOLD",
  "M_TOP_PAD", "M_TRIM_THRESHOLD", "", "M_MXFAST", "M_NLBLKS", "M_GRAIN", "M_KEEP",
};

/* A decimal field, signed when `sign` allows a leading '-', or "-" alone (NULL) when `dash` does. */
static int read_number(const char *s, size_t n, int sign, int dash, long long *out) {
  if (dash && n == 1 && s[0] == '-') {
    *out = NO_ID;
    return 1;
  }
  int neg = sign && n > 1 && s[0] == '-';
  size_t i = neg ? 1 : 0;
  if (i == n) return 0;
  unsigned long long v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned)(s[i] - '0');
    if (v > 0xffffffffULL) return 0;
  }
  if (neg && v > 0x80000000ULL) return 0;
  if (sign && !neg && v > 0x7fffffffULL) return 0;
  *out = neg ? -(long long)v : (long long)v;
  return 1;
}

static void parse(const char *text, size_t len) {
  size_t cap = 1;
  for (size_t i = 0; i < len; i++) cap += text[i] == '\n';
  ops = mapped(cap * sizeof *ops);
  unsigned line = 0;
  for (size_t at = 0; at < len;) {
    size_t end = at;
    while (end < len && text[end] != '\n') end++;
    size_t next = end + 1;
    line++;
    if (end > at && text[end - 1] == '\r') end--;
    if (end > at && text[at] == '#') { /* a comment */
      at = next;
      continue;
    }
    const char *field[6];
    size_t field_len[6];
    int n = 0;
    for (size_t i = at; i < end;) {
      while (i < end && (text[i] == ' ' || text[i] == '\t')) i++;
      if (i == end) break;
      if (n == 6) fail("too many fields on a line");
      field[n] = text + i;
      while (i < end && text[i] != ' ' && text[i] != '\t') i++;
      field_len[n] = (size_t)(text + i - field[n]);
      n++;
    }
    at = next;
    if (n == 0) continue;
    struct op *op = &ops[n_ops++];
    op->kind = field[0][0];
    op->line = line;
    int want = field_len[0] == 1 ? field_count(op->kind) : -1;
    if (want < 0) fail("unknown op");
    if (n - 1 != want) fail("wrong number of fields");
    for (int k = 1; k < n; k++) {
      int is_param = op->kind == 'o' && k == 1, is_value = op->kind == 'o' && k == 2;
      int dash = (op->kind == 'r' || op->kind == 'R') && k == 2;
      if (is_param) {
        op->word = field[k];
        op->word_len = (unsigned)field_len[k];
        if (read_number(field[k], field_len[k], 1, 0, &op->arg[0])) continue;
        int found = 0;
        for (int v = 0; v < (int)(sizeof mallopt_by_value / sizeof *mallopt_by_value); v++) {
          const char *name = mallopt_by_value[v];
          if (name[0] && strlen(name) == field_len[k] && memcmp(name, field[k], field_len[k]) == 0) {
            op->arg[0] = v - 8;
            found = 1;
          }
        }
        if (!found) fail("unknown mallopt parameter");
      } else if (!read_number(field[k], field_len[k], is_value, dash, &op->arg[k - 1])) {
        fail("bad number in the op list");
      }
    }
  }
}

static void load(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) fail("cannot open the op list");
  struct stat st;
  if (fstat(fd, &st) != 0) fail("cannot stat the op list");
  size_t len = (size_t)st.st_size;
  const char *text = "";
  if (len) {
    text = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (text == MAP_FAILED) fail("cannot mmap the op list");
  }
  close(fd);
  parse(text, len);
}

/* ── blocks, arenas, heaps ─────────────────────────────────────────────────────────────────── */

enum { UNBORN, LIVE, DEAD };
static void **block;          /* ID -> pointer */
static unsigned char *status; /* ID -> UNBORN / LIVE / DEAD */
static size_t n_ids, next_id;
static unsigned long n_mmapped, n_frees, n_errors;
static uintptr_t brk0;

#define MAX_ARENAS 256
static uintptr_t arena_seen[MAX_ARENAS]; /* label -> malloc_state address; label 0 is main_arena */
static int n_arena_labels = 1;

static int arena_label(uintptr_t arena) {
  for (int i = 1; i < n_arena_labels; i++)
    if (arena_seen[i] == arena) return i;
  if (n_arena_labels == MAX_ARENAS) fail("too many arenas");
  arena_seen[n_arena_labels] = arena;
  return n_arena_labels++;
}

/* Prints "ID ARENA HEAP OFFSET CHUNK", "ID M CHUNK" or "ID N" for a block just returned. */
static void record(long long id, void *p) {
  if (id != (long long)next_id) fail("IDs must be 0, 1, 2, ... in op order");
  next_id++;
  block[id] = p;
  status[id] = LIVE;
  out_u((unsigned long long)id);
  if (p == NULL) {
    out_str(" N\n");
    return;
  }
  uintptr_t mem = (uintptr_t)p;
  size_t field = ((size_t *)p)[-1];
  size_t chunk = field & ~(size_t)7;
  if (field & 2) { /* IS_MMAPPED */
    n_mmapped++;
    out_str(" M ");
  } else if (field & 4) { /* NON_MAIN_ARENA: the heap_info below it names the arena */
    struct heap_head *heap = (struct heap_head *)(mem & ~(uintptr_t)(HEAP_MAX_SIZE - 1));
    unsigned depth = 0;
    for (struct heap_head *h = heap->prev; h; h = h->prev) depth++;
    struct heap_head *first = heap;
    while (first->prev) first = first->prev;
    /* the arena's malloc_state sits right after its first heap's heap_info: if it does not, the
     * heaps are not HEAP_MAX_SIZE-aligned and the mask above found something else */
    if (first->arena != (uintptr_t)first + HEAP_INFO_BYTES || heap->arena != first->arena)
      fail("a non-main chunk whose heap_info does not name its arena");
    out_char(' ');
    out_u((unsigned)arena_label(heap->arena));
    out_char(' ');
    out_u(depth);
    out_char(' ');
    out_u(mem - (uintptr_t)heap);
    out_char(' ');
  } else {
    out_str(" 0 0 ");
    out_i((long long)(mem - brk0));
    out_char(' ');
  }
  out_u(chunk);
  out_char('\n');
}

/* The block an op names, or NULL with *ok = 0 when the ID is not live (counted as an error). */
static void *take(long long id, int *ok) {
  *ok = id >= 0 && (size_t)id < n_ids && status[id] == LIVE;
  if (!*ok) return NULL;
  status[id] = DEAD;
  return block[id];
}

/* ── reports captured ────────────────────────────────────────────────────────────────────────── */

/* Runs fn with file descriptor fd pointed at a memfd and writes what it wrote, each line
 * prefixed with "# ". malloc_stats writes to stderr, malloc_info to an unbuffered stdout: neither
 * then mallocs. */
static void out_captured(int fd, void (*fn)(void)) {
  out_flush();
  int mfd = memfd_create("captured", 0);
  int saved = dup(fd);
  if (mfd < 0 || saved < 0) fail("cannot capture a report");
  dup2(mfd, fd);
  fn();
  dup2(saved, fd);
  close(saved);
  off_t len = lseek(mfd, 0, SEEK_END);
  static char text[1 << 18];
  if (len < 0 || (size_t)len > sizeof text) fail("report too long");
  if (pread(mfd, text, (size_t)len, 0) != len) fail("cannot read a captured report");
  close(mfd);
  out_prefixed_lines("# ", text, (size_t)len);
}

static void stats_now(void) { malloc_stats(); }
static void info_now(void) {
  malloc_info(0, stdout);
  fflush(stdout);
}

static long brk_delta(void) { return (long)((uintptr_t)sbrk(0) - brk0); }

/* ── threads and the token ─────────────────────────────────────────────────────────────────── */

#define MAX_THREADS 1024
enum order { BEGIN, GO, EXIT, CREATE, JOIN, FINISH };

static pthread_t handle[MAX_THREADS];
static unsigned char thread_state[MAX_THREADS]; /* UNBORN / LIVE / DEAD, as blocks */
static unsigned n_threads = 1;                    /* thread 0 is main */
static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t token_moved = PTHREAD_COND_INITIALIZER;
static unsigned token_holder;                     /* the thread that may run */
static enum order token_order;
static unsigned token_arg;

static void hand(unsigned to, enum order order, unsigned arg) {
  pthread_mutex_lock(&token_lock);
  token_holder = to;
  token_order = order;
  token_arg = arg;
  pthread_cond_broadcast(&token_moved);
  pthread_mutex_unlock(&token_lock);
}

static enum order await(unsigned me, unsigned *arg) {
  pthread_mutex_lock(&token_lock);
  while (token_holder != me) pthread_cond_wait(&token_moved, &token_lock);
  enum order order = token_order;
  *arg = token_arg;
  pthread_mutex_unlock(&token_lock);
  return order;
}

/* Which stack a new thread got: a word 12 KiB below thread_start's frame holds STACK_MARK | the
 * number of the thread that used the stack last, written as that thread's start routine returns.
 * A new stack mapping reads zero there. At exit glibc gives the kernel back (MADV_DONTNEED) the
 * part of the stack more than PTHREAD_STACK_MIN (16 KiB) below its own frame, so the word must lie
 * above that; the teardown after the start routine returns (tcache shutdown) stays far shallower. */
#define STACK_MARK 0x57ac0000u
#define MARK_DEPTH (12 * 1024)
static unsigned stack_from[MAX_THREADS]; /* 0: a new stack; K + 1: thread K's stack, cached */
static pthread_t self_of[MAX_THREADS];

static void *thread_start(void *arg);

static size_t cursor;       /* the next op */
static unsigned long ops_run, every = 1;

static void checkpoint(void) {
  ops_run++;
  if (!every || ops_run % every) return;
  out_str("# op=");
  out_u(ops_run);
  out_str(" brk=");
  out_i(brk_delta());
  out_char(' ');
  out_mallinfo2();
  out_char('\n');
}

/* One op on the calling thread (never T or E). */
static void run_op(const struct op *op) {
  const long long *x = op->arg;
  int ok;
  errno = 0;
  switch (op->kind) {
    case K_MALLOC: record(x[0], malloc((size_t)x[1])); break;
    case K_CALLOC: record(x[0], calloc((size_t)x[1], (size_t)x[2])); break;
    case K_MEMALIGN: record(x[0], memalign((size_t)x[1], (size_t)x[2])); break;
    case K_ALIGNED_ALLOC: record(x[0], aligned_alloc((size_t)x[1], (size_t)x[2])); break;
    case K_VALLOC: record(x[0], valloc((size_t)x[1])); break;
    case K_PVALLOC: record(x[0], pvalloc((size_t)x[1])); break;
    case K_POSIX_MEMALIGN: {
      void *p = NULL;
      record(x[0], posix_memalign(&p, (size_t)x[1], (size_t)x[2]) ? NULL : p);
      break;
    }
    case K_REALLOC:
    case K_REALLOCARRAY: {
      void *old = x[1] == NO_ID ? NULL : take(x[1], &ok);
      if (x[1] != NO_ID && !ok) { /* as the single-thread replayer: the ID is counted, not made */
        if (x[0] != (long long)next_id) fail("IDs must be 0, 1, 2, ... in op order");
        next_id++;
        status[x[0]] = DEAD;
        n_errors++;
        break;
      }
      record(x[0], op->kind == K_REALLOC ? realloc(old, (size_t)x[2])
                                         : reallocarray(old, (size_t)x[2], (size_t)x[3]));
      break;
    }
    case K_FREE: {
      n_frees++;
      void *p = take(x[0], &ok);
      if (ok) free(p);
      else n_errors++;
      break;
    }
    case K_USABLE:
      if (x[0] < 0 || (size_t)x[0] >= n_ids || status[x[0]] != LIVE) fail("u of an ID that is not live");
      (void)malloc_usable_size(block[x[0]]);
      break;
    case K_MALLOPT: {
      int ret = mallopt((int)x[0], (int)x[1]);
      out_str("# mallopt ");
      out_bytes(op->word, op->word_len);
      out_char(' ');
      out_i(x[1]);
      out_str(" => ");
      out_i(ret);
      out_char('\n');
      break;
    }
    case K_TRIM: {
      int ret = malloc_trim((size_t)x[0]);
      out_str("# malloc_trim ");
      out_u((unsigned long long)x[0]);
      out_str(" => ");
      out_i(ret);
      out_char('\n');
      break;
    }
    case K_INFO:
      out_str("# malloc_info:\n");
      out_captured(1, info_now);
      break;
    default: fail("unknown op");
  }
}

/* Creates thread n (main only) and hands it the token. */
static void create(unsigned n) {
  if (n >= MAX_THREADS) fail("too many threads");
  thread_state[n] = LIVE;
  n_threads = n + 1;
  int rc = pthread_create(&handle[n], NULL, thread_start, (void *)(uintptr_t)n);
  if (rc != 0) fail("pthread_create failed");
  hand(n, GO, 0);
}

/* The body every thread runs: wait for the token, obey the order that came with it, then run ops
 * until one hands the token on. Returns when the thread's start routine should return (or, on the
 * main thread, when the op list is done). */
static void drive(unsigned me) {
  for (;;) {
    unsigned arg;
    switch (await(me, &arg)) {
      case EXIT: /* start routine returns; the main thread joins */
        hand(0, JOIN, me);
        return;
      case CREATE:
        create(arg);
        continue;
      case JOIN:
        if (pthread_join(handle[arg], NULL) != 0) fail("pthread_join failed");
        thread_state[arg] = DEAD;
        out_str("# thread ");
        out_u(arg);
        out_str(" exited and joined\n");
        checkpoint();
        break;
      case FINISH: return;
      case GO: /* a T op switched to this thread (or created it): count it */
        checkpoint();
        break;
      case BEGIN: break;
    }
    for (;;) {
      if (cursor == n_ops) {
        if (me == 0) return;
        hand(0, FINISH, 0);
        break;
      }
      const struct op *op = &ops[cursor++];
      if (op->kind == K_THREAD) {
        long long n = op->arg[0];
        if (n == me) {
          checkpoint();
          continue;
        }
        if (n >= 0 && n < (long long)n_threads && thread_state[n] == LIVE) {
          hand((unsigned)n, GO, 0);
        } else if (n == (long long)n_threads) {
          if (me == 0) create((unsigned)n);
          else hand(0, CREATE, (unsigned)n);
        } else {
          fail("T of a thread that has exited, or not the next new number");
        }
        break; /* the thread that takes over counts the op */
      }
      if (op->kind == K_EXIT) {
        long long n = op->arg[0];
        if (n <= 0 || n >= (long long)n_threads || thread_state[n] != LIVE) fail("E of a thread that is not live");
        if (n == me) {
          hand(0, JOIN, me);
          return;
        }
        hand((unsigned)n, EXIT, 0);
        break;
      }
      run_op(op);
      checkpoint();
    }
  }
}

static void *thread_start(void *arg) {
  unsigned me = (unsigned)(uintptr_t)arg;
  volatile unsigned *mark = (volatile unsigned *)(((uintptr_t)__builtin_frame_address(0) - MARK_DEPTH) & ~(uintptr_t)3);
  unsigned seen = *mark;
  stack_from[me] = (seen & 0xffff0000u) == STACK_MARK ? (seen & 0xffffu) + 1 : 0;
  self_of[me] = pthread_self();
  unsigned go;
  if (await(me, &go) != GO) fail("a new thread's first order was not GO");
  out_str("# thread ");
  out_u(me);
  out_str(" created, stack ");
  if (stack_from[me]) {
    /* the stack cache hands back the same block, and struct pthread lives at its top */
    if (!pthread_equal(self_of[stack_from[me] - 1], self_of[me])) fail("a marked stack at another address");
    out_str("cached from thread ");
    out_u(stack_from[me] - 1);
  } else {
    out_str("new");
  }
  out_char('\n');
  drive(me); /* the token is still ours, with GO: drive counts the T op that created us */
  *mark = STACK_MARK | me;
  return NULL;
}

static void out_malloc_env(void) {
  const char *sep = "";
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "MALLOC_", 7) && strncmp(*e, "GLIBC_TUNABLES=", 15)) continue;
    out_str(sep);
    out_str(*e);
    sep = ",";
  }
  if (!*sep) out_str("none");
}

int main(int argc, char **argv) {
  const char *path = NULL, *name = NULL;
  unsigned long align_break = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
      long long v;
      if (!read_number(argv[i + 1], strlen(argv[i + 1]), 0, 0, &v)) fail("bad -c value");
      every = (unsigned long)v;
      i++;
    } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
      name = argv[++i];
    } else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
      long long v;
      if (!read_number(argv[i + 1], strlen(argv[i + 1]), 0, 0, &v) || v == 0 || (v & (v - 1)) != 0) fail("bad -a value");
      align_break = (unsigned long)v;
      i++;
    } else if (!path) {
      path = argv[i];
    } else {
      fail("usage: replay-threads [-c N] [-s NAME] [-a ALIGN] OPS_FILE");
    }
  }
  if (!path) fail("usage: replay-threads [-c N] [-s NAME] [-a ALIGN] OPS_FILE");
  setvbuf(stdout, NULL, _IONBF, 0); /* before anything writes to it: no stdio buffer is malloced */
  load(path);

  for (size_t k = 0; k < n_ops; k++) n_ids += strchr("mcarRAPvV", ops[k].kind) != NULL;
  block = mapped(n_ids * sizeof *block);
  status = mapped(n_ids);
  brk0 = (uintptr_t)sbrk(0);
  if (align_break) {
    uintptr_t up = ((brk0 + align_break - 1) & ~(uintptr_t)(align_break - 1)) - brk0;
    if (up && sbrk((intptr_t)up) == (void *)-1) fail("cannot align the break");
    brk0 = (uintptr_t)sbrk(0);
  }
  thread_state[0] = LIVE;

  struct rlimit stack;
  getrlimit(RLIMIT_STACK, &stack);
  out_str("# replay-threads scenario=");
  if (name) {
    out_str(name);
  } else {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = strlen(base);
    out_bytes(base, n > 4 && strcmp(base + n - 4, ".ops") == 0 ? n - 4 : n);
  }
  out_str(" glibc=");
  out_str(gnu_get_libc_version());
  out_str(" sizeof_size_t=");
  out_u(sizeof(size_t));
  out_str(" nprocs=");
  out_i(get_nprocs());
  out_str(" stack_rlimit=");
  out_i(stack.rlim_cur == RLIM_INFINITY ? -1 : (long long)stack.rlim_cur);
  out_str(" brk0_page_offset=");
  out_u(brk0 & 4095);
  out_str(" ids=");
  out_u(n_ids);
  out_str(" malloc_env=");
  out_malloc_env();
  out_char('\n');

  hand(0, BEGIN, 0);
  drive(0);

  unsigned live = 0;
  for (unsigned t = 1; t < n_threads; t++) live += thread_state[t] == LIVE;
  out_str("# end ops=");
  out_u(ops_run);
  out_str(" allocs=");
  out_u(next_id);
  out_str(" frees=");
  out_u(n_frees);
  out_str(" mmapped_allocs=");
  out_u(n_mmapped);
  out_str(" errors=");
  out_u(n_errors);
  out_str(" threads=");
  out_u(n_threads - 1);
  out_str(" live_threads=");
  out_u(live);
  out_str(" arenas_seen=");
  out_u((unsigned)n_arena_labels);
  out_str("\n# brk_delta=");
  out_i(brk_delta());
  out_str("\n# mallinfo2 ");
  out_mallinfo2();
  out_str("\n# malloc_stats:\n");
  out_captured(2, stats_now);
  out_flush();
  /* the threads still live wait for a token that never comes: end the process without them */
  _exit(0);
}
