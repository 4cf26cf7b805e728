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
    doc = parse(text, { unsafeKeyBehaviour: "throw", maxDepth: 32 });
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0] ?? e.message;
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
  return validateManifest(doc, source);
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
