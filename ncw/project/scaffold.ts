// `ncw init` (docs/dev-loop.md "A new project"): write a project that builds and passes its test at
// once — manifest.toml, src/ (a greeting the app's one command returns, and its entry), tests/ (one
// test of the greeting), a README, a .gitignore and a .napignore — and copy the SDK into .ncw/sdk.

import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sdkDir } from "../../commonassembly/sdk/toolchains.js";
import { NcwError } from "../errors.js";
import { slugFromName } from "../manifest/rules.js";
import { syncSdk } from "./build.js";
import type { Toolchain } from "./project.js";

export interface InitOptions {
  lang: Toolchain;
  service?: boolean;
  library?: boolean;
}

export interface InitResult {
  dir: string;
  slug: string;
  files: string[];
}

function manifest(name: string, slug: string, lang: Toolchain): string {
  return `# The ${name} app (schema: NCW's docs/packages.md; build: docs/dev-loop.md).
type = "application"

[infos]
name = "${name}"
slug = "${slug}"
did = "local"
description = "A NightOS app made with ncw init"
version = "0.1.0"
icon = "assets/icons/%{}.png"
license = "MIT"
authors = [{ name = "The ${name} authors" }]

[content.program]
precomp = "main.npp"

[content.program.source]
toolchain = "${lang}"
build = { entry = "src/main.${lang === "as" ? "ts" : "c"}" }

[dependencies.libraries]

[events]
postinstall = false

[commands.${slug}]
help = "Greet someone"
return = "string"

[commands.${slug}.args.name]
syntax = "pos"
type = "string"
help = "Who to greet (default: world)"
optional = true

[sysfeatures]
crash_saves_support = false

[additional]
languages = ["en-US"]
`;
}

const AS_FILES: Record<string, string> = {
  "src/greet.ts": `// The app's logic, kept apart from its entry (src/main.ts) so tests/ can call it.
export function greeting(who: string): string {
  return "Hello, " + who + "!";
}
`,
  "src/main.ts": `// The app's entry: it runs as its manifest's command and returns the greeting (a string: \`ncw run\`
// prints it). Messages for the user go on CMDMSG with println (../.ncw/sdk/as/command.ts).
import { arg, argCount, returnString } from "../.ncw/sdk/as/command";
import { greeting } from "./greet";

const who = argCount() > 0 && !arg(0).isVoid() ? arg(0).asString() : "world";
returnString(greeting(who));
`,
  "tests/greet.test.ts": `// Tests: each exported function without parameters is one test (docs/dev-loop.md). Run: ncw test
import { expectEqual } from "../.ncw/sdk/as/test";
import { greeting } from "../src/greet";

export function greetsByName(): void {
  expectEqual(greeting("Ada"), "Hello, Ada!");
}
`,
};

const C_FILES: Record<string, string> = {
  "src/greet.h": `/* The app's logic, kept apart from its entry (src/main.c) so tests/ can call it. */
#ifndef GREET_H
#define GREET_H
#include <stdint.h>
/* Writes "Hello, <who>!" into out (at most cap bytes); returns its length. */
uint64_t greeting(const char *who, uint64_t who_len, char *out, uint64_t cap);
#endif
`,
  "src/greet.c": `#include "greet.h"

static uint64_t put(char *out, uint64_t at, uint64_t cap, const char *s, uint64_t n) {
  for (uint64_t i = 0; i < n && at < cap; i++) out[at++] = s[i];
  return at;
}

uint64_t greeting(const char *who, uint64_t who_len, char *out, uint64_t cap) {
  uint64_t n = put(out, 0, cap, "Hello, ", 7);
  n = put(out, n, cap, who, who_len);
  return put(out, n, cap, "!", 1);
}
`,
  "src/main.c": `/* The app's entry: it runs as its manifest's command and returns the greeting (a string: \`ncw run\`
 * prints it). Messages for the user go on CMDMSG with nightos_print (nightos_command.h). */
#include "nightos_command.h"
#include "greet.h"

void _start(void) {
  nightos_str who = {"world", 5};
  if (nightos_arg_count() > 0 && nightos_arg(0).type == NIGHTOS_VALUE_STRING)
    who = nightos_value_string(nightos_arg(0));
  static char text[512];
  uint64_t n = greeting(who.ptr, who.len, text, sizeof text);
  nightos_return_string(text, n);
}
`,
  "tests/greet_test.c": `/* Tests: each void test_<name>(void) is one test (docs/dev-loop.md). Run: ncw test */
#include "nightos_test.h"
#include "../src/greet.h"

void test_greets_by_name(void) {
  char out[64];
  uint64_t n = greeting("Ada", 3, out, sizeof out);
  NIGHTOS_EXPECT_STRN(out, n, "Hello, Ada!");
}
`,
};

function readme(name: string, slug: string, lang: Toolchain): string {
  const src = lang === "as" ? "src/main.ts" : "src/main.c";
  return `# ${name}

A NightOS app, made with \`ncw init\` (${lang === "as" ? "AssemblyScript" : "C"}).

    ncw build                         # compile ${src}, pack build/${slug}-0.1.0.nap
    ncw run build/${slug}-0.1.0.nap Ada   # Hello, Ada!
    ncw test                          # run tests/, each in a fresh NightOS home
    ncw run --sandbox build/${slug}-0.1.0.nap Ada   # its writes in a sandbox: shown, then applied or discarded

- \`manifest.toml\`: the app's name, its command and arguments.
- \`src/\`: the sources; \`tests/\`: the tests, one per ${lang === "as" ? "exported function" : "`void test_<name>(void)`"}.
- \`.ncw/sdk/\`: NCW's SDK, copied by \`ncw init\` and \`ncw build\` (not yours to edit).

See NCW's docs/dev-loop.md and docs/sdk.md.
`;
}

const GITIGNORE = "# Made by ncw build\n/build/\n/.ncw/\n/main.npp\n*.nap\n*.nva\n";
/** What `ncw pack` leaves out: the package carries the program, not its sources. */
const NAPIGNORE = "build/\n.ncw/\nsrc/\ntests/\nREADME.md\n.gitignore\n";

export function initProject(dir: string, opts: InitOptions): InitResult {
  if (opts.service === true || opts.library === true)
    throw new NcwError(
      "usage",
      `ncw init ${opts.service === true ? "--service" : "--library"} is not there yet: only a command app is scaffolded`,
      {
        code: "INIT_NOT_YET",
        hint: 'scaffold the command app (ncw init <dir>) and see docs/dev-loop.md "Not yet"',
      },
    );
  const abs = path.resolve(dir);
  if (existsSync(abs) && readdirSync(abs).length > 0)
    throw new NcwError("conflict", `${dir} exists and is not empty: nothing was written`, {
      code: "INIT_NOT_EMPTY",
      hint: "give a new folder, or an empty one",
    });
  const name = path.basename(abs);
  const slug = slugFromName(name);
  const files: Record<string, string> = {
    "manifest.toml": manifest(name, slug, opts.lang),
    ...(opts.lang === "as" ? AS_FILES : C_FILES),
    "README.md": readme(name, slug, opts.lang),
    ".gitignore": GITIGNORE,
    ".napignore": NAPIGNORE,
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(abs, rel)), { recursive: true });
    writeFileSync(path.join(abs, rel), text);
  }
  // The icons the manifest names: NCW's placeholders, to be replaced by the app's own.
  const icons = path.join(path.dirname(sdkDir()), "examples", "hello", "assets", "icons");
  mkdirSync(path.join(abs, "assets", "icons"), { recursive: true });
  for (const size of ["16", "32", "64"]) {
    copyFileSync(path.join(icons, `${size}.png`), path.join(abs, "assets", "icons", `${size}.png`));
    files[`assets/icons/${size}.png`] = "";
  }
  syncSdk(abs);
  return { dir: abs, slug, files: Object.keys(files).sort() };
}
