/* The real system's side of scripts/measure-exhaustion.mjs: malloc(STEP) until NULL under a limit
 * the program sets itself, then one malloc(16).
 *   gcc -m32 -O2 -o exhaustion scripts/exhaustion.c && ./exhaustion as|data BYTES STEP
 * Nothing else is allocated or kept (a static array of the pointers would be bss, counted by both
 * RLIMIT_AS and RLIMIT_DATA). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s as|data BYTES STEP\n", argv[0]); return 2; }
  struct rlimit r = { strtoul(argv[2], 0, 0), strtoul(argv[2], 0, 0) };
  if (setrlimit(strcmp(argv[1], "as") == 0 ? RLIMIT_AS : RLIMIT_DATA, &r) != 0) { perror("setrlimit"); return 1; }
  size_t step = strtoul(argv[3], 0, 0);
  unsigned n = 0;
  while (malloc(step) != NULL) n++;
  printf("%u blocks, then malloc(16) %s\n", n, malloc(16) ? "succeeds" : "returns NULL");
  return 0;
}
