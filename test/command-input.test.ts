// Black-box tests of a command's typed input through `ncw exec` (specs/shell.md "Input data";
// specs/shell-scripting.md "Input of a command"; decisions in docs/cli.md "Typed input"): two installed
// apps, one whose command returns a list[string], one whose commands declare a typed input (cmdin) and
// copy CMDIN's bytes to CMDRAW, so stdout shows exactly what the app was given. The bytes are checked
// against encodings written out by hand from specs/applications.md's "Values encoding" table.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAT_APP, commandApp, commandNap, watBytes } from "./command-helpers.js";
import { E, NCW, OK, TestHome } from "./kernel-helpers.js";

const home = new TestHome({ NCW_KERNEL_IDLE_MS: "30000" });
afterAll(() => home.cleanup());

/** Little-endian 8-byte length, as hex. */
const len = (n: number) => `${n.toString(16).padStart(2, "0")}00000000000000`;
const hex = (s: string) => s.replace(/\s+/g, "");

// ["Ada", "Bob"]: list 0x06 (count 2), each item a string 0x05 (byte length, UTF-8).
const ADA_BOB = hex(`${len(33)} 06 ${len(2)} 05 ${len(3)} 416461 05 ${len(3)} 426f62`);

/** Returns ["Ada", "Bob"] on CMDOUT. */
const NAMES_APP = commandApp(
  `(call $check (i32.const 2) (call $write (call $cmdout) (i32.const 41) (i32.const 0x6000) (i32.const 0)) (i32.const ${OK}))`,
  `(data (i32.const 0x6000) "${watBytes(Buffer.from(ADA_BOB, "hex"))}")`,
);

/**
 * Copies the pipe its one `stream` argument names to CMDRAW: the argument block (EXECUTION_CONTEXT
 * info 0x03) holds `len(9) 09 <RC identifier>`; the app reads that identifier, not its context's CMDIN.
 */
const STREAM_ARG_APP = commandApp(
  `(call $check (i32.const 70) (call $s8_64 (i32.const 0xa0) (i32.const 0x03) (i64.const 0x5000)) (i32.const 0))
  (call $check (i32.const 71) (i32.load8_u (i32.const 0x5008)) (i32.const 0x09))
  (block $done (loop $more
    (local.set $s (call $read (i64.load (i32.const 0x5009)) (i32.const 0) (i32.const 0x10000) (i32.const 0)))
    (br_if $done (i32.eq (local.get $s) (i32.const ${E(0x31)})))
    (call $check (i32.const 3) (local.get $s) (i32.const ${OK}))
    (call $check (i32.const 4) (call $write (call $cmdraw) (call $r32) (i32.const 0x10000) (i32.const 0)) (i32.const ${OK}))
    (br $more)))`,
  "",
  "(local $s i32)",
);

/** Packs and installs `<slug>` (did ncwtest) running `wat`, with `commands` (TOML) in its manifest. */
function install(slug: string, wat: string, commands: string): void {
  const r = home.ncw(["skyer", "install", commandNap(home, slug, wat, commands)]);
  expect(r.code, r.stderr).toBe(0);
}

/** `sh -c script` with `ncw` standing for the CLI; stdin `input`. */
function sh(script: string, input: Uint8Array | string = "") {
  const ncw = `"${process.execPath}" "${NCW}"`;
  const r = spawnSync("sh", ["-c", script.replaceAll("ncw ", `${ncw} `)], {
    env: home.envFor(),
    input,
    timeout: 90_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

beforeAll(() => {
  install("producer", NAMES_APP, `[commands.names]\nhelp = "Two names"\nreturn = "list[string]"\n`);
  install(
    "consumer",
    CAT_APP,
    [
      ["listin", "list[string]"],
      ["intin", "int"],
      ["strin", "string"],
      ["rawin", "stream"],
    ]
      .map(([c, t]) => `[commands.${c}]\nhelp = "Echo the input"\ncmdin = "${t}"\n`)
      .join(""),
  );
  install(
    "streamer",
    STREAM_ARG_APP,
    `[commands.sarg]\nhelp = "Copy a stream"\n[commands.sarg.args.data]\nsyntax = "pos"\ntype = "stream"\nhelp = "The bytes"\n`,
  );
}, 240_000);

describe("typed input through the host shell", () => {
  it("ncw exec a | ncw exec b: b's CMDIN holds the value a returned, encoded", () => {
    expect(sh("ncw exec names").stdout.toString()).toBe('["Ada", "Bob"]\n');
    const r = sh("ncw exec names | ncw exec listin");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString("hex")).toBe(ADA_BOB);
  });

  it("an int input: the literal as on a command line (0x2a), trailing line end ignored", () => {
    const r = sh("ncw exec intin", "0x2a\n");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString("hex")).toBe(hex(`${len(9)} 02 2a00000000000000`));
  });

  it("a string input: the whole input as UTF-8, one trailing line end removed", () => {
    const r = sh("ncw exec strin", "h\u00e9llo\n\n");
    expect(r.code, r.stderr).toBe(0);
    // 0x05, byte length 7, "héllo\n" (the last line end only is removed).
    expect(r.stdout.toString("hex")).toBe(hex(`${len(16)} 05 ${len(7)} 68c3a96c6c6f0a`));
  });

  it("a stream input takes the bytes as they come, unchanged", () => {
    const input = randomBytes(300_000);
    const r = sh("ncw exec rawin", input);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(r.stdout, input)).toBe(0);
  });

  it("a stream argument written - is ncw's stdin: the app reads it, as it comes, by the identifier", () => {
    const input = randomBytes(200_000);
    const r = sh("ncw exec sarg -", input);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(r.stdout, input)).toBe(0);
    const bad = sh("ncw exec sarg data.bin");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expects stream, got "data.bin": a stream is written -/);
  });

  it("an empty input is no value: CMDIN closes at once", () => {
    const r = sh("ncw exec intin < /dev/null");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it("a wrong input is reported before the app starts: the input, the value, the type", () => {
    const r = sh("ncw exec --trace intin", "many\n");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /error: the input of ncwtest::consumer\.intin expects int, got "many\\n": not an integer/,
    );
    expect(r.stderr).not.toMatch(/started/);
    const bin = sh("ncw exec strin", Uint8Array.of(0x66, 0xff));
    expect(bin.code).toBe(2);
    expect(bin.stderr).toMatch(/expects string, got "2 bytes": the input is not UTF-8 text/);
  });
});

describe('typed input through a Hydre script\'s `|` (docs/hydre.md "Pipes")', () => {
  /** `ncw hydre -c script`; stdout as bytes. */
  const hydre = (script: string) => {
    const r = spawnSync(process.execPath, [NCW, "hydre", "-c", script], {
      env: home.envFor(),
      timeout: 90_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  };

  it("a native command's value into an app's CMDIN: the value, encoded, as its cmdin type reads it", () => {
    const s = hydre('pass "h\u00e9llo" | strin');
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    expect(s.stdout.toString("hex")).toBe(hex(`${len(15)} 05 ${len(6)} 68c3a96c6c6f`));
    const i = hydre("pass 42 | intin");
    expect(i.stdout.toString("hex")).toBe(hex(`${len(9)} 02 2a00000000000000`));
  });

  it("an app's return value into another app's CMDIN (spec: `read ./somefile.txt | length`)", () => {
    const r = hydre("names | listin");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString("hex")).toBe(ADA_BOB);
  });

  it("a value the app's input cannot take is reported before anything runs", () => {
    const r = hydre('echo "never"\npass 2 | strin');
    expect(r.code).toBe(65);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toContain("reads a string from CMDIN, the command before it returns an int");
  });
});
