// .nau update packages: metadata codec (TOML, docs/skyer.md), archive round trip, strictness.

import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { writeTar } from "../../ncw/package/tar.js";
import { decodeNauMetadata, encodeNauMetadata, readNau, writeNau } from "./nau.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe(".nau", () => {
  it("decodes metadata written by hand", () => {
    const text =
      'aid = "superdev::utils"\nfrom_version = "1.0.0"\nto_version = "1.1.0"\nremove = ["assets/old.png"]\n';
    expect(decodeNauMetadata(text)).toEqual({
      aid: "superdev::utils",
      from: "1.0.0",
      to: "1.1.0",
      remove: ["assets/old.png"],
    });
    expect(encodeNauMetadata(decodeNauMetadata(text))).toBe(text);
    const odd = { aid: "a::b", from: "1.0.0", to: "1.0.1", remove: ['we"ird\\name\u00e9'] };
    expect(decodeNauMetadata(encodeNauMetadata(odd))).toEqual(odd);
  });

  it("rejects bad metadata naming the problem", () => {
    const base = 'aid = "a::b"\nfrom_version = "1.0.0"\nto_version = "1.1.0"\n';
    expect(() => decodeNauMetadata('aid = "a::b"')).toThrow(/needs a string "from_version"/);
    expect(() => decodeNauMetadata(base.replace('"1.1.0"', '"0.9.0"'))).toThrow(/not newer/);
    expect(() => decodeNauMetadata(base.replace('"1.1.0"', '"latest"'))).toThrow(
      /not a semver version/,
    );
    expect(() => decodeNauMetadata(`${base}extra = 1\n`)).toThrow(/unknown key "extra"/);
    expect(() => decodeNauMetadata(`${base}remove = ["../x"]\n`)).toThrow(
      /not a plain relative path/,
    );
    expect(() => decodeNauMetadata(`${base}remove = ["/x"]\n`)).toThrow(
      /not a plain relative path/,
    );
  });

  it("round-trips an update archive", () => {
    const nau = {
      metadata: { aid: "a::b", from: "1.0.0", to: "2.0.0", remove: ["gone.txt"] },
      files: new Map([
        ["manifest.toml", enc("m")],
        ["assets/x.txt", enc("x")],
      ]),
      dirs: ["assets"],
      symlinks: new Map([["link", "assets/x.txt"]]),
    };
    const back = readNau(writeNau(nau));
    expect(back.metadata).toEqual(nau.metadata);
    expect([...back.files.keys()].sort()).toEqual(["assets/x.txt", "manifest.toml"]);
    expect(back.symlinks.get("link")).toBe("assets/x.txt");
    expect(back.dirs).toEqual(["assets"]);
  });

  it("is strict about what the archive holds", () => {
    const meta = enc('aid = "a::b"\nfrom_version = "1.0.0"\nto_version = "1.1.0"\n');
    const tgz = (entries: Parameters<typeof writeTar>[0]) => gzipSync(writeTar(entries));
    expect(() => readNau(enc("nope"))).toThrow(expect.objectContaining({ code: "NAU_NOT_GZIP" }));
    expect(() => readNau(tgz([{ path: "files/a", type: "file", data: enc("a") }]))).toThrow(
      expect.objectContaining({ code: "NAU_NO_METADATA" }),
    );
    expect(() =>
      readNau(
        tgz([
          { path: "metadata", type: "file", data: meta },
          { path: "README", type: "file", data: enc("hi") },
        ]),
      ),
    ).toThrow(expect.objectContaining({ code: "NAU_UNEXPECTED_ENTRY" }));
    expect(() => readNau(gzipSync(new Uint8Array(64 * 1024 * 1024)))).toThrow(
      expect.objectContaining({ code: "NAU_BOMB" }),
    );
  });
});
