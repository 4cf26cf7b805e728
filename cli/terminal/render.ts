// CMDMSG / CMDERR messages on the host (specs/shell.md "Text output", "Invalid messages"; docs/cli.md
// "Commands"): ANSI escapes on a terminal, the cursor moves without colours under NO_COLOR, the bare
// text when the output is not a terminal. An invalid message shows U+FFFD.

import {
  decodeTextMessage,
  type Rgb,
  TextControl,
  TextStyle,
} from "../../commonassembly/abi/text-message.js";
import { safeText } from "../../ncw/output.js";

/** "ansi": colours, styles, cursor moves; "tty": cursor moves only (NO_COLOR); "plain": the text. */
export type RenderMode = "ansi" | "tty" | "plain";

export function renderMode(isTty: boolean, color: boolean): RenderMode {
  if (!isTty) return color ? "ansi" : "plain";
  return color ? "ansi" : "tty";
}

const CURSOR: Record<number, string> = {
  [TextControl.UP]: "A",
  [TextControl.DOWN]: "B",
  [TextControl.RIGHT]: "C",
  [TextControl.LEFT]: "D",
};

const STYLE_SGR: [number, string][] = [
  [TextStyle.BOLD, "1"],
  [TextStyle.ITALIC, "3"],
  [TextStyle.UNDERLINE, "4"],
  [TextStyle.OVERLINE, "53"],
  [TextStyle.REVERSED, "7"],
];

const rgb = (c: Rgb) => `${c.r};${c.g};${c.b}`;

/** On a terminal the app's text keeps its line breaks and tabs; every other control is shown escaped. */
function terminalText(text: string): string {
  return text
    .split(/(\r?\n|\t)/)
    .map((part, i) => (i % 2 === 1 ? part : safeText(part)))
    .join("");
}

/**
 * One message as the host shows it. `error`: a CMDERR message, red by convention (shell.md) when it
 * names no foreground colour.
 */
export function renderMessage(bytes: Uint8Array, mode: RenderMode, error = false): string {
  const d = decodeTextMessage(bytes);
  if (!d.ok) return d.shown;
  const m = d.message;
  if (mode === "plain") return m.text;
  let out = "";
  for (const c of m.controls) {
    if (c.code === TextControl.LINE_START) out += "\r";
    else if (c.code !== TextControl.NONE && c.data > 0) out += `\x1b[${c.data}${CURSOR[c.code]}`;
  }
  const text = terminalText(m.text);
  if (mode === "tty") return out + text;
  const sgr: string[] = [];
  for (const [bit, code] of STYLE_SGR) if ((m.style & bit) !== 0) sgr.push(code);
  if (m.fg) sgr.push(`38;2;${rgb(m.fg)}`);
  else if (error) sgr.push("31");
  if (m.bg) sgr.push(`48;2;${rgb(m.bg)}`);
  if (sgr.length === 0 || text === "") return out + text;
  return `${out}\x1b[${sgr.join(";")}m${text}\x1b[0m`;
}
