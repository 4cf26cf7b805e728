// Validation of a parsed manifest.toml against the schema of specs/applications-libraries.md,
// specs/applications.md and specs/libraries.md (translated to TOML; see docs/packages.md).
// Every issue names the field path, the value and the rule; all issues are reported at once.

import semver from "semver";
import { NcwError } from "../errors.js";
import {
  AID_MAX_BYTES,
  isLanguageTag,
  makeAid,
  parseAid,
  parseShellType,
  RESERVED_DIDS,
  ShellTypeError,
  slugFromName,
  slugRuleBroken,
  typeContains,
  valueFitsType,
} from "./rules.js";
import { licenseExpressionProblem } from "./spdx.js";
import type {
  Additional,
  ApplicationManifest,
  ArgSyntax,
  Author,
  CommandArg,
  CommandConditional,
  CommandSpec,
  Content,
  Dependencies,
  Embedded,
  Events,
  Extension,
  Feature,
  Features,
  Infos,
  LibraryManifest,
  Manifest,
  ManifestIssue,
  Services,
  SysFeatures,
} from "./types.js";

export const ICON_SIZES = [16, 32, 64, 128, 256] as const;
export const ICON_PLACEHOLDER = "%{}";

/** A manifest that breaks rules; `issues` lists every one. */
export class ManifestError extends NcwError {
  readonly issues: ManifestIssue[];
  constructor(issues: ManifestIssue[], source = "manifest.toml") {
    const lines = issues.map((i) => `  - ${formatIssue(i)}`);
    super(
      "data",
      `${source} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`,
      {
        code: "MANIFEST_INVALID",
        hint: "Fix the fields listed above; the schema is in docs/packages.md.",
      },
    );
    this.issues = issues;
  }
}

export function formatIssue(i: ManifestIssue): string {
  const v =
    i.value === undefined
      ? "(missing)"
      : JSON.stringify(i.value, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  return `${i.path} = ${v}: ${i.rule}`;
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Keys written in TOML dotted form, quoted when they are not bare keys. */
function key(path: string, k: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
  return path === "" ? part : `${path}.${part}`;
}

class Checker {
  readonly issues: ManifestIssue[] = [];

  issue(path: string, value: unknown, rule: string): void {
    this.issues.push({ path, value, rule });
  }

  /** Report keys of `t` not in `allowed`. */
  known(t: Table, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(t)) {
      if (!allowed.includes(k)) {
        this.issue(key(path, k), t[k], `unknown field (allowed here: ${allowed.join(", ")})`);
      }
    }
  }

  table(t: Table, k: string, path: string, required: boolean): Table | undefined {
    const v = t[k];
    if (v === undefined) {
      if (required) this.issue(key(path, k), v, "required table is missing");
      return undefined;
    }
    if (!isTable(v)) {
      this.issue(key(path, k), v, "must be a table");
      return undefined;
    }
    return v;
  }

  str(t: Table, k: string, path: string, required: boolean, nonEmpty = true): string | undefined {
    const v = t[k];
    if (v === undefined) {
      if (required) this.issue(key(path, k), v, "required string is missing");
      return undefined;
    }
    if (typeof v !== "string") {
      this.issue(key(path, k), v, "must be a string");
      return undefined;
    }
    if (nonEmpty && v.trim().length === 0) {
      this.issue(key(path, k), v, "must not be empty");
      return undefined;
    }
    return v;
  }

  bool(t: Table, k: string, path: string, required: boolean): boolean | undefined {
    const v = t[k];
    if (v === undefined) {
      if (required) this.issue(key(path, k), v, "required boolean is missing");
      return undefined;
    }
    if (typeof v !== "boolean") {
      this.issue(key(path, k), v, "must be true or false");
      return undefined;
    }
    return v;
  }

  strArray(t: Table, k: string, path: string, required: boolean): string[] | undefined {
    const v = t[k];
    if (v === undefined) {
      if (required) this.issue(key(path, k), v, "required list is missing");
      return undefined;
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      this.issue(key(path, k), v, "must be a list of strings");
      return undefined;
    }
    const seen = new Set<string>();
    for (const x of v as string[]) {
      if (seen.has(x)) this.issue(key(path, k), x, "listed twice");
      seen.add(x);
    }
    return v as string[];
  }

  /** A relative path inside the package (no "..", not absolute). Returns it normalised. */
  packagePath(value: string, path: string, allowDir = false): string | undefined {
    if (value.startsWith("/") || /^[A-Za-z]:/.test(value) || value.includes("\\")) {
      this.issue(path, value, "must be a relative path inside the package, with forward slashes");
      return undefined;
    }
    const parts = value.split("/").filter((s) => s !== "" && s !== ".");
    if (parts.includes("..")) {
      this.issue(path, value, 'must stay inside the package (no ".." segments)');
      return undefined;
    }
    if (parts.length === 0 && !allowDir) {
      this.issue(path, value, "must name a file of the package");
      return undefined;
    }
    return parts.join("/");
  }

  languages(t: Table, k: string, path: string): string[] | undefined {
    const langs = this.strArray(t, k, path, false);
    for (const l of langs ?? []) {
      if (!isLanguageTag(l))
        this.issue(key(path, k), l, 'must be a language tag like "en" or "en-US"');
    }
    return langs;
  }
}

const TOP_APP = [
  "type",
  "infos",
  "content",
  "dependencies",
  "features",
  "extensions",
  "events",
  "commands",
  "services",
  "sysfeatures",
  "additional",
  "embedded",
];
const TOP_LIB = ["type", "infos", "content", "dependencies", "features", "extensions"];
const NAME_RULE = /^[a-z_][a-z0-9_-]*$/;
const NAME_RULE_TEXT =
  "names use lowercase letters, digits, '_' and '-', and do not start with a digit or '-'";

/**
 * Check a parsed TOML document and return the typed manifest; throws ManifestError listing every
 * broken rule.
 */
export function validateManifest(obj: unknown, source = "manifest.toml"): Manifest {
  const { manifest, issues } = checkManifest(obj);
  if (manifest === undefined || issues.length > 0) throw new ManifestError(issues, source);
  return manifest;
}

/** Like validateManifest, without throwing. */
export function checkManifest(obj: unknown): { manifest?: Manifest; issues: ManifestIssue[] } {
  const c = new Checker();
  if (!isTable(obj)) {
    c.issue("(document)", obj, "a manifest is a TOML table");
    return { issues: c.issues };
  }
  const type = obj.type;
  if (type !== "application" && type !== "library") {
    c.issue(
      "type",
      type,
      'required: "application" or "library" (NCW: says what the package holds)',
    );
    return { issues: c.issues };
  }
  c.known(obj, "", type === "application" ? TOP_APP : TOP_LIB);
  const infos = checkInfos(c, obj);
  const content = checkContent(c, obj);
  const dependencies = checkDependencies(
    c,
    c.table(obj, "dependencies", "", true),
    "dependencies",
    true,
  );
  const extensions = checkExtensions(c, obj);
  const features = checkFeatures(c, obj, extensions);
  if (infos === undefined || content === undefined || dependencies === undefined) {
    return { issues: c.issues };
  }
  const common = {
    infos,
    content,
    dependencies: dependencies as Dependencies,
    ...(features === undefined ? {} : { features }),
    ...(extensions === undefined ? {} : { extensions }),
  };
  if (type === "library") {
    const lib: LibraryManifest = { type, ...common };
    return { manifest: lib, issues: c.issues };
  }
  const events = checkEvents(c, obj);
  const commands = checkCommands(c, obj);
  const services = checkServices(c, obj);
  const sysfeatures = checkSysFeatures(c, obj);
  const additional = checkAdditional(c, obj);
  const embedded = checkEmbedded(c, obj);
  if (sysfeatures === undefined) return { issues: c.issues };
  const app: ApplicationManifest = {
    type,
    ...common,
    ...(events === undefined ? {} : { events }),
    ...(commands === undefined ? {} : { commands }),
    ...(services === undefined ? {} : { services }),
    sysfeatures,
    ...(additional === undefined ? {} : { additional }),
    ...(embedded === undefined ? {} : { embedded }),
  };
  return { manifest: app, issues: c.issues };
}

function checkInfos(c: Checker, root: Table): Infos | undefined {
  const t = c.table(root, "infos", "", true);
  if (t === undefined) return undefined;
  const p = "infos";
  c.known(t, p, ["name", "slug", "did", "description", "version", "authors", "icon", "license"]);
  const name = c.str(t, "name", p, true);
  const slug = c.str(t, "slug", p, false, false);
  if (slug !== undefined) {
    const broken = slugRuleBroken(slug);
    if (broken !== undefined) {
      c.issue(
        "infos.slug",
        slug,
        `slug ${broken}${name ? ` (the slug generated from the name would be "${slugFromName(name)}")` : ""}`,
      );
    }
  } else if (t.slug === undefined) {
    const hint =
      name === undefined
        ? ""
        : ` (the slug generated from the name would be "${slugFromName(name)}")`;
    c.issue("infos.slug", undefined, `required string is missing${hint}`);
  }
  const did = c.str(t, "did", p, true, false);
  if (did !== undefined) {
    const broken = slugRuleBroken(did);
    if (broken !== undefined) c.issue("infos.did", did, `DID follows the slug rules: it ${broken}`);
    else if (RESERVED_DIDS.includes(did))
      c.issue("infos.did", did, `the DID "${did}" is reserved for the system`);
  }
  if (
    did !== undefined &&
    slug !== undefined &&
    Buffer.byteLength(makeAid(did, slug)) > AID_MAX_BYTES
  ) {
    c.issue("infos.slug", slug, `the AID "<did>::<slug>" must be at most ${AID_MAX_BYTES} bytes`);
  }
  const description = c.str(t, "description", p, true);
  const version = c.str(t, "version", p, true);
  if (version !== undefined && semver.valid(version) !== version) {
    c.issue("infos.version", version, 'must be a semantic version like "1.0.0" (no "v" prefix)');
  }
  const authors: Author[] = [];
  const rawAuthors = t.authors;
  if (rawAuthors === undefined)
    c.issue("infos.authors", undefined, "required list of authors is missing");
  else if (!Array.isArray(rawAuthors) || rawAuthors.length === 0) {
    c.issue("infos.authors", rawAuthors, "must be a non-empty list of { name, email? } tables");
  } else {
    rawAuthors.forEach((a, i) => {
      const ap = `infos.authors[${i}]`;
      if (!isTable(a)) {
        c.issue(ap, a, "must be a table { name, email? }");
        return;
      }
      c.known(a, ap, ["name", "email", "url"]);
      const n = c.str(a, "name", ap, true);
      const email = c.str(a, "email", ap, false);
      if (email !== undefined && !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email)) {
        c.issue(`${ap}.email`, email, "must be an e-mail address");
      }
      const url = c.str(a, "url", ap, false);
      if (url !== undefined && !/^https?:\/\/\S+$/.test(url))
        c.issue(`${ap}.url`, url, "must be an http(s) URL");
      if (n !== undefined) {
        authors.push({
          name: n,
          ...(email === undefined ? {} : { email }),
          ...(url === undefined ? {} : { url }),
        });
      }
    });
  }
  const icon = c.str(t, "icon", p, true);
  if (icon !== undefined) {
    const count = icon.split(ICON_PLACEHOLDER).length - 1;
    if (count !== 1) {
      c.issue(
        "infos.icon",
        icon,
        `must contain "${ICON_PLACEHOLDER}" exactly once (it stands for ${ICON_SIZES.join(", ")})`,
      );
    } else c.packagePath(icon, "infos.icon");
  }
  const license = c.str(t, "license", p, true);
  const licenseProblem = license === undefined ? null : licenseExpressionProblem(license);
  if (licenseProblem !== null) {
    c.issue(
      "infos.license",
      license,
      `must be an SPDX license identifier (e.g. MIT, Apache-2.0), LicenseRef-<id> or an SPDX expression (MIT OR Apache-2.0); it ${licenseProblem}`,
    );
  }
  if (
    name === undefined ||
    slug === undefined ||
    did === undefined ||
    description === undefined ||
    version === undefined ||
    icon === undefined ||
    license === undefined
  ) {
    return undefined;
  }
  return { name, slug, did, description, version, authors, icon, license };
}

function checkContent(c: Checker, root: Table): Content | undefined {
  const t = c.table(root, "content", "", true);
  if (t === undefined) return undefined;
  c.known(t, "content", ["program", "assets"]);
  const prog = c.table(t, "program", "content", true);
  if (prog === undefined) return undefined;
  c.known(prog, "content.program", ["source", "precomp"]);
  const program: Content["program"] = {};
  const src = c.table(prog, "source", "content.program", false);
  if (src !== undefined) {
    const sp = "content.program.source";
    c.known(src, sp, ["toolchain", "build", "options"]);
    const toolchain = c.str(src, "toolchain", sp, true);
    if (toolchain !== undefined && !/^[a-z][a-z0-9_+.-]*$/.test(toolchain)) {
      c.issue(
        `${sp}.toolchain`,
        toolchain,
        "must be a toolchain name (lowercase letters, digits, _ + . -)",
      );
    }
    const build = c.table(src, "build", sp, true);
    const options = c.table(src, "options", sp, false);
    if (toolchain !== undefined && build !== undefined) {
      program.source = { toolchain, build, ...(options === undefined ? {} : { options }) };
    }
  }
  const precomp = c.str(prog, "precomp", "content.program", false);
  if (precomp !== undefined) {
    const p = c.packagePath(precomp, "content.program.precomp");
    if (p !== undefined) program.precomp = p;
  }
  if (src === undefined && prog.precomp === undefined) {
    c.issue(
      "content.program",
      prog,
      "needs `source` (source package), `precomp` (pre-compiled package) or both",
    );
  }
  const assets = checkAssets(c, t, "content");
  return { program, ...(assets === undefined ? {} : { assets }) };
}

function checkAssets(c: Checker, t: Table, path: string): string[] | undefined {
  const list = c.strArray(t, "assets", path, false);
  if (list === undefined) return undefined;
  const out: string[] = [];
  list.forEach((a, i) => {
    const p = c.packagePath(a, `${path}.assets[${i}]`);
    if (p !== undefined) out.push(p);
  });
  return out;
}

function checkDependencies(
  c: Checker,
  t: Table | undefined,
  path: string,
  librariesRequired: boolean,
): Partial<Dependencies> | undefined {
  if (t === undefined) return undefined;
  c.known(t, path, ["libraries", "fonts"]);
  const out: Partial<Dependencies> = {};
  const libs = c.table(t, "libraries", path, librariesRequired);
  if (libs !== undefined) {
    out.libraries = {};
    for (const [aid, range] of Object.entries(libs)) {
      const kp = key(`${path}.libraries`, aid);
      if (parseAid(aid) === undefined) {
        c.issue(
          kp,
          range,
          `the key must be a library AID "<did>::<slug>" (e.g. "sys::lib"), not ${JSON.stringify(aid)}`,
        );
      } else if (typeof range !== "string" || semver.validRange(range) === null) {
        c.issue(kp, range, 'must be a semver range string like "^1.0.0"');
      } else out.libraries[aid] = range;
    }
  }
  const fonts = c.table(t, "fonts", path, false);
  if (fonts !== undefined) {
    out.fonts = {};
    for (const [font, v] of Object.entries(fonts)) {
      const kp = key(`${path}.fonts`, font);
      if (!/^[a-z0-9][a-z0-9_:.-]*$/.test(font)) {
        c.issue(kp, v, "font identifiers use lowercase letters, digits and _ : . -");
      } else if (v === true) out.fonts[font] = true;
      else if (typeof v === "string" && semver.validRange(v) !== null) out.fonts[font] = v;
      else c.issue(kp, v, "must be true (any version) or a semver range string");
    }
  }
  return out;
}

function checkExtensions(c: Checker, root: Table): Record<string, Extension> | undefined {
  const t = c.table(root, "extensions", "", false);
  if (t === undefined) return undefined;
  const out: Record<string, Extension> = {};
  for (const [name, v] of Object.entries(t)) {
    const p = key("extensions", name);
    if (!NAME_RULE.test(name)) c.issue(p, v, `extension ${NAME_RULE_TEXT}`);
    if (!isTable(v)) {
      c.issue(p, v, "must be a table { name, description }");
      continue;
    }
    c.known(v, p, ["name", "description"]);
    const n = c.str(v, "name", p, true);
    const d = c.str(v, "description", p, true);
    if (n !== undefined && d !== undefined) out[name] = { name: n, description: d };
  }
  return out;
}

function checkFeatures(
  c: Checker,
  root: Table,
  extensions: Record<string, Extension> | undefined,
): Features | undefined {
  const t = c.table(root, "features", "", false);
  if (t === undefined) return undefined;
  const list: Record<string, Feature> = {};
  for (const [name, v] of Object.entries(t)) {
    if (name === "default") continue;
    const p = key("features", name);
    if (!NAME_RULE.test(name)) c.issue(p, v, `feature ${NAME_RULE_TEXT}`);
    if (!isTable(v)) {
      c.issue(p, v, "must be a table (assets, dependencies, extensions, languages)");
      continue;
    }
    c.known(v, p, ["assets", "dependencies", "extensions", "languages"]);
    const f: Feature = {};
    const assets = checkAssets(c, v, p);
    if (assets !== undefined) f.assets = assets;
    const deps = checkDependencies(
      c,
      c.table(v, "dependencies", p, false),
      `${p}.dependencies`,
      false,
    );
    if (deps !== undefined) f.dependencies = deps;
    const ext = c.table(v, "extensions", p, false);
    if (ext !== undefined) {
      f.extensions = {};
      for (const [e, on] of Object.entries(ext)) {
        const ep = key(`${p}.extensions`, e);
        if (typeof on !== "boolean") c.issue(ep, on, "must be true or false");
        else if (extensions?.[e] === undefined)
          c.issue(ep, on, `no extension "${e}" is declared in [extensions]`);
        else f.extensions[e] = on;
      }
    }
    const langs = c.languages(v, "languages", p);
    if (langs !== undefined) f.languages = langs;
    list[name] = f;
  }
  const names = Object.keys(list);
  const def = c.strArray(t, "default", "features", false);
  if (names.length > 0 && t.default === undefined) {
    c.issue(
      "features.default",
      undefined,
      "required when features are declared: the list of features enabled by default",
    );
  }
  for (const d of def ?? []) {
    if (list[d] === undefined)
      c.issue(
        "features.default",
        d,
        `names no declared feature (declared: ${names.join(", ") || "none"})`,
      );
  }
  return { default: def ?? [], list };
}

function checkEvents(c: Checker, root: Table): Events | undefined {
  const t = c.table(root, "events", "", false);
  if (t === undefined) return undefined;
  const names = ["postinstall", "preuninstall", "preupdate", "postupdate"] as const;
  c.known(t, "events", names);
  const out: Events = {};
  for (const n of names) {
    const b = c.bool(t, n, "events", false);
    if (b !== undefined) out[n] = b;
  }
  return out;
}

function checkType(
  c: Checker,
  text: unknown,
  path: string,
  allowVoid: boolean,
): string | undefined {
  if (typeof text !== "string") {
    c.issue(path, text, 'must be a shell type written as a string, e.g. "list[string]"');
    return undefined;
  }
  try {
    const t = parseShellType(text);
    if (!allowVoid && typeContains(t, "void")) {
      c.issue(path, text, 'the void type is forbidden here (specs/applications.md "Commands")');
      return undefined;
    }
    if (typeContains(t, "nullable")) {
      c.issue(path, text, "nullable types are forbidden (use `optional = true`)");
      return undefined;
    }
    return text;
  } catch (e) {
    if (e instanceof ShellTypeError) {
      c.issue(path, text, `not a shell type: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

function checkCommands(c: Checker, root: Table): Record<string, CommandSpec> | undefined {
  const t = c.table(root, "commands", "", false);
  if (t === undefined) return undefined;
  const out: Record<string, CommandSpec> = {};
  for (const [name, v] of Object.entries(t)) {
    const p = key("commands", name);
    if (!NAME_RULE.test(name)) c.issue(p, v, `command ${NAME_RULE_TEXT}`);
    if (!isTable(v)) {
      c.issue(p, v, "must be a table (help, author, license, return, cmdin, args)");
      continue;
    }
    c.known(v, p, ["help", "author", "license", "return", "cmdin", "args"]);
    const help = c.str(v, "help", p, true);
    const author = c.str(v, "author", p, false);
    const license = c.str(v, "license", p, false);
    const problem = license === undefined ? null : licenseExpressionProblem(license);
    if (problem !== null) {
      c.issue(
        `${p}.license`,
        license,
        `must be an SPDX license identifier, LicenseRef-<id> or an SPDX expression; it ${problem}`,
      );
    }
    const ret = v.return === undefined ? "void" : checkType(c, v.return, `${p}.return`, true);
    const cmdin = v.cmdin === undefined ? undefined : checkType(c, v.cmdin, `${p}.cmdin`, false);
    const args = checkArgs(c, v, p);
    if (help !== undefined && ret !== undefined && args !== undefined) {
      out[name] = {
        help,
        ...(author === undefined ? {} : { author }),
        ...(license === undefined ? {} : { license }),
        return: ret,
        ...(cmdin === undefined ? {} : { cmdin }),
        args,
      };
    }
  }
  return out;
}

function stringOrList(c: Checker, v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"))
    return v as string[];
  c.issue(path, v, "must be an argument name or a list of argument names");
  return undefined;
}

function checkArgs(c: Checker, cmd: Table, cp: string): CommandSpec["args"] | undefined {
  const t = c.table(cmd, "args", cp, false);
  if (t === undefined) return cmd.args === undefined ? [] : undefined;
  const ap = `${cp}.args`;
  const out: CommandSpec["args"] = [];
  const shorts = new Map<string, string>();
  const longs = new Map<string, string>();
  const names = Object.keys(t);
  for (const [name, v] of Object.entries(t)) {
    const p = key(ap, name);
    if (!NAME_RULE.test(name)) c.issue(p, v, `argument ${NAME_RULE_TEXT}`);
    if (!isTable(v)) {
      c.issue(p, v, "must be a table with at least `syntax`");
      continue;
    }
    const syntax = v.syntax;
    if (syntax !== "pos" && syntax !== "dash" && syntax !== "flag") {
      c.issue(`${p}.syntax`, syntax, 'required: "pos", "dash" or "flag"');
      continue;
    }
    const allowed =
      syntax === "flag"
        ? ["syntax", "help", "short", "long", "requires", "conflicts", "$if"]
        : syntax === "dash"
          ? [
              "syntax",
              "type",
              "help",
              "short",
              "long",
              "optional",
              "default",
              "requires",
              "conflicts",
              "$if",
            ]
          : ["syntax", "type", "help", "optional", "default", "$if"];
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        c.issue(
          key(p, k),
          v[k],
          `not accepted for ${syntax} arguments (accepted: ${allowed.join(", ")})`,
        );
      }
    }
    const arg: CommandArg = { syntax: syntax as ArgSyntax };
    if (syntax !== "flag") {
      if (v.type === undefined)
        c.issue(`${p}.type`, undefined, "required for pos and dash arguments");
      const ty = v.type === undefined ? undefined : checkType(c, v.type, `${p}.type`, false);
      if (ty !== undefined) arg.type = ty;
      if (v.optional !== undefined) {
        if (v.optional !== true) c.issue(`${p}.optional`, v.optional, "when present, must be true");
        else arg.optional = true;
      }
      if (v.default !== undefined) {
        if (v.optional !== undefined)
          c.issue(`${p}.default`, v.default, "`optional` and `default` cannot be used together");
        if (ty !== undefined && !valueFitsType(v.default, parseShellType(ty))) {
          c.issue(`${p}.default`, v.default, `does not fit the argument's type ${ty}`);
        }
        arg.default = v.default;
      }
    }
    const help = c.str(v, "help", p, false);
    if (help !== undefined) arg.help = help;
    if (syntax !== "pos") {
      const short = c.str(v, "short", p, false);
      const long = c.str(v, "long", p, false);
      if (
        short === undefined &&
        long === undefined &&
        v.short === undefined &&
        v.long === undefined
      ) {
        c.issue(p, undefined, `${syntax} arguments need \`short\`, \`long\` or both`);
      }
      if (short !== undefined) {
        if (!/^[A-Za-z0-9]$/.test(short))
          c.issue(`${p}.short`, short, "must be one letter or digit");
        else if (shorts.has(short))
          c.issue(`${p}.short`, short, `already used by argument "${shorts.get(short)}"`);
        else shorts.set(short, name);
        arg.short = short;
      }
      if (long !== undefined) {
        if (!/^[a-z0-9][a-z0-9-]*$/.test(long))
          c.issue(`${p}.long`, long, "must use lowercase letters, digits and '-'");
        else if (longs.has(long))
          c.issue(`${p}.long`, long, `already used by argument "${longs.get(long)}"`);
        else longs.set(long, name);
        arg.long = long;
      }
      for (const rel of ["requires", "conflicts"] as const) {
        const list = stringOrList(c, v[rel], `${p}.${rel}`);
        if (list === undefined) continue;
        for (const other of list) {
          if (!names.includes(other) || other === name)
            c.issue(`${p}.${rel}`, other, "must name another argument of this command");
        }
        arg[rel] = list;
      }
    }
    const conds = checkConditionals(c, v["$if"], `${p}."$if"`, names);
    if (conds !== undefined) arg.if = conds;
    out.push({ name, arg });
  }
  return out;
}

function checkConditionals(
  c: Checker,
  v: unknown,
  path: string,
  argNames: string[],
): CommandConditional[] | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  const out: CommandConditional[] = [];
  list.forEach((item, i) => {
    const p = Array.isArray(v) ? `${path}[${i}]` : path;
    if (!isTable(item)) {
      c.issue(p, item, "must be a table { cond, return?, cmdin? }");
      return;
    }
    c.known(item, p, ["cond", "return", "cmdin"]);
    const cond = c.str(item, "cond", p, true);
    if (cond !== undefined) {
      const m = /^(present|absent)\(\s*([^)]*?)\s*\)$/.exec(cond.trim());
      const rel = /^[a-z_][a-z0-9_-]*\s*(==|!=|<=|>=|<|>)\s*(-?[0-9.]+|"[^"]*"|'[^']*')$/.exec(
        cond.trim(),
      );
      if (cond.trim() === "else") {
        // an `else` branch
      } else if (m !== null) {
        const target = m[2] ?? "";
        if (target !== "" && !argNames.includes(target))
          c.issue(`${p}.cond`, cond, `"${target}" is not an argument of this command`);
      } else if (rel === null) {
        c.issue(
          `${p}.cond`,
          cond,
          'must be present(), absent(), present(<arg>), absent(<arg>), "<arg> <op> <constant>" or "else"',
        );
      }
    }
    const ret =
      item.return === undefined ? undefined : checkType(c, item.return, `${p}.return`, true);
    const cmdin =
      item.cmdin === undefined ? undefined : checkType(c, item.cmdin, `${p}.cmdin`, false);
    if (cond !== undefined) {
      out.push({
        cond,
        ...(ret === undefined ? {} : { return: ret }),
        ...(cmdin === undefined ? {} : { cmdin }),
      });
    }
  });
  return out;
}

function checkServices(c: Checker, root: Table): Services | undefined {
  const t = c.table(root, "services", "", false);
  if (t === undefined) return undefined;
  const p = "services";
  c.known(t, p, ["main", "scoped", "integration", "driver"]);
  const main = c.bool(t, "main", p, true);
  const scoped = c.strArray(t, "scoped", p, true);
  for (const s of scoped ?? []) {
    if (!/^[a-z_][a-z0-9_]*$/.test(s) || Buffer.byteLength(s) > 8) {
      c.issue(
        "services.scoped",
        s,
        "scoped service names use lowercase letters, digits and '_' and fit in 8 bytes (the context header's field)",
      );
    }
  }
  const integ = c.table(t, "integration", p, true);
  const integration: Services["integration"] = {};
  if (integ !== undefined) {
    const names = ["desktop_env", "file_manager", "fs_items_opener", "fs_interface"] as const;
    c.known(integ, "services.integration", names);
    for (const n of names) {
      const b = c.bool(integ, n, "services.integration", false);
      if (b !== undefined) integration[n] = b;
    }
  }
  const drv = c.table(t, "driver", p, true);
  const driver: Services["driver"] = {};
  if (drv !== undefined) {
    c.known(drv, "services.driver", ["storage"]);
    const b = c.bool(drv, "storage", "services.driver", false);
    if (b !== undefined) driver.storage = b;
  }
  if (main === undefined || scoped === undefined || integ === undefined || drv === undefined)
    return undefined;
  return { main, scoped, integration, driver };
}

function checkSysFeatures(c: Checker, root: Table): SysFeatures | undefined {
  const t = c.table(root, "sysfeatures", "", true);
  if (t === undefined) return undefined;
  c.known(t, "sysfeatures", ["crash_saves_support"]);
  const b = c.bool(t, "crash_saves_support", "sysfeatures", true);
  return b === undefined ? undefined : { crash_saves_support: b };
}

function checkAdditional(c: Checker, root: Table): Additional | undefined {
  const t = c.table(root, "additional", "", false);
  if (t === undefined) return undefined;
  c.known(t, "additional", ["languages"]);
  const langs = c.languages(t, "languages", "additional");
  return langs === undefined ? {} : { languages: langs };
}

/** [embedded] libraries = ["libs/x", …]: distinct folders of the package, none inside another. */
function checkEmbedded(c: Checker, root: Table): Embedded | undefined {
  const t = c.table(root, "embedded", "", false);
  if (t === undefined) return undefined;
  c.known(t, "embedded", ["libraries"]);
  const list = c.strArray(t, "libraries", "embedded", true);
  if (list === undefined) return undefined;
  if (list.length === 0) c.issue("embedded.libraries", list, "must name at least one folder");
  const folders: string[] = [];
  const at: number[] = []; // each folder's index in the list
  list.forEach((v, i) => {
    const f = c.packagePath(v, `embedded.libraries[${i}]`);
    if (f === undefined) return;
    folders.push(f);
    at.push(i);
  });
  // Overlaps, in O(n log n) (the list's length is the input's): sorted with "/" before every other
  // character, the folders inside a folder come right after it, so each is compared with the first
  // folder of the run it is in. The later one in the list is reported, naming the earlier.
  const keyed = folders.map((f, j) => ({ key: `${f.replaceAll("/", "\0")}\0`, j }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.j - b.j));
  const clash = new Map<number, string>();
  let outer = keyed[0];
  for (const k of keyed.slice(1)) {
    if (outer !== undefined && k.key.startsWith(outer.key)) {
      const [early, late] = outer.j < k.j ? [outer.j, k.j] : [k.j, outer.j];
      if (!clash.has(late)) clash.set(late, folders[early] ?? "");
    } else outer = k;
  }
  folders.forEach((_, j) => {
    const other = clash.get(j);
    const i = at[j] ?? 0;
    if (other !== undefined)
      c.issue(
        `embedded.libraries[${i}]`,
        list[i],
        `overlaps the embedded library folder "${other}"`,
      );
  });
  return { libraries: folders };
}
