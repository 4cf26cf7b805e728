// Tests for hash.md5 encoding, strict parsing and verification (ncw/package/hashfile.ts).

import { describe, expect, it } from "vitest";
import { NcwError } from "../errors.js";
import { decodeHashFile, encodeHashFile, md5Hex, verifyHashFile } from "./hashfile.js";

const enc = new TextEncoder();
const files = () =>
  new Map<string, Uint8Array>([
    ["manifest.toml", enc.encode("a")],
    ["b/c.txt", enc.encode("")],
  ]);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NcwError) return e.code;
    throw e;
  }
  return "no error";
}

describe("hash.md5", () => {
  it("encodes exact md5sum text-mode lines, sorted", () => {
    // md5("a") = 0cc175b9c0f1b6a831c399e269772661, md5("") = d41d8cd98f00b204e9800998ecf8427e
    expect(encodeHashFile(files())).toBe(
      "d41d8cd98f00b204e9800998ecf8427e  b/c.txt\n0cc175b9c0f1b6a831c399e269772661  manifest.toml\n",
    );
    expect(md5Hex(enc.encode("a"))).toBe("0cc175b9c0f1b6a831c399e269772661");
  });

  it("round-trips and verifies", () => {
    const text = encodeHashFile(files());
    expect(decodeHashFile(text)).toEqual([
      { md5: "d41d8cd98f00b204e9800998ecf8427e", path: "b/c.txt" },
      { md5: "0cc175b9c0f1b6a831c399e269772661", path: "manifest.toml" },
    ]);
    const withSelf = files();
    withSelf.set("hash.md5", enc.encode(text));
    expect(() => verifyHashFile(text, withSelf)).not.toThrow();
  });

  it.each([
    ["", "PKG_HASH_SYNTAX"],
    ["0cc175b9c0f1b6a831c399e269772661  manifest.toml", "PKG_HASH_SYNTAX"], // no final newline
    ["0CC175B9C0F1B6A831C399E269772661  manifest.toml\n", "PKG_HASH_SYNTAX"], // uppercase
    ["0cc175b9c0f1b6a831c399e269772661 *manifest.toml\n", "PKG_HASH_SYNTAX"], // binary mode
    ["0cc175b9c0f1b6a831c399e269772661 manifest.toml\n", "PKG_HASH_SYNTAX"], // one space
    ["0cc175b9c0f1b6a831c399e26977266  manifest.toml\n", "PKG_HASH_SYNTAX"], // 31 digits
    ["0cc175b9c0f1b6a831c399e269772661  ./manifest.toml\n", "PKG_HASH_SYNTAX"],
    ["\\0cc175b9c0f1b6a831c399e269772661  manifest.toml\n", "PKG_HASH_SYNTAX"], // md5sum escape
  ])("rejects malformed text %j", (text, expected) => {
    expect(code(() => decodeHashFile(text))).toBe(expected);
  });

  it("rejects duplicates, missing, extra and mismatching lines", () => {
    const good = encodeHashFile(files());
    const [l1, l2] = good.split("\n");
    expect(code(() => verifyHashFile(`${l1}\n${l1}\n${l2}\n`, files()))).toBe("PKG_HASH_DUPLICATE");
    expect(code(() => verifyHashFile(`${l2}\n`, files()))).toBe("PKG_HASH_UNLISTED");
    expect(
      code(() => verifyHashFile(`${good}d41d8cd98f00b204e9800998ecf8427e  ghost\n`, files())),
    ).toBe("PKG_HASH_EXTRA");
    const changed = files();
    changed.set("b/c.txt", enc.encode("tampered"));
    expect(code(() => verifyHashFile(good, changed))).toBe("PKG_HASH_MISMATCH");
    expect(
      code(() => verifyHashFile(`${good}d41d8cd98f00b204e9800998ecf8427e  hash.md5\n`, files())),
    ).toBe("PKG_HASH_SYNTAX");
  });

  it("refuses to list paths md5sum would escape", () => {
    const m = new Map([["a\\b", new Uint8Array(0)]]);
    expect(code(() => encodeHashFile(m))).toBe("PKG_PATH_INVALID");
  });
});
