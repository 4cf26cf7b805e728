// Hydre's static types (specs/shell-scripting.md "Value types", "Nullable types", "Advanced types") and
// the rules between them: what may be assigned to what, and how they are written in messages. The
// command typing of manifests (ncw/manifest/rules.ts ShellType) converts into these.

import type { ShellType } from "../../ncw/manifest/rules.js";

export type BaseName =
  | "bool"
  | "int"
  | "float"
  | "char"
  | "string"
  | "path"
  | "command"
  | "stream"
  | "any"
  | "void";

export type HType =
  | { k: BaseName }
  | { k: "list"; item: HType }
  | { k: "map"; key: HType; value: HType }
  | { k: "struct"; fields: { name: string; type: HType }[] }
  | { k: "enum"; values: (string | number)[] }
  | { k: "fn"; params: HType[]; ret: HType; fallible: boolean }
  | { k: "nullable"; inner: HType }
  /** The type of the `null` literal. */
  | { k: "null" }
  /** No value ever (an empty list's items, an expression that exits). */
  | { k: "never" }
  /** An expression whose type could not be found (an error was reported already). */
  | { k: "unknown" };

export const T = {
  bool: { k: "bool" },
  int: { k: "int" },
  float: { k: "float" },
  char: { k: "char" },
  string: { k: "string" },
  path: { k: "path" },
  command: { k: "command" },
  stream: { k: "stream" },
  any: { k: "any" },
  void: { k: "void" },
  null: { k: "null" },
  never: { k: "never" },
  unknown: { k: "unknown" },
} as const satisfies Record<string, HType>;

export const listOf = (item: HType): HType => ({ k: "list", item });
export const nullable = (inner: HType): HType =>
  inner.k === "nullable" || inner.k === "null" || inner.k === "unknown"
    ? inner
    : { k: "nullable", inner };

export const BASE_NAMES: readonly BaseName[] = [
  "bool",
  "int",
  "float",
  "char",
  "string",
  "path",
  "command",
  "stream",
  "any",
  "void",
];

export function typeText(t: HType): string {
  switch (t.k) {
    case "list":
      return `list[${typeText(t.item)}]`;
    case "map":
      return `map[${typeText(t.key)}, ${typeText(t.value)}]`;
    case "struct":
      return `struct { ${t.fields.map((f) => `${f.name}: ${typeText(f.type)}`).join(", ")} }`;
    case "enum":
      return `enum[${t.values.map((v) => (typeof v === "string" ? JSON.stringify(v) : String(v))).join(" | ")}]`;
    case "fn":
      return `fn (${t.params.map(typeText).join(", ")})${t.ret.k === "void" && !t.fallible ? "" : ` -> ${t.fallible ? "fallible " : ""}${typeText(t.ret)}`}`;
    case "nullable":
      return `${typeText(t.inner)}?`;
    default:
      return t.k;
  }
}

export const isNumber = (t: HType) => t.k === "int" || t.k === "float";
/** Errors were reported for it already: accept it silently everywhere. */
export const isLoose = (t: HType) => t.k === "unknown" || t.k === "never";

/** The types a value of `from` can be used as a `to` (int widens to float: docs/hydre.md). */
export function assignable(to: HType, from: HType): boolean {
  if (isLoose(from) || to.k === "unknown") return true;
  switch (to.k) {
    case "any":
      // `any` takes every value but null (specs "Nullable any").
      return from.k !== "null" && from.k !== "nullable" && from.k !== "void";
    case "nullable":
      if (from.k === "null") return true;
      if (from.k === "nullable") return assignable(to.inner, from.inner);
      return assignable(to.inner, from);
    case "float":
      return from.k === "float" || from.k === "int";
    case "list":
      return from.k === "list" && assignable(to.item, from.item);
    case "map":
      return from.k === "map" && assignable(to.key, from.key) && assignable(to.value, from.value);
    case "struct":
      return (
        from.k === "struct" &&
        from.fields.length === to.fields.length &&
        to.fields.every((f) => {
          const g = from.fields.find((x) => x.name === f.name);
          return g !== undefined && assignable(f.type, g.type);
        })
      );
    case "enum":
      return from.k === "enum" && from.values.every((v) => to.values.includes(v));
    case "fn":
      // A closure may take fewer parameters than its type gives (specs "Closures").
      return (
        from.k === "fn" &&
        from.params.length <= to.params.length &&
        from.params.every((p, i) => assignable(p, to.params[i] as HType)) &&
        (to.ret.k === "void" || assignable(to.ret, from.ret)) &&
        (to.fallible || !from.fallible)
      );
    default:
      if (from.k === "enum")
        return from.values.every((v) =>
          typeof v === "string" ? to.k === "string" : Number.isInteger(v) ? to.k === "int" : false,
        );
      return to.k === from.k;
  }
}

/** The type of a list literal's items, or undefined when they have nothing in common. */
export function unify(a: HType, b: HType): HType | undefined {
  if (isLoose(a)) return b;
  if (isLoose(b)) return a;
  if (assignable(a, b)) return a;
  if (assignable(b, a)) return b;
  if (a.k === "null") return nullable(b);
  if (b.k === "null") return nullable(a);
  if (a.k === "list" && b.k === "list") {
    const item = unify(a.item, b.item);
    return item === undefined ? undefined : listOf(item);
  }
  return undefined;
}

/** A manifest's shell type (command typing) as a Hydre type; `anystr` arrives as string. */
export function fromShellType(t: ShellType): HType {
  switch (t.kind) {
    case "base":
      if (t.name === "anystr") return T.string;
      return (BASE_NAMES as readonly string[]).includes(t.name)
        ? ({ k: t.name } as HType)
        : T.unknown;
    case "list":
      return listOf(fromShellType(t.item));
    case "map":
      return { k: "map", key: fromShellType(t.key), value: fromShellType(t.value) };
    case "enum":
      return { k: "enum", values: t.values };
    case "struct":
      return {
        k: "struct",
        fields: t.fields.map((f) => ({ name: f.name, type: fromShellType(f.type) })),
      };
    case "nullable":
      return nullable(fromShellType(t.inner));
  }
}

/** Types whose values can be compared with `<`, `>`, … */
export const isOrdered = (t: HType) =>
  t.k === "int" || t.k === "float" || t.k === "char" || t.k === "string";
