// A script's command description (specs/shell-scripting.md "Commands typing": the `cmd` block), read
// into the manifests' command typing (CommandSpec), so that the one argument reader
// (services/shell/arguments.ts) reads a script's arguments as it reads an app command's. Layout
// decisions (where `end` is needed, where it is not): docs/hydre.md "Commands typing".

import type { CommandArg, CommandConditional, CommandSpec } from "../../ncw/manifest/types.js";

/** An error at `offset` (in the block's text) with its message. */
export class CmdBlockError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly length: number,
  ) {
    super(message);
  }
}

/** The line without its comment (a `#` outside a string). */
function stripComment(line: string): string {
  let inStr = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && inStr) i++;
    else if (c === '"') inStr = !inStr;
    else if (c === "#" && !inStr) return line.slice(0, i);
  }
  return line;
}

/** The strings of `"a" "b"`. */
function strings(rest: string, at: number): string[] {
  const out: string[] = [];
  const re = /\s*"((?:[^"\\]|\\.)*)"/y;
  let i = 0;
  while (i < rest.length) {
    re.lastIndex = i;
    const m = re.exec(rest);
    if (m === null) {
      if (rest.slice(i).trim() === "") break;
      throw new CmdBlockError("expected a quoted string", at + i, rest.length - i);
    }
    out.push(JSON.parse(`"${m[1]}"`) as string);
    i = re.lastIndex;
  }
  return out;
}

/** A `default` constant: a number, a string, a bool, or a list of them (`[1, 2]`). */
function constant(text: string, at: number): unknown {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  try {
    return JSON.parse(t);
  } catch {
    throw new CmdBlockError(`\`${t}\` is not a constant`, at, text.length);
  }
}

/** `if absent` → `absent()`; `present`, `present(x)`, `x == 1` as written. */
function condition(text: string): string {
  const t = text.trim();
  return t === "absent" || t === "present" ? `${t}()` : t;
}

/**
 * Reads a `cmd` block's lines (those between `cmd` and its `end`; `base`: the offset of the first)
 * into a command typing.
 */
export function parseCmdBlock(text: string, base: number): CommandSpec {
  const spec: CommandSpec = { help: "", return: "void", args: [] };
  let argsIndent: number | undefined;
  let arg: { name: string; arg: CommandArg; enumeration?: string } | undefined;
  let cond: CommandConditional | undefined;
  const finishArg = () => {
    if (arg === undefined) return;
    const a = arg.arg;
    if (arg.enumeration !== undefined) {
      const list = /^list\[(.*)\]$/.exec(a.type ?? "");
      a.type = list ? `list[enum${arg.enumeration}]` : `enum${arg.enumeration}`;
    }
    spec.args.push({ name: arg.name, arg: a });
    arg = undefined;
    cond = undefined;
  };
  let offset = base;
  for (const raw of text.split("\n")) {
    const lineAt = offset;
    offset += raw.length + 1;
    const line = stripComment(raw).replace(/\s+$/, "");
    const indent = line.length - line.trimStart().length;
    const body = line.trimStart();
    if (body === "") continue;
    const m = /^(\S+)\s*(.*)$/.exec(body) as RegExpExecArray;
    const word = m[1] as string;
    const rest = m[2] as string;
    const at = lineAt + indent;
    const restAt = at + body.length - rest.length;
    const fail = (message: string): never => {
      throw new CmdBlockError(message, at, body.length);
    };
    // A line at the indentation of `args` (or less) is the command's again.
    if (argsIndent !== undefined && indent <= argsIndent && word !== "end") {
      finishArg();
      argsIndent = undefined;
    }
    if (word === "end") {
      if (cond !== undefined) cond = undefined;
      else if (arg !== undefined) finishArg();
      else if (argsIndent !== undefined) argsIndent = undefined;
      else fail("this `end` closes nothing");
      continue;
    }
    if (cond !== undefined && (word === "return" || word === "cmdin")) {
      cond[word] = rest.trim();
      continue;
    }
    if (arg !== undefined && (word === "elif" || word === "else")) {
      cond = { cond: word === "else" ? "else" : condition(rest) };
      arg.arg.if = [...(arg.arg.if ?? []), cond];
      continue;
    }
    if (argsIndent === undefined) {
      switch (word) {
        case "author":
        case "license":
        case "help": {
          const [s] = strings(rest, restAt);
          if (s === undefined) fail(`\`${word}\` takes a quoted string`);
          spec[word] = s as string;
          continue;
        }
        case "return":
        case "cmdin":
          spec[word] = rest.trim();
          continue;
        case "args":
          argsIndent = indent;
          continue;
        default:
          fail(
            `\`${word}\` is not part of a command description (author, license, help, return, cmdin, args)`,
          );
      }
    }
    if (word === "pos" || word === "dash" || word === "flag") {
      finishArg();
      const [name] = strings(rest, restAt);
      if (name === undefined || !/^[A-Za-z_]\w*$/.test(name))
        fail(`\`${word}\` takes the argument's name, quoted: ${word} "name"`);
      arg = { name: name as string, arg: { syntax: word } };
      continue;
    }
    if (arg === undefined) fail(`\`${word}\` outside an argument (pos, dash or flag)`);
    const a = (arg as NonNullable<typeof arg>).arg;
    switch (word) {
      case "type":
        a.type = rest.trim();
        break;
      case "help":
      case "short":
      case "long": {
        const [s] = strings(rest, restAt);
        if (s === undefined) fail(`\`${word}\` takes a quoted string`);
        a[word] = s as string;
        break;
      }
      case "optional":
        a.optional = true;
        break;
      case "default":
        a.default = constant(rest, restAt);
        break;
      case "requires":
      case "conflicts":
        a[word] = strings(rest, restAt);
        break;
      case "enum":
        (arg as NonNullable<typeof arg>).enumeration = rest.trim();
        break;
      case "if":
        cond = { cond: condition(rest) };
        a.if = [...(a.if ?? []), cond];
        break;
      default:
        fail(
          `\`${word}\` is not an argument's option (type, help, short, long, optional, default, requires, conflicts, enum, if)`,
        );
    }
  }
  finishArg();
  return spec;
}
