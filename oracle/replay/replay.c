/* replay: runs an op list (ops v1, see host/trace/ops.ts) against the C library's malloc and
 * prints where every block landed, in the replay output format (see host/trace/replay.ts).
 *
 *   replay [-c N] [-a ALIGN] [-x] [OPS_FILE | -]     (stdin when no file or "-"; output on stdout)
 *
 *   -c N      a checkpoint line every N ops (default 10000; 0: none)
 *   -a ALIGN  before the first op, move the break up to a multiple of ALIGN (sbrk), and take
 *             offsets from there: blocks aligned to more than a page then land at offsets that
 *             do not depend on where ASLR put the break
 *   -x        differential output (the fuzzer's): one line per op, in place of the ID lines
 *             (see "The -x output" below); errno is cleared before every op; a SIGABRT or
 *             SIGSEGV ends the output with "# died SIGABRT" (glibc's message is on stderr)
 *
 * Built with `gcc -m32 -O2` it is the oracle for the 32-bit emulation: glibc 2.36 on i386.
 *
 * It calls no allocator function except the ops themselves (plus mallinfo2() at checkpoints,
 * malloc_stats() at the end, and what the extension ops ask for): the op list is mmapped (or read from stdin into an anonymous
 * mapping), the ID table is an anonymous mapping, and output goes through a static buffer and
 * write(2). So the heap it observes is exactly the heap the op list builds.
 *
 * Besides the five ops of ops v1 (m c a r f) it understands three extension ops, for scenario
 * op lists that need them (see oracle/scenarios/README.md):
 *   o PARAM VALUE     mallopt(PARAM, VALUE); PARAM is a name (M_MMAP_THRESHOLD, ...) or a number
 *   t PAD             malloc_trim(PAD)
 *   i                 malloc_info(0, stdout)
 * `o` and `t` print one comment line with the call's result; `i` prints "# malloc_info:" and the
 * XML, each line prefixed with "# ". And the calls of the op-list extension (the rest of the
 * malloc family, and system calls on regions of the program's own):
 *   R NEWID OLDID NMEMB SIZE   reallocarray          A ID ALIGN SIZE   aligned_alloc
 *   P ID ALIGN SIZE            posix_memalign        v ID SIZE / V ID SIZE   valloc / pvalloc
 *   u ID                       malloc_usable_size    s INCREMENT       sbrk (signed, an intptr_t)
 *   M RID LENGTH PROT FLAGS    mmap(NULL, ..., -1, 0): region RID (0, 1, 2, ... in order)
 *   U RID OFFSET LENGTH        munmap(region + OFFSET, LENGTH)
 *   X RID OFFSET LENGTH PROT   mprotect(...)         D RID OFFSET LENGTH ADVICE   madvise(...)
 *   Y RID OLDLEN NEWLEN FLAGS  mremap(region, ...): the region moves to the result
 * After a successful M or X that leaves pages writable, one byte of every third page (region page
 * index % 3 == 0) is written, as the fuzzer does: which pages are touched changes how VMAs merge.
 * The allocating ones print their ID line; the others print nothing (except with -x).
 *
 * The -x output: per op, one line starting with the op's letter:
 *   L ID H OFFSET CHUNK USABLE   a block in the brk heap (L: m c a r R A P v V)
 *   L ID M CHUNK USABLE          an mmapped block
 *   L ID N ERRNO                 NULL (for P: the error it returned)
 *   f | u USABLE | o RET | t RET | s OFFSET (the old break − the initial one) | s -1 ERRNO
 *   M ok | M -ERRNO | U RET | X RET | D RET | Y ok | Y -ERRNO     (RET: 0 or -errno)
 * Checkpoints and the end lines are as without -x. (malloc_info writes through a FILE: stdout is made
 * unbuffered before anything else, so that it never mallocs a buffer, and fd 1 is pointed at a
 * memfd while it writes.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out.h"

extern char **environ;

static void die(const char *msg) { out_die("replay", msg); }

/* ── input ─────────────────────────────────────────────────────────────────────────────── */

static const char *text;
static size_t text_len;

static void load_input(const char *path) {
  if (path && strcmp(path, "-") != 0) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("cannot open the op list");
    struct stat st;
    if (fstat(fd, &st) != 0) die("cannot stat the op list");
    text_len = (size_t)st.st_size;
    if (text_len == 0) {
      text = "";
    } else {
      void *p = mmap(NULL, text_len, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) die("cannot mmap the op list");
      text = p;
    }
    close(fd);
    return;
  }
  /* stdin: read into an anonymous mapping that grows with mremap */
  size_t cap = 1 << 20, len = 0;
  char *buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) die("out of memory reading stdin");
  for (;;) {
    if (len == cap) {
      char *nb = mremap(buf, cap, cap * 2, MREMAP_MAYMOVE);
      if (nb == MAP_FAILED) die("out of memory reading stdin");
      buf = nb;
      cap *= 2;
    }
    ssize_t n = read(0, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("cannot read stdin");
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  text = buf;
  text_len = len;
}

/* ── tokens ────────────────────────────────────────────────────────────────────────────── */

static size_t pos;      /* cursor in text */
static size_t line_no;  /* 1-based, for messages */

static void skip_blanks(void) {
  while (pos < text_len && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\r')) pos++;
}

static int at_eol(void) { return pos >= text_len || text[pos] == '\n'; }

static void skip_line(void) {
  while (pos < text_len && text[pos] != '\n') pos++;
  if (pos < text_len) pos++;
  line_no++;
}

/* A token's start and length (empty at end of line). */
static const char *token(size_t *len) {
  skip_blanks();
  size_t start = pos;
  while (pos < text_len && text[pos] != ' ' && text[pos] != '\t' && text[pos] != '\r' &&
         text[pos] != '\n')
    pos++;
  *len = pos - start;
  return text + start;
}

static int parse_u(const char *s, size_t n, unsigned long long *v) {
  if (n == 0 || n > 20) return 0;
  unsigned long long x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    unsigned d = (unsigned)(s[i] - '0');
    if (x > (ULLONG_MAX - d) / 10) return 0; /* past 64 bits */
    x = x * 10 + d;
  }
  *v = x;
  return 1;
}

static int parse_i(const char *s, size_t n, long long *v) {
  unsigned long long u;
  if (n > 0 && s[0] == '-') {
    if (!parse_u(s + 1, n - 1, &u)) return 0;
    *v = -(long long)u;
    return 1;
  }
  if (!parse_u(s, n, &u)) return 0;
  *v = (long long)u;
  return 1;
}

static unsigned long long need_u(void) {
  size_t n;
  const char *s = token(&n);
  unsigned long long v;
  if (!parse_u(s, n, &v)) die("bad number in the op list");
  return v;
}

static size_t need_size(void) {
  unsigned long long v = need_u();
  if (v > SIZE_MAX) die("size does not fit in size_t");
  return (size_t)v;
}

static const struct { const char *name; int value; } mallopt_names[] = {
    {"M_MXFAST", M_MXFAST},
    {"M_NLBLKS", M_NLBLKS},
    {"M_GRAIN", M_GRAIN},
    {"M_KEEP", M_KEEP},
    {"M_TRIM_THRESHOLD", M_TRIM_THRESHOLD},
    {"M_TOP_PAD", M_TOP_PAD},
    {"M_MMAP_THRESHOLD", M_MMAP_THRESHOLD},
    {"M_MMAP_MAX", M_MMAP_MAX},
    {"M_CHECK_ACTION", M_CHECK_ACTION},
    {"M_PERTURB", M_PERTURB},
    {"M_ARENA_TEST", M_ARENA_TEST},
    {"M_ARENA_MAX", M_ARENA_MAX},
};

/* ── state ─────────────────────────────────────────────────────────────────────────────── */

enum { UNBORN = 0, LIVE = 1, DEAD = 2 };

static void **ptrs;          /* ID -> pointer */
static unsigned char *state; /* ID -> UNBORN / LIVE / DEAD */
static size_t n_ids;
static size_t next_id;
static uintptr_t brk0;
static long max_brk_delta;

static void *anon(size_t bytes) {
  if (bytes == 0) bytes = 1;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("cannot map the ID table");
  return p;
}

static long brk_delta(void) { return (long)((uintptr_t)sbrk(0) - brk0); }

/* Reads the ID at the cursor; returns 1 if it names a live block. */
static int live_id(size_t *id) {
  unsigned long long v = need_u();
  if (v >= n_ids || state[v] != LIVE) return 0;
  *id = (size_t)v;
  return 1;
}

static unsigned long n_mmapped;
static int xmode;   /* -x */
static char cur_op; /* the op being run, for -x lines */

/* Records the result of an allocating op and prints its line; `err` is the errno to print for NULL. */
static void record_err(size_t id, void *p, int err) {
  if (id != next_id) die("IDs must be 0, 1, 2, ... in op order");
  next_id++;
  ptrs[id] = p;
  state[id] = LIVE;
  if (xmode) {
    out_char(cur_op);
    out_char(' ');
  }
  out_u(id);
  if (p == NULL) {
    out_str(" N");
    if (xmode) {
      out_char(' ');
      out_i(err);
    }
    out_char('\n');
    return;
  }
  size_t field = ((size_t *)p)[-1];
  size_t chunk = field & ~(size_t)7;
  if (field & 2) { /* IS_MMAPPED */
    n_mmapped++;
    out_str(" M ");
  } else {
    out_str(xmode ? " H " : " ");
    out_i((long long)((uintptr_t)p - brk0));
    out_char(' ');
  }
  out_u(chunk);
  if (xmode) {
    out_char(' ');
    out_u(malloc_usable_size(p));
  }
  out_char('\n');
}

static void record(size_t id, void *p) { record_err(id, p, errno); }

/* ── regions (M U X D Y) ───────────────────────────────────────────────────────────────── */

static uintptr_t *regions; /* RID -> address (0: the mmap failed) */
static size_t n_regions, next_rid;

static void *region_at(unsigned long long rid, unsigned long long offset) {
  if (rid >= next_rid) die("region used before its M line");
  return (char *)regions[rid] + offset;
}

/* The fuzzer's program writes one byte to every third page it may write (page index % 3 == 0) of
 * what it maps or makes writable, and so does the replayer: touched pages shape the VMAs. */
static void touch_pages(uintptr_t base, size_t first_page, size_t end_page) {
  for (size_t p = first_page; p < end_page; p++)
    if (p % 3 == 0) *(volatile char *)(base + p * 4096) = (char)(p % 255 + 1);
}

/* A -x line "L RET" for a system call's result (0, or -errno). */
static void x_ret(char op, int rc) {
  if (!xmode) return;
  out_char(op);
  out_char(' ');
  out_i(rc == 0 ? 0 : -errno);
  out_char('\n');
}

static const char *sig_name(int sig) { return sig == SIGABRT ? "SIGABRT" : sig == SIGSEGV ? "SIGSEGV" : "signal"; }

/* -x: the output so far survives glibc's abort (or a fault); then the signal ends the process. */
static void on_fatal(int sig) {
  out_str("# died ");
  out_str(sig_name(sig));
  out_char('\n');
  out_flush();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* malloc_info(0, stdout) with fd 1 on a memfd; its text is copied to the output, prefixed. */
static void out_malloc_info(void) {
  out_flush();
  int mfd = memfd_create("malloc_info", 0);
  if (mfd < 0) die("memfd_create");
  int saved = dup(1);
  if (saved < 0) die("dup");
  dup2(mfd, 1);
  malloc_info(0, stdout);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  off_t len = lseek(mfd, 0, SEEK_END);
  lseek(mfd, 0, SEEK_SET);
  out_str("# malloc_info:\n");
  static char buf[1 << 16];
  char carry = 0; /* 1 when the previous piece ended inside a line */
  for (off_t done = 0; done < len;) {
    ssize_t n = read(mfd, buf, sizeof buf);
    if (n <= 0) die("reading malloc_info text");
    for (ssize_t i = 0; i < n; i++) {
      if (!carry) out_str("# ");
      out_char(buf[i]);
      carry = buf[i] != '\n';
    }
    done += n;
  }
  if (carry) out_char('\n');
  close(mfd);
}

/* start_brk from /proc/self/stat (field 47), or 0 if it cannot be read. */
static uintptr_t proc_start_brk(void) {
  static char buf[4096];
  int fd = open("/proc/self/stat", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  /* the command name (field 2) may contain spaces: count fields after its closing ')' */
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  int field = 2;
  while (*p && field < 47) {
    if (*p == ' ') field++;
    p++;
  }
  unsigned long long v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + (unsigned)(*p++ - '0');
  return (uintptr_t)v;
}

static void out_malloc_env(void) {
  int any = 0;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "MALLOC_", 7) == 0 || strncmp(*e, "GLIBC_TUNABLES=", 15) == 0) {
      if (any) out_char(',');
      for (const char *c = *e; *c; c++) out_char(*c == ' ' ? '_' : *c);
      any = 1;
    }
  }
  if (!any) out_str("none");
}

int main(int argc, char **argv) {
  unsigned long every = 10000;
  unsigned long align_break = 0;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
      unsigned long long v;
      if (!parse_u(argv[i + 1], strlen(argv[i + 1]), &v)) die("bad -c value");
      every = (unsigned long)v;
      i++;
    } else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
      unsigned long long v;
      if (!parse_u(argv[i + 1], strlen(argv[i + 1]), &v) || v == 0 || (v & (v - 1)) != 0)
        die("bad -a value (a power of two)");
      align_break = (unsigned long)v;
      i++;
    } else if (strcmp(argv[i], "-x") == 0) {
      xmode = 1;
    } else if (!path) {
      path = argv[i];
    } else {
      die("usage: replay [-c N] [-a ALIGN] [-x] [OPS_FILE | -]");
    }
  }

  if (xmode) {
    signal(SIGABRT, on_fatal);
    signal(SIGSEGV, on_fatal);
  }
  /* before anything touches stdout: an unbuffered FILE never mallocs a buffer */
  setvbuf(stdout, NULL, _IONBF, 0);
  load_input(path);

  /* first pass: count the IDs, so that the table can be mapped once */
  for (size_t i = 0; i < text_len; i++) {
    if (i > 0 && text[i - 1] != '\n') continue;
    if (strchr("mcarRAPvV", text[i]) && text[i] != 0) n_ids++;
    if (text[i] == 'M') n_regions++;
  }
  ptrs = anon(n_ids * sizeof *ptrs);
  state = anon(n_ids);
  regions = anon(n_regions * sizeof *regions);

  brk0 = (uintptr_t)sbrk(0);
  uintptr_t start_brk = proc_start_brk();
  int untouched = start_brk == brk0;
  if (align_break) {
    uintptr_t aligned = (brk0 + align_break - 1) & ~(uintptr_t)(align_break - 1);
    if (aligned != brk0 && sbrk((intptr_t)(aligned - brk0)) == (void *)-1) die("cannot align the break");
    brk0 = (uintptr_t)sbrk(0);
  }

  out_str("# replay glibc=");
  out_str(gnu_get_libc_version());
  out_str(" sizeof_size_t=");
  out_u(sizeof(size_t));
  out_str(" brk0_page_offset=");
  out_u(brk0 & 4095);
  out_str(" brk_untouched_before_first_op=");
  out_str(untouched ? "yes" : "no");
  out_str(" ids=");
  out_u(n_ids);
  out_str(" malloc_env=");
  out_malloc_env();
  if (align_break) {
    out_str(" align_break=");
    out_u(align_break);
  }
  out_char('\n');

  unsigned long ops = 0, frees = 0, errors = 0;
  pos = 0;
  line_no = 1;
  while (pos < text_len) {
    char op = text[pos];
    if (op == '#' || op == '\n') {
      skip_line();
      continue;
    }
    pos++;
    if (!(pos >= text_len || text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n'))
      die("unknown op");
    size_t id, old;
    cur_op = op;
    errno = 0;
    switch (op) {
      case 'm': {
        id = (size_t)need_u();
        size_t size = need_size();
        record(id, malloc(size));
        break;
      }
      case 'c': {
        id = (size_t)need_u();
        size_t nmemb = need_size();
        size_t size = need_size();
        record(id, calloc(nmemb, size));
        break;
      }
      case 'a': {
        id = (size_t)need_u();
        size_t align = need_size();
        size_t size = need_size();
        record(id, memalign(align, size));
        break;
      }
      case 'r': {
        id = (size_t)need_u();
        size_t n;
        const char *s = token(&n);
        void *oldp = NULL;
        int ok = 1;
        if (!(n == 1 && s[0] == '-')) {
          unsigned long long v;
          if (!parse_u(s, n, &v)) die("bad number in the op list");
          if (v >= n_ids || state[v] != LIVE) {
            ok = 0;
          } else {
            old = (size_t)v;
            oldp = ptrs[old];
            state[old] = DEAD;
          }
        }
        size_t size = need_size();
        if (!ok) {
          errors++;
          if (id != next_id) die("IDs must be 0, 1, 2, ... in op order");
          next_id++;
          state[id] = DEAD;
          break;
        }
        record(id, realloc(oldp, size));
        break;
      }
      case 'R': {
        id = (size_t)need_u();
        size_t n;
        const char *s = token(&n);
        void *oldp = NULL;
        if (!(n == 1 && s[0] == '-')) {
          unsigned long long v;
          if (!parse_u(s, n, &v)) die("bad number in the op list");
          if (v >= n_ids || state[v] == UNBORN || state[v] == DEAD) die("R of a dead or unknown ID");
          oldp = ptrs[v];
          state[v] = DEAD;
        }
        size_t nmemb = need_size();
        size_t size = need_size();
        record(id, reallocarray(oldp, nmemb, size));
        break;
      }
      case 'A': {
        id = (size_t)need_u();
        size_t align = need_size();
        size_t size = need_size();
        record(id, aligned_alloc(align, size));
        break;
      }
      case 'P': {
        id = (size_t)need_u();
        size_t align = need_size();
        size_t size = need_size();
        void *p = NULL;
        int err = posix_memalign(&p, align, size);
        record_err(id, err ? NULL : p, err);
        break;
      }
      case 'v': {
        id = (size_t)need_u();
        size_t size = need_size();
        record(id, valloc(size));
        break;
      }
      case 'V': {
        id = (size_t)need_u();
        size_t size = need_size();
        record(id, pvalloc(size));
        break;
      }
      case 'u': {
        unsigned long long v = need_u();
        if (v >= n_ids || state[v] == UNBORN || state[v] == DEAD) die("u of a dead or unknown ID");
        size_t usable = malloc_usable_size(ptrs[v]);
        if (xmode) {
          out_str("u ");
          out_u(usable);
          out_char('\n');
        }
        break;
      }
      case 's': {
        size_t n;
        const char *s = token(&n);
        long long inc;
        /* an intptr_t: 32 bits on i386, 64 on x86-64 (the fuzzer's x86_64 lists ask for 2^46) */
        if (!parse_i(s, n, &inc) || inc < INTPTR_MIN || inc > INTPTR_MAX) die("bad sbrk increment");
        void *r = sbrk((intptr_t)inc);
        if (xmode) {
          out_str("s ");
          if (r == (void *)-1) {
            out_str("-1 ");
            out_i(errno);
          } else {
            out_i((long long)((uintptr_t)r - brk0));
          }
          out_char('\n');
        }
        break;
      }
      case 'M': {
        unsigned long long rid = need_u();
        if (rid != next_rid) die("region IDs must be 0, 1, 2, ... in op order");
        size_t length = need_size();
        int prot = (int)need_u();
        int flags = (int)need_u();
        void *r = mmap(NULL, length, prot, flags, -1, 0);
        regions[next_rid++] = r == MAP_FAILED ? 0 : (uintptr_t)r;
        if (r != MAP_FAILED && (prot & PROT_WRITE)) touch_pages((uintptr_t)r, 0, (length + 4095) / 4096);
        if (xmode) {
          if (r == MAP_FAILED) {
            out_str("M -");
            out_i(errno);
            out_char('\n');
          } else {
            out_str("M ok\n");
          }
        }
        break;
      }
      case 'U': {
        unsigned long long rid = need_u(), off = need_u();
        size_t length = need_size();
        x_ret('U', munmap(region_at(rid, off), length));
        break;
      }
      case 'X': {
        unsigned long long rid = need_u(), off = need_u();
        size_t length = need_size();
        int prot = (int)need_u();
        int rc = mprotect(region_at(rid, off), length, prot);
        x_ret('X', rc);
        if (rc == 0 && (prot & PROT_WRITE)) touch_pages(regions[rid], off / 4096, (off + length + 4095) / 4096);
        break;
      }
      case 'D': {
        unsigned long long rid = need_u(), off = need_u();
        size_t length = need_size();
        int advice = (int)need_u();
        x_ret('D', madvise(region_at(rid, off), length, advice));
        break;
      }
      case 'Y': {
        unsigned long long rid = need_u();
        size_t old_len = need_size(), new_len = need_size();
        int flags = (int)need_u();
        void *r = mremap(region_at(rid, 0), old_len, new_len, flags);
        if (r != MAP_FAILED) regions[rid] = (uintptr_t)r;
        if (xmode) {
          if (r == MAP_FAILED) {
            out_str("Y -");
            out_i(errno);
            out_char('\n');
          } else {
            out_str("Y ok\n");
          }
        }
        break;
      }
      case 'f':
        frees++;
        if (xmode) out_str("f\n");
        if (!live_id(&id)) {
          errors++;
          break;
        }
        free(ptrs[id]);
        state[id] = DEAD;
        break;
      case 'o': {
        size_t n;
        const char *s = token(&n);
        long long param;
        int found = 0;
        if (parse_i(s, n, &param)) {
          found = 1;
        } else {
          for (size_t k = 0; k < sizeof mallopt_names / sizeof mallopt_names[0]; k++) {
            if (strlen(mallopt_names[k].name) == n && memcmp(mallopt_names[k].name, s, n) == 0) {
              param = mallopt_names[k].value;
              found = 1;
            }
          }
        }
        if (!found) die("unknown mallopt parameter");
        size_t vn;
        const char *vs = token(&vn);
        long long value;
        if (!parse_i(vs, vn, &value)) die("bad mallopt value");
        int ret = mallopt((int)param, (int)value);
        if (xmode) {
          out_str("o ");
          out_i(ret);
          out_char('\n');
          break;
        }
        out_str("# mallopt ");
        out_bytes(s, n);
        out_char(' ');
        out_i(value);
        out_str(" => ");
        out_i(ret);
        out_char('\n');
        break;
      }
      case 't': {
        size_t pad = need_size();
        int ret = malloc_trim(pad);
        if (xmode) {
          out_str("t ");
          out_i(ret);
          out_char('\n');
          break;
        }
        out_str("# malloc_trim ");
        out_u(pad);
        out_str(" => ");
        out_i(ret);
        out_char('\n');
        break;
      }
      case 'i':
        out_malloc_info();
        break;
      default:
        die("unknown op");
    }
    skip_blanks();
    if (!at_eol()) die("trailing text after an op");
    skip_line();
    ops++;
    long d = brk_delta();
    if (d > max_brk_delta) max_brk_delta = d;
    if (every && ops % every == 0) {
      out_str("# op=");
      out_u(ops);
      out_str(" brk=");
      out_i(d);
      out_char(' ');
      out_mallinfo2();
      out_char('\n');
    }
  }

  out_str("# end ops=");
  out_u(ops);
  out_str(" allocs=");
  out_u(next_id);
  out_str(" frees=");
  out_u(frees);
  out_str(" mmapped_allocs=");
  out_u(n_mmapped);
  out_str(" errors=");
  out_u(errors);
  out_str("\n# brk_delta=");
  out_i(brk_delta());
  out_str(" max_brk_delta=");
  out_i(max_brk_delta);
  out_str("\n# mallinfo2 ");
  out_mallinfo2();
  out_str("\n# malloc_stats:\n");
  static char stats[8192];
  size_t len = capture_malloc_stats(stats, sizeof stats);
  out_prefixed_lines("# ", stats, len);
  out_flush();
  return 0;
}
