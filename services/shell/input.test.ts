// A command's typed input from the host's bytes (services/shell/input.ts; docs/cli.md "Typed input").

import { describe, expect, it } from "vitest";
import { NcwError } from "../../ncw/errors.js";
import { inputIsStream, typedInput } from "./input.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const C = "ncwtest::app.c";

describe("typed input", () => {
  it("no declared type and stream are streams; any other type is one value", () => {
    expect(inputIsStream(undefined)).toBe(true);
    expect(inputIsStream("stream")).toBe(true);
    expect(inputIsStream("string")).toBe(false);
    expect(inputIsStream("list[int]")).toBe(false);
  });

  it("string and anystr: the text, one trailing line end (LF or CRLF) removed", () => {
    expect(typedInput(C, "string", bytes("a b\n"))).toEqual({ type: "string", value: "a b" });
    expect(typedInput(C, "anystr", bytes("x\r\n"))).toEqual({ type: "string", value: "x" });
    expect(typedInput(C, "string", bytes(" x \n\n"))).toEqual({ type: "string", value: " x \n" });
    expect(typedInput(C, "string?", bytes("y"))).toEqual({ type: "string", value: "y" });
  });

  it("other types: the literal, surrounding blanks ignored", () => {
    expect(typedInput(C, "int", bytes(" -7\n"))).toEqual({ type: "int", value: -7n });
    expect(typedInput(C, "bool", bytes("true\n"))).toEqual({ type: "bool", value: true });
    expect(typedInput(C, "list[int]", bytes("[1, 2]\n"))).toEqual({
      type: "list",
      items: [
        { type: "int", value: 1n },
        { type: "int", value: 2n },
      ],
    });
    expect(typedInput(C, 'enum["a" | "b"]', bytes("b\n"))).toEqual({ type: "string", value: "b" });
  });

  it("an empty input is no value", () => {
    expect(typedInput(C, "int", new Uint8Array(0))).toBeUndefined();
  });

  it("a wrong input names the input, the value and the type (CMDIN_BAD_VALUE)", () => {
    const err = (t: string, b: Uint8Array) => {
      try {
        typedInput(C, t, b);
      } catch (e) {
        return e as NcwError;
      }
      throw new Error("no error");
    };
    const e = err("int", bytes("many"));
    expect(e).toBeInstanceOf(NcwError);
    expect(e.code).toBe("CMDIN_BAD_VALUE");
    expect(e.message).toMatch(/^the input of ncwtest::app\.c expects int, got "many": /);
    expect(err("string", Uint8Array.of(0xc3)).message).toMatch(/not UTF-8/);
    expect(err("list[int]", bytes("[1, x]")).message).toMatch(/expects list\[int\]/);
  });
});
