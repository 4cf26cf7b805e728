// The CMDMSG / CMDERR message codec (specs/shell.md "Text output", "Invalid messages") against bytes
// written out by hand from the spec's list.

import { describe, expect, it } from "vitest";
import {
  decodeTextMessage,
  encodeTextMessage,
  REPLACEMENT_CHARACTER,
  TextControl,
  TextStyle,
} from "./text-message.js";

describe("text messages", () => {
  it("decodes colours, style, control characters and the text, byte for byte", () => {
    // fg ff 80 00, bg 00 00 10, style bold+underline (bits 0 and 2: 0x80 | 0x20), 2 controls:
    // 0x0305 (right 5, the spec's example) and 0x0500 (line start), then "hé".
    const bytes = Uint8Array.of(
      0xff,
      0x80,
      0x00,
      0x00,
      0x00,
      0x10,
      0xa0,
      0x02,
      0x03,
      0x05,
      0x05,
      0x00,
      0x68,
      0xc3,
      0xa9,
    );
    const d = decodeTextMessage(bytes);
    expect(d).toEqual({
      ok: true,
      message: {
        fg: { r: 0xff, g: 0x80, b: 0x00 },
        bg: { r: 0, g: 0, b: 0x10 },
        style: TextStyle.BOLD | TextStyle.UNDERLINE,
        controls: [
          { code: TextControl.RIGHT, data: 5 },
          { code: TextControl.LINE_START, data: 0 },
        ],
        text: "hé",
      },
    });
    expect(
      encodeTextMessage({
        fg: { r: 0xff, g: 0x80, b: 0 },
        bg: { r: 0, g: 0, b: 0x10 },
        style: 0xa0,
        controls: [
          { code: 3, data: 5 },
          { code: 5, data: 0 },
        ],
        text: "hé",
      }),
    ).toEqual(bytes);
  });

  it("zero colours mean the current ones; an empty text is valid", () => {
    const d = decodeTextMessage(new Uint8Array(8));
    expect(d).toEqual({
      ok: true,
      message: { fg: undefined, bg: undefined, style: 0, controls: [], text: "" },
    });
    expect(encodeTextMessage({ text: "A" })).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0x41));
  });

  it("is invalid under 8 + 2 × N bytes, or with an unknown control code: shown as U+FFFD", () => {
    for (const bad of [
      Uint8Array.of(),
      Uint8Array.of(0, 0, 0, 0, 0, 0, 0),
      Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0x01), // one control needs 10 bytes
      Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0x06, 0x01, 0x41), // 0x06 is no control code
    ]) {
      const d = decodeTextMessage(bad);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.shown).toBe(REPLACEMENT_CHARACTER);
    }
    // 0x00 "no control character" is valid.
    expect(decodeTextMessage(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x07)).ok).toBe(true);
  });

  it("a malformed UTF-8 sequence in a valid message shows U+FFFD in its place", () => {
    const d = decodeTextMessage(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0x61, 0xff, 0x62));
    expect(d.ok && d.message.text).toBe("a\u{FFFD}b");
  });

  it("refuses to encode what the format cannot carry", () => {
    expect(() => encodeTextMessage({ text: "", controls: [{ code: 6, data: 0 }] })).toThrow(
      RangeError,
    );
    expect(() => encodeTextMessage({ text: "", fg: { r: 256, g: 0, b: 0 } })).toThrow(RangeError);
    expect(() =>
      encodeTextMessage({ text: "", controls: Array(256).fill({ code: 0, data: 0 }) }),
    ).toThrow(RangeError);
  });
});
