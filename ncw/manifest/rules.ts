// Naming rules of manifests: slugs and DIDs (specs/applications-libraries.md "Name and slug",
// "Application Identifier"), the shell's native names they must avoid and its type grammar
// (specs/shell-scripting.md "Value types", "Commands typing", "Native library", "Native commands").

/** Native shell commands (specs/shell-scripting.md "Native commands"), with the short forms their usage lines show. */
export const NATIVE_SHELL_COMMANDS: readonly string[] = [
  "echo",
  "wt",
  "rd",
  "mkdir",
  "mkd",
  "ren",
  "re",
  "mv",
  "rm",
  "ls",
  "fd",
  "syml",
  "sl",
];

/** Native shell functions (specs/shell-scripting.md "Native library" → "Utilities"). */
export const NATIVE_SHELL_FUNCTIONS: readonly string[] = [
  "env",
  "prompt",
  "prompt_int",
  "prompt_float",
  "confirm",
  "choose",
  "retry_cmd",
  "exit",
  "last_failed",
  "rand",
  "rand_int",
  "rand_float",
];

/** Shell types (specs/shell-scripting.md "Value types", "Commands typing", "Advanced types"). */
export const SHELL_TYPE_NAMES: readonly string[] = [
  "void",
  "bool",
  "int",
  "float",
  "char",
  "string",
  "list",
  "map",
  "path",
  "command",
  "stream",
  "any",
  "anystr",
  "enum",
  "struct",
  "fallible",
];

/** DIDs no sideloaded package may claim: `sys` (system apps) and `sysl` (system application libraries). */
export const RESERVED_DIDS: readonly string[] = ["sys", "sysl"];

/** Longest AID, in bytes (specs/applications-libraries.md: "up to 512 bytes"). */
export const AID_MAX_BYTES = 512;

const SLUG_CHARS = /^[a-z0-9_]+$/;

/**
 * Why `value` breaks the slug rules, or undefined when it is a valid slug. DIDs obey the same rules
 * ("The DID is submitted to the same rules as the application's slug").
 */
export function slugRuleBroken(value: string): string | undefined {
  if (value.length === 0) return "must not be empty";
  if (!SLUG_CHARS.test(value)) return "only lowercase letters, digits and underscores are allowed";
  if (/^[0-9]/.test(value)) return "must not start with a digit";
  if (NATIVE_SHELL_COMMANDS.includes(value))
    return "must not be the name of a native shell command";
  if (NATIVE_SHELL_FUNCTIONS.includes(value))
    return "must not be the name of a native shell function";
  if (SHELL_TYPE_NAMES.includes(value)) return "must not be the name of a shell type";
  return undefined;
}

/** The slug generated from an application's name: lowercased, other characters turned into "_". */
export function slugFromName(name: string): string {
  let s = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/_+/g, "_");
  if (s === "" || /^[0-9]/.test(s)) s = `app_${s}`.replace(/_$/, "");
  if (slugRuleBroken(s) !== undefined) s = `${s}_app`;
  return s;
}

/** AID = `<did>::<slug>` (DIRECTION §4). */
export function makeAid(did: string, slug: string): string {
  return `${did}::${slug}`;
}

/**
 * The folder name of an item in the NightOS tree: "<did>.<slug>". NCW decision (docs/skyer.md): the
 * AID's "::" cannot appear in a host file name on Windows, and DIDs and slugs never contain ".",
 * so the encoding is reversible and collision-free.
 */
export function aidFolderName(did: string, slug: string): string {
  return `${did}.${slug}`;
}

/** The file name a package is kept under in an item's packages/ folder: "<did>.<slug>-<version>.nap". */
export function packageFileName(folder: string, version: string): string {
  return `${folder}-${version}.nap`;
}

/** Parse an AID into its DID and slug, or undefined when it is not `<did>::<slug>` with valid parts. */
export function parseAid(aid: string): { did: string; slug: string } | undefined {
  const m = /^([^:]+)::([^:]+)$/.exec(aid);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  // System DIDs are valid in dependencies (sys::lib, sysl::<app>), so only the character rules apply to them.
  const didOk = RESERVED_DIDS.includes(m[1]) || slugRuleBroken(m[1]) === undefined;
  if (!didOk || !/^[a-z_][a-z0-9_]*$/.test(m[2])) return undefined;
  if (Buffer.byteLength(aid) > AID_MAX_BYTES) return undefined;
  return { did: m[1], slug: m[2] };
}

/** Language tags as the spec writes them ("en-US"): language, optional script, optional region. */
export function isLanguageTag(s: string): boolean {
  return /^[a-z]{2,3}(-[A-Z][a-z]{3})?(-(?:[A-Z]{2}|[0-9]{3}))?$/.test(s);
}

// ---------------------------------------------------------------------------------------------
// Shell types, as written in command typing: bool, list[string], map[string, int], enum[1 | 2],
// struct { name: path, size: int }, T? (nullable).

export type ShellType =
  | { kind: "base"; name: string }
  | { kind: "list"; item: ShellType }
  | { kind: "map"; key: ShellType; value: ShellType }
  | { kind: "enum"; values: (string | number)[] }
  | { kind: "struct"; fields: { name: string; type: ShellType }[] }
  | { kind: "nullable"; inner: ShellType };

/** The shell types that take no parameters (the others are parsed with their own syntax below). */
const BASE_TYPES = new Set(
  SHELL_TYPE_NAMES.filter((n) => !["list", "map", "enum", "struct", "fallible"].includes(n)),
);

export class ShellTypeError extends Error {}

/** Deepest nesting of shell types accepted (`list[list[...]]`; NCW decision, docs/packages.md). */
export const SHELL_TYPE_MAX_DEPTH = 16;

const IDENT_AT = /[A-Za-z_][A-Za-z0-9_]*/y;
const DOUBLE_QUOTED_AT = /"((?:[^"\\]|\\.)*)"/y;
const SINGLE_QUOTED_AT = /'((?:[^'\\]|\\.))'/y;
const NUMBER_AT = /-?[0-9]+(\.[0-9]+)?/y;

/** A sticky regex's match at offset `i` of `text` (no copy of the rest of the text). */
function matchAt(re: RegExp, text: string, i: number): RegExpExecArray | null {
  re.lastIndex = i;
  return re.exec(text);
}

/** Parse a shell type expression; throws ShellTypeError saying what is wrong. */
export function parseShellType(text: string): ShellType {
  let i = 0;
  let depth = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? "")) i++;
  };
  const expect = (c: string): void => {
    ws();
    if (text[i] !== c) throw new ShellTypeError(`expected "${c}" at column ${i + 1}`);
    i++;
  };
  const ident = (): string => {
    ws();
    const m = matchAt(IDENT_AT, text, i);
    if (m === null) throw new ShellTypeError(`expected a type name at column ${i + 1}`);
    i += m[0].length;
    return m[0];
  };
  const constant = (): string | number => {
    ws();
    const str = matchAt(DOUBLE_QUOTED_AT, text, i) ?? matchAt(SINGLE_QUOTED_AT, text, i);
    if (str !== null) {
      i += str[0].length;
      return str[1] ?? "";
    }
    const num = matchAt(NUMBER_AT, text, i);
    if (num !== null) {
      i += num[0].length;
      return Number(num[0]);
    }
    throw new ShellTypeError(`expected a constant (number or quoted string) at column ${i + 1}`);
  };
  const type = (): ShellType => {
    if (++depth > SHELL_TYPE_MAX_DEPTH)
      throw new ShellTypeError(`types nest deeper than ${SHELL_TYPE_MAX_DEPTH} levels`);
    const name = ident();
    let t: ShellType;
    if (name === "list") {
      expect("[");
      t = { kind: "list", item: type() };
      expect("]");
    } else if (name === "map") {
      expect("[");
      const key = type();
      expect(",");
      t = { kind: "map", key, value: type() };
      expect("]");
    } else if (name === "enum") {
      expect("[");
      const values = [constant()];
      ws();
      while (text[i] === "|") {
        i++;
        values.push(constant());
        ws();
      }
      expect("]");
      t = { kind: "enum", values };
    } else if (name === "struct") {
      expect("{");
      const fields: { name: string; type: ShellType }[] = [];
      ws();
      while (text[i] !== "}") {
        const fname = ident();
        expect(":");
        fields.push({ name: fname, type: type() });
        ws();
        if (text[i] === ",") i++;
        else break;
        ws();
      }
      expect("}");
      if (fields.length === 0) throw new ShellTypeError("a struct needs at least one field");
      t = { kind: "struct", fields };
    } else if (BASE_TYPES.has(name)) {
      t = { kind: "base", name };
    } else {
      throw new ShellTypeError(`unknown type "${name}"`);
    }
    ws();
    if (text[i] === "?") {
      i++;
      t = { kind: "nullable", inner: t };
    }
    depth--;
    return t;
  };
  const t = type();
  ws();
  if (i !== text.length) throw new ShellTypeError(`unexpected "${text.slice(i)}" after the type`);
  return t;
}

/** Does the type contain `void` or a nullable anywhere? */
export function typeContains(t: ShellType, what: "void" | "nullable"): boolean {
  switch (t.kind) {
    case "base":
      return what === "void" && t.name === "void";
    case "nullable":
      return what === "nullable" || typeContains(t.inner, what);
    case "list":
      return typeContains(t.item, what);
    case "map":
      return typeContains(t.key, what) || typeContains(t.value, what);
    case "struct":
      return t.fields.some((f) => typeContains(f.type, what));
    case "enum":
      return false;
  }
}

/** Does a TOML value fit a shell type (for `default` values)? */
export function valueFitsType(v: unknown, t: ShellType): boolean {
  switch (t.kind) {
    case "nullable":
      return valueFitsType(v, t.inner);
    case "enum":
      return t.values.includes(v as string | number);
    case "list":
      return Array.isArray(v) && v.every((x) => valueFitsType(x, t.item));
    case "map":
      return (
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        Object.values(v).every((x) => valueFitsType(x, t.value))
      );
    case "struct":
      return (
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        t.fields.every((f) => valueFitsType((v as Record<string, unknown>)[f.name], f.type))
      );
    case "base":
      switch (t.name) {
        case "bool":
          return typeof v === "boolean";
        case "int":
          return (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
        case "float":
          return typeof v === "number";
        case "char":
          return typeof v === "string" && [...v].length === 1;
        case "string":
        case "command":
          return typeof v === "string";
        case "path":
          return typeof v === "string" && v.includes("/");
        case "anystr":
        case "any":
          return v !== undefined;
        default:
          return false;
      }
  }
}
