// Keystrokes from a host terminal in raw mode, as CMDUSR user inputs (specs/shell.md "User inputs";
// docs/cli.md "Commands"): the bytes a terminal sends for a key (plain characters, control characters,
// ESC sequences for arrows and function keys, and the kitty / xterm "modifyOtherKeys" forms that tell
// Ctrl-. and Ctrl-Shift-C apart), turned into modifiers, a keycode and a character, or into one of
// the reserved keys that send a signal instead.

import {
  KeyCode,
  KeyModifier,
  keyOfChar,
  keyOfTyped,
  type ReservedKey,
  reservedKeyOf,
  type UserInput,
} from "../../commonassembly/abi/user-input.js";

export type { ReservedKey } from "../../commonassembly/abi/user-input.js";

export type KeyEvent = { key: UserInput } | { reserved: ReservedKey };

/**
 * Ask the terminal to report modified keys unambiguously (kitty's "disambiguate" flag, xterm's
 * modifyOtherKeys level 2); a terminal that knows neither ignores both.
 */
export const KEYBOARD_PROTOCOL_ON = "\x1b[>1u\x1b[>4;2m";
/** Undo KEYBOARD_PROTOCOL_ON (pop kitty's flags, reset modifyOtherKeys). */
export const KEYBOARD_PROTOCOL_OFF = "\x1b[<u\x1b[>4m";

const { CTRL, ALT, SHIFT, COMMAND } = KeyModifier;

const special = (keycode: number, mods = 0): UserInput => ({ modifiers: mods, keycode, char: "" });

/** xterm's modifier parameter (1 + bits: shift 1, alt 2, ctrl 4, super 8) as NightOS modifiers. */
function xtermMods(p: number | undefined): number {
  const b = Math.max(0, (p ?? 1) - 1);
  return (b & 1 ? SHIFT : 0) | (b & 2 ? ALT : 0) | (b & 4 ? CTRL : 0) | (b & 8 ? COMMAND : 0);
}

const event = (k: UserInput): KeyEvent => {
  const r = reservedKeyOf(k);
  return r === undefined ? { key: k } : { reserved: r };
};

/** A kitty / modifyOtherKeys code point with modifiers: the character of the unshifted key. */
function codepointKey(cp: number, mods: number): UserInput {
  switch (cp) {
    case 13:
      return special(KeyCode.ENTER, mods);
    case 9:
      return special(KeyCode.TAB, mods);
    case 27:
      return special(KeyCode.ESCAPE, mods);
    case 127:
    case 8:
      return special(KeyCode.BACKSPACE, mods);
  }
  let ch = String.fromCodePoint(cp);
  // kitty reports the unshifted key with Shift; the character is what the key prints with it.
  if ((mods & SHIFT) !== 0 && ch >= "a" && ch <= "z") ch = ch.toUpperCase();
  const k = keyOfChar(ch, mods);
  // With Ctrl (or Command) the key prints nothing, but the character says which key it was.
  return k;
}

const CSI_FINAL: Record<string, number> = {
  A: KeyCode.UP,
  B: KeyCode.DOWN,
  C: KeyCode.RIGHT,
  D: KeyCode.LEFT,
  H: KeyCode.HOME,
  F: KeyCode.END,
  P: KeyCode.F1,
  Q: KeyCode.F1 + 1,
  R: KeyCode.F1 + 2,
  S: KeyCode.F1 + 3,
};
/** `CSI n ~` keys. */
const TILDE: Record<number, number> = {
  1: KeyCode.HOME,
  2: KeyCode.INSERT,
  3: KeyCode.DELETE,
  4: KeyCode.END,
  5: KeyCode.PAGE_UP,
  6: KeyCode.PAGE_DOWN,
  7: KeyCode.HOME,
  8: KeyCode.END,
  15: KeyCode.F1 + 4,
  17: KeyCode.F1 + 5,
  18: KeyCode.F1 + 6,
  19: KeyCode.F1 + 7,
  20: KeyCode.F1 + 8,
  21: KeyCode.F1 + 9,
  23: KeyCode.F1 + 10,
  24: KeyCode.F1 + 11,
};

/** One CSI / SS3 sequence (the text after ESC [ or ESC O); undefined when it is no key NCW knows. */
function sequenceKey(params: string, final: string): UserInput | undefined {
  const ps = params.split(";").map((p) => (p === "" ? undefined : Number(p.split(":")[0])));
  if (final === "u") return codepointKey(ps[0] ?? 0, xtermMods(ps[1]));
  if (final === "~") {
    // xterm modifyOtherKeys: CSI 27 ; mods ; codepoint ~
    if (ps[0] === 27 && ps[2] !== undefined) return codepointKey(ps[2], xtermMods(ps[1]));
    const code = TILDE[ps[0] ?? 0];
    return code === undefined ? undefined : special(code, xtermMods(ps[1]));
  }
  const code = CSI_FINAL[final];
  return code === undefined ? undefined : special(code, xtermMods(ps[1]));
}

/** The key events of one chunk a terminal sent (terminals send a key's sequence in one write). */
export function parseKeys(bytes: Uint8Array): KeyEvent[] {
  const s = new TextDecoder("utf-8").decode(bytes);
  const out: KeyEvent[] = [];
  const chars = [...s];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    const code = c.codePointAt(0) as number;
    if (c === "\x1b") {
      const next = chars[i + 1];
      if (next === "[" || next === "O") {
        let j = i + 2;
        let params = "";
        while (j < chars.length && /[0-9;:?]/.test(chars[j] as string)) params += chars[j++];
        const final = chars[j];
        if (final !== undefined) {
          const k = sequenceKey(params, final);
          if (k !== undefined) out.push(event(k));
          i = j;
          continue;
        }
      }
      if (next !== undefined && next !== "\x1b") {
        // ESC then a key: that key with Alt.
        const k = keyOfTyped(next);
        out.push(event({ ...k, modifiers: k.modifiers | ALT }));
        i++;
        continue;
      }
      out.push(event(special(KeyCode.ESCAPE)));
      continue;
    }
    out.push(event(keyOfTyped(c, code)));
  }
  return out;
}
