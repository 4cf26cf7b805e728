/* The native twin of bench/ca/kernels/ncw-main.c: `native <calls> <kernel>` calls one kernel <calls>
   times in this fresh process and prints each call's wall time (CLOCK_MONOTONIC, ns), its CPU time
   (CLOCK_PROCESS_CPUTIME_ID, ns) and the checksum as one JSON line, for bench/ca/run.ts to set beside the same calls made through `ncw run`. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernels.h"

static double now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int calls = atoi(argv[1]);
  struct { const char *name; uint64_t (*fn)(void); } ks[] = {
      {"matmul", k_matmul}, {"sha256", k_sha256}, {"nbody", k_nbody},
      {"sieve", k_sieve},   {"quicksort", k_quicksort}, {"crc32", k_crc32}};
  for (unsigned k = 0; k < sizeof ks / sizeof ks[0]; k++) {
    if (strcmp(argv[2], ks[k].name) != 0) continue;
    uint64_t sum = 0;
    double wall[1000], cpu[1000];
    if (calls > 1000) calls = 1000;
    for (int r = 0; r < calls; r++) {
      double w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
      sum = ks[k].fn();
      cpu[r] = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
      wall[r] = now_ns(CLOCK_MONOTONIC) - w0;
    }
    printf("{\"kernel\":\"%s\",\"ns\":[", ks[k].name);
    for (int r = 0; r < calls; r++) printf("%s%.0f", r ? "," : "", wall[r]);
    printf("],\"cpu\":[");
    for (int r = 0; r < calls; r++) printf("%s%.0f", r ? "," : "", cpu[r]);
    printf("],\"checksum\":\"%llu\"}\n", (unsigned long long)sum);
    return 0;
  }
  return 2;
}
