/* The wc example's counting (src/count.h). */
#include "count.h"

static int is_space(uint8_t c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

void wc_feed(wc_counts *c, const uint8_t *bytes, uint64_t n) {
  c->bytes += n;
  for (uint64_t i = 0; i < n; i++) {
    uint8_t b = bytes[i];
    int space = is_space(b);
    if (b == '\n') c->lines++;
    if (!space && !c->in_word) c->words++;
    c->in_word = !space;
  }
}

/* The decimal digits of `v` before `end`; returns where they start. */
static char *decimal(uint64_t v, char *end) {
  char *p = end;
  do *--p = (char)('0' + v % 10), v /= 10;
  while (v);
  return p;
}

char *wc_format(const wc_counts *c, const int want[3], char *out, uint64_t cap) {
  uint64_t values[3] = {c->lines, c->words, c->bytes};
  int all = !want[0] && !want[1] && !want[2];
  char *end = out + cap, *p = end;
  *--p = '\n';
  for (int i = 2; i >= 0; i--) {
    if (!all && !want[i]) continue;
    if (p != end - 1) *--p = ' ';
    p = decimal(values[i], p);
  }
  return p;
}
