// Hydre values as `ncw shell` shows them (docs/hydre.md "ncw shell"): a list of maps or structures as a
// table (a column per key, in the order the keys first appear; nushell's way), a lone map or structure
// as a two-column table of its keys and values, anything else as the spec writes values (`.str()`).
// Colour (a bold header, dim rules) only when the style has it (NO_COLOR, --no-color).

import type { Style } from "../../ncw/output.js";
import { safeText } from "../../ncw/output.js";
import { type HValue, show } from "../../services/hydre/values.js";

type Row = Map<string, HValue>;

function record(v: HValue): Row | undefined {
  if (v.t === "struct") return new Map(v.fields);
  if (v.t === "map") {
    const r: Row = new Map();
    for (const { key, value } of v.entries.values()) r.set(show(key), value);
    return r;
  }
  return undefined;
}

/** A cell: a string, char or path bare, nested values as the spec writes them; one line, safe. */
function cell(v: HValue | undefined): string {
  if (v === undefined) return "";
  const text = v.t === "list" || v.t === "map" || v.t === "struct" ? show(v, true) : show(v);
  return safeText(text.replace(/\r?\n/g, " "));
}

const width = (s: string) => [...s].length;
const pad = (s: string, w: number) => s + " ".repeat(Math.max(0, w - width(s)));

/** A table of `header` and `rows` (cells already text): columns aligned, a rule under the header. */
export function renderTable(header: string[], rows: string[][], style: Style): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[], f: (s: string) => string = (s) => s) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? f(c) : f(pad(c, widths[i] as number))))
      .join(style.dim(" │ "))
      .trimEnd();
  const rule = style.dim(widths.map((w) => "─".repeat(w)).join("─┼─"));
  return [line(header, style.bold), rule, ...rows.map((r) => line(r))].join("\n");
}

/** The text `ncw shell` shows for a value on its own line (with its line break). */
export function shellValueText(v: HValue, style: Style): string {
  if (v.t === "list" && v.items.length > 0) {
    const rows = v.items.map(record);
    if (rows.every((r) => r !== undefined)) {
      const keys: string[] = [];
      for (const r of rows as Row[]) for (const k of r.keys()) if (!keys.includes(k)) keys.push(k);
      if (keys.length > 0)
        return `${renderTable(
          keys.map(safeText),
          (rows as Row[]).map((r) => keys.map((k) => cell(r.get(k)))),
          style,
        )}\n`;
    }
  }
  const r = record(v);
  if (r !== undefined && r.size > 0)
    return `${renderTable(
      ["key", "value"],
      [...r].map(([k, x]) => [safeText(k), cell(x)]),
      style,
    )}\n`;
  return `${show(v)}\n`;
}
