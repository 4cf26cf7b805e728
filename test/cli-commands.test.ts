// Commands of apps from the host shell (docs/cli.md "Command arguments", "Commands of installed apps"):
// `ncw run app.nap [command] [args…]`, `ncw exec`, `ncw commands`, `ncw help`, and the pre-evaluation
// errors. The test app hashes what it got — the argument count and size, the context's future-proof
// space (the command's name) and the argument block — with 64-bit FNV-1a and exits with the hash, which
// the test compares with the hash of the bytes written out here by hand from the values encoding.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandNap } from "./command-helpers.js";
import { OK, program, TestHome } from "./kernel-helpers.js";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "20000" });
afterAll(() => home.cleanup());

const HASH_APP = program(
  `(local $h i64)
  (call $check (i32.const 201) (call $s8_64 (i32.const 0xa0) (i32.const 2) (i64.const 0x3000)) (i32.const ${OK}))
  (call $check (i32.const 202) (call $s8_64 (i32.const 0xa0) (i32.const 3) (i64.const 0x10000)) (i32.const ${OK}))
  (local.set $h (i64.const 0xcbf29ce484222325))
  ;; argument count (byte 20) and size (21-22); the future-proof space (71-266)
  (local.set $h (call $fnv (local.get $h) (i32.const 0x3014) (i32.const 3)))
  (local.set $h (call $fnv (local.get $h) (i32.const 0x3047) (i32.const 196)))
  (local.set $h (call $fnv (local.get $h) (i32.const 0x10000) (i32.load16_u (i32.const 0x3015))))
  (call $exit (local.get $h))`,
  `(func $fnv (param $h i64) (param $p i32) (param $n i32) (result i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $p))) (i64.const 0x100000001b3)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $h))`,
);

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const len = (n: number) => `${n.toString(16).padStart(2, "0")}00000000000000`;

/** FNV-1a 64 of what the app hashes, for a command `name` and the argument block `args`. */
function expected(name: string, count: number, args: Uint8Array): bigint {
  const fp = new Uint8Array(196);
  const n = new TextEncoder().encode(name);
  fp[0] = n.length;
  fp.set(n, 1);
  const bytes = [count, args.length & 0xff, args.length >> 8, ...fp, ...args];
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

/** The exit data of `ncw --json run …` (all its digits: it may exceed 2^53). */
function exitData(r: { stdout: string; stderr: string; code: number | null }): bigint {
  const m = /"exitData":\s*(\d+)/.exec(r.stdout);
  if (m === null) throw new Error(`no exit data: ${r.stdout} ${r.stderr}`);
  return BigInt(m[1] as string);
}

const GREETER = `
[commands.greet]
help = "Greet people"
return = "string"

[commands.greet.args.names]
syntax = "pos"
type = "list[string]"
help = "Who to greet"

[commands.greet.args.times]
syntax = "dash"
type = "int"
short = "t"
long = "times"
default = 1

[commands.greet.args.style]
syntax = "dash"
type = 'enum["plain" | "fancy"]'
short = "s"
optional = true

[commands.greet.args.loud]
syntax = "flag"
short = "l"
long = "loud"
"$if" = { cond = "present()", return = "int" }

[commands.greeter]
help = "The default command: one optional string"

[commands.greeter.args.who]
syntax = "pos"
type = "string"
optional = true
`;

const OTHER = `
[commands.greet]
help = "Another greet"

[commands.pick]
help = "Pick one"
`;

/** An app package `<did>::<slug>` with the hash program and `commands` (TOML) in its manifest. */
const makeApp = (slug: string, commands: string): string =>
  commandNap(home, slug, HASH_APP, commands);

let greeter: string;
let other: string;
beforeAll(() => {
  greeter = makeApp("greeter", GREETER);
  other = makeApp("other", OTHER);
});

// Hand-written values (specs/applications.md "Values encoding"): 8-byte length of what follows, code.
const ADA_BOB = `${len(33)} 06 ${len(2)} 05 ${len(3)} 416461 05 ${len(3)} 426f62`;
const INT = (v: string) => `${len(9)} 02 ${v}`;
const VOID = `${len(1)} 00`;
const BOOL = (b: boolean) => `${len(2)} 01 ${b ? "01" : "00"}`;

describe("ncw run app.nap [command] [args…]", () => {
  it("types the arguments: list words, -t=, combined short flag and value, enum, flag", () => {
    const r = home.ncw(["--json", "run", greeter, "greet", "Ada", "Bob", "-ls", "fancy", "-t=0x2"]);
    const args = hex(
      `${ADA_BOB} ${INT("0200000000000000")} ${len(14)} 05 ${len(5)} 66616e6379 ${BOOL(true)}`,
    );
    expect(exitData(r)).toBe(expected("greet", 4, args));
  });
  it("absent arguments: the default, void for an optional one, false for a flag", () => {
    const r = home.ncw(["--json", "run", greeter, "greet", "[Ada, Bob]"]);
    const args = hex(`${ADA_BOB} ${INT("0100000000000000")} ${VOID} ${BOOL(false)}`);
    expect(exitData(r)).toBe(expected("greet", 4, args));
  });
  it("without a command's name, runs the default command (named like the slug); words stay as typed", () => {
    const r = home.ncw(["--json", "run", greeter, "0x10"]);
    expect(exitData(r)).toBe(expected("greeter", 1, hex(`${len(13)} 05 ${len(4)} 30783130`)));
    const none = home.ncw(["--json", "run", greeter]);
    expect(exitData(none)).toBe(expected("greeter", 1, hex(VOID)));
  });
  it("an app with several commands and none named like it says which to choose", () => {
    const r = home.ncw(["run", other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/say which command of ncwtest::other to run: greet, pick/);
    expect(exitData(home.ncw(["--json", "run", other, "pick"]))).toBe(
      expected("pick", 0, new Uint8Array(0)),
    );
  });
  it("a wrong argument is reported before the app starts: the argument, the value, the type", () => {
    const bad = home.ncw(["run", "--trace", greeter, "greet", "Ada", "-t", "many"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /error: argument times \(-t, --times\) of `ncwtest::greeter.greet` expects int, got "many": not an integer/,
    );
    expect(bad.stderr).not.toMatch(/started/);
    // An option of ncw after the program is the app's word: the error says where ncw's options go.
    const late = home.ncw(["run", greeter, "greet", "Ada", "--json"]);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(
      /has no argument --json\nhint: --json is an option of ncw: .*before the program/,
    );
    const cases: [string[], RegExp][] = [
      [["greet"], /needs the argument names \(list\[string\]\)/],
      [
        ["greet", "Ada", "-s", "bold"],
        /style \(-s\) .* expects enum\["plain" \| "fancy"\], got "bold"/,
      ],
      [["greet", "Ada", "--nope"], /has no argument --nope/],
      [["greet", "-l", "Ada"], /"Ada" cannot come right after the flag -l/],
      [["greet", "Ada", "--loud=1"], /--loud .* is a flag: it takes no value/],
    ];
    for (const [words, msg] of cases) {
      const r = home.ncw(["--json", "run", greeter, ...words]);
      expect(r.code, words.join(" ")).toBe(2);
      const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      expect(e.code).toMatch(/^ARG_/);
      expect(e.message).toMatch(msg);
    }
  });
  it("a damaged package is reported with the package reader's error, before any start", () => {
    const bad = home.write("bad.nap", "not a package");
    const r = home.ncw(["--json", "run", bad, "x"]);
    expect(r.code).toBe(65);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe("PKG_NOT_ZSTD");
  });
  it("--help prints the command's help from the manifest and starts nothing", () => {
    const r = home.ncw(["run", "--trace", greeter, "greet", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Usage: ncwtest::greeter.greet <names: list[string]>... [-t, --times <int>] [-s <enum["plain" | "fancy"]>] [-l, --loud] -> string',
    );
    expect(r.stdout).toMatch(/Greet people/);
    expect(r.stdout).toMatch(/loud \(-l, --loud\) +flag +returns int when loud is present/);
    expect(r.stderr).not.toMatch(/started/);
  });
  it("a program without a manifest gets its words as strings, dashes included", () => {
    const f = home.write("plain.wat", HASH_APP);
    const r = home.ncw(["--json", "run", f, "-x", "--json"]);
    const args = hex(`${len(11)} 05 ${len(2)} 2d78 ${len(15)} 05 ${len(6)} 2d2d6a736f6e`);
    expect(exitData(r)).toBe(expected("", 2, args));
  });
});

describe("installed apps: ncw exec, ncw commands, ncw help", () => {
  beforeAll(() => {
    for (const nap of [greeter, other]) {
      const r = home.ncw(["skyer", "install", nap]);
      expect(r.code, r.stderr).toBe(0);
    }
  });
  it("ncw exec runs a command by its short name, its full name and the spec's :name", () => {
    const args = hex(`${len(12)} 05 ${len(3)} 416461`);
    for (const name of ["greeter", "ncwtest::greeter.greeter", ":ncwtest::greeter.greeter"]) {
      const r = home.ncw(["--json", "exec", name, "Ada"]);
      expect(exitData(r), name).toBe(expected("greeter", 1, args));
    }
    const pick = home.ncw(["--json", "exec", "pick"]);
    expect(exitData(pick)).toBe(expected("pick", 0, new Uint8Array(0)));
  });
  it("a short name two apps expose is an error listing them; the full name runs it", () => {
    const r = home.ncw(["exec", "greet", "Ada"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /2 installed apps expose a command greet: ncwtest::greeter.greet, ncwtest::other.greet/,
    );
    const full = home.ncw(["--json", "exec", "ncwtest::greeter.greet", "Ada", "Bob", "-t", "3"]);
    const args = hex(`${ADA_BOB} ${INT("0300000000000000")} ${VOID} ${BOOL(false)}`);
    expect(exitData(full)).toBe(expected("greet", 4, args));
  });
  it("an unknown command is not found (66), naming what exists", () => {
    const r = home.ncw(["exec", "nope"]);
    expect(r.code).toBe(66);
    expect(r.stderr).toMatch(/no installed app exposes a command nope/);
    const app = home.ncw(["exec", "ncwtest::other.nope"]);
    expect(app.code).toBe(66);
    expect(app.stderr).toMatch(
      /ncwtest::other exposes no command nope \(its commands: greet, pick\)/,
    );
  });
  it("ncw commands lists every command with its signature (and --json its typing)", () => {
    const r = home.ncw(["commands"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "ncwtest::greeter.greeter [who: string] -> void\n    The default command",
    );
    expect(r.stdout).toContain("ncwtest::other.pick -> void\n    Pick one");
    const j = JSON.parse(home.ncw(["commands", "--json"]).stdout) as {
      commands: { name: string; short: boolean; args: { name: string; syntax: string }[] }[];
    };
    expect(j.commands.map((c) => c.name)).toEqual([
      "ncwtest::greeter.greet",
      "ncwtest::greeter.greeter",
      "ncwtest::other.greet",
      "ncwtest::other.pick",
    ]);
    expect(j.commands.map((c) => c.short)).toEqual([false, true, false, true]);
    expect(j.commands[0]?.args.map((a) => `${a.name}:${a.syntax}`)).toEqual([
      "names:pos",
      "times:dash",
      "style:dash",
      "loud:flag",
    ]);
  });
  it("shell completion offers the command names: unique short names and full names", () => {
    const ask = (word: string) => home.ncw(["--get-yargs-completions", "ncw", "exec", word]);
    expect(ask("").stdout.split("\n").filter(Boolean)).toEqual([
      "greeter",
      "ncwtest::greeter.greet",
      "ncwtest::greeter.greeter",
      "ncwtest::other.greet",
      "ncwtest::other.pick",
      "pick",
    ]);
    expect(ask("gre").stdout).toBe("greeter\n");
    const help = home.ncw(["--get-yargs-completions", "ncw", "help", "ncwtest::o"]);
    expect(help.stdout).toBe("ncwtest::other.greet\nncwtest::other.pick\n");
  });
  it("ncw help <command> and ncw exec <command> --help print the manifest's help", () => {
    const h = home.ncw(["help", "ncwtest::greeter.greet"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: ncwtest::greeter.greet <names: list\[string\]>\.\.\./);
    expect(h.stdout).toMatch(/times \(-t, --times\) +int \(dash\) +default: 1/);
    const e = home.ncw(["exec", "ncwtest::greeter.greet", "--help"]);
    expect(e.code).toBe(0);
    expect(e.stdout).toBe(h.stdout);
    expect(home.ncw(["help", "nope"]).code).toBe(66);
    const own = home.ncw(["help", "run"]);
    expect(own.code).toBe(66);
    expect(own.stderr).toMatch(/hint: `ncw run --help` shows ncw's own run command/);
    expect(home.ncw(["help", "greet"]).code).toBe(2);
  });
});
