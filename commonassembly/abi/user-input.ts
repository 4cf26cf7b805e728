// The user input messages of CMDUSR (specs/shell.md, "User inputs"): 6 bytes, the modifier keys, the
// keycode, then the printable character in UTF-8 on 4 bytes (0x00 when the key prints nothing).
// Bit 0 is the strongest bit (0x80), as everywhere in the spec. The spec gives no keycode table: NCW
// uses the USB HID keyboard usage IDs (decided, docs/ipc.md "Command pipes").

export const USER_INPUT_SIZE = 6;

/** Byte 0, the modifier keys and lock states; bit 0 (Command / Windows) is 0x80. */
export const KeyModifier = {
  COMMAND: 0x80,
  CTRL: 0x40,
  ALT: 0x20,
  SHIFT: 0x10,
  FN: 0x08,
  NUM_LOCK: 0x04,
  CAPS_LOCK: 0x02,
  SCROLL_LOCK: 0x01,
} as const;

/** Byte 1: NCW's keycodes, the USB HID keyboard page (0x07) usage IDs of the keys a terminal reports. */
export const KeyCode = {
  NONE: 0x00,
  A: 0x04,
  /** A to Z are 0x04–0x1D, 1 to 9 are 0x1E–0x26, 0 is 0x27. */
  Z: 0x1d,
  DIGIT_1: 0x1e,
  DIGIT_0: 0x27,
  ENTER: 0x28,
  ESCAPE: 0x29,
  BACKSPACE: 0x2a,
  TAB: 0x2b,
  SPACE: 0x2c,
  MINUS: 0x2d,
  EQUAL: 0x2e,
  LEFT_BRACKET: 0x2f,
  RIGHT_BRACKET: 0x30,
  BACKSLASH: 0x31,
  SEMICOLON: 0x33,
  QUOTE: 0x34,
  BACKQUOTE: 0x35,
  COMMA: 0x36,
  PERIOD: 0x37,
  SLASH: 0x38,
  /** F1 to F12 are 0x3A–0x45. */
  F1: 0x3a,
  INSERT: 0x49,
  HOME: 0x4a,
  PAGE_UP: 0x4b,
  DELETE: 0x4c,
  END: 0x4d,
  PAGE_DOWN: 0x4e,
  RIGHT: 0x4f,
  LEFT: 0x50,
  DOWN: 0x51,
  UP: 0x52,
} as const;

export interface UserInput {
  /** KeyModifier bits. */
  modifiers: number;
  keycode: number;
  /** The printable character, or "" when the key prints none. */
  char: string;
}

/** US-layout ASCII characters: their key (HID usage) and whether Shift makes them. */
const ASCII_KEYS = new Map<string, [number, boolean]>();
{
  for (let i = 0; i < 26; i++) {
    ASCII_KEYS.set(String.fromCharCode(0x61 + i), [KeyCode.A + i, false]);
    ASCII_KEYS.set(String.fromCharCode(0x41 + i), [KeyCode.A + i, true]);
  }
  for (let i = 0; i < 10; i++) {
    ASCII_KEYS.set("1234567890"[i] as string, [KeyCode.DIGIT_1 + i, false]);
    ASCII_KEYS.set("!@#$%^&*()"[i] as string, [KeyCode.DIGIT_1 + i, true]);
  }
  const pairs: [string, string, number][] = [
    ["-", "_", KeyCode.MINUS],
    ["=", "+", KeyCode.EQUAL],
    ["[", "{", KeyCode.LEFT_BRACKET],
    ["]", "}", KeyCode.RIGHT_BRACKET],
    ["\\", "|", KeyCode.BACKSLASH],
    [";", ":", KeyCode.SEMICOLON],
    ["'", '"', KeyCode.QUOTE],
    ["`", "~", KeyCode.BACKQUOTE],
    [",", "<", KeyCode.COMMA],
    [".", ">", KeyCode.PERIOD],
    ["/", "?", KeyCode.SLASH],
  ];
  for (const [plain, shifted, code] of pairs) {
    ASCII_KEYS.set(plain, [code, false]);
    ASCII_KEYS.set(shifted, [code, true]);
  }
  ASCII_KEYS.set(" ", [KeyCode.SPACE, false]);
}

/**
 * A character typed with `mods` on a US layout: its key, Shift added when the character needs it; a
 * character of no US key keeps KeyCode.NONE (the terminal, the puppet files of `ncw test`).
 */
export function keyOfChar(ch: string, mods: number): UserInput {
  const k = ASCII_KEYS.get(ch);
  if (k === undefined) return { modifiers: mods, keycode: KeyCode.NONE, char: ch };
  return { modifiers: mods | (k[1] ? KeyModifier.SHIFT : 0), keycode: k[0], char: ch };
}

/**
 * A character as a terminal sends it without an escape sequence: CR / LF are Enter, Tab, DEL / BS
 * Backspace, NUL Ctrl-Space, 0x01–0x1A Ctrl and the letter, others below 0x20 Ctrl alone.
 */
export function keyOfTyped(c: string, code = c.codePointAt(0) as number): UserInput {
  if (c === "\r" || c === "\n") return { modifiers: 0, keycode: KeyCode.ENTER, char: "" };
  if (c === "\t") return { modifiers: 0, keycode: KeyCode.TAB, char: "" };
  if (code === 0x7f || code === 0x08) return { modifiers: 0, keycode: KeyCode.BACKSPACE, char: "" };
  if (code === 0) return keyOfChar(" ", KeyModifier.CTRL); // Ctrl-Space
  if (code < 0x1b) {
    // Ctrl-A … Ctrl-Z: the letter's key with Ctrl.
    return keyOfChar(String.fromCharCode(0x60 + code), KeyModifier.CTRL);
  }
  if (code < 0x20) return { modifiers: KeyModifier.CTRL, keycode: KeyCode.NONE, char: "" };
  return keyOfChar(c, 0);
}

/** The keys shell.md reserves: Ctrl-. / Ctrl-Shift-. (SUSPEND / WILL_SUSPEND), Ctrl-C / Ctrl-Shift-C. */
export type ReservedKey = "suspend" | "will-suspend" | "terminate" | "will-terminate";

/**
 * Which reserved key `k` is (shell.md "User inputs": they send signals, never input), or undefined:
 * Ctrl-C and Ctrl-. with or without Shift, without Alt or Command.
 */
export function reservedKeyOf(k: UserInput): ReservedKey | undefined {
  const { CTRL, ALT, SHIFT, COMMAND } = KeyModifier;
  if ((k.modifiers & CTRL) === 0 || (k.modifiers & (ALT | COMMAND)) !== 0) return undefined;
  const shift = (k.modifiers & SHIFT) !== 0;
  if (k.keycode === KeyCode.A + 2) return shift ? "will-terminate" : "terminate";
  if (k.keycode === KeyCode.PERIOD) return shift ? "will-suspend" : "suspend";
  return undefined;
}

/** Encode one user input: the character's UTF-8 bytes first, the rest of the 4 bytes zero. */
export function encodeUserInput(k: UserInput): Uint8Array {
  for (const [what, v] of [
    ["modifiers", k.modifiers],
    ["keycode", k.keycode],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new RangeError(`the ${what} are one byte, got ${v}`);
  const ch = new TextEncoder().encode(k.char);
  if ([...k.char].length > 1 || ch.length > 4 || ch.includes(0))
    throw new RangeError(
      `a user input carries at most one character, got ${JSON.stringify(k.char)}`,
    );
  const out = new Uint8Array(USER_INPUT_SIZE);
  out[0] = k.modifiers;
  out[1] = k.keycode;
  out.set(ch, 2);
  return out;
}

/** Decode one user input message; throws RangeError on a wrong size or a malformed character. */
export function decodeUserInput(b: Uint8Array): UserInput {
  if (b.length !== USER_INPUT_SIZE)
    throw new RangeError(`a user input is ${USER_INPUT_SIZE} bytes, got ${b.length}`);
  const raw = b.subarray(2);
  const end = raw.indexOf(0);
  const bytes = end < 0 ? raw : raw.subarray(0, end);
  if (end >= 0 && raw.subarray(end).some((x) => x !== 0))
    throw new RangeError("a user input's character is followed by non-zero bytes");
  let char: string;
  try {
    char = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new RangeError("a user input's character is not UTF-8");
  }
  if ([...char].length > 1) throw new RangeError("a user input carries at most one character");
  return { modifiers: b[0] as number, keycode: b[1] as number, char };
}
