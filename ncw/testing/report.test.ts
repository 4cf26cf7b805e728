import { describe, expect, it } from "vitest";
import { junitReport, tapReport } from "./report.js";
import { parseAssertion, type TestResult } from "./runner.js";

const test = (id: string, line = 3) => ({ id, file: "tests/a.test.ts", fn: id, line });
const pass: TestResult = {
  test: test("a/ok"),
  status: "pass",
  ms: 5,
  messages: "",
  errors: "",
  trace: [],
};
const errors = "assertion failed: sums\n  expected: 3\n  actual:   4 <&>\n";
const fail: TestResult = {
  test: test("a/bad", 7),
  status: "fail",
  ms: 6,
  messages: "hi\n",
  errors,
  trace: [],
  assertion: { what: "sums", expected: "3", actual: "4 <&>" },
};

describe("reports", () => {
  it("reads the SDKs' assertion text", () => {
    expect(parseAssertion(`before\n${errors}`)).toEqual({
      what: "sums",
      expected: "3",
      actual: "4 <&>",
    });
    expect(parseAssertion("no assertion here")).toBeUndefined();
  });

  it("writes TAP 14 with YAML diagnostics for a failure", () => {
    expect(tapReport([pass, fail])).toBe(
      [
        "TAP version 14",
        "1..2",
        "ok 1 - a/ok",
        "not ok 2 - a/bad",
        "  ---",
        "  status: fail",
        '  at: "tests/a.test.ts:7"',
        '  message: "sums"',
        '  expected: "3"',
        '  actual: "4 <&>"',
        '  cmderr: "assertion failed: sums\\n  expected: 3\\n  actual:   4 <&>\\n"',
        "  duration_ms: 6.0",
        "  ...",
        "",
      ].join("\n"),
    );
  });

  it("writes JUnit XML, escaped", () => {
    const xml = junitReport("app", [pass, fail], 1234);
    expect(xml).toContain(
      '<testsuites name="app" tests="2" failures="1" errors="0" skipped="0" time="1.234">',
    );
    expect(xml).toContain(
      '<testcase classname="app.a" name="a/ok" file="tests/a.test.ts" line="3" time="0.005"/>',
    );
    expect(xml).toContain(
      '<failure message="sums: expected 3, actual 4 &lt;&amp;&gt;" type="fail">',
    );
    expect(xml).toContain("<system-out>hi\n</system-out>");
  });
});
