// Puppet sandboxes for `ncw test` (features/sandboxes.md "Puppet sandboxes": a sandbox another program
// controls, "to automatically accept or decline every API usage, like permissions or I/O requests";
// docs/dev-loop.md "Puppet tests"). A test file may have a puppet file beside it that scripts, for its
// tests, the answers to the app's permission checks and its CMDIN: `tests/<file>.puppet.json` for the
// tests whose id is `<file>/<function>`.
//
//   { "allow": ["fs.filesystems.list"], "deny": ["net.fetch"], "cmdin": "Ada\n",
//     "tests": { "<function>": { "allow": [...], "cmdin": "..." } } }
//
// `allow` / `deny` are the notation of `ncw run --allow` (`perm` or `perm=scope`), given to the test's
// run up front; any other check is refused (a test has no terminal to ask on). `cmdin` is the text the
// test's CMDIN carries (UTF-8), then it closes; without one CMDIN closes at once. A test's entry
// replaces the file's keys it names.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { NcwError } from "../errors.js";
import type { TestCase } from "../project/tests.js";

/** What a test's run is given. */
export interface Puppet {
  allow: string[];
  deny: string[];
  /** CMDIN's bytes, or undefined: CMDIN closes at once. */
  cmdin?: Uint8Array;
}

const KEYS = ["allow", "deny", "cmdin"] as const;
type Script = Partial<Record<(typeof KEYS)[number], unknown>>;

function bad(file: string, why: string): NcwError {
  return new NcwError("data", `${file}: ${why}`, {
    code: "TEST_BAD_PUPPET",
    hint: 'a puppet file is JSON: {"allow": ["perm=scope"], "deny": [...], "cmdin": "text", "tests": {"<function>": {...}}}',
  });
}

function script(file: string, where: string, v: unknown, top: boolean): Script {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw bad(file, `${where} must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(KEYS as readonly string[]).includes(k) && !(top && k === "tests"))
      throw bad(file, `${where} has an unknown key "${k}"`);
  for (const k of ["allow", "deny"] as const)
    if (o[k] !== undefined && (!Array.isArray(o[k]) || !o[k].every((x) => typeof x === "string")))
      throw bad(file, `${where}'s "${k}" must be a list of strings`);
  if (o.cmdin !== undefined && typeof o.cmdin !== "string")
    throw bad(file, `${where}'s "cmdin" must be a string`);
  return o;
}

function puppetOf(s: Script): Puppet {
  return {
    allow: (s.allow as string[] | undefined) ?? [],
    deny: (s.deny as string[] | undefined) ?? [],
    ...(s.cmdin === undefined ? {} : { cmdin: new TextEncoder().encode(s.cmdin as string) }),
  };
}

/**
 * The puppets of `tests` in the project at `dir`, by test id (tests without a puppet file have none).
 * A puppet file that is not valid, or names a function that is not a test of its file, is an error.
 */
export function loadPuppets(dir: string, tests: readonly TestCase[]): Map<string, Puppet> {
  const out = new Map<string, Puppet>();
  const byFile = new Map<string, TestCase[]>();
  for (const t of tests) {
    const base = t.id.slice(0, t.id.lastIndexOf("/"));
    byFile.set(base, [...(byFile.get(base) ?? []), t]);
  }
  for (const [base, cases] of byFile) {
    const rel = path.join("tests", `${base}.puppet.json`);
    const file = path.join(dir, rel);
    if (!existsSync(file)) continue;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw bad(rel, `not valid JSON (${(e as Error).message})`);
    }
    const top = script(rel, "the file", json, true);
    const perTest = (json as { tests?: unknown }).tests ?? {};
    if (typeof perTest !== "object" || perTest === null || Array.isArray(perTest))
      throw bad(rel, '"tests" must be an object of test functions');
    const names = new Set(cases.map((c) => c.fn));
    for (const fn of Object.keys(perTest))
      if (!names.has(fn))
        throw bad(
          rel,
          `"tests" names ${fn}, which is not a test of ${base} (${[...names].join(", ")})`,
        );
    for (const c of cases) {
      const own = (perTest as Record<string, unknown>)[c.fn];
      const mine = own === undefined ? {} : script(rel, `"tests"."${c.fn}"`, own, false);
      out.set(c.id, puppetOf({ ...top, ...mine }));
    }
  }
  return out;
}
