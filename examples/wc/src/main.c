/* The wc example's program, in C with NCW's SDK (docs/sdk.md): it reads CMDIN to its end, counts the
 * lines, words and bytes as POSIX wc does, and writes the counts asked for (its -l, -w, -c flags; all
 * three when none is given) on CMDRAW, separated by spaces, then a newline. It returns void.
 *   printf 'one two\nthree\n' | ncw run dist/examples/wc.nap wc     → "2 3 14"
 * Built by scripts/build-examples.mjs with clang into main.npp. */
#include "nightos_command.h"

/* The decimal digits of `v` at the end of `buf`; returns where they start. */
static char *decimal(uint64_t v, char *end) {
  char *p = end;
  do *--p = (char)('0' + v % 10), v /= 10;
  while (v);
  return p;
}

static uint8_t buf[65536];

void _start(void) {
  /* The flags, in the manifest's order: -l, -w, -c (bool values; absent: false). */
  int want[3] = {0, 0, 0}, any = 0;
  for (int i = 0; i < 3 && i < nightos_arg_count(); i++) {
    nightos_value v = nightos_arg(i);
    if (v.type == NIGHTOS_VALUE_BOOL) want[i] = nightos_value_bool(v), any |= want[i];
  }
  if (!any) want[0] = want[1] = want[2] = 1;

  uint64_t counts[3] = {0, 0, 0}, got;
  int in_word = 0;
  while ((got = nightos_read_input(buf, sizeof buf)) > 0) {
    counts[2] += got;
    for (uint64_t i = 0; i < got; i++) {
      uint8_t c = buf[i];
      int space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
      if (c == '\n') counts[0]++;
      if (!space && !in_word) counts[1]++;
      in_word = !space;
    }
  }

  char line[80], *end = line + sizeof line, *p = end;
  *--p = '\n';
  for (int i = 2; i >= 0; i--) {
    if (!want[i]) continue;
    if (p != end - 1) *--p = ' ';
    p = decimal(counts[i], p);
  }
  nightos_write_raw(p, (uint64_t)(end - p));
  nightos_return_void();
}
