// `ncw test`'s reports (docs/dev-loop.md "Reports"): for humans (each failure with its assertion, the
// test's CMDMSG / CMDERR and the end of its trace), TAP version 14, and JUnit XML (the schema CI
// services read: testsuites / testsuite / testcase with failure, error or skipped).

import type { TestResult } from "./runner.js";

export interface Styler {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/** The text sdk/as/test.ts and sdk/c/nightos_test.h write for a failed assertion. */
const ASSERTION_TEXT = /assertion failed: .*\n\s*expected: .*\n\s*actual: {3}.*\n?/;

const indent = (text: string, by: string) =>
  text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => by + l)
    .join("\n");

/** One line per test as it ends. */
export function humanLine(r: TestResult, s: Styler): string {
  const mark =
    r.status === "pass"
      ? s.green("ok  ")
      : r.status === "skipped"
        ? s.yellow("skip")
        : s.red(r.status === "fail" ? "FAIL" : r.status === "timeout" ? "TIME" : "CRASH");
  return `${mark} ${r.test.id} ${s.dim(`(${r.ms.toFixed(0)} ms)`)}`;
}

/** The details of the tests that did not pass, and the summary line. */
export function humanSummary(results: readonly TestResult[], totalMs: number, s: Styler): string {
  const out: string[] = [];
  for (const r of results) {
    if (r.status === "pass" || r.status === "skipped") continue;
    out.push("", s.bold(s.red(`${r.test.id}`)) + s.dim(` (${r.test.file}:${r.test.line})`));
    if (r.assertion !== undefined) {
      out.push(`  assertion failed: ${r.assertion.what}`);
      out.push(`    expected: ${s.green(r.assertion.expected)}`);
      out.push(`    actual:   ${s.red(r.assertion.actual)}`);
    } else if (r.reason !== undefined) out.push(`  ${r.reason}`);
    if (r.messages !== "") out.push(s.dim("  CMDMSG:"), indent(r.messages, "    "));
    // The assertion's own report is shown above; CMDERR shows what else the test wrote there.
    const errors = r.errors.replace(ASSERTION_TEXT, "");
    if (errors.trim() !== "") out.push(s.dim("  CMDERR:"), indent(errors, "    "));
    if (r.trace.length > 0)
      out.push(
        s.dim(`  trace (last ${r.trace.length} lines):`),
        indent(r.trace.join("\n"), "    "),
      );
  }
  const count = (st: TestResult["status"]) => results.filter((r) => r.status === st).length;
  const failed = results.length - count("pass") - count("skipped");
  const parts = [
    `${count("pass")} passed`,
    ...(failed > 0 ? [s.red(`${failed} failed`)] : []),
    ...(count("skipped") > 0 ? [s.yellow(`${count("skipped")} skipped`)] : []),
  ];
  out.push("", `${parts.join(", ")} of ${results.length} in ${(totalMs / 1000).toFixed(2)} s`);
  return out.join("\n");
}

/** TAP 14: a plan, one test point per test, YAML diagnostics for those that did not pass. */
export function tapReport(results: readonly TestResult[]): string {
  const out = ["TAP version 14", `1..${results.length}`];
  results.forEach((r, i) => {
    const n = i + 1;
    if (r.status === "pass") out.push(`ok ${n} - ${r.test.id}`);
    else if (r.status === "skipped") out.push(`ok ${n} - ${r.test.id} # SKIP not run (--bail)`);
    else {
      out.push(`not ok ${n} - ${r.test.id}`, "  ---");
      out.push(`  status: ${r.status}`);
      out.push(`  at: ${JSON.stringify(`${r.test.file}:${r.test.line}`)}`);
      if (r.assertion !== undefined) {
        out.push(`  message: ${JSON.stringify(r.assertion.what)}`);
        out.push(`  expected: ${JSON.stringify(r.assertion.expected)}`);
        out.push(`  actual: ${JSON.stringify(r.assertion.actual)}`);
      } else if (r.reason !== undefined) out.push(`  message: ${JSON.stringify(r.reason)}`);
      if (r.errors !== "") out.push(`  cmderr: ${JSON.stringify(r.errors)}`);
      out.push(`  duration_ms: ${r.ms.toFixed(1)}`, "  ...");
    }
  });
  return `${out.join("\n")}\n`;
}

function xml(s: string): string {
  return (
    s
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      // Characters XML 1.0 cannot hold at all.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "\ufffd")
  );
}

/** JUnit XML: one testsuite (the project), one testcase per test. */
export function junitReport(
  suite: string,
  results: readonly TestResult[],
  totalMs: number,
): string {
  const n = (st: TestResult["status"][]) => results.filter((r) => st.includes(r.status)).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suite)}" tests="${results.length}" failures="${n(["fail"])}" errors="${n(["crash", "timeout"])}" skipped="${n(["skipped"])}" time="${(totalMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(suite)}" tests="${results.length}" failures="${n(["fail"])}" errors="${n(["crash", "timeout"])}" skipped="${n(["skipped"])}" time="${(totalMs / 1000).toFixed(3)}">`,
  ];
  for (const r of results) {
    const [file] = r.test.id.split("/");
    const head = `    <testcase classname="${xml(`${suite}.${file}`)}" name="${xml(r.test.id)}" file="${xml(r.test.file)}" line="${r.test.line}" time="${(r.ms / 1000).toFixed(3)}"`;
    if (r.status === "pass") {
      out.push(`${head}/>`);
      continue;
    }
    out.push(`${head}>`);
    if (r.status === "skipped") out.push('      <skipped message="not run (--bail)"/>');
    else {
      const tag = r.status === "fail" ? "failure" : "error";
      const message =
        r.assertion !== undefined
          ? `${r.assertion.what}: expected ${r.assertion.expected}, actual ${r.assertion.actual}`
          : (r.reason ?? r.status);
      out.push(
        `      <${tag} message="${xml(message)}" type="${r.status}">${xml(r.errors)}</${tag}>`,
      );
    }
    if (r.messages !== "") out.push(`      <system-out>${xml(r.messages)}</system-out>`);
    if (r.errors !== "") out.push(`      <system-err>${xml(r.errors)}</system-err>`);
    out.push("    </testcase>");
  }
  out.push("  </testsuite>", "</testsuites>");
  return `${out.join("\n")}\n`;
}
