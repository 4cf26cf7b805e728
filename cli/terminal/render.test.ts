// CMDMSG / CMDERR messages as the host shows them (specs/shell.md "Text output").

import { describe, expect, it } from "vitest";
import { encodeTextMessage } from "../../commonassembly/abi/text-message.js";
import { renderMessage, renderMode } from "./render.js";
import { formatValue, valueJson } from "./values.js";

const m = encodeTextMessage({
  fg: { r: 1, g: 2, b: 3 },
  bg: { r: 9, g: 8, b: 7 },
  style: 0x80 | 0x40 | 0x20 | 0x10 | 0x08,
  controls: [
    { code: 1, data: 2 },
    { code: 2, data: 3 },
    { code: 4, data: 0 },
    { code: 5, data: 9 },
    { code: 0, data: 1 },
  ],
  text: "hi\tyou\n\x1b[2J",
});

describe("rendering messages", () => {
  it("ANSI: cursor moves, then the style, 24-bit colours and the text made safe", () => {
    expect(renderMessage(m, "ansi")).toBe(
      "\x1b[2A\x1b[3D\r\x1b[1;3;4;53;7;38;2;1;2;3;48;2;9;8;7mhi\tyou\n\\x1b[2J\x1b[0m",
    );
  });

  it("tty without colours keeps the cursor moves; plain is the bare text", () => {
    expect(renderMessage(m, "tty")).toBe("\x1b[2A\x1b[3D\rhi\tyou\n\\x1b[2J");
    expect(renderMessage(m, "plain")).toBe("hi\tyou\n\x1b[2J");
  });

  it("an error without a colour is red; an invalid message is U+FFFD in every mode", () => {
    expect(renderMessage(encodeTextMessage({ text: "e" }), "ansi", true)).toBe("\x1b[31me\x1b[0m");
    for (const mode of ["ansi", "tty", "plain"] as const)
      expect(renderMessage(Uint8Array.of(1, 2), mode)).toBe("\u{FFFD}");
  });

  it("the mode follows the terminal and the colour decision", () => {
    expect(renderMode(true, true)).toBe("ansi");
    expect(renderMode(true, false)).toBe("tty");
    expect(renderMode(false, false)).toBe("plain");
    expect(renderMode(false, true)).toBe("ansi");
  });
});

describe("return values", () => {
  it("printed readably and as typed JSON", () => {
    expect(formatValue({ type: "float", value: 2 })).toBe("2.0");
    expect(formatValue({ type: "void" })).toBe("");
    expect(
      formatValue({ type: "list", items: [{ type: "void" }, { type: "path", value: "/a" }] }),
    ).toBe('[void, "/a"]');
    expect(valueJson({ type: "list", items: [{ type: "int", value: 3n }] })).toEqual({
      type: "list",
      items: [{ type: "int", value: 3n }],
    });
    expect(valueJson({ type: "float", value: Number.NaN })).toEqual({
      type: "float",
      value: "NaN",
    });
  });
});
