/* The native side of the benchmark: runs each kernel `reps` times and prints the best time (ns) and
   the checksum as JSON lines, for bench/ca/run.ts to set beside the wasm figures. Times are process CPU
   time, so that other load on the machine does not count. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernels.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  struct { const char *name; uint64_t (*fn)(void); } ks[] = {
      {"matmul", k_matmul}, {"sha256", k_sha256}, {"nbody", k_nbody},
      {"sieve", k_sieve},   {"quicksort", k_quicksort}, {"crc32", k_crc32}};
  for (unsigned k = 0; k < sizeof ks / sizeof ks[0]; k++) {
    if (argc > 2 && strcmp(argv[2], ks[k].name) != 0) continue;
    double best = 1e300;
    uint64_t sum = 0;
    for (int r = 0; r < reps; r++) {
      double t0 = now_ns();
      sum = ks[k].fn();
      double t = now_ns() - t0;
      if (t < best) best = t;
    }
    printf("{\"kernel\":\"%s\",\"ns\":%.0f,\"checksum\":\"%llu\"}\n", ks[k].name, best, (unsigned long long)sum);
  }
  return 0;
}
