/* corrupt: glibc's heap integrity checks, case by case, on the real C library.
 *
 *   corrupt CASES_FILE      (writes the cases with their observed outcome as JSON on stdout)
 *
 * Each case (see corruption.cases) is a list of steps on named blocks: allocate, free, realloc,
 * write bytes at an offset from a block's address, and so on. The parent runs every case in a
 * forked child and records how the child ended: the signal, the message glibc printed on stderr
 * and the index of the step that was running, or "hang" when a step was still running after two
 * seconds (glibc walking a list made cyclic loops forever). It also records what every allocating
 * step returned and what every `check` read (see "Seen values" below), so that an attack that
 * succeeds is checkable too. The emulator's tests run the same steps through the public API and
 * expect the same ending at the same step, and the same values seen on the way.
 *
 * The parent never calls malloc (the op list is mmapped, output goes through out.h), so every
 * child starts from an untouched heap, as a fresh emulated process does. The child detaches from
 * any terminal (setsid) so that glibc's fatal message goes to stderr rather than /dev/tty.
 *
 * Steps (one per line; NAME, TARGET are block names; numbers as below):
 *   m NAME SIZE                   NAME = malloc(SIZE)
 *   c NAME NMEMB SIZE             NAME = calloc(NMEMB, SIZE)
 *   a NAME ALIGN SIZE             NAME = memalign(ALIGN, SIZE)
 *   r NAME OLD OFF SIZE           NAME = realloc(OLD + OFF, SIZE)
 *   f NAME OFF                    free(NAME + OFF)
 *   wword NAME OFF VALUE          VALUE as a machine word (SIZE_SZ bytes, little-endian; taken
 *                                 modulo 2^(8 SIZE_SZ): -1 is all ones) at NAME + OFF: a size field,
 *                                 a prev_size, any word of a chunk. Recorded in the JSON as `w32`
 *                                 (i386) or `w64` (x86-64)
 *   w32 NAME OFF VALUE            a 32-bit little-endian VALUE at NAME + OFF (on both)
 *   wptr NAME OFF TARGET TOFF     the address TARGET + TOFF (a word) at NAME + OFF
 *   wsafe NAME OFF VALUE          VALUE as safe-linking stores it at NAME + OFF:
 *                                 VALUE ^ ((NAME + OFF) >> 12)
 *   wsafeptr NAME OFF TARGET TOFF the address TARGET + TOFF, safe-linked as above
 *   copy NAME OFF SRC SOFF LEN    LEN bytes from SRC + SOFF to NAME + OFF
 *   mmany NAME COUNT SIZE GUARD   NAME0 .. NAME<COUNT-1> = malloc(SIZE), each followed by an
 *                                 unnamed malloc(GUARD) when GUARD > 0 (so they never merge)
 *   fmany NAME COUNT              free(NAME0) .. free(NAME<COUNT-1>)
 *   sbrk INCREMENT                sbrk(INCREMENT)
 *   mallinfo2 | malloc_stats | malloc_info | malloc_trim
 *   region NAME SIZE              NAME = an anonymous read-write mmap of SIZE bytes: memory the
 *                                 program owns outside the heap (a stand-in for the stack or .bss,
 *                                 where the classic attacks build their fake chunks)
 *   protect NAME PROT             mprotect of the whole region NAME to PROT (0 PROT_NONE,
 *                                 1 PROT_READ): a link into it then faults, or a store through it
 *   waddr NAME OFF VALUE          the absolute address VALUE (a word) at NAME + OFF (for a link
 *                                 into memory that is not mapped)
 *   w8 NAME OFF VALUE             the byte VALUE at NAME + OFF (an off-by-one overflow)
 *   fabs VALUE                    free(VALUE): a wild pointer, not derived from any block
 *   decrypt NAME OFF              records the safe-linked link at NAME + OFF decoded from the
 *                                 word alone, without its address (how2heap's decrypt_safe_linking:
 *                                 each 12-bit slice of the key is the slice above it of the plain)
 *   check NAME OFF                records the word at NAME + OFF
 *   checksafe NAME OFF            records it decoded as a safe-linked link: word ^ ((NAME+OFF) >> 12)
 * A word is SIZE_SZ bytes: 4 on i386, 8 on x86-64 (wptr, wsafe, wsafeptr, waddr, check,
 * checksafe and decrypt too).
 *
 * Numbers (OFF, VALUE, SIZE, ...) are written once for both word sizes:
 *   - terms joined by + and -, each a decimal or 0x hex integer, where a term ending in `w`
 *     counts words: `-1w` is the size field (-4 on i386, -8 on x86-64), `-2w` prev_size, `1w` a
 *     free chunk's bk or a tcache entry's key, `16-2w` a fake chunk whose user memory is at +16;
 *   - `I386|X86_64` when the two differ in a way words do not express (a chunk size that is a
 *     tcache size on one and not on the other, a layout-dependent top size): the left side on
 *     i386, the right on x86-64, each an expression as above.
 * The JSON records every number evaluated, so a fixture's steps are plain byte counts.
 *
 * A case may say `only i386 WHY` (it has no meaning on x86-64: the 64-bit build leaves it out)
 * and `about64 TEXT` (the x86-64 build's `about`, when the i386 text names i386 numbers).
 *
 * Before the first step the child moves the break up to a multiple of 64 KiB (see run_case).
 *
 * Seen values. Each m, c, a, r step records the address it returned, and each check the word it
 * read (described before the step names its result), as text that does not depend on ASLR:
 * "0"; "R+0xOFF" inside a region R; "heap+0xOFF" within 64 MiB above the initial break;
 * "other" below the break or inside a loaded object (the program, libc: main_arena's bins, whose
 * addresses an attack may write, have no ASLR-free name); "B+0xOFF" or "B-0xOFF" from the
 * nearest named block or region B, if less than 16 MiB away (the first named wins a tie);
 * otherwise the hex value when below 0x10000, or "other".
 * A case starts with `case NAME`, has one `about TEXT` line, then its steps; `#` lines are
 * comments.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "out.h"

static void die(const char *msg) { out_die("corrupt", msg); }

/* ── the cases file, as lines of tokens ────────────────────────────────────────────── */

static const char *text;
static size_t text_len;

#define MAX_TOK 8
typedef struct {
  const char *tok[MAX_TOK];
  size_t len[MAX_TOK];
  int n;
  const char *rest; /* the text after the first token (for `about`) */
  size_t rest_len;
} line_t;

/* Reads the line at *pos into l; returns 0 at the end of the text. */
static int next_line(size_t *pos, line_t *l) {
  while (*pos < text_len) {
    size_t start = *pos, end = start;
    while (end < text_len && text[end] != '\n') end++;
    *pos = end < text_len ? end + 1 : end;
    size_t i = start;
    l->n = 0;
    l->rest = NULL;
    l->rest_len = 0;
    while (i < end) {
      while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) i++;
      if (i >= end) break;
      if (l->n == 1 && !l->rest) {
        l->rest = text + i;
        size_t e = end;
        while (e > i && (text[e - 1] == ' ' || text[e - 1] == '\r')) e--;
        l->rest_len = e - i;
      }
      size_t s = i;
      while (i < end && text[i] != ' ' && text[i] != '\t' && text[i] != '\r') i++;
      if (l->n < MAX_TOK) {
        l->tok[l->n] = text + s;
        l->len[l->n] = i - s;
      }
      l->n++;
    }
    if (l->n == 0 || l->tok[0][0] == '#') continue;
    return 1;
  }
  return 0;
}

static int is(const line_t *l, int k, const char *word) {
  return k < l->n && l->len[k] == strlen(word) && memcmp(l->tok[k], word, l->len[k]) == 0;
}

#define WORD_BYTES ((int)sizeof(uintptr_t)) /* SIZE_SZ: 4 on i386, 8 on x86-64 */

/* One term: a decimal or 0x hex integer, times WORD_BYTES when it ends in `w`. */
static long long term(const char *s, size_t n) {
  size_t i = 0;
  int words = n > 0 && s[n - 1] == 'w';
  if (words) n--;
  unsigned long long v = 0;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    for (i = 2; i < n; i++) {
      char c = s[i];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) die("bad hex number");
      v = v * 16 + (unsigned)d;
    }
  } else {
    if (n == 0) die("bad number");
    for (; i < n; i++) {
      if (s[i] < '0' || s[i] > '9') die("bad number");
      v = v * 10 + (unsigned)(s[i] - '0');
    }
  }
  return (long long)v * (words ? WORD_BYTES : 1);
}

/* An expression: terms joined by + and - (a leading - negates the first). */
static long long expr(const char *s, size_t n) {
  long long sum = 0;
  size_t i = 0;
  int sign = 1;
  if (n > 0 && s[0] == '-') {
    sign = -1;
    i = 1;
  }
  while (i <= n) {
    size_t e = i;
    while (e < n && s[e] != '+' && s[e] != '-') e++;
    sum += sign * term(s + i, e - i);
    if (e == n) break;
    sign = s[e] == '-' ? -1 : 1;
    i = e + 1;
  }
  return sum;
}

/* Token k as a number: `I386|X86_64` picks this build's side. */
static long long num(const line_t *l, int k) {
  if (k >= l->n) die("missing number");
  const char *s = l->tok[k];
  size_t n = l->len[k];
  const char *bar = memchr(s, '|', n);
  if (bar == NULL) return expr(s, n);
  if (WORD_BYTES == 4) return expr(s, (size_t)(bar - s));
  return expr(bar + 1, n - (size_t)(bar + 1 - s));
}

/* ── named blocks (in the child) ──────────────────────────────────────────────────── */

#define MAX_NAMES 32768
static struct {
  const char *name;
  size_t len;
  uintptr_t addr;
  size_t region; /* the size of a region, 0 for a block */
} names[MAX_NAMES];
static int n_names;
static char name_pool[MAX_NAMES * 24]; /* generated names (mmany) */
static size_t pool_used;

static uintptr_t *named(const char *name, size_t len, int create) {
  for (int i = n_names - 1; i >= 0; i--)
    if (names[i].len == len && memcmp(names[i].name, name, len) == 0) return &names[i].addr;
  if (!create) die("unknown block name");
  if (n_names == MAX_NAMES) die("too many names");
  names[n_names].name = name;
  names[n_names].len = len;
  names[n_names].region = 0;
  return &names[n_names++].addr;
}

static uintptr_t *slot(const line_t *l, int k, int create) {
  if (k >= l->n) die("missing name");
  return named(l->tok[k], l->len[k], create);
}

/* NAME followed by the decimal index, kept in name_pool; returns its length. */
static const char *indexed_name(const line_t *l, int k, unsigned long i, size_t *len) {
  char digits[24];
  int nd = 0;
  do {
    digits[nd++] = (char)('0' + i % 10);
    i /= 10;
  } while (i);
  size_t n = l->len[k] + (size_t)nd;
  if (pool_used + n > sizeof name_pool) die("names too long");
  char *out = name_pool + pool_used;
  memcpy(out, l->tok[k], l->len[k]);
  for (int d = 0; d < nd; d++) out[l->len[k] + (size_t)d] = digits[nd - 1 - d];
  pool_used += n;
  *len = n;
  return out;
}

static uintptr_t at(const line_t *l, int k) { return *slot(l, k, 0) + (uintptr_t)num(l, k + 1); }

static void put32(uintptr_t addr, uint32_t v) { memcpy((void *)addr, &v, 4); }
static void put64(uintptr_t addr, uint64_t v) { memcpy((void *)addr, &v, 8); }
static void put_word(uintptr_t addr, uintptr_t v) { memcpy((void *)addr, &v, sizeof v); }
static uintptr_t get_word(uintptr_t addr) {
  uintptr_t v;
  memcpy(&v, (void *)addr, sizeof v);
  return v;
}

#define HANG_SECONDS 2
#define BRK_ALIGN 0x10000
static int progress_fd, seen_fd;
static void *volatile guard_sink;
static uintptr_t brk0; /* the initial break */

/* ── seen values ──────────────────────────────────────────────────────────────────── */

static char seen_buf[256];
static size_t seen_len;
static void seen_str(const char *s, size_t n) {
  if (seen_len + n < sizeof seen_buf) {
    memcpy(seen_buf + seen_len, s, n);
    seen_len += n;
  }
}
static void seen_hex(uintptr_t v) {
  char d[16];
  int n = 0;
  do {
    d[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  seen_str("0x", 2);
  while (n) seen_str(&d[--n], 1);
}

/* Whether v lies in a loaded object (the program, libc, ld.so): dl_iterate_phdr, which does not
   malloc, lists their segments. */
static uintptr_t probe_v;
static int probe_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (probe_v >= start && probe_v - start < ph->p_memsz) return 1;
  }
  return 0;
}
static int in_loaded_object(uintptr_t v) {
  probe_v = v;
  return dl_iterate_phdr(probe_object, NULL) != 0;
}

/* Writes "STEP TEXT\n" to the seen pipe: TEXT is v described as the comment above says. */
static void seen(uint32_t step, uintptr_t v) {
  seen_len = 0;
  char d[12];
  int n = 0;
  uint32_t s = step;
  do {
    d[n++] = (char)('0' + s % 10);
    s /= 10;
  } while (s);
  while (n) seen_str(&d[--n], 1);
  seen_str(" ", 1);
  int best = -1;
  if (v == 0) {
    seen_str("0", 1);
  } else {
    uintptr_t best_dist = 0;
    for (int i = 0; i < n_names; i++)
      if (names[i].region && v >= names[i].addr && v - names[i].addr < names[i].region) {
        best = i;
        best_dist = v - names[i].addr;
      }
    if (best < 0 && v >= brk0 && v - brk0 < 0x4000000) {
      seen_str("heap+", 5);
      seen_hex(v - brk0);
    } else if (best < 0 && ((v >= 0x10000 && v < brk0) || in_loaded_object(v))) {
      seen_str("other", 5); /* the program, libc (main_arena's bins), ld.so: no ASLR-free name */
    } else {
      if (best < 0)
        for (int i = 0; i < n_names; i++) {
          uintptr_t a = names[i].addr, dist = v >= a ? v - a : a - v;
          if (dist < 0x1000000 && (best < 0 || dist < best_dist)) {
            best = i;
            best_dist = dist;
          }
        }
      if (best >= 0) {
        seen_str(names[best].name, names[best].len);
        seen_str(v >= names[best].addr ? "+" : "-", 1);
        seen_hex(best_dist);
      } else if (v < 0x10000) {
        seen_hex(v);
      } else {
        seen_str("other", 5);
      }
    }
  }
  seen_str("\n", 1);
  write(seen_fd, seen_buf, seen_len);
}

static void run_step(const line_t *l, uint32_t step) {
  if (is(l, 0, "m")) {
    uintptr_t got = (uintptr_t)malloc((size_t)num(l, 2));
    seen(step, got);
    *slot(l, 1, 1) = got;
  } else if (is(l, 0, "c")) {
    uintptr_t got = (uintptr_t)calloc((size_t)num(l, 2), (size_t)num(l, 3));
    seen(step, got);
    *slot(l, 1, 1) = got;
  } else if (is(l, 0, "a")) {
    uintptr_t got = (uintptr_t)memalign((size_t)num(l, 2), (size_t)num(l, 3));
    seen(step, got);
    *slot(l, 1, 1) = got;
  } else if (is(l, 0, "r")) {
    uintptr_t old = at(l, 2);
    uintptr_t got = (uintptr_t)realloc((void *)old, (size_t)num(l, 4));
    seen(step, got);
    *slot(l, 1, 1) = got;
  } else if (is(l, 0, "region")) {
    size_t size = (size_t)num(l, 2);
    void *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) die("region: mmap failed");
    uintptr_t *where = slot(l, 1, 1);
    *where = (uintptr_t)r;
    for (int i = 0; i < n_names; i++)
      if (&names[i].addr == where) names[i].region = size;
  } else if (is(l, 0, "protect")) {
    uintptr_t *where = slot(l, 1, 0);
    size_t size = 0;
    for (int i = 0; i < n_names; i++)
      if (&names[i].addr == where) size = names[i].region;
    if (size == 0 || mprotect((void *)*where, size, (int)num(l, 2)) != 0) die("protect: mprotect failed");
  } else if (is(l, 0, "waddr")) {
    put_word(at(l, 1), (uintptr_t)num(l, 3));
  } else if (is(l, 0, "check")) {
    seen(step, get_word(at(l, 1)));
  } else if (is(l, 0, "checksafe")) {
    uintptr_t where = at(l, 1);
    seen(step, get_word(where) ^ (where >> 12));
  } else if (is(l, 0, "w8")) {
    *(volatile uint8_t *)at(l, 1) = (uint8_t)num(l, 3);
  } else if (is(l, 0, "fabs")) {
    free((void *)(uintptr_t)num(l, 1));
  } else if (is(l, 0, "decrypt")) {
    uintptr_t cipher = get_word(at(l, 1)), key = 0, plain = 0;
    int word_bits = 8 * WORD_BYTES;
    for (int i = 1; word_bits - 12 * (i - 1) > 0; i++) { /* i386: slices from bit 20, 8, 0 */
      int bits = word_bits - 12 * i > 0 ? word_bits - 12 * i : 0;
      plain = ((cipher ^ key) >> bits) << bits;
      key = plain >> 12;
    }
    seen(step, plain);
  } else if (is(l, 0, "malloc_trim")) {
    malloc_trim(0);
  } else if (is(l, 0, "f")) {
    free((void *)at(l, 1));
  } else if (is(l, 0, "wword")) {
    put_word(at(l, 1), (uintptr_t)num(l, 3));
  } else if (is(l, 0, "w32")) {
    put32(at(l, 1), (uint32_t)num(l, 3));
  } else if (is(l, 0, "w64")) {
    put64(at(l, 1), (uint64_t)num(l, 3));
  } else if (is(l, 0, "wptr")) {
    put_word(at(l, 1), at(l, 3));
  } else if (is(l, 0, "wsafe")) {
    uintptr_t where = at(l, 1);
    put_word(where, (uintptr_t)num(l, 3) ^ (where >> 12));
  } else if (is(l, 0, "wsafeptr")) {
    uintptr_t where = at(l, 1);
    put_word(where, at(l, 3) ^ (where >> 12));
  } else if (is(l, 0, "copy")) {
    memmove((void *)at(l, 1), (void *)at(l, 3), (size_t)num(l, 5));
  } else if (is(l, 0, "mmany")) {
    unsigned long count = (unsigned long)num(l, 2);
    size_t size = (size_t)num(l, 3), guard = (size_t)num(l, 4);
    for (unsigned long i = 0; i < count; i++) {
      size_t len;
      const char *name = indexed_name(l, 1, i, &len);
      *named(name, len, 1) = (uintptr_t)malloc(size);
      if (guard) guard_sink = malloc(guard); /* kept in a volatile: gcc drops unused mallocs */
    }
  } else if (is(l, 0, "fmany")) {
    unsigned long count = (unsigned long)num(l, 2);
    size_t mark = pool_used;
    for (unsigned long i = 0; i < count; i++) {
      size_t len;
      const char *name = indexed_name(l, 1, i, &len);
      free((void *)*named(name, len, 0));
      pool_used = mark;
    }
  } else if (is(l, 0, "sbrk")) {
    sbrk((intptr_t)num(l, 1));
  } else if (is(l, 0, "mallinfo2")) {
    struct mallinfo2 m = mallinfo2();
    (void)m;
  } else if (is(l, 0, "malloc_stats")) {
    malloc_stats(); /* its text goes to the captured stderr, before any later message */
  } else if (is(l, 0, "malloc_info")) {
    /* malloc_info writes through a FILE; fopen would malloc one, so it writes to stdout's FILE,
       made unbuffered before the first step and pointed at /dev/null. */
    malloc_info(0, stdout);
  } else {
    die("unknown step");
  }
}

static void out_json_string(const char *s, size_t n);

/* Runs one case in a child; the parent records the outcome. */
static void run_case(size_t body, const char *name, size_t name_len) {
  int errp[2], progp[2], seenp[2];
  if (pipe(errp) != 0 || pipe(progp) != 0 || pipe(seenp) != 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    setsid();
    close(errp[0]);
    close(progp[0]);
    close(seenp[0]);
    dup2(errp[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    setvbuf(stdout, NULL, _IONBF, 0);
    progress_fd = progp[1];
    seen_fd = seenp[1];
    /* the break moved up to a multiple of 64 KiB first: a safe-linking key (an address >> 12)
       then has the same low 4 bits whatever ASLR chose, so a link stored raw decodes to the same
       (mis)alignment on every run and on the emulator */
    brk0 = (uintptr_t)sbrk(0);
    sbrk((intptr_t)(((brk0 + BRK_ALIGN - 1) & ~(uintptr_t)(BRK_ALIGN - 1)) - brk0));
    brk0 = (uintptr_t)sbrk(0);
    size_t pos = body;
    line_t l;
    uint32_t step = 0;
    while (next_line(&pos, &l)) {
      if (is(&l, 0, "case")) break;
      if (is(&l, 0, "about") || is(&l, 0, "about64") || is(&l, 0, "only")) continue;
      write(progress_fd, &step, 4);
      alarm(HANG_SECONDS); /* a step still running then loops forever: SIGALRM ends it */
      run_step(&l, step);
      step++;
    }
    _exit(0);
  }
  close(errp[1]);
  close(progp[1]);
  close(seenp[1]);
  static char err[4096];
  size_t err_len = 0;
  for (;;) {
    ssize_t n = read(errp[0], err + err_len, sizeof err - 1 - err_len);
    if (n <= 0) break;
    err_len += (size_t)n;
  }
  close(errp[0]);
  uint32_t last = 0, v;
  int any = 0;
  while (read(progp[0], &v, 4) == 4) {
    last = v;
    any = 1;
  }
  close(progp[0]);
  static char seen_text[1 << 16];
  size_t seen_text_len = 0;
  for (;;) {
    ssize_t n = read(seenp[0], seen_text + seen_text_len, sizeof seen_text - 1 - seen_text_len);
    if (n <= 0) break;
    seen_text_len += (size_t)n;
  }
  close(seenp[0]);
  int status = 0;
  waitpid(pid, &status, 0);

  /* the message: the last line of stderr (earlier lines are malloc_stats() text) */
  size_t msg_len = err_len;
  while (msg_len > 0 && err[msg_len - 1] == '\n') msg_len--;
  size_t msg_start = msg_len;
  while (msg_start > 0 && err[msg_start - 1] != '\n') msg_start--;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) msg_start = msg_len; /* no message */

  out_str("    \"outcome\": { ");
  int hang = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
  if (hang) {
    out_str("\"signal\": null, \"hang\": true, ");
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    out_str("\"signal\": \"");
    out_str(sig == SIGABRT ? "SIGABRT" : sig == SIGSEGV ? "SIGSEGV" : sig == SIGKILL ? "SIGKILL" : "other");
    out_str("\", ");
  } else {
    out_str("\"signal\": null, \"exitStatus\": ");
    out_u((unsigned)WEXITSTATUS(status));
    out_str(", ");
  }
  out_str("\"step\": ");
  if (any && WIFSIGNALED(status)) out_u(last); else out_str("null");
  /* seen values: "STEP TEXT" lines become [STEP, "TEXT"] pairs */
  out_str(", \"seen\": [");
  for (size_t i = 0, k = 0; i < seen_text_len; k++) {
    size_t e = i;
    while (e < seen_text_len && seen_text[e] != '\n') e++;
    size_t sp = i;
    while (sp < e && seen_text[sp] != ' ') sp++;
    if (k) out_str(", ");
    out_char('[');
    out_bytes(seen_text + i, sp - i);
    out_str(", ");
    out_json_string(seen_text + sp + 1, e - sp - 1);
    out_char(']');
    i = e + 1;
  }
  out_str("]");
  out_str(", \"message\": \"");
  for (size_t i = msg_start; i < msg_len; i++) {
    char c = err[i];
    if (c == '"' || c == '\\') { out_char('\\'); out_char(c); }
    else if (c == '\n') out_str("\\n");
    else if ((unsigned char)c < 32) out_char('?');
    else out_char(c);
  }
  out_str("\" }\n");
  (void)name;
  (void)name_len;
}

static void out_json_string(const char *s, size_t n) {
  out_char('"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"' || s[i] == '\\') out_char('\\');
    out_char(s[i]);
  }
  out_char('"');
}

/* One step as a JSON array of its tokens: names stay strings, numbers become numbers (evaluated
   for this build's word size). A `wword` step becomes the write it is here, `w32` or `w64`, its
   value reduced to the word; a 64-bit value of 2^63 or more is written as its negative (JSON
   numbers are exact only below 2^53 in magnitude: anything else cannot be a step). */
static void out_step(const line_t *l) {
  int wword = is(l, 0, "wword");
  out_char('[');
  for (int k = 0; k < l->n && k < MAX_TOK; k++) {
    if (k) out_str(", ");
    const char *s = l->tok[k];
    size_t n = l->len[k];
    int numeric = k > 0 && n > 0 && ((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && n > 1));
    if (k == 0 && wword) {
      out_str(WORD_BYTES == 4 ? "\"w32\"" : "\"w64\"");
    } else if (numeric) {
      long long v = num(l, k);
      if (wword && k == 3) v = WORD_BYTES == 4 ? (long long)(uint32_t)v : v;
      if (v > (1LL << 53) || v < -(1LL << 53)) die("a number JSON cannot hold exactly");
      out_i(v);
    } else {
      out_json_string(s, n);
    }
  }
  out_char(']');
}

int main(int argc, char **argv) {
  if (argc != 2) die("usage: corrupt CASES_FILE");
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) die("cannot open the cases file");
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) die("cannot stat the cases file");
  text_len = (size_t)st.st_size;
  text = mmap(NULL, text_len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (text == MAP_FAILED) die("cannot mmap the cases file");
  close(fd);

  out_str("{\n  \"format\": \"corruption cases v1: steps as in oracle/replay/corrupt.c; outcome from glibc ");
  out_str(gnu_get_libc_version());
  out_str(WORD_BYTES == 4 ? " i386" : " x86_64");
  out_str("\",\n  \"cases\": [\n");
  size_t pos = 0;
  line_t l;
  int first = 1;
  int have = next_line(&pos, &l);
  while (have) {
    if (!is(&l, 0, "case") || l.n != 2) die("expected `case NAME`");
    const char *name = l.tok[1];
    size_t name_len = l.len[1];
    size_t body = pos;
    /* the header lines first: about, about64, only (before the first step) */
    const char *about = NULL, *about64 = NULL;
    size_t about_len = 0, about64_len = 0;
    int skip = 0;
    size_t steps_at = pos;
    while ((have = next_line(&pos, &l)) && !is(&l, 0, "case")) {
      if (is(&l, 0, "about")) {
        about = l.rest;
        about_len = l.rest_len;
      } else if (is(&l, 0, "about64")) {
        about64 = l.rest;
        about64_len = l.rest_len;
      } else if (is(&l, 0, "only")) {
        if (!is(&l, 1, "i386")) die("`only` names i386");
        skip = WORD_BYTES != 4;
      } else {
        break;
      }
      steps_at = pos;
    }
    if (!about) die("`about` must come first");
    if (skip) {
      while (have && !is(&l, 0, "case")) have = next_line(&pos, &l);
      continue;
    }
    if (WORD_BYTES != 4 && about64) {
      about = about64;
      about_len = about64_len;
    }
    if (!first) out_str(",\n");
    first = 0;
    out_str("  {\n    \"name\": ");
    out_json_string(name, name_len);
    out_str(",\n    \"about\": ");
    out_json_string(about, about_len);
    out_str(",\n    \"steps\": [\n");
    /* the steps, from the first line after the header */
    pos = steps_at;
    int n_steps = 0;
    while ((have = next_line(&pos, &l)) && !is(&l, 0, "case")) {
      if (is(&l, 0, "about") || is(&l, 0, "about64") || is(&l, 0, "only")) die("`about`, `about64` and `only` come before the steps");
      if (n_steps) out_str(",\n");
      out_str("      ");
      out_step(&l);
      n_steps++;
    }
    out_str("\n    ],\n");
    out_flush();
    run_case(body, name, name_len);
    out_str("  }");
  }
  out_str("\n  ]\n}\n");
  out_flush();
  return 0;
}
