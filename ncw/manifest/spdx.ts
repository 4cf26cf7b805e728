// SPDX license identifiers accepted in `infos.license` and `commands.*.license`
// (specs/applications-libraries.md: "must be in a list of available licenses"). A curated subset of
// the SPDX License List 3.x: the licenses packages actually use. `LicenseRef-<id>` is accepted too,
// and so are SPDX license expressions (`MIT OR Apache-2.0`, `GPL-2.0-or-later WITH Classpath-exception-2.0`).

export const SPDX_LICENSE_IDS: ReadonlySet<string> = new Set([
  "0BSD",
  "AFL-3.0",
  "AGPL-1.0-only",
  "AGPL-1.0-or-later",
  "AGPL-3.0-only",
  "AGPL-3.0-or-later",
  "Apache-1.0",
  "Apache-1.1",
  "Apache-2.0",
  "APSL-2.0",
  "Artistic-1.0",
  "Artistic-2.0",
  "BlueOak-1.0.0",
  "BSD-1-Clause",
  "BSD-2-Clause",
  "BSD-2-Clause-Patent",
  "BSD-3-Clause",
  "BSD-3-Clause-Clear",
  "BSD-4-Clause",
  "BSL-1.0",
  "BUSL-1.1",
  "CAL-1.0",
  "CC-BY-1.0",
  "CC-BY-2.0",
  "CC-BY-2.5",
  "CC-BY-3.0",
  "CC-BY-4.0",
  "CC-BY-NC-4.0",
  "CC-BY-NC-ND-4.0",
  "CC-BY-NC-SA-4.0",
  "CC-BY-ND-4.0",
  "CC-BY-SA-3.0",
  "CC-BY-SA-4.0",
  "CC0-1.0",
  "CDDL-1.0",
  "CDDL-1.1",
  "CECILL-2.1",
  "CECILL-B",
  "CECILL-C",
  "CPAL-1.0",
  "CPL-1.0",
  "ECL-2.0",
  "EFL-2.0",
  "EPL-1.0",
  "EPL-2.0",
  "EUPL-1.1",
  "EUPL-1.2",
  "FSFAP",
  "FTL",
  "GFDL-1.3-only",
  "GFDL-1.3-or-later",
  "GPL-1.0-only",
  "GPL-1.0-or-later",
  "GPL-2.0-only",
  "GPL-2.0-or-later",
  "GPL-3.0-only",
  "GPL-3.0-or-later",
  "HPND",
  "ICU",
  "IJG",
  "ImageMagick",
  "IPL-1.0",
  "ISC",
  "LGPL-2.0-only",
  "LGPL-2.0-or-later",
  "LGPL-2.1-only",
  "LGPL-2.1-or-later",
  "LGPL-3.0-only",
  "LGPL-3.0-or-later",
  "LiLiQ-P-1.1",
  "LPL-1.02",
  "LPPL-1.3c",
  "MirOS",
  "MIT",
  "MIT-0",
  "MIT-CMU",
  "MPL-1.0",
  "MPL-1.1",
  "MPL-2.0",
  "MPL-2.0-no-copyleft-exception",
  "MS-PL",
  "MS-RL",
  "MulanPSL-2.0",
  "NCSA",
  "NTP",
  "ODbL-1.0",
  "OFL-1.0",
  "OFL-1.1",
  "OGL-UK-3.0",
  "OLDAP-2.8",
  "OpenSSL",
  "OSL-3.0",
  "PHP-3.01",
  "PostgreSQL",
  "PSF-2.0",
  "Python-2.0",
  "QPL-1.0",
  "Ruby",
  "SGI-B-2.0",
  "SISSL",
  "Sleepycat",
  "SMLNJ",
  "SSPL-1.0",
  "UCL-1.0",
  "Unicode-3.0",
  "Unicode-DFS-2016",
  "Unlicense",
  "UPL-1.0",
  "Vim",
  "W3C",
  "WTFPL",
  "X11",
  "XFree86-1.1",
  "Xnet",
  "Zlib",
  "zlib-acknowledgement",
  "ZPL-2.0",
  "ZPL-2.1",
]);

/** True for a listed SPDX id or a `LicenseRef-<idstring>` (SPDX's form for licenses not on the list). */
export function isKnownLicense(id: string): boolean {
  return SPDX_LICENSE_IDS.has(id) || /^LicenseRef-[A-Za-z0-9.-]+$/.test(id);
}

/** SPDX license exceptions accepted after `WITH` (a curated subset of the SPDX exceptions list). */
export const SPDX_EXCEPTION_IDS: ReadonlySet<string> = new Set([
  "Autoconf-exception-3.0",
  "Bison-exception-2.2",
  "Bootloader-exception",
  "Classpath-exception-2.0",
  "FLTK-exception",
  "Font-exception-2.0",
  "GCC-exception-2.0",
  "GCC-exception-3.1",
  "GPL-3.0-linking-exception",
  "LGPL-3.0-linking-exception",
  "LLVM-exception",
  "OCaml-LGPL-linking-exception",
  "OpenJDK-assembly-exception-1.0",
  "Qt-GPL-exception-1.0",
  "Qt-LGPL-exception-1.1",
  "Swift-exception",
  "u-boot-exception-2.0",
  "Universal-FOSS-exception-1.0",
  "WxWindows-exception-3.1",
]);

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
    if (!isKnownLicense(id)) return `names "${id}", which is not an SPDX license identifier`;
    return null;
  };
  const withExpr = (): string | null => {
    const e = simple();
    if (e !== null) return e;
    if (peek() === "WITH") {
      i++;
      const ex = tokens[i++];
      if (ex === undefined || !SPDX_EXCEPTION_IDS.has(ex))
        return `names "${ex ?? ""}" after WITH, which is not an SPDX license exception`;
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
