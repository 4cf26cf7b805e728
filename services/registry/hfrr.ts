// HFRR, the registry's Human-Friendly Registry Format (specs/registry.md "HFFR Format"): the text a
// registry exports to and imports from. `key(type): value` nodes, one tab of indentation per level,
// `- ` list entries, `key: value` map entries, `[]` and `{}` for empty lists and maps, `#` comments
// (the nodes' purposes above them; a map or list entry's note after it). Decisions: docs/registry.md.

import {
  closing,
  compareValues,
  finiteKeys,
  formatLeaf,
  isLeaf,
  type ListEntry,
  type MapEntry,
  type Node,
  parseLeaf,
  parseType,
  type RegType,
  RegTypeError,
  RegValueError,
  type StructValue,
  type Value,
} from "./types.js";

/** A bad HFRR text: where (1-based line and column) and why. */
export class HfrrError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly why: string,
  ) {
    super(`${line}:${column}: ${why}`);
  }
}

// ---- writing -----------------------------------------------------------------------------------

const tabs = (n: number) => "\t".repeat(n);
const note = (n: string | undefined) => (n === undefined || n === "" ? "" : ` # ${n}`);

/** The HFRR text of a struct's nodes at `depth` (the registry's root at 0). */
export function formatStruct(struct: StructValue, depth = 0): string[] {
  const out: string[] = [];
  let first = true;
  for (const [name, node] of struct) {
    // The spec's listing sets every struct, list and map apart from what comes before it.
    if (!first && !isLeaf(node.type)) out.push("");
    first = false;
    if (node.purpose !== "")
      for (const line of node.purpose.split("\n")) out.push(`${tabs(depth)}# ${line}`);
    const v = formatValue(node.type, node.value, depth + 1);
    out.push(
      `${tabs(depth)}${name}(${node.typeText}):${v.inline === undefined ? "" : ` ${v.inline}`}`,
    );
    out.push(...v.lines);
  }
  return out;
}

/** A value: inline after its key (leafs, empty containers) or as lines at `depth`. */
export function formatValue(
  t: RegType,
  v: Value,
  depth: number,
): { inline?: string; lines: string[] } {
  if (isLeaf(t)) return { inline: formatLeaf(t, v), lines: [] };
  if (t.t === "struct")
    return { lines: formatStruct((v as { struct: StructValue }).struct, depth) };
  if (t.t === "list" || t.t === "structlist") {
    const entries = (v as { list: ListEntry[] }).list;
    if (entries.length === 0) return { inline: "[]", lines: [] };
    const lines: string[] = [];
    for (const e of entries) {
      const inner =
        t.t === "list"
          ? formatValue(t.item, e.value, depth + 1)
          : { lines: formatStruct((e.value as { struct: StructValue }).struct, depth + 1) };
      if (inner.inline !== undefined) lines.push(`${tabs(depth)}- ${inner.inline}${note(e.note)}`);
      else lines.push(`${tabs(depth)}-${note(e.note)}`, ...inner.lines);
    }
    return { lines };
  }
  if (t.t === "map" || t.t === "structmap") {
    const entries = (v as { map: MapEntry[] }).map;
    if (entries.length === 0) return { inline: "{}", lines: [] };
    const lines: string[] = [];
    for (const e of entries) {
      const key = formatLeaf(t.key, e.key);
      const inner =
        t.t === "map"
          ? formatValue(t.val, e.value, depth + 1)
          : { lines: formatStruct((e.value as { struct: StructValue }).struct, depth + 1) };
      if (inner.inline !== undefined)
        lines.push(`${tabs(depth)}${key}: ${inner.inline}${note(e.note)}`);
      else lines.push(`${tabs(depth)}${key}:${note(e.note)}`, ...inner.lines);
    }
    return { lines };
  }
  return { lines: [] };
}

// ---- reading: lines ----------------------------------------------------------------------------

/** A significant line: its depth (tabs), its text without the comment, and the lines nested in it. */
interface Line {
  depth: number;
  text: string;
  note: string | undefined;
  /** 0-based offset of the comment's `#` from `text`'s start. */
  noteAt: number;
  line: number;
  /** 1-based column of `text`. */
  col: number;
  children: Line[];
}

/** Split `s` at its comment (a `#` outside quotes). */
function splitComment(s: string): { text: string; note: string | undefined; at: number } {
  let quote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === "#")
      return { text: s.slice(0, i).trimEnd(), note: s.slice(i + 1).trim(), at: i };
  }
  return { text: s.trimEnd(), note: undefined, at: -1 };
}

function readLines(text: string): Line[] {
  const root: Line = {
    depth: -1,
    text: "",
    note: undefined,
    noteAt: -1,
    line: 0,
    col: 0,
    children: [],
  };
  const stack: Line[] = [root];
  const raw = text.split(/\r?\n/);
  for (const [i, whole] of raw.entries()) {
    const lineNo = i + 1;
    if (whole.trim() === "") continue;
    let depth = 0;
    while (whole[depth] === "\t") depth++;
    if (whole[depth] === " ")
      throw new HfrrError(lineNo, depth + 1, "indent with tabs, one per level (HFRR), not spaces");
    const { text: body, note, at: noteAt } = splitComment(whole.slice(depth));
    if (body === "") continue; // a comment line: the purpose of what follows (docs/registry.md)
    while (stack.length > 1 && stack[stack.length - 1]!.depth >= depth) stack.pop();
    const parent = stack[stack.length - 1]!;
    if (depth > parent.depth + 1)
      throw new HfrrError(lineNo, 1, `indented ${depth - parent.depth - 1} level(s) too deep`);
    const line: Line = {
      depth,
      text: body,
      note,
      noteAt,
      line: lineNo,
      col: depth + 1,
      children: [],
    };
    parent.children.push(line);
    stack.push(line);
  }
  return root.children;
}

// ---- reading: values against the registry ------------------------------------------------------

function at(l: Line, offset: number, why: string): HfrrError {
  return new HfrrError(l.line, l.col + offset, why);
}

/** Run `f`, turning a value or type error into an error at `l`'s column `offset`. */
function located<T>(l: Line, offset: number, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RegValueError || e instanceof RegTypeError)
      throw at(l, offset, `${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Apply the text's nodes to a copy of `into` (the registry's struct at that place): every node the
 * text names must exist with the same type; nodes it leaves out keep their value.
 */
function readStruct(lines: Line[], into: StructValue, path: string): StructValue {
  const out = cloneStruct(into);
  const seen = new Set<string>();
  for (const l of lines) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\(/.exec(l.text);
    if (m === null)
      throw at(
        l,
        0,
        `expected a node "key(type): value" in ${path === "" ? "the registry" : path}`,
      );
    const name = m[1]!;
    const open = name.length;
    let close: number;
    try {
      close = closing(l.text, open);
    } catch {
      throw at(l, open, "the type's parentheses do not close");
    }
    if (l.text[close + 1] !== ":") throw at(l, close + 1, 'expected ":" after the type');
    const typeText = l.text.slice(open + 1, close);
    const full = path === "" ? name : `${path}.${name}`;
    const node = out.get(name);
    if (node === undefined)
      throw at(l, 0, `${full} is not a node of the registry (a struct's keys are fixed)`);
    if (seen.has(name)) throw at(l, 0, `${full} is given twice`);
    seen.add(name);
    if (typeText.replace(/\s/g, "") !== node.typeText.replace(/\s/g, ""))
      throw at(l, open + 1, `${full} has the type ${node.typeText}, which cannot change`);
    if (l.note !== undefined)
      throw at(l, l.noteAt, "a node's comment (its purpose) goes on the line above it");
    const rest = l.text.slice(close + 2);
    const inline = rest.trim() === "" ? undefined : rest.trim();
    const inlineCol = close + 2 + (rest.length - rest.trimStart().length);
    out.set(name, {
      ...node,
      value: readValue(node.type, node.value, { l, inline, inlineCol }, l.children, full),
    });
  }
  return out;
}

interface Head {
  l: Line;
  inline: string | undefined;
  inlineCol: number;
}

function readValue(t: RegType, current: Value, h: Head, children: Line[], path: string): Value {
  const { l, inline, inlineCol } = h;
  if (isLeaf(t)) {
    if (inline === undefined) throw at(l, inlineCol, `${path}: expected a value after ":"`);
    if (children.length > 0)
      throw at(children[0]!, 0, `${path} is a single value: nothing nests in it`);
    return located(l, inlineCol, path, () => parseLeaf(t, inline));
  }
  if (t.t === "struct") {
    if (inline !== undefined) throw at(l, inlineCol, `${path} is a struct: its nodes go below it`);
    return { struct: readStruct(children, (current as { struct: StructValue }).struct, path) };
  }
  if (inline !== undefined) {
    const empty = t.t === "list" || t.t === "structlist" ? "[]" : "{}";
    if (inline !== empty)
      throw at(
        l,
        inlineCol,
        `${path}: write its entries on the lines below, or ${empty} when empty`,
      );
    if (children.length > 0)
      throw at(children[0]!, 0, `${path} is written ${empty}: it has no entries`);
    return readEntries(t, current, [], path, l);
  }
  return readEntries(t, current, children, path, l);
}

function readEntries(t: RegType, current: Value, lines: Line[], path: string, head: Line): Value {
  if (t.t === "list" || t.t === "structlist") {
    const model = (current as { list: ListEntry[] }).list[0];
    const list: ListEntry[] = [];
    for (const [i, l] of lines.entries()) {
      if (!(l.text === "-" || l.text.startsWith("- ")))
        throw at(l, 0, `${path}: a list entry starts with "- "`);
      const inline = l.text === "-" ? undefined : l.text.slice(2).trim();
      const ep = `${path}.${i}`;
      let value: Value;
      if (t.t === "structlist") {
        if (inline !== undefined) throw at(l, 2, `${ep}: a struct's nodes go below its "-"`);
        if (model === undefined) throw at(l, 0, `${path} has no model entry to shape a new one`);
        const base = (current as { list: ListEntry[] }).list[i] ?? model;
        value = {
          struct: readStruct(l.children, (base.value as { struct: StructValue }).struct, ep),
        };
      } else {
        value = readValue(t.item, emptyOf(t.item), { l, inline, inlineCol: 2 }, l.children, ep);
      }
      list.push({ value, ...(l.note !== undefined ? { note: l.note } : {}) });
    }
    if (t.t === "list" && t.max !== undefined && list.length > t.max)
      throw at(head, 0, `${path} holds at most ${t.max} entries (${list.length} given)`);
    if (t.t === "structlist" && model !== undefined && list.length === 0)
      throw at(head, 0, `${path}: its first entry (the model) cannot be removed`);
    return { list };
  }
  if (t.t === "map" || t.t === "structmap") {
    const old = (current as { map: MapEntry[] }).map;
    const map: MapEntry[] = [];
    for (const l of lines) {
      const { keyText, rest, restCol } = splitKey(l, path);
      const key = located(l, 0, path, () => parseLeaf(t.key, keyText));
      const ep = `${path}.${keyText}`;
      if (map.some((e) => compareValues(e.key, key) === 0)) throw at(l, 0, `${ep} is given twice`);
      const inline = rest === "" ? undefined : rest;
      let value: Value;
      if (t.t === "structmap") {
        if (inline !== undefined) throw at(l, restCol, `${ep}: a struct's nodes go below its key`);
        const base = old.find((e) => compareValues(e.key, key) === 0) ?? old[0];
        if (base === undefined) throw at(l, 0, `${path} has no model entry to shape a new one`);
        value = {
          struct: readStruct(l.children, (base.value as { struct: StructValue }).struct, ep),
        };
      } else {
        value = readValue(t.val, emptyOf(t.val), { l, inline, inlineCol: restCol }, l.children, ep);
      }
      map.push({ key, value, ...(l.note !== undefined ? { note: l.note } : {}) });
    }
    map.sort((a, b) => compareKeys(t.key, a.key, b.key));
    checkMapKeys(t, old, map, (why) => at(head, 0, `${path}: ${why}`));
    return { map };
  }
  return current;
}

/** The rules a map's key set follows: complete maps hold every key, struct maps keep their model. */
export function checkMapKeys(
  t: Extract<RegType, { t: "map" | "structmap" }>,
  old: MapEntry[],
  map: MapEntry[],
  fail: (why: string) => Error,
): void {
  if (t.complete) {
    const all = finiteKeys(t.key) ?? [];
    const missing = all.filter((k) => !map.some((e) => compareValues(e.key, k) === 0));
    if (missing.length > 0)
      throw fail(
        `a complete map holds every key; missing: ${missing.map((k) => formatLeaf(t.key, k)).join(", ")}`,
      );
  }
  if (
    t.t === "structmap" &&
    old[0] !== undefined &&
    !map.some((e) => compareValues(e.key, old[0]!.key) === 0)
  )
    throw fail(`its first entry ${formatLeaf(t.key, old[0].key)} (the model) cannot be removed`);
}

/** Map keys' default order: an enum's in its members' order, other values by value. */
export function compareKeys(t: RegType, a: Value, b: Value): number {
  if (t.t === "enum") return t.members.indexOf(a as string) - t.members.indexOf(b as string);
  return compareValues(a, b);
}

/** `key: rest` of a map entry, the key possibly a quoted string holding ':'. */
function splitKey(l: Line, path: string): { keyText: string; rest: string; restCol: number } {
  let i = 0;
  if (l.text.startsWith('"') || l.text.startsWith('r"')) {
    i = l.text.indexOf('"') + 1;
    while (i < l.text.length && l.text[i] !== '"') i += l.text[i] === "\\" ? 2 : 1;
    i++;
  }
  const colon = l.text.indexOf(":", i);
  if (colon < 0) throw at(l, 0, `${path}: a map entry is "key: value"`);
  const after = l.text.slice(colon + 1);
  return {
    keyText: l.text.slice(0, colon).trim(),
    rest: after.trim(),
    restCol: colon + 1 + (after.length - after.trimStart().length),
  };
}

/** The empty value of a container type (what a new list or map entry's nested container starts as). */
function emptyOf(t: RegType): Value {
  if (t.t === "list" || t.t === "structlist") return { list: [] };
  if (t.t === "map" || t.t === "structmap") return { map: [] };
  return false;
}

export function cloneStruct(s: StructValue): StructValue {
  return new Map([...s].map(([k, n]) => [k, { ...n }] as [string, Node]));
}

/** Read a whole HFRR text against the registry's current root; returns the new root. */
export function parseHfrr(text: string, root: StructValue): StructValue {
  return readStruct(readLines(text), root, "");
}

/** Read a single value written in HFRR (what `ncw registry set` takes), at `path` of type `t`. */
export function parseHfrrValue(t: RegType, current: Value, text: string, path: string): Value {
  const lines = readLines(`x: ${text.replace(/\n/g, "\n\t")}`);
  const l = lines[0];
  if (l === undefined || lines.length > 1) throw new HfrrError(1, 1, "expected one value");
  const rest = l.text.slice(2).trim();
  return readValue(
    t,
    current,
    { l, inline: rest === "" ? undefined : rest, inlineCol: 3 },
    l.children,
    path,
  );
}

export { parseType };
