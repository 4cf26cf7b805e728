/* The benchmark kernels (see kernels.h). No libc: only what both targets have. */
#include "kernels.h"

#define N_MAT 400
static double ma[N_MAT * N_MAT], mb[N_MAT * N_MAT], mc[N_MAT * N_MAT];

uint64_t k_matmul(void) {
  for (int i = 0; i < N_MAT * N_MAT; i++) {
    ma[i] = (double)(i % 17) * 0.25;
    mb[i] = (double)(i % 13) * 0.5;
    mc[i] = 0;
  }
  for (int i = 0; i < N_MAT; i++)
    for (int k = 0; k < N_MAT; k++) {
      double a = ma[i * N_MAT + k];
      for (int j = 0; j < N_MAT; j++) mc[i * N_MAT + j] += a * mb[k * N_MAT + j];
    }
  double s = 0;
  for (int i = 0; i < N_MAT * N_MAT; i++) s += mc[i];
  return (uint64_t)s;
}

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* SHA-256 compression over 8 MiB of generated blocks. */
uint64_t k_sha256(void) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint32_t w[64];
  for (uint32_t blk = 0; blk < 131072; blk++) {
    for (int t = 0; t < 16; t++) w[t] = blk * 2654435761u + (uint32_t)t * 40503u;
    for (int t = 16; t < 64; t++) {
      uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return ((uint64_t)h[0] << 32) ^ h[7];
}

/* N-body (5 bodies, simple Euler steps), sqrt by Newton iterations (no libm). */
static double nsqrt(double x) {
  double r = x > 1 ? x : 1;
  for (int i = 0; i < 20; i++) r = 0.5 * (r + x / r);
  return r;
}
uint64_t k_nbody(void) {
  double px[5], py[5], pz[5], vx[5], vy[5], vz[5], m[5];
  for (int i = 0; i < 5; i++) {
    px[i] = i * 1.1; py[i] = i * 0.7 - 1; pz[i] = (i % 2) * 0.3;
    vx[i] = 0.01 * i; vy[i] = -0.02 * i; vz[i] = 0.005; m[i] = 1.0 + i * 0.1;
  }
  for (int step = 0; step < 100000; step++) {
    for (int i = 0; i < 5; i++)
      for (int j = i + 1; j < 5; j++) {
        double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
        double d2 = dx * dx + dy * dy + dz * dz + 1.0;
        double mag = 0.001 / (d2 * nsqrt(d2));
        vx[i] -= dx * m[j] * mag; vy[i] -= dy * m[j] * mag; vz[i] -= dz * m[j] * mag;
        vx[j] += dx * m[i] * mag; vy[j] += dy * m[i] * mag; vz[j] += dz * m[i] * mag;
      }
    for (int i = 0; i < 5; i++) { px[i] += 0.001 * vx[i]; py[i] += 0.001 * vy[i]; pz[i] += 0.001 * vz[i]; }
  }
  double s = 0;
  for (int i = 0; i < 5; i++) s += px[i] + py[i] + pz[i];
  return (uint64_t)(int64_t)(s * 1e6);
}

#define N_SIEVE 8000000
static unsigned char composite[N_SIEVE];
uint64_t k_sieve(void) {
  for (int i = 0; i < N_SIEVE; i++) composite[i] = 0;
  uint64_t count = 0;
  for (int i = 2; i < N_SIEVE; i++) {
    if (composite[i]) continue;
    count += (uint64_t)i;
    for (int j = i * 2; j < N_SIEVE; j += i) composite[j] = 1;
  }
  return count;
}

#define N_SORT 1000000
static int32_t arr[N_SORT];
static void qsort_i32(int32_t *a, int lo, int hi) {
  while (lo < hi) {
    int32_t p = a[(lo + hi) >> 1];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { qsort_i32(a, lo, j); lo = i; } else { qsort_i32(a, i, hi); hi = j; }
  }
}
uint64_t k_quicksort(void) {
  uint32_t x = 12345;
  for (int i = 0; i < N_SORT; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; arr[i] = (int32_t)x; }
  qsort_i32(arr, 0, N_SORT - 1);
  uint64_t s = 0;
  for (int i = 0; i < N_SORT; i += 1000) s = s * 31 + (uint32_t)arr[i];
  return s;
}

#define N_CRC (8 << 20)
static unsigned char buf[N_CRC];
uint64_t k_crc32(void) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  for (int i = 0; i < N_CRC; i++) buf[i] = (unsigned char)(i * 7 + (i >> 8));
  uint32_t crc = 0xffffffffu;
  for (int i = 0; i < N_CRC; i++) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}
