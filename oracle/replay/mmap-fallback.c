/* mmap fallback when the break cannot grow (glibc 2.36, i386). A PROT_NONE page mapped with
   MAP_FIXED right above the break blocks it; then each malloc prints the returned pointer's offset
   in the (merged) mapping that holds it and mallinfo2's arena (system bytes) and keepcost (top).
   Build: gcc -m32 -O1 -o mmap-fallback mmap-fallback.c; run: ./mmap-fallback MODE SIZE...
   argv[1]: 0 = blocked before the first malloc; 1 = malloc(8) first, then blocked;
   2 = like 0 with M_MMAP_MAX 0; 3 = like 1 with M_MMAP_MAX 0.  No stdio buffer or FILE is
   malloc'd (unbuffered stdout, /proc/self/maps read with read(2)). */
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
static char maps[1 << 16];
static void where(const char *tag, void *p) {
  uintptr_t a = (uintptr_t)p; unsigned long s = 0, e = 0;
  int fd = open("/proc/self/maps", O_RDONLY); ssize_t n = 0, r;
  while ((r = read(fd, maps + n, sizeof maps - 1 - n)) > 0) n += r;
  close(fd); maps[n] = 0;
  for (char *l = maps; *l; ) {
    unsigned long x = strtoul(l, &l, 16), y = strtoul(l + 1, &l, 16);
    if (a >= x && a < y) { s = x; e = y; }
    while (*l && *l != '\n') l++;
    if (*l) l++;
  }
  struct mallinfo2 m = mallinfo2();
  printf("%s off=%lu maplen=%lu arena=%zu ordblks=%zu uord=%zu keep=%zu\n", tag,
         p ? (unsigned long)(a - s) : 0, e - s, m.arena, m.ordblks, m.uordblks, m.keepcost);
}
int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int mode = atoi(argv[1]);
  if (mode & 1) where("malloc(8)", malloc(8));
  if (mode & 2) mallopt(M_MMAP_MAX, 0);
  uintptr_t blk = ((uintptr_t)sbrk(0) + 4095) & ~4095UL;
  if (mmap((void *)blk, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) return 1;
  for (int i = 2; i < argc; i++) {
    size_t n = strtoul(argv[i], 0, 0); char tag[64];
    snprintf(tag, sizeof tag, "malloc(%zu)", n);
    where(tag, malloc(n));
  }
  return 0;
}
