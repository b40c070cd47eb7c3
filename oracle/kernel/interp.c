/*
 * Kernel oracle: runs the scenarios of oracle/kernel/scenarios/ on the real Linux kernel
 * of this machine, as a 32-bit process (build with gcc -m32 -O2) or, built without -m32, as an
 * x86-64 one, and prints one result line per
 * command. test/kernel-oracle.test.ts runs the same scenarios on the emulated kernel and compares
 * the two outputs line by line. The scenario language is described in oracle/kernel/README.md.
 *
 * Every scenario runs in a fresh child (fork). The child prints addresses relative to named
 * bases (the initial break BRK0 and the mappings the scenario named), so outputs do not depend
 * on ASLR, and it looks only at what the scenario itself created: maps lines that intersect the
 * scenario's own ranges, status deltas since the scenario started.
 *
 * The child never calls malloc (no stdio): the process's break stays at its start (start_brk),
 * as a fresh emulated process's, and memory use is only what the scenario causes. Holes that the
 * dynamic loader left between the libraries at the top of the mmap area are filled with
 * PROT_NONE mappings before the scenario starts, so that the scenario's first mapping lands
 * below everything, as it does in a fresh emulated process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE ((word)4096)
#define CEILING_PAGES 16
#define LOW_ADDRESSES ((word)0x100000)
#define FAR_DISTANCE 0x10000000ull /* beyond 256 MiB from every base, an address prints as "far" */

/* An address or a value of the scenario language: 32 bits in the i386 build, 64 in the x86-64 one. */
typedef uintptr_t word;

/* i386 maps through mmap2 (the offset in pages), x86-64 through mmap (the offset in bytes). */
#ifdef SYS_mmap2
#define SYS_MMAP SYS_mmap2
#define MMAP_OFFSET_UNIT PAGE
#else
#define SYS_MMAP SYS_mmap
#define MMAP_OFFSET_UNIT 1
#endif
/* Where the libraries start (fill_library_holes): above 2 GiB on i386; on x86-64 above the PIE
   program and its heap (0x55.. and 0x56..), with the mmap area near the top of 47 bits (0x7f..). */
#if UINTPTR_MAX > 0xffffffffu
#define LIBRARIES_ABOVE 0x700000000000ul
#else
#define LIBRARIES_ABOVE 0x80000000ul
#endif

/* ── output ─────────────────────────────────────────────────────────────────────────────── */

static char outbuf[1 << 16]; /* > one command line + one result */
static void out(const char *s) { (void)!write(1, s, strlen(s)); }

/* ── names ──────────────────────────────────────────────────────────────────────────────── */

#define MAX_NAMES 128
static struct { char name[32]; word value; int base; } names[MAX_NAMES];
static int nnames;

static void bind(const char *name, word value, int base) {
  for (int i = 0; i < nnames; i++)
    if (!strcmp(names[i].name, name)) {
      /* a rebound base moves to the end of the list, so ties go to the older names */
      for (int j = i; j + 1 < nnames; j++) names[j] = names[j + 1];
      nnames--;
      break;
    }
  if (nnames == MAX_NAMES) return;
  snprintf(names[nnames].name, sizeof names[nnames].name, "%s", name);
  names[nnames].value = value;
  names[nnames].base = base;
  nnames++;
}

static int lookup(const char *name, word *value) {
  for (int i = 0; i < nnames; i++)
    if (!strcmp(names[i].name, name)) { *value = names[i].value; return 1; }
  return 0;
}

static const struct { const char *name; word value; } symbols[] = {
  {"PROT_NONE", 0}, {"PROT_READ", 1}, {"PROT_WRITE", 2}, {"PROT_EXEC", 4}, {"PROT_SEM", 8},
  {"PROT_GROWSDOWN", 0x01000000}, {"PROT_GROWSUP", 0x02000000},
  {"NONE", 0}, {"R", 1}, {"W", 2}, {"X", 4}, {"RW", 3}, {"RX", 5}, {"WX", 6}, {"RWX", 7},
  {"MAP_SHARED", 1}, {"MAP_PRIVATE", 2}, {"MAP_SHARED_VALIDATE", 3}, {"MAP_FIXED", 0x10},
  {"MAP_ANONYMOUS", 0x20}, {"MAP_ANON", 0x20}, {"MAP_32BIT", 0x40}, {"MAP_GROWSDOWN", 0x100},
  {"MAP_DENYWRITE", 0x800}, {"MAP_EXECUTABLE", 0x1000}, {"MAP_LOCKED", 0x2000},
  {"MAP_NORESERVE", 0x4000}, {"MAP_POPULATE", 0x8000}, {"MAP_NONBLOCK", 0x10000},
  {"MAP_STACK", 0x20000}, {"MAP_HUGETLB", 0x40000}, {"MAP_SYNC", 0x80000},
  {"MAP_FIXED_NOREPLACE", 0x100000}, {"MAP_UNINITIALIZED", 0x4000000},
  {"SHARED", 1}, {"PRIVATE", 2}, {"SHARED_VALIDATE", 3}, {"FIXED", 0x10}, {"ANON", 0x20},
  {"GROWSDOWN", 0x100}, {"LOCKED", 0x2000}, {"NORESERVE", 0x4000}, {"POPULATE", 0x8000},
  {"STACK", 0x20000}, {"HUGETLB", 0x40000}, {"NOREPLACE", 0x100000},
  {"MREMAP_MAYMOVE", 1}, {"MREMAP_FIXED", 2}, {"MREMAP_DONTUNMAP", 4},
  {"MAYMOVE", 1}, {"DONTUNMAP", 4},
  {"MADV_NORMAL", 0}, {"MADV_RANDOM", 1}, {"MADV_SEQUENTIAL", 2}, {"MADV_WILLNEED", 3},
  {"MADV_DONTNEED", 4}, {"MADV_FREE", 8}, {"MADV_REMOVE", 9}, {"MADV_DONTFORK", 10},
  {"MADV_DOFORK", 11}, {"MADV_MERGEABLE", 12}, {"MADV_UNMERGEABLE", 13},
  {"MADV_HUGEPAGE", 14}, {"MADV_NOHUGEPAGE", 15}, {"MADV_DONTDUMP", 16}, {"MADV_DODUMP", 17},
  {"MADV_WIPEONFORK", 18}, {"MADV_KEEPONFORK", 19}, {"MADV_COLD", 20}, {"MADV_PAGEOUT", 21},
  {"MADV_POPULATE_READ", 22}, {"MADV_POPULATE_WRITE", 23}, {"MADV_DONTNEED_LOCKED", 24},
  {"MCL_CURRENT", 1}, {"MCL_FUTURE", 2}, {"MCL_ONFAULT", 4}, {"MLOCK_ONFAULT", 1},
  {"RLIMIT_DATA", 2}, {"RLIMIT_STACK", 3}, {"RLIMIT_MEMLOCK", 8}, {"RLIMIT_AS", 9},
  {"DATA", 2}, {"STACK_LIMIT", 3}, {"MEMLOCK", 8}, {"AS", 9},
  {NULL, 0}};

static int symbol(const char *name, word *value) {
  for (int i = 0; symbols[i].name; i++)
    if (!strcmp(symbols[i].name, name)) { *value = symbols[i].value; return 1; }
  return lookup(name, value);
}

/* ── expressions: atoms joined by + - |, evaluated left to right in word arithmetic ─────────── */

static char parse_error[128];

static int atom(const char **sp, word *value) {
  const char *s = *sp;
  char lexeme[64];
  int n = 0;
  while ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
         *s == '_') {
    if (n < 63) lexeme[n++] = *s;
    s++;
  }
  lexeme[n] = 0;
  *sp = s;
  if (n == 0) { snprintf(parse_error, sizeof parse_error, "bad expression"); return 0; }
  if (lexeme[0] >= '0' && lexeme[0] <= '9') {
    char *end;
    unsigned long long v = strtoull(lexeme, &end, 0);
    if (*end && !end[1] && !(lexeme[1] == 'x' || lexeme[1] == 'X')) {
      switch (*end) {
        case 'p': v *= PAGE; break;
        case 'k': v <<= 10; break;
        case 'm': v <<= 20; break;
        case 'g': v <<= 30; break;
        default: snprintf(parse_error, sizeof parse_error, "bad number %s", lexeme); return 0;
      }
    } else if (*end) {
      snprintf(parse_error, sizeof parse_error, "bad number %s", lexeme);
      return 0;
    }
    *value = (word)v;
    return 1;
  }
  if (!symbol(lexeme, value)) {
    snprintf(parse_error, sizeof parse_error, "unknown name %s", lexeme);
    return 0;
  }
  return 1;
}

static int eval(const char *s, word *value) {
  word acc = 0, v;
  char op = '+';
  if (*s == '-' || *s == '+') op = *s++;
  for (;;) {
    if (!atom(&s, &v)) return 0;
    acc = op == '+' ? acc + v : op == '-' ? acc - v : acc | v;
    if (!*s) break;
    if (*s != '+' && *s != '-' && *s != '|') {
      snprintf(parse_error, sizeof parse_error, "bad operator %c", *s);
      return 0;
    }
    op = *s++;
  }
  *value = acc;
  return 1;
}

/* ── printing ───────────────────────────────────────────────────────────────────────────── */

static const char *errno_name(int e) {
  static char buf[16];
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTSUP: return "EOPNOTSUPP";
  }
  snprintf(buf, sizeof buf, "E%d", e);
  return buf;
}

static void rel_to(word v, word base, const char *name, char *buf, size_t size) {
  long long d = (long long)v - (long long)base;
  unsigned long long ad = d < 0 ? -d : d;
  if (d == 0) snprintf(buf, size, "%s", name);
  else if (ad % PAGE == 0) snprintf(buf, size, "%s%c%llup", name, d < 0 ? '-' : '+', ad / PAGE);
  else snprintf(buf, size, "%s%c0x%llx", name, d < 0 ? '-' : '+', ad);
}

/* An address as NAME, NAME+3p, NAME-2p or NAME+0x10, relative to the nearest base. */
static char *rel(word v, char *buf, size_t size) {
  int best = -1;
  unsigned long long bestd = ~0ull;
  for (int i = 0; i < nnames; i++) {
    if (!names[i].base) continue;
    long long d = (long long)v - (long long)names[i].value;
    unsigned long long ad = d < 0 ? -d : d;
    if (ad < bestd) { bestd = ad; best = i; }
  }
  if (best < 0 || bestd > FAR_DISTANCE) {
    /* low addresses come only from hints and MAP_FIXED: absolute is meaningful there */
    if (v < LOW_ADDRESSES) snprintf(buf, size, "0x%llx", (unsigned long long)v);
    else snprintf(buf, size, "far");
    return buf;
  }
  rel_to(v, names[best].value, names[best].name, buf, size);
  return buf;
}

/* ── the scenario's own ranges (maps lines are shown only where they meet one) ───────────── */

#define MAX_RANGES 4096
static struct { word start, end; } ranges[MAX_RANGES];
static int nranges;
static word brk0, brk_cur, brk_max;

static void track(word start, word len) {
  word end = start + ((len + PAGE - 1) & ~(PAGE - 1));
  if (nranges < MAX_RANGES && end > start) { ranges[nranges].start = start; ranges[nranges].end = end; nranges++; }
}

static int tracked(word start, word end) {
  if (brk_max > brk0 && start < brk_max && end > (brk0 & ~(PAGE - 1))) return 1;
  for (int i = 0; i < nranges; i++)
    if (start < ranges[i].end && end > ranges[i].start) return 1;
  return 0;
}

/* ── procfs ─────────────────────────────────────────────────────────────────────────────── */

static char procbuf[1 << 20];

static int read_file(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  int n = 0, r;
  while ((r = read(fd, procbuf + n, sizeof procbuf - 1 - n)) > 0) n += r;
  close(fd);
  procbuf[n] = 0;
  return n;
}

static long status_field(const char *key) {
  const char *p = procbuf;
  size_t k = strlen(key);
  while (*p) {
    if (!strncmp(p, key, k) && p[k] == ':') return strtol(p + k + 1, NULL, 10);
    p = strchr(p, '\n');
    if (!p) break;
    p++;
  }
  return 0;
}

struct status { long size, lck, rss, data; };

static void get_status(struct status *st) {
  read_file("/proc/self/status");
  st->size = status_field("VmSize");
  st->lck = status_field("VmLck");
  /* The real process's VmRSS also counts file pages of its own code (faulted in again after
     fork, as the interpreter runs new paths); the emulated process has anonymous memory only. */
  st->rss = status_field("RssAnon") + status_field("RssShmem");
  st->data = status_field("VmData");
}

static struct status status0;

/* ── faults on checked accesses ─────────────────────────────────────────────────────────── */

static sigjmp_buf fault_jmp;
static volatile int fault_sig, fault_code;
static volatile word fault_addr;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  fault_sig = sig;
  fault_code = si->si_code;
  fault_addr = (word)(uintptr_t)si->si_addr;
  siglongjmp(fault_jmp, 1);
}

static void fault_text(char *res, size_t size) {
  char a[64];
  snprintf(res, size, "%s %s %s", fault_sig == SIGSEGV ? "SIGSEGV" : "SIGBUS",
           fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?",
           rel(fault_addr, a, sizeof a));
}

/* ── syscalls (raw: the libc wrappers are thin, except brk and mmap's offset) ───────────── */

static long sys_ret(long r) { return r == -1 ? -errno : r; }

static long do_mmap(word addr, word len, word prot, word flags, word fd, word off) {
  if (off & (PAGE - 1)) return -EINVAL; /* as the i386 mmap entry (old_mmap) and x86-64's mmap check */
  long r = syscall(SYS_MMAP, addr, len, prot, flags, fd, off / MMAP_OFFSET_UNIT);
  if (r == -1) return -errno;
  return r;
}

static unsigned char mincore_vec[1 << 20];
static unsigned char page_mirror[1 << 20];

/* ── one command ────────────────────────────────────────────────────────────────────────── */

#define MAX_TOK 12

static int need(int ntok, int min, int max, char *res, size_t size) {
  if (ntok < min || ntok > max) { snprintf(res, size, "!! wrong argument count"); return 0; }
  return 1;
}

static int ev(const char *tok, word *v, char *res, size_t size) {
  if (!eval(tok, v)) { snprintf(res, size, "!! %s", parse_error); return 0; }
  return 1;
}

static void print_int_result(long r, char *res, size_t size) {
  if (r < 0 && r >= -4095) snprintf(res, size, "%s", errno_name((int)-r));
  else snprintf(res, size, "%ld", r);
}

static void print_addr_result(long r, word want, const char *want_name, char *res, size_t size) {
  if ((unsigned long)r >= (unsigned long)-4095) { snprintf(res, size, "%s", errno_name((int)-r)); return; }
  if (want && (word)r == want) { snprintf(res, size, "=%s", want_name); return; }
  rel((word)r, res, size);
}

static void rle_bytes(const unsigned char *p, unsigned n, char *res, size_t size, int digits) {
  size_t k = 0;
  res[0] = 0;
  for (unsigned i = 0; i < n && k + 32 < size;) {
    unsigned j = i;
    while (j < n && p[j] == p[i]) j++;
    k += snprintf(res + k, size - k, digits ? "%s%u*%u" : "%s%02x*%u", k ? " " : "", p[i], j - i);
    i = j;
  }
}

static void run_command(char **tok, int ntok, char *res, size_t size) {
  const char *cmd = tok[0];
  word a[8] = {0};
  char t1[64], t2[64];
  res[0] = 0;

  if (!strcmp(cmd, "mmap")) {
    if (!need(ntok, 6, 8, res, size)) return;
    a[5] = (word)-1;
    for (int i = 2; i < ntok; i++) if (!ev(tok[i], &a[i - 2], res, size)) return;
    if (ntok < 7) a[4] = (word)-1;
    long r = do_mmap(a[0], a[1], a[2], a[3], a[4], ntok > 7 ? a[5] : 0);
    print_addr_result(r, a[0], "addr", res, size);
    if ((unsigned long)r < (unsigned long)-4095) {
      track((word)r, a[1]);
      if (strcmp(tok[1], "-")) bind(tok[1], (word)r, 1);
    }
  } else if (!strcmp(cmd, "mremap")) {
    if (!need(ntok, 6, 7, res, size)) return;
    for (int i = 2; i < ntok; i++) if (!ev(tok[i], &a[i - 2], res, size)) return;
    long r = syscall(SYS_mremap, a[0], a[1], a[2], a[3], a[4]);
    if (r == -1) r = -errno;
    print_addr_result(r, (a[3] & MREMAP_FIXED) ? a[4] : 0, "new", res, size);
    if ((unsigned long)r < (unsigned long)-4095) {
      track((word)r, a[2]);
      if (strcmp(tok[1], "-")) bind(tok[1], (word)r, 1);
    }
  } else if (!strcmp(cmd, "brk")) {
    if (!need(ntok, 2, 2, res, size)) return;
    if (!ev(tok[1], &a[0], res, size)) return;
    if (tok[1][0] == '+' || tok[1][0] == '-') a[0] += brk_cur;
    long r = syscall(SYS_brk, a[0]);
    brk_cur = (word)r;
    if (brk_cur > brk_max) brk_max = brk_cur;
    rel_to(brk_cur, brk0, "BRK0", res, size);
  } else if (!strcmp(cmd, "let")) {
    if (!need(ntok, 3, 3, res, size)) return;
    if (!ev(tok[2], &a[0], res, size)) return;
    bind(tok[1], a[0], 0);
    snprintf(res, size, "ok");
  } else if (!strcmp(cmd, "munmap") || !strcmp(cmd, "mlock") || !strcmp(cmd, "munlock")) {
    if (!need(ntok, 3, 3, res, size)) return;
    for (int i = 1; i < ntok; i++) if (!ev(tok[i], &a[i - 1], res, size)) return;
    long nr = !strcmp(cmd, "munmap") ? SYS_munmap : !strcmp(cmd, "mlock") ? SYS_mlock : SYS_munlock;
    print_int_result(sys_ret(syscall(nr, a[0], a[1])), res, size);
  } else if (!strcmp(cmd, "mprotect") || !strcmp(cmd, "madvise") || !strcmp(cmd, "mlock2")) {
    if (!need(ntok, 4, 4, res, size)) return;
    for (int i = 1; i < ntok; i++) if (!ev(tok[i], &a[i - 1], res, size)) return;
    long nr = !strcmp(cmd, "mprotect") ? SYS_mprotect : !strcmp(cmd, "madvise") ? SYS_madvise : SYS_mlock2;
    print_int_result(sys_ret(syscall(nr, a[0], a[1], a[2])), res, size);
  } else if (!strcmp(cmd, "mlockall")) {
    if (!need(ntok, 2, 2, res, size)) return;
    if (!ev(tok[1], &a[0], res, size)) return;
    print_int_result(sys_ret(syscall(SYS_mlockall, a[0])), res, size);
  } else if (!strcmp(cmd, "munlockall")) {
    if (!need(ntok, 1, 1, res, size)) return;
    print_int_result(sys_ret(syscall(SYS_munlockall)), res, size);
  } else if (!strcmp(cmd, "mincore")) {
    if (!need(ntok, 3, 3, res, size)) return;
    for (int i = 1; i < ntok; i++) if (!ev(tok[i], &a[i - 1], res, size)) return;
    unsigned long long pages = ((unsigned long long)a[1] + PAGE - 1) / PAGE;
    if (pages > sizeof mincore_vec) { snprintf(res, size, "!! mincore range too long"); return; }
    memset(mincore_vec, 0, pages);
    long r = sys_ret(syscall(SYS_mincore, a[0], a[1], mincore_vec));
    if (r < 0) { print_int_result(r, res, size); return; }
    if (pages <= 64) {
      for (unsigned i = 0; i < pages; i++) res[i] = (char)('0' + mincore_vec[i]);
      res[pages] = 0;
    } else {
      rle_bytes(mincore_vec, (unsigned)pages, res, size, 1);
    }
  } else if (!strcmp(cmd, "setrlimit")) {
    if (!need(ntok, 4, 4, res, size)) return;
    if (!ev(tok[1], &a[0], res, size)) return;
    struct rlimit64 rl;
    word v;
    if (!strcmp(tok[2], "INF")) rl.rlim_cur = RLIM64_INFINITY;
    else { if (!ev(tok[2], &v, res, size)) return; rl.rlim_cur = v; }
    if (!strcmp(tok[3], "INF")) rl.rlim_max = RLIM64_INFINITY;
    else { if (!ev(tok[3], &v, res, size)) return; rl.rlim_max = v; }
    print_int_result(setrlimit64((int)a[0], &rl) ? -errno : 0, res, size);
  } else if (!strcmp(cmd, "getrlimit")) {
    if (!need(ntok, 2, 2, res, size)) return;
    if (!ev(tok[1], &a[0], res, size)) return;
    struct rlimit64 rl;
    if (getrlimit64((int)a[0], &rl)) { print_int_result(-errno, res, size); return; }
    if (rl.rlim_cur == RLIM64_INFINITY) snprintf(t1, sizeof t1, "INF");
    else snprintf(t1, sizeof t1, "%llu", (unsigned long long)rl.rlim_cur);
    if (rl.rlim_max == RLIM64_INFINITY) snprintf(t2, sizeof t2, "INF");
    else snprintf(t2, sizeof t2, "%llu", (unsigned long long)rl.rlim_max);
    snprintf(res, size, "%s %s", t1, t2);
  } else if (!strcmp(cmd, "touch") || !strcmp(cmd, "rtouch") || !strcmp(cmd, "fill") ||
             !strcmp(cmd, "peek")) {
    int is_fill = !strcmp(cmd, "fill");
    if (!need(ntok, is_fill ? 4 : 3, is_fill ? 4 : 3, res, size)) return;
    for (int i = 1; i < ntok; i++) if (!ev(tok[i], &a[i - 1], res, size)) return;
    if (!strcmp(cmd, "peek") && a[1] > sizeof page_mirror) { snprintf(res, size, "!! peek too long"); return; }
    if (sigsetjmp(fault_jmp, 1)) { fault_text(res, size); return; }
    volatile unsigned char *p = (volatile unsigned char *)(uintptr_t)a[0];
    if (!strcmp(cmd, "touch")) {
      for (word off = 0; off < a[1]; off += PAGE) p[off] = 0x5a;
    } else if (!strcmp(cmd, "rtouch")) {
      unsigned sum = 0;
      for (word off = 0; off < a[1]; off += PAGE) sum += p[off];
      (void)sum;
    } else if (is_fill) {
      for (word off = 0; off < a[1]; off++) p[off] = (unsigned char)a[2];
    } else {
      for (word off = 0; off < a[1]; off++) page_mirror[off] = p[off];
      rle_bytes(page_mirror, (unsigned)a[1], res, size, 0);
      return;
    }
    snprintf(res, size, "ok");
  } else if (!strcmp(cmd, "status")) {
    if (!need(ntok, 1, 1, res, size)) return;
    struct status st;
    get_status(&st);
    snprintf(res, size, "VmSize%+ld VmLck%+ld VmRSS%+ld VmData%+ld", st.size - status0.size,
             st.lck - status0.lck, st.rss - status0.rss, st.data - status0.data);
  } else {
    snprintf(res, size, "!! unknown command %s", cmd);
  }
}

/* maps: one line per VMA that meets the scenario's ranges: start (relative), size, perms, name */
static void print_maps(void) {
  read_file("/proc/self/maps");
  char *p = procbuf;
  out("maps =>\n");
  while (*p) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    unsigned long start, end;
    char perms[8] = "", name[256] = "";
    unsigned long off, inode;
    char dev[16];
    int n = sscanf(p, "%lx-%lx %7s %lx %15s %lu %255s", &start, &end, perms, &off, dev, &inode, name);
    if (n >= 6 && tracked((word)start, (word)end)) {
      char a[64];
      snprintf(outbuf, sizeof outbuf, "  %s %lup %s%s%s\n", rel((word)start, a, sizeof a),
               (end - start) / PAGE, perms, name[0] ? " " : "", name);
      out(outbuf);
    }
    if (!nl) break;
    p = nl + 1;
  }
}

/* ── the child: one scenario ────────────────────────────────────────────────────────────── */

static void fill_library_holes(void) {
  /* Holes between the mappings at the top of the mmap area (libraries, vdso): fill them, so the
     scenario's first mapping goes below all of them, as in an emulated process where nothing
     sits there. Only holes smaller than 64 MiB, above the heap. */
  static word starts[512], ends[512];
  int n = 0;
  read_file("/proc/self/maps");
  char *p = procbuf;
  while (*p && n < 512) {
    unsigned long s, e;
    char name[256] = "";
    char perms[8];
    unsigned long off, inode;
    char dev[16];
    int k = sscanf(p, "%lx-%lx %7s %lx %15s %lu %255s", &s, &e, perms, &off, dev, &inode, name);
    if (k >= 6 && strcmp(name, "[stack]") && s >= LIBRARIES_ABOVE) { starts[n] = (word)s; ends[n] = (word)e; n++; }
    p = strchr(p, '\n');
    if (!p) break;
    p++;
  }
  for (int i = 0; i + 1 < n; i++) {
    word gap = starts[i + 1] - ends[i];
    if (gap > 0 && gap < (word)64 << 20)
      syscall(SYS_MMAP, ends[i], gap, PROT_NONE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
  }
}

static void __attribute__((noinline)) touch_stack(void) {
  volatile char pad[256 << 10];
  for (unsigned i = 0; i < sizeof pad; i += PAGE) pad[i] = 1;
}

static char res[1 << 15];

static void run_scenario(char *text, int privileged) {
  /* pre-touch everything the interpreter itself writes, so status deltas are the scenario's */
  memset(procbuf, 1, sizeof procbuf);
  memset(outbuf, 1, sizeof outbuf);
  memset(res, 1, sizeof res);
  memset(mincore_vec, 1, sizeof mincore_vec);
  memset(page_mirror, 1, sizeof page_mirror);
  touch_stack();

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  static char altstack[64 << 10];
  memset(altstack, 1, sizeof altstack);
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  sa.sa_flags |= SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  /* The emulator's "privileged" is CAP_IPC_LOCK and nothing else: run as nobody, with that
     one capability or none, whatever the oracle itself was started with. */
  prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (setgroups(0, NULL) || setgid(65534) || setuid(65534)) out("!! cannot drop privileges\n");
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct caps[2];
  memset(caps, 0, sizeof caps);
  if (privileged) caps[0].effective = caps[0].permitted = 1u << CAP_IPC_LOCK;
  if (syscall(SYS_capset, &hdr, caps)) out("!! cannot set capabilities\n");
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  fill_library_holes();
  /* A PROT_NONE ceiling above the scenario's mappings (also made by the TypeScript side), so
     that what lies just above the first mapping is the same in both processes. */
  syscall(SYS_MMAP, 0, CEILING_PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

  brk0 = brk_cur = brk_max = (word)syscall(SYS_brk, 0);
  bind("BRK0", brk0, 1);
  get_status(&status0);
  bind("VMSIZE0", (word)status0.size * 1024, 0);
  bind("VMDATA0", (word)status0.data * 1024, 0);

  char *line = text;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *tok[MAX_TOK];
    int ntok = 0;
    for (char *t = strtok(line, " \t\r"); t && ntok < MAX_TOK; t = strtok(NULL, " \t\r")) tok[ntok++] = t;
    if (ntok && strcmp(tok[0], "privileged")) {
      char cmdline[256];
      size_t k = 0;
      for (int i = 0; i < ntok; i++) k += snprintf(cmdline + k, sizeof cmdline - k, "%s%s", i ? " " : "", tok[i]);
      if (!strcmp(tok[0], "maps")) {
        print_maps();
      } else {
        run_command(tok, ntok, res, sizeof res);
        snprintf(outbuf, sizeof outbuf, "%s => %s\n", cmdline, res);
        out(outbuf);
      }
    }
    line = nl ? nl + 1 : NULL;
  }
}

/* ── the parent: split files into scenarios, fork one child each ────────────────────────── */

static char filebuf[1 << 20];

int main(int argc, char **argv) {
  for (int f = 1; f < argc; f++) {
    int fd = open(argv[f], O_RDONLY);
    if (fd < 0) { out("!! cannot open scenario file\n"); return 2; }
    int n = 0, r;
    while ((r = read(fd, filebuf + n, sizeof filebuf - 1 - n)) > 0) n += r;
    close(fd);
    filebuf[n] = 0;
    /* scenarios start at lines "scenario NAME" */
    char *p = filebuf;
    while (p && *p) {
      char *start = strncmp(p, "scenario ", 9) ? strstr(p, "\nscenario ") : p;
      if (start && start != p) start++;
      if (!start) break;
      char *body = strchr(start, '\n');
      char *next = body ? strstr(body, "\nscenario ") : NULL;
      char name[128];
      size_t len = (size_t)((body ? body : start + strlen(start)) - start - 9);
      if (len >= sizeof name) len = sizeof name - 1;
      memcpy(name, start + 9, len);
      name[len] = 0;
      while (len && (name[len - 1] == ' ' || name[len - 1] == '\r')) name[--len] = 0;
      if (next) *next = 0;
      int privileged = body && strstr(body, "\nprivileged yes") != NULL;
      /* "# i386 only: WHY" in a scenario: the x86-64 build leaves it out (README.md) */
      if (sizeof(word) == 8 && body && strstr(body, "\n# i386 only") != NULL) {
        p = next ? next + 1 : NULL;
        continue;
      }
      snprintf(outbuf, sizeof outbuf, "== %s\n", name);
      out(outbuf);
      pid_t pid = fork();
      if (pid == 0) {
        run_scenario(body ? body + 1 : "", privileged);
        _exit(0);
      }
      int wstatus = 0;
      waitpid(pid, &wstatus, 0);
      if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus)) {
        snprintf(outbuf, sizeof outbuf, "!! child ended badly (status 0x%x)\n", wstatus);
        out(outbuf);
      }
      p = next ? next + 1 : NULL;
    }
  }
  return 0;
}
