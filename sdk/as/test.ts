// test.ts — the AssemblyScript SDK's assertions for `ncw test` (docs/dev-loop.md "How a test
// asserts"). A test is an exported function of a file in the project's tests/ folder; it passes when
// it returns, fails at its first failed assertion. A failure is reported on CMDERR as
//     assertion failed: <what>
//       expected: <expected>
//       actual:   <actual>
// then the command fails (the 0xFF value) and the process exits with exit data 1, so nothing after
// the failed assertion runs. `ncw test` shows that text, and reads the expected / actual lines into
// its TAP and JUnit reports.

import { fail, printlnError } from "./command";
import { exit } from "./nightos";

/** How a value reads in a report: strings quoted, so "1" and 1 differ. */
function show<T>(v: T): string {
  if (isString<T>()) {
    return '"' + changetype<string>(v) + '"';
  }
  if (isBoolean<T>()) return v ? "true" : "false";
  if (isInteger<T>() || isFloat<T>()) return v.toString();
  if (isNullable<T>() && changetype<usize>(v) === 0) return "null";
  return "<object>";
}

/** Reports a failed assertion and ends the test (never returns). */
export function failTest(what: string, expected: string, actual: string): void {
  printlnError(`assertion failed: ${what}\n  expected: ${expected}\n  actual:   ${actual}`);
  fail();
  exit(1);
}

/** `actual` equals `expected` (== for numbers and booleans, the same characters for strings). */
export function expectEqual<T>(actual: T, expected: T, what: string = "values are equal"): void {
  // biome-ignore lint/suspicious/noDoubleEquals: AssemblyScript's == compares strings by their characters
  if (actual != expected) failTest(what, show<T>(expected), show<T>(actual));
}

/** `actual` differs from `unexpected`. */
export function expectNotEqual<T>(actual: T, unexpected: T, what: string = "values differ"): void {
  // biome-ignore lint/suspicious/noDoubleEquals: AssemblyScript's == compares strings by their characters
  if (actual == unexpected) failTest(what, `not ${show<T>(unexpected)}`, show<T>(actual));
}

/** `cond` holds. */
export function expectTrue(cond: bool, what: string = "condition holds"): void {
  if (!cond) failTest(what, "true", "false");
}

/** `cond` does not hold. */
export function expectFalse(cond: bool, what: string = "condition does not hold"): void {
  if (cond) failTest(what, "false", "true");
}

/** `actual` is within `epsilon` of `expected`. */
export function expectClose(
  actual: f64,
  expected: f64,
  epsilon: f64 = 1e-9,
  what: string = "values are close",
): void {
  if (!(Math.abs(actual - expected) <= epsilon))
    failTest(what, `${expected.toString()} ± ${epsilon.toString()}`, actual.toString());
}

/** `text` holds `part`. */
export function expectContains(text: string, part: string, what: string = "text contains"): void {
  if (!text.includes(part)) failTest(what, `a text containing ${show(part)}`, show(text));
}
