// Unit tests of ncw/output.ts's untrusted-text rendering (docs/cli.md, "Untrusted text").

import { describe, expect, it } from "vitest";
import { safeJson, safeLines, safeText } from "./output.js";

describe("safeText", () => {
  it("shows controls, DEL and C1 controls as escapes", () => {
    expect(safeText("a\u001b[2Jb\u0007c\u0008\u007f\u0085\u009b")).toBe(
      String.raw`a\x1b[2Jb\x07c\x08\x7f\x85\x9b`,
    );
    expect(safeText("l1\nl2\rl3\tx\u0000")).toBe(String.raw`l1\nl2\rl3\tx\x00`);
  });

  it("shows bidi, zero-width, BOM, separators and tag characters as \\u escapes", () => {
    expect(safeText("a\u202eb\u2066c\u200bd\ufeffe\u2028f\u{e0041}")).toBe(
      String.raw`a\u202eb\u2066c\u200bd\ufeffe\u2028f\u{e0041}`,
    );
  });

  it("replaces lone surrogates and bytes that are not UTF-8 with U+FFFD", () => {
    expect(safeText("a\ud800b\udc00")).toBe("a\ufffdb\ufffd");
    expect(safeText(new Uint8Array([0x61, 0xff, 0x1b, 0x62]))).toBe("a\ufffd\\x1bb");
  });

  it("leaves printable text, non-ASCII letters and emoji as they are", () => {
    const s = "héllo wörld — 日本語 🎉 \\x1b";
    expect(safeText(s)).toBe(s);
  });

  it("safeLines keeps line breaks and escapes each line", () => {
    expect(safeLines("one\u001b\n  - two\r")).toBe("one\\x1b\n  - two\\r");
  });
});

describe("safeJson", () => {
  it("escapes what JSON leaves raw and parses back to the exact strings", () => {
    const value = { n: "a\u001b\u007f\u0085\u202e\u200b\u2028\u{e0041}\ud800 日本", k: 1n };
    const text = safeJson(value);
    // Only printable ASCII, line breaks of the indentation and the CJK letters stay raw.
    expect(text).toMatch(/^[\n -~日本]*$/);
    expect(JSON.parse(text)).toEqual({ n: value.n, k: 1 }); // a bigint is a JSON number (docs/cli.md)
  });
});
