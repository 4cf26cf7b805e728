/* The wasm side of the benchmark: a NightOS-ABI-shaped module (shared memory, _start, function table)
   exporting each kernel as bench_<name>. */
#include "kernels.h"
#define EXPORT(name) __attribute__((export_name(#name)))
EXPORT(bench_matmul) uint64_t bench_matmul(void) { return k_matmul(); }
EXPORT(bench_sha256) uint64_t bench_sha256(void) { return k_sha256(); }
EXPORT(bench_nbody) uint64_t bench_nbody(void) { return k_nbody(); }
EXPORT(bench_sieve) uint64_t bench_sieve(void) { return k_sieve(); }
EXPORT(bench_quicksort) uint64_t bench_quicksort(void) { return k_quicksort(); }
EXPORT(bench_crc32) uint64_t bench_crc32(void) { return k_crc32(); }
EXPORT(_start) void _start(void) {}
