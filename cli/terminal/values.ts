// A command's return value (specs/applications.md "Values encoding") as `ncw run` prints it: readable
// text, or typed JSON with --json (docs/cli.md "Commands").

import type { Value } from "../../commonassembly/abi/values.js";

/** The value as text: scalars as themselves, strings bare at the top, quoted inside lists. */
export function formatValue(v: Value, nested = false): string {
  switch (v.type) {
    case "void":
      return nested ? "void" : "";
    case "bool":
      return v.value ? "true" : "false";
    case "int":
      return v.value.toString();
    case "float":
      return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
    case "char":
    case "string":
    case "path":
    case "command":
      return nested ? JSON.stringify(v.value) : v.value;
    case "list":
      return `[${v.items.map((i) => formatValue(i, true)).join(", ")}]`;
    case "stream":
      return `stream ${v.rc}`;
  }
}

/** The value as typed JSON: `{"type": "int", "value": 42}`, lists as `{"type": "list", "items": [...]}`. */
export function valueJson(v: Value): unknown {
  switch (v.type) {
    case "void":
      return { type: "void" };
    case "list":
      return { type: "list", items: v.items.map(valueJson) };
    case "stream":
      return { type: "stream", rc: v.rc };
    case "float":
      // JSON has no NaN or infinities: they travel as strings.
      return { type: "float", value: Number.isFinite(v.value) ? v.value : String(v.value) };
    default:
      return { type: v.type, value: v.value };
  }
}
