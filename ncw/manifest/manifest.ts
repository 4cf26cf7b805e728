// manifest.toml: parse (TOML → validated Manifest), serialize (Manifest → TOML) and the AID.
// Spec: specs/applications-libraries.md "The manifest", specs/applications.md; DIRECTION §4.

import { parse, stringify, TomlError } from "smol-toml";
import { NcwError } from "../errors.js";
import { makeAid } from "./rules.js";
import type { Manifest } from "./types.js";
import { validateManifest } from "./validate.js";

export const MANIFEST_FILE = "manifest.toml";
/** Largest manifest accepted, in bytes. */
export const MANIFEST_MAX_BYTES = 1024 * 1024;
/**
 * Deepest nesting accepted in a manifest (NCW decision, docs/packages.md "Nesting limits"): the
 * keys and indices on the way to any value, whether written as tables, dotted keys, arrays or
 * inline tables (`a.b.c = 1` and `a = [{ b = 1 }]` are both 3 deep). The schema needs 7.
 */
export const MANIFEST_MAX_DEPTH = 16;

const TOO_DEEP_HINT =
  "No manifest field needs that many levels of tables, dotted keys or arrays; the schema is in docs/packages.md.";

export type { ManifestIssue } from "./types.js";
export { checkManifest, formatIssue, ManifestError, validateManifest } from "./validate.js";

/** Parse and validate manifest.toml text. Throws MANIFEST_SYNTAX (with line and column) or MANIFEST_INVALID. */
export function parseManifest(text: string, source = MANIFEST_FILE): Manifest {
  if (Buffer.byteLength(text) > MANIFEST_MAX_BYTES) {
    throw new NcwError("data", `${source} is larger than ${MANIFEST_MAX_BYTES} bytes`, {
      code: "MANIFEST_TOO_LARGE",
    });
  }
  let doc: unknown;
  try {
    doc = parse(text, { unsafeKeyBehaviour: "throw", maxDepth: MANIFEST_MAX_DEPTH });
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0] ?? e.message;
      if (first.includes("excessively nested")) {
        // smol-toml's own bound on nested inline arrays and tables, which MANIFEST_MAX_DEPTH implies.
        throw new NcwError(
          "data",
          `${source} nests deeper than ${MANIFEST_MAX_DEPTH} levels (line ${e.line}, column ${e.column})`,
          { code: "MANIFEST_TOO_DEEP", hint: TOO_DEEP_HINT },
        );
      }
      throw new NcwError(
        "data",
        `${source} is not valid TOML: line ${e.line}, column ${e.column}: ${first}`,
        {
          code: "MANIFEST_SYNTAX",
          hint: "Fix the TOML syntax (https://toml.io); the schema is in docs/packages.md.",
        },
      );
    }
    throw new NcwError(
      "data",
      `${source} is not valid TOML: ${e instanceof Error ? e.message : String(e)}`,
      {
        code: "MANIFEST_SYNTAX",
      },
    );
  }
  const deep = tooDeep(doc, MANIFEST_MAX_DEPTH);
  if (deep !== undefined) {
    throw new NcwError(
      "data",
      `${source} nests deeper than ${MANIFEST_MAX_DEPTH} levels (at ${deep})`,
      {
        code: "MANIFEST_TOO_DEEP",
        hint: TOO_DEEP_HINT,
      },
    );
  }
  return validateManifest(doc, source);
}

/**
 * The key path (its first `max` + 1 keys) of a value nested deeper than `max` levels, or
 * undefined. Walks with an explicit stack: the depth to check is what the input controls.
 */
function tooDeep(doc: unknown, max: number): string | undefined {
  const stack: { v: unknown; path: string[] }[] = [{ v: doc, path: [] }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, path } = top;
    if (path.length > max) return `${path.join("")}…`;
    if (typeof v !== "object" || v === null || v instanceof Date) continue;
    const children: [string, unknown][] = Array.isArray(v)
      ? v.map((x, i) => [`[${i}]`, x])
      : Object.entries(v).map(([k, x]) => [
          `${path.length === 0 ? "" : "."}${/^[A-Za-z0-9_-]{1,40}$/.test(k) ? k : JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}`,
          x,
        ]);
    for (const [k, x] of children) stack.push({ v: x, path: [...path, k] });
  }
  return undefined;
}

/** Decode manifest bytes as strict UTF-8, then parse. */
export function parseManifestBytes(bytes: Uint8Array, source = MANIFEST_FILE): Manifest {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new NcwError("data", `${source} is not valid UTF-8`, { code: "MANIFEST_SYNTAX" });
  }
  return parseManifest(text.replace(/^\uFEFF/, ""), source);
}

/** The Application IDentifier: `<did>::<slug>` (DIRECTION §4). */
export function manifestAid(m: Manifest): string {
  return makeAid(m.infos.did, m.infos.slug);
}

/** The TOML document shape of a manifest (the inverse of validation). */
export function manifestToToml(m: Manifest): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    type: m.type,
    infos: m.infos,
    content: m.content,
    dependencies: m.dependencies,
  };
  if (m.features !== undefined) doc.features = { default: m.features.default, ...m.features.list };
  if (m.extensions !== undefined) doc.extensions = m.extensions;
  if (m.type === "application") {
    if (m.events !== undefined) doc.events = m.events;
    if (m.commands !== undefined) {
      const cmds: Record<string, unknown> = {};
      for (const [name, c] of Object.entries(m.commands)) {
        const args: Record<string, unknown> = {};
        for (const { name: an, arg } of c.args) {
          const { if: conds, ...rest } = arg;
          args[an] = conds === undefined ? rest : { ...rest, $if: conds };
        }
        const { args: _a, ...head } = c;
        cmds[name] = c.args.length > 0 ? { ...head, args } : head;
      }
      doc.commands = cmds;
    }
    if (m.services !== undefined) doc.services = m.services;
    doc.sysfeatures = m.sysfeatures;
    if (m.additional !== undefined) doc.additional = m.additional;
  }
  return doc;
}

/** Serialize a manifest to TOML; parseManifest(serializeManifest(m)) deep-equals m. */
export function serializeManifest(m: Manifest): string {
  return stringify(manifestToToml(m));
}
