/* walkthrough: the classic first look at malloc, on the real C library.
 *
 * malloc(8), malloc(4083), malloc(3), malloc(136168), malloc(1048576); after each call it
 * prints where the block is (offset from the initial program break, or "mmapped"), the chunk's
 * size field, how far the break has moved, and malloc_stats(). Nothing is freed.
 *
 * Output format (host/trace/walkthrough.ts produces the same text from the emulator):
 *   # walkthrough glibc=2.36 sizeof_size_t=4
 *   malloc(8) = brk0+416 size_field=0x11 brk_delta=139264
 *   malloc(136168) = mmapped size_field=0x21ffa brk_delta=139264
 *   | Arena 0:            (malloc_stats() text, each line prefixed with "| ")
 */
#define _GNU_SOURCE
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "out.h"

static const size_t sizes[] = {8, 4083, 3, 136168, 1048576};

int main(void) {
  uintptr_t brk0 = (uintptr_t)sbrk(0);
  static char stats[8192];
  out_str("# walkthrough glibc=");
  out_str(gnu_get_libc_version());
  out_str(" sizeof_size_t=");
  out_u(sizeof(size_t));
  out_char('\n');
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char *p = malloc(sizes[i]);
    out_str("malloc(");
    out_u(sizes[i]);
    out_str(") = ");
    if (p == NULL) {
      out_str("NULL");
    } else {
      size_t field = *(size_t *)((uintptr_t)p - sizeof(size_t));
      if (field & 2) {
        out_str("mmapped");
      } else {
        out_str("brk0+");
        out_u((uintptr_t)p - brk0);
      }
      out_str(" size_field=");
      out_hex(field);
    }
    out_str(" brk_delta=");
    out_i((long)((uintptr_t)sbrk(0) - brk0));
    out_char('\n');
    size_t len = capture_malloc_stats(stats, sizeof stats);
    out_prefixed_lines("| ", stats, len);
  }
  out_flush();
  return 0;
}
