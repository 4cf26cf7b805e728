// Tests for manifest.toml parsing, validation rules and serialization (ncw/manifest/).

import { readFileSync } from "node:fs";
import { parse, stringify } from "smol-toml";
import { describe, expect, it } from "vitest";
import { NcwError } from "../errors.js";
import {
  ManifestError,
  manifestAid,
  parseManifest,
  parseShellType,
  serializeManifest,
  slugFromName,
  slugRuleBroken,
} from "./index.js";

const FULL = readFileSync(new URL("./testdata/full.toml", import.meta.url), "utf8");

const MINIMAL_LIB = `type = "library"
[infos]
name = "Str utils"
slug = "strutils"
did = "acme"
description = "String helpers"
version = "2.1.0"
authors = [{ name = "Ada" }]
icon = "icon-%{}.png"
license = "MIT"
[content.program]
precomp = "lib.npp"
[dependencies.libraries]
`;

type Doc = Record<string, unknown>;

/** Apply an edit to the full example and return the issues as "path: rule" strings. */
function issuesAfter(edit: (d: Doc) => void): string[] {
  const d = parse(FULL) as Doc;
  edit(d);
  try {
    parseManifest(stringify(d));
  } catch (e) {
    if (e instanceof ManifestError) return e.issues.map((i) => `${i.path}: ${i.rule}`);
    throw e;
  }
  return [];
}

const t = (d: Doc, k: string): Doc => d[k] as Doc;

describe("manifest", () => {
  it("parses the full example with every spec field", () => {
    const m = parseManifest(FULL);
    expect(m.type).toBe("application");
    expect(manifestAid(m)).toBe("superdev::cloud_notepad_app");
    if (m.type !== "application") throw new Error("unreachable");
    expect(m.content.assets).toEqual(["assets"]);
    expect(m.dependencies.libraries).toEqual({ "sys::lib": "^1.0.0" });
    expect(m.dependencies.fonts).toEqual({ "fonts:open-sans": true });
    expect(m.features?.default).toEqual(["testing"]);
    expect(m.features?.list.testing?.extensions).toEqual({ test: true });
    const cmd = m.commands?.say_hello;
    expect(cmd?.args.map((a) => a.name)).toEqual(["names", "repeat", "get-duration"]);
    expect(cmd?.args[2]?.arg.if).toEqual([{ cond: "present()", return: "void" }]);
    expect(m.services?.integration.desktop_env).toBe(false);
    expect(m.sysfeatures.crash_saves_support).toBe(true);
    expect(m.additional?.languages).toEqual(["en-US"]);
  });

  it("round-trips through serializeManifest", () => {
    const m = parseManifest(FULL);
    expect(parseManifest(serializeManifest(m))).toEqual(m);
    const lib = parseManifest(MINIMAL_LIB);
    expect(lib.type).toBe("library");
    expect(parseManifest(serializeManifest(lib))).toEqual(lib);
  });

  it("gives syntax errors with line and column", () => {
    try {
      parseManifest('type = "application"\n[infos\n');
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(NcwError);
      expect((e as NcwError).code).toBe("MANIFEST_SYNTAX");
      expect((e as NcwError).message).toMatch(/line 2/);
    }
  });

  it("names the field, the value and the rule in every error", () => {
    const d = parse(FULL) as Doc;
    t(d, "infos").slug = "Cloud-Notepad";
    try {
      parseManifest(stringify(d));
      throw new Error("no error");
    } catch (e) {
      expect((e as NcwError).code).toBe("MANIFEST_INVALID");
      expect((e as NcwError).message).toContain(
        'infos.slug = "Cloud-Notepad": slug only lowercase letters, digits and underscores are allowed',
      );
    }
  });

  it("requires the type and rejects app-only sections in libraries", () => {
    expect(issuesAfter((d) => delete d.type)[0]).toMatch(/^type: required/);
    const lib = parse(MINIMAL_LIB) as Doc;
    lib.sysfeatures = { crash_saves_support: true };
    expect(() => parseManifest(stringify(lib))).toThrow(/sysfeatures = .*unknown field/);
  });

  it.each([
    ["", "must not be empty"],
    ["9lives", "must not start with a digit"],
    ["cloud-notepad-app", "only lowercase letters"],
    ["Caps", "only lowercase letters"],
    ["echo", "native shell command"],
    ["syml", "native shell command"],
    ["prompt_int", "native shell function"],
    ["string", "shell type"],
    ["anystr", "shell type"],
  ])("slug rule: %j is refused (%s)", (slug, rule) => {
    expect(slugRuleBroken(slug)).toContain(rule);
    expect(issuesAfter((d) => (t(d, "infos").slug = slug)).join("\n")).toContain(rule);
  });

  it("DID follows the slug rules and sys/sysl are reserved", () => {
    expect(issuesAfter((d) => (t(d, "infos").did = "Super-Dev"))[0]).toMatch(
      /^infos.did: DID follows the slug rules/,
    );
    expect(issuesAfter((d) => (t(d, "infos").did = "sys"))[0]).toMatch(/reserved/);
    expect(issuesAfter((d) => delete t(d, "infos").did)[0]).toMatch(/^infos.did: required/);
  });

  it("generates slugs from names", () => {
    expect(slugFromName("Cloud Notepad App")).toBe("cloud_notepad_app");
    expect(slugFromName("Éditeur 2")).toBe("editeur_2");
    expect(slugFromName("42")).toBe("app_42");
    expect(slugFromName("echo")).toBe("echo_app");
    expect(issuesAfter((d) => delete t(d, "infos").slug)[0]).toContain('"cloud_notepad_app"');
  });

  it("checks version, authors, icon and license", () => {
    expect(issuesAfter((d) => (t(d, "infos").version = "v1.0"))[0]).toMatch(
      /^infos.version: must be a semantic version/,
    );
    expect(issuesAfter((d) => (t(d, "infos").authors = []))[0]).toMatch(
      /^infos.authors: must be a non-empty/,
    );
    expect(issuesAfter((d) => (t(d, "infos").authors = [{ name: "x", email: "nope" }]))[0]).toMatch(
      /^infos.authors\[0\].email/,
    );
    expect(issuesAfter((d) => (t(d, "infos").icon = "icon.png"))[0]).toMatch(/exactly once/);
    expect(issuesAfter((d) => (t(d, "infos").icon = "../%{}.png"))[0]).toMatch(
      /inside the package/,
    );
    expect(issuesAfter((d) => (t(d, "infos").license = "GPL"))[0]).toMatch(
      /^infos.license: must be an SPDX/,
    );
    expect(issuesAfter((d) => (t(d, "infos").license = "LicenseRef-Acme-EULA"))).toEqual([]);
  });

  it("checks [embedded] libraries: folders of the package, none inside another, apps only", () => {
    expect(issuesAfter((d) => (d.embedded = { libraries: ["libs/a", "./libs/b/"] }))).toEqual([]);
    const m = parseManifest(`${FULL}\n[embedded]\nlibraries = ["./libs/a/"]\n`);
    expect(m.type === "application" && m.embedded).toEqual({ libraries: ["libs/a"] });
    expect(issuesAfter((d) => (d.embedded = { libraries: [] }))).toEqual([
      "embedded.libraries: must name at least one folder",
    ]);
    expect(issuesAfter((d) => (d.embedded = { libraries: ["libs", "libs/a"] }))).toEqual([
      'embedded.libraries[1]: overlaps the embedded library folder "libs"',
    ]);
    expect(issuesAfter((d) => (d.embedded = { libraries: ["../x"] }))[0]).toMatch(
      /^embedded.libraries\[0\]: must stay inside the package/,
    );
    expect(issuesAfter((d) => (d.embedded = { libraries: ["."] }))[0]).toMatch(
      /^embedded.libraries\[0\]: must name a file of the package/,
    );
    expect(issuesAfter((d) => (d.embedded = {}))).toEqual([
      "embedded.libraries: required list is missing",
    ]);
    expect(() => parseManifest(`${MINIMAL_LIB}[embedded]\nlibraries = ["x"]\n`)).toThrow(
      /embedded/,
    );
  });

  it("accepts SPDX license expressions and names what is wrong in a bad one", () => {
    for (const ok of [
      "MIT OR Apache-2.0",
      "(MIT OR Apache-2.0) AND BSD-3-Clause",
      "GPL-2.0-or-later WITH Classpath-exception-2.0",
      "Apache-2.0 WITH LLVM-exception OR MIT",
      "LGPL-2.1-only+ AND LicenseRef-Acme",
      "((MIT))",
    ]) {
      expect(
        issuesAfter((d) => (t(d, "infos").license = ok)),
        ok,
      ).toEqual([]);
    }
    const bad: [string, string][] = [
      ["MIT or Apache-2.0", 'writes the operator "or" in lower case (use OR)'],
      ["MIT OR GPL", 'names "GPL", which is not an SPDX license identifier'],
      ["MIT OR", "ends where a license was expected"],
      ["(MIT OR Apache-2.0", 'has a "(" without its ")"'],
      ["MIT Apache-2.0", 'has "Apache-2.0" after a complete expression'],
      ["MIT WITH Nope-exception", 'names "Nope-exception" after WITH'],
      ["AND MIT", 'has "AND" where a license was expected'],
    ];
    for (const [expr, why] of bad) {
      const issues = issuesAfter((d) => (t(d, "infos").license = expr));
      expect(issues[0], expr).toMatch(/^infos\.license: must be an SPDX/);
      expect(issues[0], expr).toContain(why);
    }
  });

  it("checks the program: source/precomp present, paths inside the package", () => {
    expect(issuesAfter((d) => (t(d, "content").program = {}))[0]).toMatch(
      /^content.program: needs `source`/,
    );
    expect(issuesAfter((d) => (t(t(d, "content"), "program").precomp = "/abs.npp"))[0]).toMatch(
      /relative path/,
    );
    expect(issuesAfter((d) => delete t(t(t(d, "content"), "program"), "source").build)[0]).toMatch(
      /^content.program.source.build: required/,
    );
  });

  it("checks dependencies: required libraries table, AIDs, semver ranges, fonts", () => {
    expect(issuesAfter((d) => delete d.dependencies)[0]).toMatch(/^dependencies: required/);
    expect(issuesAfter((d) => (t(d, "dependencies").libraries = { sysver: "^1.0.0" }))[0]).toMatch(
      /^dependencies.libraries.sysver: the key must be a library AID/,
    );
    expect(
      issuesAfter((d) => (t(d, "dependencies").libraries = { "acme::x": "not a range" }))[0],
    ).toMatch(/semver range/);
    expect(issuesAfter((d) => (t(d, "dependencies").fonts = { roboto: false }))[0]).toMatch(
      /must be true/,
    );
    expect(issuesAfter((d) => (t(d, "dependencies").fonts = { roboto: ">=2" }))).toEqual([]);
  });

  it("checks features: default set required and declared, extensions declared", () => {
    expect(issuesAfter((d) => delete t(d, "features").default)[0]).toMatch(
      /^features.default: required when features/,
    );
    expect(issuesAfter((d) => (t(d, "features").default = ["nope"]))[0]).toMatch(
      /names no declared feature/,
    );
    expect(issuesAfter((d) => delete d.extensions)[0]).toMatch(/no extension "test"/);
    expect(issuesAfter((d) => (t(t(d, "features"), "testing").languages = ["english"]))[0]).toMatch(
      /language tag/,
    );
  });

  it("checks commands per the shell's command typing", () => {
    const args = (d: Doc) => t(t(t(d, "commands"), "say_hello"), "args");
    expect(issuesAfter((d) => (t(args(d), "names").type = "void"))[0]).toMatch(
      /void type is forbidden/,
    );
    expect(issuesAfter((d) => (t(args(d), "names").type = "int?"))[0]).toMatch(/nullable/);
    expect(issuesAfter((d) => (t(args(d), "names").type = "list[strin]"))[0]).toMatch(
      /unknown type "strin"/,
    );
    expect(issuesAfter((d) => (t(args(d), "names").syntax = "named"))[0]).toMatch(
      /"pos", "dash" or "flag"/,
    );
    expect(issuesAfter((d) => (t(args(d), "repeat").optional = false))[0]).toMatch(/must be true/);
    expect(issuesAfter((d) => (t(args(d), "repeat").default = 1))[0]).toMatch(
      /cannot be used together/,
    );
    expect(
      issuesAfter((d) => {
        delete t(args(d), "repeat").optional;
        t(args(d), "repeat").default = "x";
      }),
    ).toEqual(["commands.say_hello.args.repeat.default: does not fit the argument's type int"]);
    expect(issuesAfter((d) => (t(args(d), "get-duration").type = "int"))[0]).toMatch(
      /not accepted for flag/,
    );
    expect(
      issuesAfter((d) => {
        delete t(args(d), "repeat").short;
        delete t(args(d), "repeat").long;
      })[0],
    ).toMatch(/need `short`, `long` or both/);
    expect(issuesAfter((d) => (t(args(d), "get-duration").short = "r"))[0]).toMatch(
      /already used by argument "repeat"/,
    );
    expect(issuesAfter((d) => (t(args(d), "repeat").requires = "ghost"))[0]).toMatch(
      /another argument/,
    );
    expect(issuesAfter((d) => (t(args(d), "get-duration").$if = { cond: "maybe" }))[0]).toMatch(
      /present\(\)/,
    );
    expect(issuesAfter((d) => (t(t(d, "commands"), "say_hello").return = "int"))).toEqual([]);
    expect(issuesAfter((d) => (t(t(d, "commands"), "say_hello").return = "lst"))[0]).toMatch(
      /not a shell type/,
    );
  });

  it("parses shell types", () => {
    expect(parseShellType("map[string, list[int]]")).toEqual({
      kind: "map",
      key: { kind: "base", name: "string" },
      value: { kind: "list", item: { kind: "base", name: "int" } },
    });
    expect(parseShellType('list[enum["dir" | "file"]]')).toEqual({
      kind: "list",
      item: { kind: "enum", values: ["dir", "file"] },
    });
    expect(parseShellType("struct { name: path, size: int }").kind).toBe("struct");
    expect(() => parseShellType("list[int")).toThrow(/expected "\]"/);
  });

  it("checks services, sysfeatures and unknown fields", () => {
    expect(issuesAfter((d) => delete t(d, "services").main)[0]).toMatch(/^services.main: required/);
    expect(issuesAfter((d) => (t(d, "services").scoped = ["much_too_long"]))[0]).toMatch(/8 bytes/);
    expect(issuesAfter((d) => delete d.sysfeatures)[0]).toMatch(/^sysfeatures: required/);
    expect(issuesAfter((d) => (t(d, "events").postinstal = true))[0]).toMatch(
      /^events.postinstal: unknown field/,
    );
    expect(issuesAfter((d) => (t(d, "sysfeatures").crash_saves_support = "yes"))[0]).toMatch(
      /true or false/,
    );
  });

  it("bounds every nesting the input controls (docs/packages.md Nesting limits)", () => {
    // 16 levels deep is accepted, 17 is MANIFEST_TOO_DEEP, whether as dotted keys or arrays.
    const at = (depth: number) =>
      `${FULL}\n[extensions.deep]\nname = "D"\ndescription = "d"\n${Array.from({ length: depth - 2 }, (_, i) => `k${i}`).join(".")} = 1\n`;
    expect(() => parseManifest(at(16))).toThrow(ManifestError); // deep, but only an unknown field
    expect(() => parseManifest(at(17))).toThrow(
      expect.objectContaining({ code: "MANIFEST_TOO_DEEP" }),
    );
    const arrays = (k: number) => `${FULL}\nx = ${"[".repeat(k)}${"]".repeat(k)}\n`;
    expect(() => parseManifest(arrays(15))).toThrow(ManifestError); // x + 15 arrays = 16
    expect(() => parseManifest(arrays(16))).toThrow(
      expect.objectContaining({ code: "MANIFEST_TOO_DEEP" }),
    );
    expect(() => parseManifest(arrays(100_000))).toThrow(
      expect.objectContaining({ code: "MANIFEST_TOO_DEEP" }),
    );
    // Shell types and license parentheses: an issue on the field, never a stack overflow.
    // 16 levels: 15 lists and the int.
    expect(() => parseShellType(`${"list[".repeat(15)}int${"]".repeat(15)}`)).not.toThrow();
    expect(() => parseShellType(`${"list[".repeat(16)}int${"]".repeat(16)}`)).toThrow(/deeper/);
    expect(() => parseShellType(`${"list[".repeat(100_000)}int${"]".repeat(100_000)}`)).toThrow(
      /deeper than 16 levels/,
    );
    const license = `${"(".repeat(100_000)}MIT${")".repeat(100_000)}`;
    expect(issuesAfter((d) => (t(d, "infos").license = license))[0]).toMatch(
      /^infos.license: .*nests parentheses deeper than 16 levels/,
    );
  });

  it("reports all problems at once", () => {
    const issues = issuesAfter((d) => {
      t(d, "infos").slug = "1x";
      t(d, "infos").license = "nope";
      t(d, "infos").version = "one";
    });
    expect(issues).toHaveLength(3);
  });
});
