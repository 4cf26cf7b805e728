/* Compute kernels for the CommonAssembly benchmark (bench/ca/README in bench/README.md): each returns a
   checksum so the work cannot be optimized away; built for wasm32 (clang) and natively (gcc). */
#ifndef NCW_BENCH_KERNELS_H
#define NCW_BENCH_KERNELS_H
#include <stdint.h>
uint64_t k_matmul(void);
uint64_t k_sha256(void);
uint64_t k_nbody(void);
uint64_t k_sieve(void);
uint64_t k_quicksort(void);
uint64_t k_crc32(void);
#endif
