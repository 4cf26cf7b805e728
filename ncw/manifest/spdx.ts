// SPDX license identifiers and expressions accepted in `infos.license` and `commands.*.license`
// (specs/applications-libraries.md: "must be in a list of available licenses"): the whole SPDX
// License List and exceptions list, from the data-only packages `spdx-license-ids` and
// `spdx-exceptions` (docs/packages.md, "license"); `LicenseRef-<id>` is accepted too, and so are SPDX
// license expressions (`MIT OR Apache-2.0`, `GPL-2.0-or-later WITH Classpath-exception-2.0`).

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** A JSON list of strings from a data package (anything else is a broken install). */
function stringList(name: string): readonly string[] {
  const data: unknown = require(name);
  if (!Array.isArray(data) || !data.every((x): x is string => typeof x === "string"))
    throw new Error(`${name} is not a list of strings (a broken install of NCW)`);
  return data;
}

/** Current SPDX license identifiers. */
export const SPDX_LICENSE_IDS: ReadonlySet<string> = new Set(stringList("spdx-license-ids"));
/** Identifiers the SPDX list deprecates (`GPL-2.0`, `LGPL-2.1`, …): rejected, with a hint. */
export const SPDX_DEPRECATED_IDS: ReadonlySet<string> = new Set(
  stringList("spdx-license-ids/deprecated.json"),
);
/** SPDX license exceptions accepted after `WITH`. */
export const SPDX_EXCEPTION_IDS: ReadonlySet<string> = new Set(stringList("spdx-exceptions"));

/** True for a listed SPDX id or a `LicenseRef-<idstring>` (SPDX's form for licenses not on the list). */
export function isKnownLicense(id: string): boolean {
  return SPDX_LICENSE_IDS.has(id) || /^LicenseRef-[A-Za-z0-9.-]+$/.test(id);
}

/** The listed id or exception that `id` spells in another case (`mit` → `MIT`), if any. */
function caseOf(id: string, list: ReadonlySet<string>): string | undefined {
  const lower = id.toLowerCase();
  for (const known of list) if (known.toLowerCase() === lower) return known;
  return undefined;
}

/** Why `id` is not accepted as a license: unknown, deprecated or miscased. */
function unknownLicense(id: string): string {
  if (SPDX_DEPRECATED_IDS.has(id))
    return `names "${id}", which the SPDX License List deprecates (use its -only or -or-later form, or the id that replaced it)`;
  const known = caseOf(id, SPDX_LICENSE_IDS);
  if (known !== undefined) return `names "${id}"; the SPDX identifier is spelled "${known}"`;
  return `names "${id}", which is not an SPDX license identifier`;
}

/** Deepest parenthesis nesting accepted in a license expression (NCW decision, docs/packages.md). */
export const LICENSE_MAX_DEPTH = 16;

/**
 * Checks an SPDX license expression (SPDX spec 2.3, annex D): license ids (optionally with `+`)
 * or `LicenseRef-<id>`, joined by `AND` / `OR`, with `WITH <exception>` and parentheses. Operators
 * are upper case. Returns null when valid, else what is wrong.
 */
export function licenseExpressionProblem(expr: string): string | null {
  const tokens = expr.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  let depth = 0;
  const peek = () => tokens[i];
  // compound := and ("OR" and)* ; and := with ("AND" with)* ; with := simple ("WITH" exception)?
  // simple := id["+"] | "(" compound ")"
  const simple = (): string | null => {
    const t = tokens[i++];
    if (t === undefined) return "ends where a license was expected";
    if (t === "(") {
      if (++depth > LICENSE_MAX_DEPTH)
        return `nests parentheses deeper than ${LICENSE_MAX_DEPTH} levels`;
      const inner = compound();
      depth--;
      if (inner !== null) return inner;
      if (tokens[i++] !== ")") return 'has a "(" without its ")"';
      return null;
    }
    if (t === ")" || t === "AND" || t === "OR" || t === "WITH")
      return `has "${t}" where a license was expected`;
    if (/^(and|or|with)$/i.test(t))
      return `writes the operator "${t}" in lower case (use ${t.toUpperCase()})`;
    const id = t.endsWith("+") ? t.slice(0, -1) : t;
    if (!isKnownLicense(id)) return unknownLicense(id);
    return null;
  };
  const withExpr = (): string | null => {
    const e = simple();
    if (e !== null) return e;
    if (peek() === "WITH") {
      i++;
      const ex = tokens[i++];
      if (ex === undefined || !SPDX_EXCEPTION_IDS.has(ex)) {
        const known = ex === undefined ? undefined : caseOf(ex, SPDX_EXCEPTION_IDS);
        return known !== undefined
          ? `names "${ex}" after WITH; the SPDX exception is spelled "${known}"`
          : `names "${ex ?? ""}" after WITH, which is not an SPDX license exception`;
      }
    }
    return null;
  };
  /** inner (op inner)* */
  const joined = (op: string, inner: () => string | null) => (): string | null => {
    let e = inner();
    while (e === null && peek() === op) {
      i++;
      e = inner();
    }
    return e;
  };
  const andExpr = joined("AND", withExpr);
  const compound = joined("OR", andExpr);
  const e = compound();
  if (e !== null) return e;
  const rest = tokens[i];
  if (rest !== undefined) {
    if (/^(and|or|with)$/i.test(rest))
      return `writes the operator "${rest}" in lower case (use ${rest.toUpperCase()})`;
    return `has "${rest}" after a complete expression`;
  }
  return null;
}
