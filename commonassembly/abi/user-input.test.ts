// The CMDUSR user input codec (specs/shell.md "User inputs") against bytes written out by hand.

import { describe, expect, it } from "vitest";
import { decodeUserInput, encodeUserInput, KeyCode, KeyModifier } from "./user-input.js";

describe("user inputs", () => {
  it("Shift-A: modifiers 0x10 (bit 3), keycode 0x04, 'A' then three zero bytes", () => {
    const k = { modifiers: KeyModifier.SHIFT, keycode: KeyCode.A, char: "A" };
    expect(encodeUserInput(k)).toEqual(Uint8Array.of(0x10, 0x04, 0x41, 0, 0, 0));
    expect(decodeUserInput(Uint8Array.of(0x10, 0x04, 0x41, 0, 0, 0))).toEqual(k);
  });

  it("Ctrl (bit 1 = 0x40) and Command (bit 0 = 0x80); a 4-byte character fills the field", () => {
    expect(encodeUserInput({ modifiers: 0xc0, keycode: KeyCode.NONE, char: "😀" })).toEqual(
      Uint8Array.of(0xc0, 0x00, 0xf0, 0x9f, 0x98, 0x80),
    );
    expect(decodeUserInput(Uint8Array.of(0x00, 0x52, 0, 0, 0, 0))).toEqual({
      modifiers: 0,
      keycode: KeyCode.UP,
      char: "",
    });
  });

  it("refuses a wrong size, two characters, and bytes after the character's end", () => {
    expect(() => decodeUserInput(new Uint8Array(5))).toThrow(RangeError);
    expect(() => encodeUserInput({ modifiers: 0, keycode: 0, char: "ab" })).toThrow(RangeError);
    expect(() => decodeUserInput(Uint8Array.of(0, 0, 0x41, 0, 0x42, 0))).toThrow(RangeError);
    expect(() => decodeUserInput(Uint8Array.of(0, 0, 0xff, 0, 0, 0))).toThrow(RangeError);
  });
});
