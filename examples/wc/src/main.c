/* The wc example's program, in C with NCW's SDK (docs/sdk.md): it reads CMDIN to its end, counts the
 * lines, words and bytes as POSIX wc does, and writes the counts asked for (its -l, -w, -c flags; all
 * three when none is given) on CMDRAW, separated by spaces, then a newline. It returns void.
 *   printf 'one two\nthree\n' | ncw run dist/examples/wc.nap wc     → "2 3 14"
 * The counting is in src/count.c, tested by tests/count_test.c (`ncw test examples/wc`).
 * Built by scripts/build-examples.mjs with clang into main.npp. */
#include "count.h"
#include "nightos_command.h"

static uint8_t buf[65536];

void _start(void) {
  /* The flags, in the manifest's order: -l, -w, -c (bool values; absent: false). */
  int want[3] = {0, 0, 0};
  for (int i = 0; i < 3 && i < nightos_arg_count(); i++) {
    nightos_value v = nightos_arg(i);
    if (v.type == NIGHTOS_VALUE_BOOL) want[i] = nightos_value_bool(v);
  }
  wc_counts counts = {0, 0, 0, 0};
  uint64_t got;
  while ((got = nightos_read_input(buf, sizeof buf)) > 0) wc_feed(&counts, buf, got);
  char line[80];
  char *p = wc_format(&counts, want, line, sizeof line);
  nightos_write_raw(p, (uint64_t)(line + sizeof line - p));
  nightos_return_void();
}
