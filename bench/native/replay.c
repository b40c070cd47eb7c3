/* replay-native: the native glibc peer of the allocator benchmark. Replays an encoded op program
 * (bench/ops-program.ts) on this machine's real malloc and reports time and memory per round.
 *
 *   replay-native PROGRAM_FILE ROUNDS
 *
 * PROGRAM_FILE: a 16-byte header of u32 LE words (magic "OPS1" = 0x3153504f, op count, ID count,
 * 0), then 4 u32 LE words per op, as bench/ops-program.ts encodes them. Output: one JSON line per
 * round on stdout, {"ns":N,"peakBytes":N,"hwmKiB":N,"nulls":N}:
 *   ns         the replay loop alone (CLOCK_MONOTONIC)
 *   peakBytes  malloc_info's TOTAL <system type="max"> + malloc_stats' "max mmap bytes", the
 *              high-water marks glibc keeps itself (what the emulated glibc reports too)
 *   hwmKiB     VmHWM of the round's process
 *   nulls      allocations of a non-zero size that returned NULL (a sanity check: should be 0)
 *
 * Every round runs in a forked child: each replay starts on a cold, untouched heap, as the Wasm
 * peers start on a fresh instance. For that the parent never calls malloc: the program is read
 * into an anonymous mapping, output is formatted on the stack and written with write(2). The
 * child maps the ID table itself, prefaulted (MAP_POPULATE), so that neither copy-on-write of
 * the parent's pages nor first touches of the table are timed.
 *
 * Built with gcc -O2 (x86-64) and gcc -m32 -O2 (i386) by bench/peers/native.ts.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x3153504fu /* "OPS1" */
#define TOUCH 0x100u
#define NO_ID 0xffffffffu

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
   volatile pointer, so gcc keeps the touches (and with them the calls whose results they use). */
static __attribute__((noinline)) uint32_t replay(const uint32_t *w, uint32_t count, void **table) {
  uint32_t nulls = 0;
  for (const uint32_t *end = w + (size_t)count * 4; w < end; w += 4) {
    uint32_t kind = w[0] & 0xff, id = w[1];
    size_t size;
    void *p;
    switch (kind) {
      case 0: p = malloc(size = w[2]); break;
      case 1: p = calloc(1, size = w[2]); break;
      case 2: p = memalign(w[2], size = w[3]); break;
      case 3: p = realloc(w[2] == NO_ID ? NULL : table[w[2]], size = w[3]); break;
      default: free(table[id]); continue;
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
  return nulls;
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

static void round_child(const uint32_t *ops, uint32_t count, uint32_t ids) {
  void **table = map_anon((size_t)ids * sizeof(void *), MAP_POPULATE);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint32_t nulls = replay(ops, count, table);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);

  const char *stats = capture_stats();
  /* malloc_info ends with the TOTAL part: its <system type="max"> is the last one */
  long long max_system = number_after(stats, "<system type=\"max\" size=", 1);
  long long max_mmap = number_after(stats, "max mmap bytes", 0);
  if (max_system < 0 || max_mmap < 0) die("cannot find max system / max mmap bytes");
  char line[256];
  int n = snprintf(line, sizeof line, "{\"ns\":%lld,\"peakBytes\":%lld,\"hwmKiB\":%lld,\"nulls\":%u}\n", ns,
                   max_system + max_mmap, vm_hwm_kib(), nulls);
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
  uint32_t count = file[1], ids = file[2];
  if ((bytes - 16) / 16 < count) die("program file shorter than its op count");

  for (unsigned long r = 0; r < rounds; r++) {
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) round_child(file + 4, count, ids);
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
