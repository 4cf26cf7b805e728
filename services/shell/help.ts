// A command's signature and help text, from its typing in the manifest (specs/shell-scripting.md
// "Commands typing"): what `ncw commands` lists and `ncw help <command>` prints.

import type { CommandArg, CommandSpec } from "../../ncw/manifest/types.js";
import { argLabel } from "./arguments.js";

const isOptional = (a: CommandArg) =>
  a.syntax === "flag" || a.optional === true || a.default !== undefined;
const isListType = (t: string | undefined) => t?.startsWith("list[") === true;

/** One argument as the usage line shows it: `<names: list[string]>...`, `[-r, --repeat <int>]`. */
function argUsage(name: string, a: CommandArg): string {
  let text: string;
  if (a.syntax === "pos") {
    text = `${name}: ${a.type}`;
    const more = isListType(a.type) ? "..." : "";
    return isOptional(a) ? `[${text}]${more}` : `<${text}>${more}`;
  }
  const dash = [
    ...(a.short === undefined ? [] : [`-${a.short}`]),
    ...(a.long === undefined ? [] : [`--${a.long}`]),
  ].join(", ");
  text = a.syntax === "flag" ? dash : `${dash} <${a.type}>`;
  return isOptional(a) ? `[${text}]` : text;
}

/** `name <a: int> [-v, --verbose] -> string`. */
export function commandSignature(name: string, spec: CommandSpec): string {
  const args = spec.args.map(({ name: n, arg }) => argUsage(n, arg));
  return [name, ...args].join(" ") + ` -> ${spec.return}`;
}

function conditionText(name: string, c: string): string {
  const t = c.trim();
  if (t === "else") return "otherwise";
  const pa = /^(present|absent)\(\s*([^)]*?)\s*\)$/.exec(t);
  if (pa !== null) return `when ${pa[2] === "" ? name : pa[2]} is ${pa[1]}`;
  return `when ${t}`;
}

/** The help page of a command: usage, help text, arguments, return and input types. */
export function commandHelp(name: string, spec: CommandSpec): string {
  const lines = [`Usage: ${commandSignature(name, spec)}`, "", spec.help];
  if (spec.args.length > 0) {
    lines.push("", "Arguments:");
    const rows = spec.args.map((a) => {
      const kind =
        a.arg.syntax === "flag"
          ? "flag"
          : `${a.arg.type}${a.arg.syntax === "pos" ? "" : " (dash)"}`;
      const notes = [
        ...(a.arg.help === undefined ? [] : [a.arg.help]),
        ...(a.arg.default !== undefined
          ? [
              `default: ${JSON.stringify(a.arg.default, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`,
            ]
          : a.arg.optional === true
            ? ["optional"]
            : []),
        ...(a.arg.requires === undefined ? [] : [`requires ${a.arg.requires.join(", ")}`]),
        ...(a.arg.conflicts === undefined ? [] : [`conflicts with ${a.arg.conflicts.join(", ")}`]),
        ...(a.arg.if ?? []).flatMap((c) => [
          ...(c.return === undefined
            ? []
            : [`returns ${c.return} ${conditionText(a.name, c.cond)}`]),
          ...(c.cmdin === undefined
            ? []
            : [`reads ${c.cmdin} from its input ${conditionText(a.name, c.cond)}`]),
        ]),
      ];
      return { label: argLabel(a), kind, notes: notes.join("; ") };
    });
    const w1 = Math.max(...rows.map((r) => r.label.length));
    const w2 = Math.max(...rows.map((r) => r.kind.length));
    for (const r of rows)
      lines.push(`  ${r.label.padEnd(w1)}  ${r.kind.padEnd(w2)}  ${r.notes}`.trimEnd());
  }
  lines.push("", `Returns: ${spec.return}`);
  if (spec.cmdin !== undefined) lines.push(`Reads from its input: ${spec.cmdin}`);
  if (spec.author !== undefined) lines.push(`Author: ${spec.author}`);
  if (spec.license !== undefined) lines.push(`License: ${spec.license}`);
  return lines.join("\n");
}
