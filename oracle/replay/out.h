/* Output for the oracle programs without touching the allocator.
 *
 * stdio would malloc its buffers (and so change the very heap being observed), so text is built
 * in a static buffer and handed to write(2). malloc_stats() prints to stderr; its text is
 * captured by pointing fd 2 at a pipe for the duration of the call (pipe/dup/dup2/read/close
 * allocate nothing, and the text is far below a pipe's capacity).
 */
#ifndef ORACLE_OUT_H
#define ORACLE_OUT_H

#include <malloc.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

static char out_buf[1 << 16];
static size_t out_len;

__attribute__((unused)) static void out_flush(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(1, out_buf + done, out_len - done);
    if (n <= 0) _exit(3);
    done += (size_t)n;
  }
  out_len = 0;
}

/* Ends the program after what it wrote so far: "PROG: MSG" on stderr, exit status 2. */
__attribute__((unused, noreturn)) static void out_die(const char *prog, const char *msg) {
  out_flush();
  write(2, prog, strlen(prog));
  write(2, ": ", 2);
  write(2, msg, strlen(msg));
  write(2, "\n", 1);
  _exit(2);
}

__attribute__((unused)) static void out_bytes(const char *s, size_t n) {
  if (out_len + n > sizeof out_buf) out_flush();
  if (n > sizeof out_buf) { /* never happens with our lines */
    _exit(4);
  }
  memcpy(out_buf + out_len, s, n);
  out_len += n;
}

__attribute__((unused)) static void out_str(const char *s) { out_bytes(s, strlen(s)); }

__attribute__((unused)) static void out_char(char c) { out_bytes(&c, 1); }

__attribute__((unused)) static void out_u(unsigned long long v) {
  char tmp[24];
  int i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  out_bytes(tmp + i, sizeof tmp - i);
}

__attribute__((unused)) static void out_i(long long v) {
  if (v < 0) {
    out_char('-');
    out_u((unsigned long long)(-(v + 1)) + 1);
  } else {
    out_u((unsigned long long)v);
  }
}

__attribute__((unused)) static void out_hex(unsigned long long v) {
  char tmp[20];
  int i = sizeof tmp;
  do {
    tmp[--i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  out_str("0x");
  out_bytes(tmp + i, sizeof tmp - i);
}

/* The mallinfo2() fields as "name=value" pairs separated by spaces (no leading space). */
__attribute__((unused)) static void out_mallinfo2(void) {
  struct mallinfo2 m = mallinfo2();
  out_str("arena="); out_u(m.arena);
  out_str(" ordblks="); out_u(m.ordblks);
  out_str(" smblks="); out_u(m.smblks);
  out_str(" hblks="); out_u(m.hblks);
  out_str(" hblkhd="); out_u(m.hblkhd);
  out_str(" usmblks="); out_u(m.usmblks);
  out_str(" fsmblks="); out_u(m.fsmblks);
  out_str(" uordblks="); out_u(m.uordblks);
  out_str(" fordblks="); out_u(m.fordblks);
  out_str(" keepcost="); out_u(m.keepcost);
}

/* Runs malloc_stats() with fd 2 pointed at a pipe; returns the text's length in buf. */
__attribute__((unused)) static size_t capture_malloc_stats(char *buf, size_t cap) {
  int fds[2];
  if (pipe(fds) != 0) _exit(5);
  int saved = dup(2);
  if (saved < 0) _exit(5);
  dup2(fds[1], 2);
  malloc_stats();
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fds[0], buf + len, cap - len);
    if (n <= 0) break;
    len += (size_t)n;
    if (len == cap) break;
  }
  close(fds[0]);
  return len;
}

/* Writes text line by line, each line prefixed with `prefix`. */
__attribute__((unused)) static void out_prefixed_lines(const char *prefix, const char *text, size_t len) {
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n') {
      out_str(prefix);
      out_bytes(text + start, i + 1 - start);
      start = i + 1;
    }
  }
  if (start < len) {
    out_str(prefix);
    out_bytes(text + start, len - start);
    out_char('\n');
  }
}

#endif
