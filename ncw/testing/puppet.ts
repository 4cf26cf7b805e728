// Puppet sandboxes for `ncw test` (features/sandboxes.md "Puppet sandboxes": a sandbox another program
// controls, "to automatically accept or decline every API usage, like permissions or I/O requests";
// docs/dev-loop.md "Puppet tests"). A test file may have a puppet file beside it that scripts, for its
// tests, the answers to the app's permission checks and its CMDIN: `tests/<file>.puppet.json` for the
// tests whose id is `<file>/<function>`.
//
//   { "allow": ["fs.filesystems.list"], "deny": ["net.fetch"], "cmdin": "Ada\n",
//     "cmdusr": ["y\n", {"key": "UP"}, {"key": "s", "ctrl": true}],
//     "tests": { "<function>": { "allow": [...], "cmdin": "..." } } }
//
// `allow` / `deny` are the notation of `ncw run --allow` (`perm` or `perm=scope`), given to the test's
// run up front; any other check is refused (a test has no terminal to ask on). `cmdin` is the text the
// test's CMDIN carries (UTF-8), then it closes; without one CMDIN closes at once. `cmdusr` is what the
// user types: text (each character a keystroke, as a terminal sends it: "\n" is Enter) and keys by
// name with their modifiers, one CMDUSR user input each, then CMDUSR closes; the reserved keys
// (Ctrl-C, Ctrl-.) are signals, not input, and are refused. A test's entry replaces the file's keys it
// names.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  encodeUserInput,
  KeyCode,
  KeyModifier,
  keyOfChar,
  keyOfTyped,
  reservedKeyOf,
  type UserInput,
} from "../../commonassembly/abi/user-input.js";
import { NcwError } from "../errors.js";
import type { TestCase } from "../project/tests.js";

/** What a test's run is given. */
export interface Puppet {
  allow: string[];
  deny: string[];
  /** CMDIN's bytes, or undefined: CMDIN closes at once. */
  cmdin?: Uint8Array;
  /** CMDUSR's user inputs (6 bytes each), or undefined: CMDUSR closes at once. */
  cmdusr?: Uint8Array[];
}

const KEYS = ["allow", "deny", "cmdin", "cmdusr"] as const;
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
  if (o.cmdusr !== undefined) o.cmdusr = userInputs(file, `${where}'s "cmdusr"`, o.cmdusr);
  return o;
}

const MODIFIER_NAMES = {
  ctrl: KeyModifier.CTRL,
  alt: KeyModifier.ALT,
  shift: KeyModifier.SHIFT,
  command: KeyModifier.COMMAND,
} as const;

/**
 * A key by name: `F1`–`F12`, a KeyCode name of more than one letter (`ENTER`, `UP`, `PAGE_DOWN`…),
 * else one character, as keyOfChar maps it (`a`, `A` is Shift-a, `.`).
 */
function namedKey(name: string, mods: number): UserInput | undefined {
  const f = /^F([1-9]|1[0-2])$/.exec(name);
  if (f) return { modifiers: mods, keycode: KeyCode.F1 + Number(f[1]) - 1, char: "" };
  if (name.length > 1 && name !== "NONE" && Object.hasOwn(KeyCode, name))
    return { modifiers: mods, keycode: KeyCode[name as keyof typeof KeyCode], char: "" };
  return [...name].length === 1 ? keyOfChar(name, mods) : undefined;
}

/** The `cmdusr` of a puppet file: its text and keys as CMDUSR messages. */
function userInputs(file: string, where: string, v: unknown): Uint8Array[] {
  const items = typeof v === "string" ? [v] : v;
  if (!Array.isArray(items))
    throw bad(file, `${where} must be a string or a list of strings and keys`);
  const out: UserInput[] = [];
  for (const item of items) {
    if (typeof item === "string") {
      for (const ch of item) out.push(keyOfTyped(ch));
      continue;
    }
    if (typeof item !== "object" || item === null || Array.isArray(item))
      throw bad(file, `${where}: ${JSON.stringify(item)} is neither text nor a key`);
    const o = item as Record<string, unknown>;
    let mods = 0;
    for (const [k, val] of Object.entries(o)) {
      if (k === "key") continue;
      const bit = MODIFIER_NAMES[k as keyof typeof MODIFIER_NAMES];
      if (bit === undefined || typeof val !== "boolean")
        throw bad(
          file,
          `${where}: a key takes "key" and the booleans ctrl, alt, shift, command; got "${k}"`,
        );
      if (val) mods |= bit;
    }
    const key = typeof o.key === "string" ? namedKey(o.key, mods) : undefined;
    if (key === undefined)
      throw bad(
        file,
        `${where}: ${JSON.stringify(o.key)} names no key (a KeyCode name such as "ENTER", "UP", "F5", or one character)`,
      );
    out.push(key);
  }
  for (const k of out)
    if (reservedKeyOf(k) !== undefined)
      throw bad(
        file,
        `${where}: Ctrl-C and Ctrl-. are reserved keys (signals, specs/shell.md "User inputs"), not input`,
      );
  return out.map(encodeUserInput);
}

function puppetOf(s: Script): Puppet {
  return {
    allow: (s.allow as string[] | undefined) ?? [],
    deny: (s.deny as string[] | undefined) ?? [],
    ...(s.cmdin === undefined ? {} : { cmdin: new TextEncoder().encode(s.cmdin as string) }),
    ...(s.cmdusr === undefined ? {} : { cmdusr: s.cmdusr as Uint8Array[] }),
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
