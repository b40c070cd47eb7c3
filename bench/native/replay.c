/* replay-native: the native glibc peer of the allocator benchmark. Replays an encoded op program
 * (bench/ops-program.ts) on this machine's real malloc and reports time and memory per round.
 *
 *   replay-native PROGRAM_FILE ROUNDS
 *
 * PROGRAM_FILE: a 16-byte header of u32 LE words (magic "OPS1" = 0x3153504f, op count, ID count,
 * thread count), then 4 u32 LE words per op, as bench/ops-program.ts encodes them. Output: one
 * JSON line per round on stdout,
 * {"ns":N,"peakBytes":N,"hwmKiB":N,"nulls":N,"handoffs":N,"handoffNs":N,"nprocs":N,"cpu":N}:
 *   ns         the replay loop alone (CLOCK_MONOTONIC); with threads, from the first op on the main
 *              thread to the main thread's return from the last: thread creation, joins and
 *              every handoff of the token included
 *   peakBytes  malloc_info's TOTAL <system type="max"> + malloc_stats' "max mmap bytes", the
 *              high-water marks glibc keeps itself (what the emulated glibc reports too)
 *   hwmKiB     VmHWM of the round's process
 *   nulls      allocations of a non-zero size that returned NULL (a sanity check: should be 0)
 *   handoffs   times the token went from one thread to another (0 without threads)
 *   handoffNs  the sum, over the handoffs, of the time from the giver's hand() to the taker's
 *              wake-up (part of ns: what serializing real threads costs, not the allocator)
 *   nprocs     get_nprocs(): the arena limit on i386 is twice it (main arena included)
 *   cpu        with threads: the one CPU the round's threads were pinned to (-1: not pinned)
 *
 * Every round runs in a forked child: each replay starts on a cold, untouched heap, as the Wasm
 * peers start on a fresh instance. For that the parent never calls malloc: the program is read
 * into an anonymous mapping, output is formatted on the stack and written with write(2). The
 * child maps the ID table itself, prefaulted (MAP_POPULATE), so that neither copy-on-write of
 * the parent's pages nor first touches of the table are timed.
 *
 * Threads (a program with thread ops, see bench/ops-program.ts) run on real pthreads made with
 * default attributes, one at a time, as oracle/threads/replay-threads.c runs them: one token (a
 * mutex, the number of the thread that may run, an order) moves at every thread op, and every
 * other thread waits on its own condition variable, never inside the allocator, so no arena lock
 * is ever contended. A switch to a new thread hands the token to the main thread, which calls
 * pthread_create and hands it to the new thread; an exit hands it to the exiting thread, whose
 * start routine returns after handing it to the main thread, which then calls pthread_join.
 * Since one thread runs at a time, the round pins itself (and so every thread it creates) to the
 * CPU it is on: a handoff is then a switch on that CPU (about 15 µs here) instead of a wake-up
 * on another (about 100 µs on a 2-vCPU VM, with the caches left behind). Affinity changes nothing
 * in malloc: get_nprocs() reads /sys/devices/system/cpu/online, not the affinity mask.
 * Threads still live at the end are left waiting (the round's process ends). The program has no
 * thread-local variables of its own: a TLS block of ours would make the DTV that pthread_create
 * callocs longer than the emulated process's (see oracle/threads/README.md).
 *
 * Built with gcc -O2 -pthread (x86-64) and gcc -m32 -O2 -pthread (i386) by bench/peers/native.ts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x3153504fu /* "OPS1" */
#define TOUCH 0x100u
#define NO_ID 0xffffffffu
#define OP_THREAD 5u /* T N */
#define OP_EXIT 6u   /* E N */

/* Messages go out with write(2): stdio on stderr would not malloc (it is unbuffered), but
   keeping the whole program off stdio's buffered paths makes that obvious. */
static void die(const char *msg) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "replay-native: %s\n", msg);
  if (n > 0) (void)!write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  _exit(1);
}

static void *map_anon(size_t bytes, int flags) {
  void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
  if (p == MAP_FAILED) die("mmap failed");
  return p;
}

/* The whole file, in an anonymous mapping: its pages are then anonymous memory, whose page
   table entries fork copies, so the child reads the program without faulting. */
static uint32_t *load(const char *path, size_t *bytes) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("cannot open the program file");
  struct stat st;
  if (fstat(fd, &st) != 0) die("cannot stat the program file");
  size_t len = (size_t)st.st_size, got = 0;
  char *buf = map_anon(len, 0);
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n <= 0) die("cannot read the program file");
    got += (size_t)n;
  }
  close(fd);
  *bytes = len;
  return (uint32_t *)buf;
}

/* ── the replay loop ──────────────────────────────────────────────────────────────────── */

/* noinline: the loop is compiled once, on its own, as in the Wasm peers. Writes through a
   volatile pointer, so gcc keeps the touches (and with them the calls whose results they use).
   Runs ops from w until end or the first thread op, which it leaves to the caller: returns where
   it stopped, and adds the NULLs it saw to *nulls. */
static __attribute__((noinline)) const uint32_t *replay(const uint32_t *w, const uint32_t *end, void **table,
                                                        uint32_t *nulls_seen) {
  uint32_t nulls = 0;
  for (; w < end; w += 4) {
    uint32_t kind = w[0] & 0xff, id = w[1];
    size_t size;
    void *p;
    switch (kind) {
      case 0: p = malloc(size = w[2]); break;
      case 1: p = calloc(1, size = w[2]); break;
      case 2: p = memalign(w[2], size = w[3]); break;
      case 3: p = realloc(w[2] == NO_ID ? NULL : table[w[2]], size = w[3]); break;
      case 4: free(table[id]); continue;
      default: goto stop; /* a thread op */
    }
    table[id] = p;
    if (p == NULL) {
      if (size != 0) nulls++;
    } else if ((w[0] & TOUCH) && size != 0) {
      volatile char *c = p;
      c[0] = 1;
      c[size - 1] = 1;
    }
  }
stop:
  *nulls_seen += nulls;
  return w;
}

/* ── threads, one at a time ───────────────────────────────────────────────────────────── */

enum order { GO, EXIT, CREATE, JOIN, FINISH };
enum { UNBORN, LIVE, EXITED };

/* Everything the threads share. Only the thread that holds the token reads or writes it (the
   token's fields themselves: under the lock). */
static struct {
  const uint32_t *at, *end; /* the next op; the end of the program */
  void **table;
  uint32_t nulls;
  uint32_t cap;          /* thread numbers 0 .. cap-1 exist in the program */
  uint32_t next_new;     /* the next new thread number */
  pthread_t *handle;
  unsigned char *state;  /* UNBORN / LIVE / EXITED */
  pthread_cond_t *wake;  /* a thread's own: signalled when the token comes to it */
  pthread_mutex_t lock;
  uint32_t holder;       /* the thread that may run */
  enum order order;      /* what it is to do first */
  uint32_t arg;
  struct timespec handed;
  long long handoff_ns;
  uint32_t handoffs;
  int running;           /* threads between taking the token and handing it on: 1 at most */
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .next_new = 1 };

static long long ns_between(const struct timespec *a, const struct timespec *b) {
  return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* The holder gives the token away: from here on it touches nothing shared but the lock. */
static void hand(uint32_t to, enum order order, uint32_t arg) {
  if (__atomic_sub_fetch(&R.running, 1, __ATOMIC_SEQ_CST) != 0) die("two threads held the token at once");
  pthread_mutex_lock(&R.lock);
  R.holder = to;
  R.order = order;
  R.arg = arg;
  R.handoffs++;
  clock_gettime(CLOCK_MONOTONIC, &R.handed);
  pthread_cond_signal(&R.wake[to]);
  pthread_mutex_unlock(&R.lock);
}

static enum order await_token(uint32_t me, uint32_t *arg) {
  pthread_mutex_lock(&R.lock);
  while (R.holder != me) pthread_cond_wait(&R.wake[me], &R.lock);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  R.handoff_ns += ns_between(&R.handed, &now);
  enum order order = R.order;
  *arg = R.arg;
  pthread_mutex_unlock(&R.lock);
  if (__atomic_add_fetch(&R.running, 1, __ATOMIC_SEQ_CST) != 1) die("two threads held the token at once");
  return order;
}

static void *thread_start(void *arg);

/* On the main thread: pthread_create(thread n), and the token to it. */
static void create(uint32_t n) {
  if (n >= R.cap) die("a thread number beyond the program's thread count");
  R.state[n] = LIVE;
  R.next_new = n + 1;
  if (pthread_create(&R.handle[n], NULL, thread_start, (void *)(uintptr_t)n) != 0) die("pthread_create failed");
  hand(n, GO, 0);
}

/* Runs ops as thread me up to the thread op that hands the token on. Returns 1 when me is to
   return from its start routine (the main thread: the program is done), 0 to wait for the token. */
static int run_ops(uint32_t me) {
  for (;;) {
    R.at = replay(R.at, R.end, R.table, &R.nulls);
    if (R.at == R.end) {
      if (me == 0) return 1;
      hand(0, FINISH, 0);
      return 0;
    }
    uint32_t kind = R.at[0] & 0xff, n = R.at[1];
    R.at += 4;
    if (kind == OP_THREAD) {
      if (n == me) continue;
      if (n < R.next_new && R.state[n] == LIVE) {
        hand(n, GO, 0);
      } else if (n == R.next_new) {
        if (me == 0) create(n);
        else hand(0, CREATE, n);
      } else {
        die("T of a thread that has exited, or not the next new number");
      }
      return 0;
    }
    if (kind == OP_EXIT) {
      if (n == 0 || n >= R.next_new || R.state[n] != LIVE) die("E of a thread that is not live");
      if (n == me) {
        hand(0, JOIN, me);
        return 1;
      }
      hand(n, EXIT, 0);
      return 0;
    }
    die("unknown op kind in the program");
  }
}

/* Thread me's life: (the main thread: runs first) waits for the token and does as told. */
static void drive(uint32_t me) {
  if (me == 0 && run_ops(0)) return;
  for (;;) {
    uint32_t arg;
    switch (await_token(me, &arg)) {
      case EXIT: /* the start routine returns; the main thread joins */
        hand(0, JOIN, me);
        return;
      case CREATE:
        create(arg);
        continue;
      case JOIN:
        if (pthread_join(R.handle[arg], NULL) != 0) die("pthread_join failed");
        R.state[arg] = EXITED;
        break;
      case FINISH:
        return;
      case GO:
        break;
    }
    if (run_ops(me)) return;
  }
}

static void *thread_start(void *arg) {
  drive((uint32_t)(uintptr_t)arg);
  return NULL;
}

/* The whole program from the main thread, on threads as its ops say; returns the NULLs seen. */
static uint32_t replay_threaded(const uint32_t *ops, uint32_t count, void **table, uint32_t threads) {
  R.at = ops;
  R.end = ops + (size_t)count * 4;
  R.table = table;
  R.cap = threads + 1;
  R.handle = map_anon(R.cap * sizeof *R.handle, MAP_POPULATE);
  R.state = map_anon(R.cap, MAP_POPULATE);
  R.wake = map_anon(R.cap * sizeof *R.wake, MAP_POPULATE);
  for (uint32_t t = 0; t < R.cap; t++) pthread_cond_init(&R.wake[t], NULL);
  R.state[0] = LIVE;
  R.holder = 0;
  R.running = 1; /* the main thread starts with the token */
  drive(0);
  return R.nulls;
}

/* ── memory figures, read after the timed loop ────────────────────────────────────────── */

/* The number after `key` in text (NUL-terminated), or -1. With last, after its last occurrence. */
static long long number_after(const char *text, const char *key, int last) {
  const char *at = NULL;
  for (const char *s = text; (s = strstr(s, key)) != NULL; s++) {
    at = s;
    if (!last) break;
  }
  if (!at) return -1;
  at += strlen(key);
  while (*at == ' ' || *at == '\t' || *at == '=' || *at == '"') at++;
  if (*at < '0' || *at > '9') return -1;
  long long v = 0;
  while (*at >= '0' && *at <= '9') v = v * 10 + (*at++ - '0');
  return v;
}

/* malloc_stats() and malloc_info(0, stderr) with fd 2 on a memfd; returns their text. Both write
   through stderr, which is unbuffered and statically allocated: no malloc, so the figures are
   those the replay left. (malloc_info on a FILE of its own would need fopen, which mallocs.) */
static char *capture_stats(void) {
  int mfd = memfd_create("replay-native-stats", 0);
  if (mfd < 0) die("memfd_create failed");
  int saved = dup(2);
  if (saved < 0 || dup2(mfd, 2) < 0) die("cannot redirect stderr");
  malloc_stats();
  malloc_info(0, stderr);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  off_t len = lseek(mfd, 0, SEEK_END);
  if (len <= 0) die("no malloc_stats/malloc_info text");
  char *text = map_anon((size_t)len + 1, 0);
  if (pread(mfd, text, (size_t)len, 0) != len) die("cannot read the malloc_stats/malloc_info text");
  text[len] = 0;
  close(mfd);
  return text;
}

static long long vm_hwm_kib(void) {
  char buf[8192];
  int fd = open("/proc/self/status", O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return number_after(buf, "VmHWM:", 0);
}

/* ── one round, in a child ────────────────────────────────────────────────────────────── */

static void round_child(const uint32_t *ops, uint32_t count, uint32_t ids, uint32_t threads) {
  void **table = map_anon((size_t)ids * sizeof(void *), MAP_POPULATE);
  const uint32_t *end = ops + (size_t)count * 4;
  uint32_t nulls = 0;
  int cpu = -1;
  if (threads > 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    int here = sched_getcpu();
    if (here >= 0 && here < CPU_SETSIZE) {
      CPU_SET(here, &one);
      if (sched_setaffinity(0, sizeof one, &one) == 0) cpu = here;
    }
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (threads == 0) {
    if (replay(ops, end, table, &nulls) != end) die("a thread op in a program that creates no threads");
  } else {
    nulls = replay_threaded(ops, count, table, threads);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = ns_between(&t0, &t1);

  const char *stats = capture_stats();
  /* malloc_info ends with the TOTAL part: its <system type="max"> is the last one */
  long long max_system = number_after(stats, "<system type=\"max\" size=", 1);
  long long max_mmap = number_after(stats, "max mmap bytes", 0);
  if (max_system < 0 || max_mmap < 0) die("cannot find max system / max mmap bytes");
  char line[320];
  int n = snprintf(line, sizeof line,
                   "{\"ns\":%lld,\"peakBytes\":%lld,\"hwmKiB\":%lld,\"nulls\":%u,\"handoffs\":%u,"
                   "\"handoffNs\":%lld,\"nprocs\":%d,\"cpu\":%d}\n",
                   ns, max_system + max_mmap, vm_hwm_kib(), nulls, R.handoffs, R.handoff_ns, get_nprocs(), cpu);
  if (n <= 0 || write(1, line, (size_t)n) != n) die("cannot write the result");
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 3) die("usage: replay-native PROGRAM_FILE ROUNDS");
  char *end;
  unsigned long rounds = strtoul(argv[2], &end, 10);
  if (*end != 0 || rounds == 0) die("ROUNDS must be a positive number");

  size_t bytes;
  const uint32_t *file = load(argv[1], &bytes);
  if (bytes < 16 || file[0] != MAGIC) die("not a program file (bad magic)");
  uint32_t count = file[1], ids = file[2], threads = file[3];
  if ((bytes - 16) / 16 < count) die("program file shorter than its op count");

  for (unsigned long r = 0; r < rounds; r++) {
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) round_child(file + 4, count, ids, threads);
    int status;
    if (waitpid(pid, &status, 0) != pid) die("waitpid failed");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      char msg[128];
      if (WIFSIGNALED(status))
        snprintf(msg, sizeof msg, "round %lu: the replay died of signal %d", r, WTERMSIG(status));
      else
        snprintf(msg, sizeof msg, "round %lu: the replay exited with status %d", r, WEXITSTATUS(status));
      die(msg);
    }
  }
  return 0;
}
