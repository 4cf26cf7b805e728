/* The wc example's logic, kept apart from its entry (src/main.c) so its tests (tests/) can call it. */
#ifndef WC_COUNT_H
#define WC_COUNT_H
#include <stdint.h>

/* Counts so far, as POSIX wc counts: newlines, words (runs of non-space bytes), bytes. */
typedef struct {
  uint64_t lines, words, bytes;
  int in_word; /* whether the last byte fed was inside a word (a word may span two pieces) */
} wc_counts;

/* Counts `n` more bytes of the input. */
void wc_feed(wc_counts *c, const uint8_t *bytes, uint64_t n);

/* Writes the counts asked for (want: lines, words, bytes; none asked: all three), separated by
 * spaces, then a newline, at the end of out[0..cap); returns where the text starts. */
char *wc_format(const wc_counts *c, const int want[3], char *out, uint64_t cap);
#endif
