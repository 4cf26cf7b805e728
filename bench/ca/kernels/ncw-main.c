/* The NightOS side of the benchmark: a program run by `ncw run` that calls one kernel (KERNEL, chosen at
   build time) CALLS times. There is no clock syscall, so it marks time with GET_PID: once before the
   first call and after each call; bench/ca/run.ts stamps each marker's trace line as it arrives and
   takes the differences. A wrong checksum (EXPECT, from the native twin) exits with exit data 1. */
#include "nightos.h"
#include "kernels.h"

__attribute__((export_name("_start"))) void _start(void) {
  nightos_get_pid_ret p;
  nightos_get_pid(&p);
  for (int i = 0; i < CALLS; i++) {
    uint64_t sum = KERNEL();
    nightos_get_pid(&p);
    if (sum != EXPECT) nightos_exit(1);
  }
}
