/* The wc example's tests: each void test_<name>(void) is one test (docs/dev-loop.md "Declaring
 * tests"). Run: ncw test examples/wc */
#include "../src/count.h"
#include "nightos_test.h"

static wc_counts counted(const char *text) {
  wc_counts c = {0, 0, 0, 0};
  uint64_t n = 0;
  while (text[n]) n++;
  wc_feed(&c, (const uint8_t *)text, n);
  return c;
}

void test_counts_as_posix_wc(void) {
  wc_counts c = counted("one two\nthree\n");
  NIGHTOS_EXPECT_EQ(c.lines, 2);
  NIGHTOS_EXPECT_EQ(c.words, 3);
  NIGHTOS_EXPECT_EQ(c.bytes, 14);
}

void test_a_word_split_between_two_pieces_counts_once(void) {
  wc_counts c = {0, 0, 0, 0};
  wc_feed(&c, (const uint8_t *)"hel", 3);
  wc_feed(&c, (const uint8_t *)"lo world", 8);
  NIGHTOS_EXPECT_EQ(c.words, 2);
  NIGHTOS_EXPECT_EQ(c.lines, 0);
}

void test_prints_what_is_asked(void) {
  wc_counts c = counted("a b\n");
  char out[80];
  int all[3] = {0, 0, 0};
  char *p = wc_format(&c, all, out, sizeof out);
  NIGHTOS_EXPECT_STRN(p, (uint64_t)(out + sizeof out - p), "1 2 4\n");
  int words[3] = {0, 1, 0};
  p = wc_format(&c, words, out, sizeof out);
  NIGHTOS_EXPECT_STRN(p, (uint64_t)(out + sizeof out - p), "2\n");
}
