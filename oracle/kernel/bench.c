/*
 * Native side of bench/kernel.bench.ts: the same kernel operations, on the real kernel, from a
 * 32-bit process (gcc -m32 -O2). Prints one JSON object: ns per operation for each row.
 * The sizes come from the same seeded generator as the TypeScript side (mulberry32).
 *
 *   kernel-bench [iterations]     (default 100000)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u

static uint32_t rng_state;
static uint32_t mulberry32(void) {
  uint32_t t = rng_state += 0x6d2b79f5u;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uintptr_t sys_brk(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

/* mmap + munmap of 1..16 pages (seeded sizes); one op = one pair */
static double bench_mmap_munmap(int n) {
  static uint32_t sizes[1 << 20];
  rng_state = 42;
  for (int i = 0; i < n; i++) sizes[i] = (mulberry32() % 16 + 1) * PAGE;
  double t0 = now_ns();
  for (int i = 0; i < n; i++) {
    void *p = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    munmap(p, sizes[i]);
  }
  return (now_ns() - t0) / n;
}

/* brk: grow by 1..16 pages, then shrink back; one op = one brk call */
static double bench_brk(int n) {
  static uint32_t sizes[1 << 20];
  rng_state = 43;
  for (int i = 0; i < n; i++) sizes[i] = (mulberry32() % 16 + 1) * PAGE;
  uintptr_t base = sys_brk(0);
  double t0 = now_ns();
  for (int i = 0; i < n; i += 2) {
    sys_brk(base + sizes[i]);
    sys_brk(base);
  }
  return (now_ns() - t0) / n;
}

/* mincore over 1 GiB: 256 mappings of 4 MiB, 4 touched pages each; one op = one sweep of all */
static double bench_mincore(int sweeps) {
  enum { MAPPINGS = 256, SIZE = 4u << 20 };
  static unsigned char vec[SIZE / PAGE];
  static char *maps[MAPPINGS];
  rng_state = 44;
  for (int i = 0; i < MAPPINGS; i++) {
    maps[i] = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (maps[i] == MAP_FAILED) abort();
    for (int k = 0; k < 4; k++) maps[i][(mulberry32() % (SIZE / PAGE)) * PAGE] = 1;
  }
  double t0 = now_ns();
  for (int s = 0; s < sweeps; s++)
    for (int i = 0; i < MAPPINGS; i++) mincore(maps[i], SIZE, vec);
  double ns = (now_ns() - t0) / sweeps;
  for (int i = 0; i < MAPPINGS; i++) munmap(maps[i], SIZE);
  return ns;
}

/* issue 4: mmap 1 MiB, touch 2 pages, munmap */
static double bench_mmap_touch(int n) {
  double t0 = now_ns();
  for (int i = 0; i < n; i++) {
    char *p = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    p[0] = 1;
    p[PAGE] = 1;
    munmap(p, 1u << 20);
  }
  return (now_ns() - t0) / n;
}

/* issue 4: brk +128 KiB, touch 2 pages, brk -128 KiB */
static double bench_brk_touch(int n) {
  uintptr_t base = sys_brk(0);
  double t0 = now_ns();
  for (int i = 0; i < n; i++) {
    sys_brk(base + (128u << 10));
    ((volatile char *)base)[0] = 1;
    ((volatile char *)base)[PAGE] = 1;
    sys_brk(base);
  }
  return (now_ns() - t0) / n;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  if (n < 2 || n > (1 << 20)) n = 100000;
  int sweeps = n / 1000 < 10 ? 10 : n / 1000;
  /* warm up once, then measure */
  bench_mmap_munmap(n / 10);
  double mm = bench_mmap_munmap(n);
  bench_brk(n / 10);
  double br = bench_brk(n);
  double mc = bench_mincore(sweeps);
  double mt = bench_mmap_touch(n / 10);
  double bt = bench_brk_touch(n / 10);
  printf("{\"mmap_munmap\": %.1f, \"brk_step\": %.1f, \"mincore_1g\": %.1f, "
         "\"mmap1m_touch2_munmap\": %.1f, \"brk128k_touch2_shrink\": %.1f}\n",
         mm, br, mc, mt, bt);
  return 0;
}
