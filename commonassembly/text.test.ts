// The text front end's own check on top of wabt (commonassembly/text.ts): the empty identifier $"".
import { describe, expect, it } from "vitest";
import { findEmptyIdentifier, watToWasm } from "./text.js";

describe("findEmptyIdentifier", () => {
  it('finds $"" outside comments and strings, with its line and column', () => {
    expect(findEmptyIdentifier('(module\n  (func $"" (nop)))')).toEqual({ line: 2, column: 9 });
    expect(findEmptyIdentifier('(func $"a")')).toBeUndefined();
    expect(
      findEmptyIdentifier('(func $"\\"" ) ;; $""\n(; $"" (; nested ;) $"" ;)'),
    ).toBeUndefined();
    expect(findEmptyIdentifier('(data "$\\"\\"" "x")')).toBeUndefined();
    // `$` alone (followed by a space, a parenthesis or the end) is empty too; `$` inside a name is not.
    expect(findEmptyIdentifier("(func $)")).toEqual({ line: 1, column: 7 });
    expect(findEmptyIdentifier('(func $ "a")')).toEqual({ line: 1, column: 7 });
    expect(findEmptyIdentifier("(func $a$ $b$c (local $x$ i32))")).toBeUndefined();
  });

  it("makes watToWasm reject it (wabt 1.0.39 accepts it)", async () => {
    await expect(watToWasm('(module (func $"" (nop)))')).rejects.toMatchObject({
      code: "WAT_INVALID",
      message: expect.stringContaining("empty identifier"),
    });
    await expect(watToWasm("(module (func $a (nop)))")).resolves.toBeInstanceOf(Uint8Array);
  });
});
