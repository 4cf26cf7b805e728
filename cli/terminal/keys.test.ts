// Terminal bytes to CMDUSR user inputs and reserved keys (specs/shell.md "User inputs").

import { describe, expect, it } from "vitest";
import { encodeUserInput } from "../../commonassembly/abi/user-input.js";
import { parseKeys } from "./keys.js";

const b = (s: string) => Buffer.from(s, "utf8");
/** The 6-byte inputs of a chunk, as hex, reserved keys by name. */
const keys = (s: string) =>
  parseKeys(b(s)).map((e) =>
    "reserved" in e ? e.reserved : Buffer.from(encodeUserInput(e.key)).toString("hex"),
  );

describe("terminal keys", () => {
  it("characters: their HID keycode, Shift when the character needs it, UTF-8 left-aligned", () => {
    expect(keys("a")).toEqual(["000461000000"]);
    expect(keys("A")).toEqual(["100441000000"]);
    expect(keys("!")).toEqual(["101e21000000"]);
    expect(keys(".")).toEqual(["00372e000000"]);
    expect(keys("é")).toEqual(["0000c3a90000"]);
    expect(keys("ab")).toEqual(["000461000000", "000562000000"]);
  });

  it("control characters, ESC sequences, Alt", () => {
    expect(keys("\r")).toEqual(["002800000000"]);
    expect(keys("\x7f")).toEqual(["002a00000000"]);
    expect(keys("\x01")).toEqual(["400461000000"]); // Ctrl-A
    expect(keys("\x1b[A")).toEqual(["005200000000"]);
    expect(keys("\x1b[1;5D")).toEqual(["405000000000"]); // Ctrl-Left
    expect(keys("\x1b[3~")).toEqual(["004c00000000"]); // Delete
    expect(keys("\x1bOP")).toEqual(["003a00000000"]); // F1
    expect(keys("\x1bx")).toEqual(["201b78000000"]); // Alt-x
    expect(keys("\x1b")).toEqual(["002900000000"]); // Escape alone
  });

  it("the reserved keys, plain and in the kitty and modifyOtherKeys forms", () => {
    expect(keys("\x03")).toEqual(["terminate"]);
    expect(keys("\x1b[99;5u")).toEqual(["terminate"]);
    expect(keys("\x1b[99;6u")).toEqual(["will-terminate"]);
    expect(keys("\x1b[27;6;67~")).toEqual(["will-terminate"]);
    expect(keys("\x1b[46;5u")).toEqual(["suspend"]);
    expect(keys("\x1b[27;5;46~")).toEqual(["suspend"]);
    expect(keys("\x1b[46;6u")).toEqual(["will-suspend"]);
    // Ctrl-Alt-C is not reserved: it goes to the app.
    expect(keys("\x1b[99;7u")).toEqual(["600663000000"]);
  });
});
