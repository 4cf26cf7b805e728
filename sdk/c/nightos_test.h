/* nightos_test.h — the C SDK's assertions for `ncw test` (docs/dev-loop.md "How a test asserts").
 * A test is a function `void test_<name>(void)` in a file of the project's tests/ folder; it passes
 * when it returns, fails at its first failed assertion. A failure is reported on CMDERR as
 *     assertion failed: <file>:<line>: <expression>
 *       expected: <expected>
 *       actual:   <actual>
 * then the command fails (the 0xFF value) and the process exits with exit data 1. */
#ifndef NIGHTOS_TEST_H
#define NIGHTOS_TEST_H

#include "nightos_command.h"

/* The text being built for one report (no libc: a static buffer, cut when full). */
static char nightos__report[4096];
static uint64_t nightos__report_len;

static inline void nightos_test__put_n(const char *s, uint64_t n) {
  for (uint64_t i = 0; i < n && nightos__report_len < sizeof nightos__report; i++)
    nightos__report[nightos__report_len++] = s[i];
}
static inline void nightos_test__put(const char *s) { nightos_test__put_n(s, nightos__strlen(s)); }
static inline void nightos_test__put_int(int64_t v) {
  char digits[24], *end = digits + sizeof digits, *p = end;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do *--p = (char)('0' + u % 10), u /= 10;
  while (u);
  if (v < 0) *--p = '-';
  nightos_test__put_n(p, (uint64_t)(end - p));
}
static inline void nightos_test__put_quoted(const char *s, uint64_t n) {
  nightos_test__put("\"");
  nightos_test__put_n(s, n);
  nightos_test__put("\"");
}
static inline void nightos_test__report_start(const char *file, int line, const char *expr) {
  nightos__report_len = 0;
  nightos_test__put("assertion failed: ");
  nightos_test__put(file);
  nightos_test__put(":");
  nightos_test__put_int(line);
  nightos_test__put(": ");
  nightos_test__put(expr);
  nightos_test__put("\n  expected: ");
}
/* Sends the report on CMDERR, fails the command and exits: the test ends here. */
__attribute__((noreturn)) static inline void nightos_test__report_end(void) {
  nightos__send_text(nightos_cmderr_id(), 0, nightos__report, nightos__report_len, 1);
  nightos_fail();
  nightos_exit(1);
  __builtin_unreachable();
}

static inline void nightos_test__expect_int(int64_t actual, int64_t expected, const char *file, int line,
                                       const char *expr) {
  if (actual == expected) return;
  nightos_test__report_start(file, line, expr);
  nightos_test__put_int(expected);
  nightos_test__put("\n  actual:   ");
  nightos_test__put_int(actual);
  nightos_test__report_end();
}
static inline int nightos_test__same(const char *a, uint64_t an, const char *b, uint64_t bn) {
  if (an != bn) return 0;
  for (uint64_t i = 0; i < an; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}
static inline void nightos_test__expect_str(const char *actual, uint64_t actual_len, const char *expected,
                                       uint64_t expected_len, const char *file, int line,
                                       const char *expr) {
  if (nightos_test__same(actual, actual_len, expected, expected_len)) return;
  nightos_test__report_start(file, line, expr);
  nightos_test__put_quoted(expected, expected_len);
  nightos_test__put("\n  actual:   ");
  nightos_test__put_quoted(actual, actual_len);
  nightos_test__report_end();
}
static inline void nightos_test__expect_true(int cond, const char *file, int line, const char *expr) {
  if (cond) return;
  nightos_test__report_start(file, line, expr);
  nightos_test__put("true\n  actual:   false");
  nightos_test__report_end();
}

/* Integers (any integer type, compared as int64_t). */
#define NIGHTOS_EXPECT_EQ(actual, expected)                                                       \
  nightos_test__expect_int((int64_t)(actual), (int64_t)(expected), __FILE__, __LINE__,                 \
                      #actual " == " #expected)
/* NUL-terminated strings. */
#define NIGHTOS_EXPECT_STREQ(actual, expected)                                                    \
  nightos_test__expect_str((actual), nightos__strlen(actual), (expected), nightos__strlen(expected),   \
                      __FILE__, __LINE__, #actual " == " #expected)
/* A string of `len` bytes (a nightos_str's ptr and len) against a NUL-terminated one. */
#define NIGHTOS_EXPECT_STRN(actual, len, expected)                                                \
  nightos_test__expect_str((const char *)(actual), (len), (expected), nightos__strlen(expected),      \
                      __FILE__, __LINE__, #actual " == " #expected)
#define NIGHTOS_EXPECT_TRUE(cond) nightos_test__expect_true((cond) != 0, __FILE__, __LINE__, #cond)

#endif /* NIGHTOS_TEST_H */
