// Command lines against a command's typing (specs/shell-scripting.md "Running a command", "Combining
// short arguments", "Argument values", "Commands typing"): each form and each type, the values checked
// as the bytes of the values encoding written out by hand from specs/applications.md's table
// (8-byte length of what follows, type code, representation), and each pre-evaluation error.

import { describe, expect, it } from "vitest";
import { encodeArguments } from "../../commonassembly/abi/context.js";
import type { Value } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import type { CommandArg, CommandSpec } from "../../ncw/manifest/types.js";
import {
  ArgumentError,
  type ParsedCommand,
  parseCommandLine,
  type TypedWord,
} from "./arguments.js";
import { LiteralError } from "./literals.js";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
/** 8-byte little-endian length. */
const len = (n: number) => n.toString(16).padStart(2, "0") + "00000000000000";

function cmd(args: Record<string, CommandArg>, extra: Partial<CommandSpec> = {}): CommandSpec {
  return {
    help: "test",
    return: "void",
    ...extra,
    args: Object.entries(args).map(([name, arg]) => ({ name, arg })),
  };
}

function run(spec: CommandSpec, words: string[]): ParsedCommand {
  const r = parseCommandLine("c", spec, words);
  if (r.kind !== "run") throw new Error("help asked");
  return r;
}
const bytes = (spec: CommandSpec, words: string[]) => encodeArguments(run(spec, words).values);
const values = (spec: CommandSpec, words: string[]) => run(spec, words).values;

function fails(spec: CommandSpec, words: string[], code: string, message: RegExp): void {
  try {
    parseCommandLine("c", spec, words);
  } catch (e) {
    expect(e).toBeInstanceOf(NcwError);
    expect((e as NcwError).code).toBe(code);
    expect((e as NcwError).kind).toBe("usage");
    expect((e as NcwError).message).toMatch(message);
    return;
  }
  throw new Error(`${words.join(" ")} was accepted`);
}

const str = (value: string): Value => ({ type: "string", value });
const int = (value: bigint): Value => ({ type: "int", value });
const VOID: Value = { type: "void" };
const one = (type: string): CommandSpec => cmd({ v: { syntax: "pos", type } });

describe("each type, as bytes", () => {
  it("bool: 0x01, one byte 0x00 / 0x01", () => {
    expect(bytes(one("bool"), ["true"])).toEqual(hex(`${len(2)} 01 01`));
    expect(bytes(one("bool"), ["false"])).toEqual(hex(`${len(2)} 01 00`));
    fails(one("bool"), ["yes"], "ARG_BAD_VALUE", /argument v of `c` expects bool, got "yes"/);
  });
  it("int: 0x02, 8 bytes two's complement; decimal, 0x, 0o, 0b; 64-bit range", () => {
    expect(bytes(one("int"), ["-2"])).toEqual(hex(`${len(9)} 02 feffffffffffffff`));
    expect(bytes(one("int"), ["0x10"])).toEqual(hex(`${len(9)} 02 1000000000000000`));
    expect(bytes(one("int"), ["9223372036854775807"])).toEqual(
      hex(`${len(9)} 02 ffffffffffffff7f`),
    );
    expect(values(one("int"), ["0b101"])).toEqual([{ type: "int", value: 5n }]);
    fails(one("int"), ["9223372036854775808"], "ARG_BAD_VALUE", /expects int.*out of the range/);
    fails(one("int"), ["1.5"], "ARG_BAD_VALUE", /expects int, got "1.5": not an integer/);
  });
  it("float: 0x03, IEEE 754 binary64", () => {
    expect(bytes(one("float"), ["1.5"])).toEqual(hex(`${len(9)} 03 000000000000f83f`));
    expect(bytes(one("float"), ["-2"])).toEqual(hex(`${len(9)} 03 00000000000000c0`));
    expect(values(one("float"), ["1e3"])).toEqual([{ type: "float", value: 1000 }]);
    fails(one("float"), ["1e999"], "ARG_BAD_VALUE", /out of the range/);
    fails(one("float"), ["abc"], "ARG_BAD_VALUE", /expects float/);
  });
  it("char: 0x04, one code point as UTF-32 (4 bytes), bare or in 'quotes'", () => {
    expect(bytes(one("char"), ["é"])).toEqual(hex(`${len(5)} 04 e9000000`));
    expect(bytes(one("char"), ["'😀'"])).toEqual(hex(`${len(5)} 04 00f60100`));
    fails(one("char"), ["ab"], "ARG_BAD_VALUE", /exactly one character/);
  });
  it("string: 0x05, 8-byte byte length then UTF-8, the word as it is", () => {
    expect(bytes(one("string"), ["hé"])).toEqual(hex(`${len(12)} 05 ${len(3)} 68c3a9`));
    expect(values(one("string"), ['"q"'])).toEqual([{ type: "string", value: '"q"' }]);
    expect(values(one("string"), [""])).toEqual([{ type: "string", value: "" }]);
  });
  it("path: 0x07, as a string; it must contain a /", () => {
    expect(bytes(one("path"), ["./a"])).toEqual(hex(`${len(12)} 07 ${len(3)} 2e2f61`));
    fails(one("path"), ["a.txt"], "ARG_BAD_VALUE", /expects path, got "a.txt": .*at least one \//);
  });
  it("command: 0x08, as a string, with or without the shell's @{ } around it", () => {
    expect(bytes(one("command"), ["ls -a"])).toEqual(hex(`${len(14)} 08 ${len(5)} 6c73202d61`));
    expect(values(one("command"), ["@{ ls -a }"])).toEqual([{ type: "command", value: "ls -a" }]);
    fails(one("command"), ["@{ }"], "ARG_BAD_VALUE", /not empty/);
  });
  it("list[T]: 0x06, item count then each item's type code and representation", () => {
    expect(bytes(one("list[int]"), ["[1, -1]"])).toEqual(
      hex(`${len(27)} 06 ${len(2)} 02 0100000000000000 02 ffffffffffffffff`),
    );
    expect(bytes(one("list[string]"), ["[]"])).toEqual(hex(`${len(9)} 06 ${len(0)}`));
    expect(values(one("list[string]"), ['[a, "b, c", "d\\"e"]'])).toEqual([
      {
        type: "list",
        items: [
          { type: "string", value: "a" },
          { type: "string", value: "b, c" },
          { type: "string", value: 'd"e' },
        ],
      },
    ]);
    expect(values(one("list[list[int]]"), ["[[1], []]"])).toEqual([
      {
        type: "list",
        items: [
          { type: "list", items: [{ type: "int", value: 1n }] },
          { type: "list", items: [] },
        ],
      },
    ]);
    fails(one("list[int]"), ["[1, x]"], "ARG_BAD_VALUE", /expects list\[int\], got "\[1, x\]"/);
    fails(one("list[int]"), ["[1"], "ARG_BAD_VALUE", /expected "," or "\]"/);
    fails(one("list[int]"), ['["1"]'], "ARG_BAD_VALUE", /without quotes/);
  });
  it("list words: each word is an item or a whole [list]; a positional list takes the words left", () => {
    const s = cmd({ names: { syntax: "pos", type: "list[string]" } });
    expect(bytes(s, ["a", "bc"])).toEqual(
      hex(`${len(30)} 06 ${len(2)} 05 ${len(1)} 61 05 ${len(2)} 6263`),
    );
    expect(values(s, ["[a]", "b"])).toEqual(values(s, ["a", "b"]));
    // list[list[int]]: "[1, 2]" is one item, "[[1], [2]]" the whole list.
    const ll = one("list[list[int]]");
    expect(values(ll, ["[1, 2]", "[3]"])[0]).toEqual(values(ll, ["[[1, 2], [3]]"])[0]);
  });
  it("map[K, V]: a list of [key, value] lists (NCW: the table has no map code)", () => {
    expect(bytes(one("map[string, int]"), ['{ "a": 1 }'])).toEqual(
      hex(`${len(37)} 06 ${len(1)} 06 ${len(2)} 05 ${len(1)} 61 02 0100000000000000`),
    );
    expect(values(one("map[string, bool]"), ["{a: true, b: false}"])[0]).toEqual({
      type: "list",
      items: [
        {
          type: "list",
          items: [
            { type: "string", value: "a" },
            { type: "bool", value: true },
          ],
        },
        {
          type: "list",
          items: [
            { type: "string", value: "b" },
            { type: "bool", value: false },
          ],
        },
      ],
    });
    fails(one("map[string, int]"), ["{a: 1, a: 2}"], "ARG_BAD_VALUE", /appears twice/);
    fails(one("map[string, int]"), ["a=1"], "ARG_BAD_VALUE", /expected "\{"/);
  });
  it("struct: the list of its field values in the declared order (NCW)", () => {
    const s = one("struct { name: string, size: int }");
    expect(values(s, ["{size: 2, name: x}"])[0]).toEqual({
      type: "list",
      items: [
        { type: "string", value: "x" },
        { type: "int", value: 2n },
      ],
    });
    fails(s, ["{name: x}"], "ARG_BAD_VALUE", /field size is missing/);
    fails(s, ["{name: x, size: 1, z: 2}"], "ARG_BAD_VALUE", /no field z/);
  });
  it("enum[...]: one of the constants, encoded with its own type (int, float or string)", () => {
    const n = one("enum[1 | 2 | 4]");
    expect(bytes(n, ["4"])).toEqual(hex(`${len(9)} 02 0400000000000000`));
    fails(n, ["3"], "ARG_BAD_VALUE", /expects enum\[1 \| 2 \| 4\], got "3": not one of/);
    const s = one('enum["fast" | "slow"]');
    expect(bytes(s, ["slow"])).toEqual(hex(`${len(13)} 05 ${len(4)} 736c6f77`));
    expect(values(one('list[enum["a" | "b"]]'), ['[a, "b"]'])[0]).toEqual({
      type: "list",
      items: [
        { type: "string", value: "a" },
        { type: "string", value: "b" },
      ],
    });
  });
  it("anystr: any word, as a string; any: the type its spelling says", () => {
    expect(values(one("anystr"), ["12"])).toEqual([{ type: "string", value: "12" }]);
    const any = one("any");
    expect(values(any, ["12"])).toEqual([{ type: "int", value: 12n }]);
    expect(values(any, ["1.5"])).toEqual([{ type: "float", value: 1.5 }]);
    expect(values(any, ["true"])).toEqual([{ type: "bool", value: true }]);
    expect(values(any, ["/tmp"])).toEqual([{ type: "path", value: "/tmp" }]);
    expect(values(any, ["hi"])).toEqual([{ type: "string", value: "hi" }]);
    expect(values(any, ["[1, x]"])).toEqual([
      {
        type: "list",
        items: [
          { type: "int", value: 1n },
          { type: "string", value: "x" },
        ],
      },
    ]);
  });
  it("literals: escapes, trailing commas, chars and nesting inside brackets", () => {
    expect(values(one("list[string]"), ['["a\\nb", "t\\tq", "\\\\",]'])[0]).toEqual({
      type: "list",
      items: [str("a\nb"), str("t\tq"), str("\\")],
    });
    expect(values(one("list[char]"), ["['x', y, 'é']"])[0]).toEqual({
      type: "list",
      items: ["x", "y", "é"].map((value) => ({ type: "char", value })),
    });
    expect(values(one("map[int, list[bool]]"), ["{1: [true], 2: []}"])[0]).toEqual({
      type: "list",
      items: [
        {
          type: "list",
          items: [int(1n), { type: "list", items: [{ type: "bool", value: true }] }],
        },
        { type: "list", items: [int(2n), { type: "list", items: [] }] },
      ],
    });
    expect(values(one("any"), ["{a: 1}"])[0]).toEqual({
      type: "list",
      items: [{ type: "list", items: [str("a"), int(1n)] }],
    });
    fails(one("list[string]"), ['["a'], "ARG_BAD_VALUE", /unterminated/);
    fails(one("list[int]"), ["[1] x"], "ARG_BAD_VALUE", /unexpected "x" after the value/);
    fails(one("list[int]"), ["[1,,2]"], "ARG_BAD_VALUE", /expected a value/);
  });
  it("stream: 0x09, a pipe's RC identifier; written - it is CMDIN (identifier 1), ncw's stdin", () => {
    expect(bytes(one("stream"), ["-"])).toEqual(hex(`${len(9)} 09 0100000000000000`));
    fails(one("stream"), ["x"], "ARG_BAD_VALUE", /a stream is written - \(ncw's stdin/);
    // stdin is one stream, and not a stream when CMDIN is a typed value.
    const two = cmd({
      a: { syntax: "pos", type: "stream" },
      b: { syntax: "pos", type: "stream" },
    });
    fails(two, ["-", "-"], "ARG_STDIN_TWICE", /more than once/);
    fails(one("list[stream]"), ["[-, -]"], "ARG_STDIN_TWICE", /more than once/);
    const typedIn = cmd({ a: { syntax: "pos", type: "stream" } }, { cmdin: "string" });
    fails(typedIn, ["-"], "ARG_STDIN_TYPED", /its typed input \(string\)/);
    const streamIn = cmd({ a: { syntax: "pos", type: "stream" } }, { cmdin: "stream" });
    expect(values(streamIn, ["-"])).toEqual([{ type: "stream", rc: 1n }]);
  });
});

describe("each form", () => {
  const s = cmd({
    src: { syntax: "pos", type: "string" },
    dst: { syntax: "pos", type: "string", optional: true },
    repeat: { syntax: "dash", type: "int", short: "r", long: "repeat", optional: true },
    verbose: { syntax: "flag", short: "v", long: "verbose" },
    all: { syntax: "flag", short: "a" },
  });
  const V = (src: string, dst: Value, repeat: Value, verbose: boolean, all: boolean): Value[] => [
    { type: "string", value: src },
    dst,
    repeat,
    { type: "bool", value: verbose },
    { type: "bool", value: all },
  ];

  it("one value per declared argument, in order: absent optional is void, an absent flag false", () => {
    expect(bytes(s, ["x"])).toEqual(
      hex(
        `${len(10)} 05 ${len(1)} 78  ${len(1)} 00  ${len(1)} 00  ${len(2)} 01 00  ${len(2)} 01 00`,
      ),
    );
    expect(run(s, ["x"]).given).toEqual(new Set(["src"]));
  });
  it("positional, short and long arguments, with = or a space", () => {
    const want = V("x", str("y"), int(3n), true, false);
    expect(values(s, ["x", "y", "-r", "3", "--verbose"])).toEqual(want);
    expect(values(s, ["x", "-r=3", "y", "-v"])).toEqual(want);
    expect(values(s, ["--repeat=3", "x", "y", "-v"])).toEqual(want);
    expect(values(s, ["x", "--repeat", "3", "y", "-v"])).toEqual(want);
  });
  it("combined shorts: -va is -v -a; the last may take a value (-var 3, -var=3)", () => {
    expect(values(s, ["x", "-va"])).toEqual(V("x", VOID, VOID, true, true));
    expect(values(s, ["x", "-var", "3"])).toEqual(V("x", VOID, int(3n), true, true));
    expect(values(s, ["x", "-var=3"])).toEqual(V("x", VOID, int(3n), true, true));
    fails(
      s,
      ["x", "-rv", "3"],
      "ARG_MISSING_VALUE",
      /-r of `c` needs a value, so it can only be the last of -rv/,
    );
    fails(s, ["x", "-vz"], "ARG_UNKNOWN", /`c` has no argument -z/);
  });
  it("a dash argument's value is the next word, even one that starts with a dash", () => {
    expect(values(s, ["x", "-r", "-2"])).toEqual(V("x", VOID, int(-2n), false, false));
    fails(s, ["x", "-r"], "ARG_MISSING_VALUE", /-r of `c` needs a value \(int\)/);
  });
  it("no positional right after a flag (specs/shell-scripting.md), except after --", () => {
    fails(
      s,
      ["--verbose", "x"],
      "ARG_AFTER_FLAG",
      /"x" cannot come right after the flag --verbose/,
    );
    fails(s, ["x", "-va", "y"], "ARG_AFTER_FLAG", /after the flag -a/);
    // A valued argument in between is fine, as the spec's VALID examples show.
    expect(values(s, ["-v", "-r", "2", "x"])).toEqual(V("x", VOID, int(2n), true, false));
    expect(values(s, ["-v", "--", "-x"])).toEqual(V("-x", VOID, VOID, true, false));
  });
  it("-- ends the dash arguments; - and negative numbers are values", () => {
    expect(values(s, ["--", "-v", "--repeat"])).toEqual(
      V("-v", str("--repeat"), VOID, false, false),
    );
    expect(values(s, ["-", "-5"])).toEqual(V("-", str("-5"), VOID, false, false));
  });
  it("a digit that is a declared short is a short, not a negative number", () => {
    const d = cmd({
      n: { syntax: "pos", type: "int", optional: true },
      one: { syntax: "flag", short: "1" },
    });
    expect(values(d, ["-1"])).toEqual([VOID, { type: "bool", value: true }]);
    expect(values(d, ["-2"])).toEqual([int(-2n), { type: "bool", value: false }]);
  });
  it("errors name the argument, the value and the expected type", () => {
    fails(
      s,
      ["x", "-r", "many"],
      "ARG_BAD_VALUE",
      /argument repeat \(-r, --repeat\) of `c` expects int, got "many"/,
    );
    fails(s, [], "ARG_MISSING", /`c` needs the argument src \(string\)/);
    fails(
      s,
      ["x", "y", "z"],
      "ARG_UNEXPECTED",
      /unexpected argument "z" for `c`, which takes at most 2/,
    );
    fails(s, ["x", "--bogus"], "ARG_UNKNOWN", /no argument --bogus/);
    try {
      parseCommandLine("c", s, ["x", "-z"]);
      throw new Error("-z was accepted");
    } catch (e) {
      // The hint gives both names of an argument that has both.
      expect((e as NcwError).hint).toMatch(/-r\/--repeat/);
    }
    fails(
      s,
      ["x", "--verbose=1"],
      "ARG_FLAG_VALUE",
      /--verbose of `c` is a flag: it takes no value/,
    );
    fails(s, ["x", "-v", "-v"], "ARG_DUPLICATE", /-v is given twice/);
    fails(
      s,
      ["x", "-r", "1", "-r", "2"],
      "ARG_DUPLICATE",
      /repeat \(-r, --repeat\) is given twice/,
    );
  });
  it("--help and -h ask for help, unless the command declares them", () => {
    expect(parseCommandLine("c", s, ["x", "--help"])).toEqual({ kind: "help" });
    expect(parseCommandLine("c", s, ["-h"])).toEqual({ kind: "help" });
    expect(() => parseCommandLine("c", s, ["--", "--help"])).not.toThrow();
    const own = cmd({ h: { syntax: "flag", short: "h" } });
    expect(values(own, ["-h"])).toEqual([{ type: "bool", value: true }]);
  });
  it("a repeated list dash argument adds its items", () => {
    const l = cmd({ tag: { syntax: "dash", type: "list[string]", short: "t", optional: true } });
    expect(values(l, ["-t", "a", "-t=[b, c]"])).toEqual([
      { type: "list", items: [str("a"), str("b"), str("c")] },
    ]);
  });
  it("positional words leave enough for the required positionals after them", () => {
    const p = cmd({
      files: { syntax: "pos", type: "list[path]" },
      dest: { syntax: "pos", type: "path" },
    });
    expect(values(p, ["./a", "./b", "/d"])).toEqual([
      {
        type: "list",
        items: [
          { type: "path", value: "./a" },
          { type: "path", value: "./b" },
        ],
      },
      { type: "path", value: "/d" },
    ]);
    const o = cmd({
      opt: { syntax: "pos", type: "int", optional: true },
      req: { syntax: "pos", type: "string" },
    });
    expect(values(o, ["x"])).toEqual([VOID, str("x")]);
    expect(values(o, ["1", "x"])).toEqual([int(1n), str("x")]);
  });
});

describe("defaults, requires, conflicts and $if", () => {
  it("an absent argument with a default gets the default, encoded with the argument's type", () => {
    const d = cmd({
      n: { syntax: "dash", type: "int", short: "n", default: 3 },
      f: { syntax: "dash", type: "float", short: "f", default: 2 },
      l: { syntax: "dash", type: "list[string]", short: "l", default: ["a"] },
      e: { syntax: "dash", type: 'enum["x" | "y"]', short: "e", default: "y" },
      m: { syntax: "dash", type: "map[string, int]", short: "m", default: { k: 1 } },
    });
    expect(values(d, [])).toEqual([
      int(3n),
      { type: "float", value: 2 },
      { type: "list", items: [str("a")] },
      str("y"),
      { type: "list", items: [{ type: "list", items: [str("k"), int(1n)] }] },
    ]);
    expect(run(d, []).given.size).toBe(0);
    expect(values(d, ["-n", "5"])[0]).toEqual(int(5n));
  });
  it("a default whose map keys do not fit the key type is the manifest's error (65), not a crash", () => {
    const d = cmd({ m: { syntax: "dash", type: "map[path, int]", short: "m", default: { a: 1 } } });
    expect(() => parseCommandLine("c", d, [])).toThrow(
      /default of m \(-m\) is not a map\[path, int\]/,
    );
    try {
      parseCommandLine("c", d, []);
    } catch (e) {
      expect((e as NcwError).exitCode).toBe(65);
    }
  });
  it("requires and conflicts", () => {
    const r = cmd({
      a: { syntax: "flag", short: "a", requires: ["b"] },
      b: { syntax: "flag", short: "b" },
      c: { syntax: "flag", short: "c", conflicts: ["b"] },
    });
    fails(r, ["-a"], "ARG_REQUIRES", /a \(-a\) of `c` requires the argument b/);
    expect(values(r, ["-ab"])).toHaveLength(3);
    fails(r, ["-bc"], "ARG_CONFLICTS", /c \(-c\) of `c` cannot be used together with b/);
  });
  it("$if picks the return and CMDIN types: present(), absent(), relations, else; later arguments win", () => {
    const s = cmd(
      {
        names: {
          syntax: "pos",
          type: "list[string]",
          optional: true,
          if: [{ cond: "absent()", cmdin: "list[string]" }],
        },
        mode: {
          syntax: "dash",
          type: "enum[1 | 2]",
          short: "m",
          default: 1,
          if: [
            { cond: "mode == 2", return: "int" },
            { cond: "else", return: "string" },
          ],
        },
        duration: {
          syntax: "flag",
          short: "d",
          if: [{ cond: "present()", return: "float" }],
        },
      },
      { return: "void" },
    );
    expect(run(s, [])).toMatchObject({ returnType: "string", cmdin: "list[string]" });
    expect(run(s, ["a", "-m", "2"])).toMatchObject({ returnType: "int" });
    expect(run(s, ["a"]).cmdin).toBeUndefined();
    expect(run(s, ["a", "-m", "2", "-d"]).returnType).toBe("float");
    const other = cmd(
      {
        x: { syntax: "flag", short: "x" },
        y: { syntax: "flag", short: "y", if: [{ cond: "present(x)", return: "bool" }] },
      },
      { return: "int" },
    );
    expect(run(other, []).returnType).toBe("int");
    expect(run(other, ["-x"]).returnType).toBe("bool");
  });
});

describe("typed words (Hydre's values)", () => {
  const spec = cmd({
    n: { syntax: "flag", short: "n" },
    count: { syntax: "dash", short: "c", type: "int", optional: true },
    text: { syntax: "pos", type: "string", optional: true },
  });
  /** A value the caller typed already: an int here, refused for any other type. */
  const intWord = (n: bigint): TypedWord => ({
    text: `$n (an int)`,
    resolve: (t) => {
      if (t.kind !== "base" || t.name !== "int") throw new LiteralError("expected an int");
      return [{ type: "int", value: n }];
    },
  });
  const strWord: TypedWord = { text: '"x"', resolve: () => [{ type: "string", value: "x" }] };

  it("are values, never dash arguments, and may follow a flag", () => {
    const r = parseCommandLine("c", spec, ["-n", strWord, "-c", intWord(3n)]);
    if (r.kind !== "run") throw new Error("help asked");
    expect(r.values).toEqual([
      { type: "bool", value: true },
      { type: "int", value: 3n },
      { type: "string", value: "x" },
    ]);
  });

  it("a wrong one is reported with the index of its word", () => {
    try {
      parseCommandLine("c", spec, ["-n", intWord(1n)]);
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(ArgumentError);
      expect((e as ArgumentError).code).toBe("ARG_BAD_VALUE");
      expect((e as ArgumentError).word).toBe(1);
      expect((e as ArgumentError).message).toContain("got $n (an int): expected an int");
    }
    try {
      parseCommandLine("c", spec, ["a", "b"]);
      throw new Error("accepted");
    } catch (e) {
      expect((e as ArgumentError).code).toBe("ARG_UNEXPECTED");
      expect((e as ArgumentError).word).toBe(1);
    }
  });
});
