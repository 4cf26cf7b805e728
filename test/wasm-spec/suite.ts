// Runs a set of spec-test files through the AOT path (runner.ts) in this process and sorts the failures
// into known (scope.ts KNOWN_FAILURES, each with its reason) and unexpected ones.

import path from "node:path";
import { type Outcome, runScript, type ScriptResult } from "./runner.js";
import { KNOWN_FAILURES, supersededReason } from "./scope.js";

export interface SuiteResult {
  results: ScriptResult[];
  passed: number;
  skipped: number;
  knownFailures: (Outcome & { file: string })[];
  unexpected: (Outcome & { file: string })[];
  /** Known failures that passed this time (their entry in KNOWN_FAILURES can go). */
  fixed: { file: string; line: number }[];
}

export async function runSuite(
  dir: string,
  files: readonly string[],
  cacheDir: string,
): Promise<SuiteResult> {
  const out: SuiteResult = {
    results: [],
    passed: 0,
    skipped: 0,
    knownFailures: [],
    unexpected: [],
    fixed: [],
  };
  for (const f of files) {
    const r = await runScript(path.join(dir, f), { cacheDir });
    // Assertions that WebAssembly 2.0 reversed count as skipped, with the reason.
    r.failed = r.failed.filter((x) => {
      const why = supersededReason(f, x.line);
      if (why !== undefined) r.skipped.push({ ...x, detail: why });
      return why === undefined;
    });
    out.results.push(r);
    out.passed += r.passed;
    out.skipped += r.skipped.length;
    for (const x of r.failed) {
      const known = KNOWN_FAILURES.some((k) => k.file === f && k.line === x.line);
      (known ? out.knownFailures : out.unexpected).push({ ...x, file: f });
    }
    for (const k of KNOWN_FAILURES) {
      if (k.file === f && !r.failed.some((x) => x.line === k.line))
        out.fixed.push({ file: f, line: k.line });
    }
  }
  return out;
}

export function summary(r: SuiteResult): string {
  return `${r.passed} passed, ${r.unexpected.length + r.knownFailures.length} failed (${r.knownFailures.length} known), ${r.skipped} skipped`;
}
