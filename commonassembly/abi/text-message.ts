// The text messages of CMDMSG and CMDERR (specs/shell.md, "Text output" and "Invalid messages"): RGB
// foreground and background, a style byte, control characters that move the cursor, then UTF-8 text.
// "Always starting from the strongest byte/bit": bit 0 of the style is 0x80, and a control character's
// code is its first byte, its data byte the second (decided, docs/ipc.md "Command pipes").

/** Style bits (byte 6); bit 0 is the strongest bit. */
export const TextStyle = {
  BOLD: 0x80,
  ITALIC: 0x40,
  UNDERLINE: 0x20,
  OVERLINE: 0x10,
  REVERSED: 0x08,
} as const;

/** Control character codes (the strongest byte of each 2-byte control character). */
export const TextControl = {
  NONE: 0x00,
  UP: 0x01,
  LEFT: 0x02,
  RIGHT: 0x03,
  DOWN: 0x04,
  LINE_START: 0x05,
} as const;

/** The bytes before the control characters: 3 + 3 colour bytes, the style, the control count. */
export const TEXT_MESSAGE_HEADER_SIZE = 8;
/** What a terminal shows for an invalid message (shell.md "Invalid messages"). */
export const REPLACEMENT_CHARACTER = "\u{FFFD}";

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface ControlCharacter {
  code: number;
  data: number;
}

export interface TextMessage {
  /** undefined: "`0` will use the current one" (all three bytes zero). */
  fg: Rgb | undefined;
  bg: Rgb | undefined;
  /** TextStyle bits; the three weakest bits are ignored (the spec names none of them). */
  style: number;
  controls: ControlCharacter[];
  /** The message, decoded from UTF-8 (a malformed sequence shows U+FFFD, as a decoder does). */
  text: string;
}

/** A decoded message, or the spec's invalid one (shown as U+FFFD), with why. */
export type DecodedTextMessage =
  | { ok: true; message: TextMessage }
  | { ok: false; why: string; shown: typeof REPLACEMENT_CHARACTER };

const MAX_CONTROL = TextControl.LINE_START;

function colour(b: Uint8Array, at: number): Rgb | undefined {
  const r = b[at] ?? 0;
  const g = b[at + 1] ?? 0;
  const bl = b[at + 2] ?? 0;
  return r === 0 && g === 0 && bl === 0 ? undefined : { r, g, b: bl };
}

const decoder = new TextDecoder("utf-8");

/** Decode one CMDMSG / CMDERR message (one message of the pipe, whole). Never throws. */
export function decodeTextMessage(b: Uint8Array): DecodedTextMessage {
  const invalid = (why: string): DecodedTextMessage => ({
    ok: false,
    why,
    shown: REPLACEMENT_CHARACTER,
  });
  if (b.length < TEXT_MESSAGE_HEADER_SIZE)
    return invalid(`${b.length} bytes, shorter than the 8-byte header`);
  const count = b[7] as number;
  const textAt = TEXT_MESSAGE_HEADER_SIZE + 2 * count;
  if (b.length < textAt)
    return invalid(`${count} control characters need ${textAt} bytes, the message has ${b.length}`);
  const controls: ControlCharacter[] = [];
  for (let i = 0; i < count; i++) {
    const code = b[TEXT_MESSAGE_HEADER_SIZE + 2 * i] as number;
    const data = b[TEXT_MESSAGE_HEADER_SIZE + 2 * i + 1] as number;
    if (code > MAX_CONTROL)
      return invalid(`control character ${i} has the unknown code 0x${code.toString(16)}`);
    controls.push({ code, data });
  }
  return {
    ok: true,
    message: {
      fg: colour(b, 0),
      bg: colour(b, 3),
      style: b[6] as number,
      controls,
      text: decoder.decode(b.subarray(textAt)),
    },
  };
}

/** Encode a message (what an app writes to CMDMSG / CMDERR). */
export function encodeTextMessage(m: {
  fg?: Rgb;
  bg?: Rgb;
  style?: number;
  controls?: readonly ControlCharacter[];
  text: string;
}): Uint8Array {
  const controls = m.controls ?? [];
  if (controls.length > 255) throw new RangeError("a message has at most 255 control characters");
  const text = new TextEncoder().encode(m.text);
  const out = new Uint8Array(TEXT_MESSAGE_HEADER_SIZE + 2 * controls.length + text.length);
  const put = (at: number, c: Rgb | undefined) => {
    if (c === undefined) return;
    for (const v of [c.r, c.g, c.b])
      if (!Number.isInteger(v) || v < 0 || v > 255)
        throw new RangeError(`a colour component is 0–255, got ${v}`);
    out.set([c.r, c.g, c.b], at);
  };
  put(0, m.fg);
  put(3, m.bg);
  const style = m.style ?? 0;
  if (!Number.isInteger(style) || style < 0 || style > 255)
    throw new RangeError(`the style is one byte, got ${style}`);
  out[6] = style;
  out[7] = controls.length;
  controls.forEach((c, i) => {
    if (!Number.isInteger(c.code) || c.code < 0 || c.code > MAX_CONTROL)
      throw new RangeError(`control character code 0x00–0x05, got ${c.code}`);
    if (!Number.isInteger(c.data) || c.data < 0 || c.data > 255)
      throw new RangeError(`a control character's data is one byte, got ${c.data}`);
    out[TEXT_MESSAGE_HEADER_SIZE + 2 * i] = c.code;
    out[TEXT_MESSAGE_HEADER_SIZE + 2 * i + 1] = c.data;
  });
  out.set(text, TEXT_MESSAGE_HEADER_SIZE + 2 * controls.length);
  return out;
}
