// Small binary rewrites of a WebAssembly module used by `ncw ca asm` (renaming exports, e.g.
// AssemblyScript's "table" to the ABI's "__indirect_function_table"; docs/commonassembly.md).

import { NcwError } from "../../ncw/errors.js";
import { uleb } from "./leb.js";
import { readModule, SectionId } from "./reader.js";

/** Returns a copy of `module` with exports renamed (old name -> new name). Other bytes are unchanged. */
export function renameExports(
  module: Uint8Array,
  renames: ReadonlyMap<string, string>,
): Uint8Array {
  if (renames.size === 0) return module;
  const info = readModule(module);
  const names = new Set(info.exports.map((e) => e.name));
  for (const [from, to] of renames) {
    if (!names.has(from))
      throw new NcwError("usage", `cannot rename export "${from}": the module has no such export`, {
        code: "CA_RENAME_UNKNOWN",
        hint: `its exports are: ${[...names].join(", ") || "(none)"}`,
      });
    if (names.has(to) && !renames.has(to))
      throw new NcwError(
        "usage",
        `cannot rename export "${from}" to "${to}": that name is already exported`,
        {
          code: "CA_RENAME_CONFLICT",
        },
      );
  }
  const section = info.sections.find((s) => s.id === SectionId.export)!;
  const end = section.contentOffset + section.size;
  const enc = new TextEncoder();
  const content: number[] = uleb(info.exports.length);
  info.exports.forEach((e, i) => {
    const entryEnd = info.exports[i + 1]?.offset ?? end;
    const nameBytes = enc.encode(e.name);
    const rest = module.subarray(
      e.offset + uleb(nameBytes.length).length + nameBytes.length,
      entryEnd,
    );
    const newName = enc.encode(renames.get(e.name) ?? e.name);
    content.push(...uleb(newName.length), ...newName, ...rest);
  });
  const head = [SectionId.export, ...uleb(content.length)];
  const out = new Uint8Array(module.length - (end - section.offset) + head.length + content.length);
  out.set(module.subarray(0, section.offset), 0);
  out.set(head, section.offset);
  out.set(content, section.offset + head.length);
  out.set(module.subarray(end), section.offset + head.length + content.length);
  return out;
}
