// A command's typed input from the host (specs/shell.md "Input data"; specs/shell-scripting.md "Input of
// a command"): what `ncw` puts in CMDIN when the manifest declares the type the command reads (`cmdin`).
// The host pipe carries bytes, not values, so (decided, docs/cli.md "Typed input"): a `stream` input
// takes the bytes as they come; a `string` (or `anystr`) input is the whole input as UTF-8, one
// trailing line end removed; any other type is the whole input written as on a command line (the
// literal syntax of services/shell/literals.ts), which is how `ncw exec` prints a value, so
// `ncw exec a | ncw exec b` gives b the value a returned. An empty input is no value.

import type { Value } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import { parseShellType, type ShellType } from "../../ncw/manifest/rules.js";
import { LiteralError, parseWord, typeText } from "./literals.js";

/** Whether a command's input of type `cmdin` (the manifest's text) is read as a stream of bytes. */
export function inputIsStream(cmdin: string | undefined): boolean {
  if (cmdin === undefined) return true; // no declared type: the bytes as they come (docs/cli.md)
  const t = parseShellType(cmdin);
  return t.kind === "base" && t.name === "stream";
}

/**
 * The value `bytes` (the whole host input) gives a command `name` whose input is `cmdin`, or
 * undefined for an empty input. Throws NcwError CMDIN_BAD_VALUE naming the input, the value and the type.
 */
export function typedInput(name: string, cmdin: string, bytes: Uint8Array): Value | undefined {
  if (bytes.length === 0) return undefined;
  const t: ShellType = parseShellType(cmdin);
  const bad = (why: string, shown: string) =>
    new NcwError(
      "usage",
      `the input of ${name} expects ${typeText(t)}, got ${JSON.stringify(shown)}: ${why}`,
      {
        code: "CMDIN_BAD_VALUE",
        hint: `\`ncw help ${name}\` shows what it reads from its input (docs/cli.md "Typed input")`,
      },
    );
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw bad("the input is not UTF-8 text", `${bytes.length} bytes`);
  }
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  const inner = t.kind === "nullable" ? t.inner : t;
  if (inner.kind === "base" && (inner.name === "string" || inner.name === "anystr"))
    return { type: "string", value: text.replace(/\r?\n$/, "") };
  try {
    return parseWord(text.trim(), inner);
  } catch (e) {
    if (!(e instanceof LiteralError)) throw e;
    throw bad(e.message, shown);
  }
}
