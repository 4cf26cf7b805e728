// NightOS file names: the rules of spec services/integration/filesystem-interfaces.md "Filenames"
// (a UTF-8 delimited string, kernel/data-structures.md), checked where names come from outside.

/** Longest file name the spec allows, in characters (code points). */
export const MAX_NAME_CHARS = 65535;

/**
 * The spaces a name may not be made only of: the space and the "insecable" (no-break) spaces —
 * U+00A0, U+2007 (figure space) and U+202F (narrow no-break space). Decision: docs/btrfs.md
 * "Copying out of an image".
 */
const ONLY_SPACES = /^[ \u00a0\u2007\u202f]+$/u;

/** Why `name` is not a valid NightOS file name, or undefined when it is one. */
export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  if (name.includes("/")) return "it contains '/'";
  if (name.includes("\0")) return "it contains a NUL character";
  if (name === "." || name === "..") return `it is "${name}"`;
  if (ONLY_SPACES.test(name)) return "it is made only of spaces";
  let chars = 0;
  for (const _ of name) if (++chars > MAX_NAME_CHARS) return "it is longer than 65535 characters";
  return undefined;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A name stored as bytes (an image's directory entry): the name, or why it is not a valid one. */
export function decodeFileName(
  bytes: Uint8Array,
): { name: string; problem?: undefined } | { name?: undefined; problem: string } {
  let name: string;
  try {
    name = strictUtf8.decode(bytes);
  } catch {
    return { problem: "it is not valid UTF-8" };
  }
  const problem = fileNameProblem(name);
  return problem === undefined ? { name } : { problem };
}
