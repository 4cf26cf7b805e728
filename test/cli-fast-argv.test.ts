// The fast path of `ncw run` / `ncw exec` (cli/fast-argv.ts, docs/cli.md "Start-up") against yargs:
// for every command line it accepts, the handler gets exactly the argv yargs would give it, and yargs
// would have accepted the line; everything else (help, errors, unusual forms) goes through yargs.
// The command lines are generated from the option tables themselves, so a new option is covered, and
// a change to the yargs definitions that the fast path does not follow (a default, an alias, a
// coercion, a parser setting) makes the argv differ here.

import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AnyCommand } from "../cli/commands/index.js";
import type { OptionSpec } from "../cli/fast-argv.js";
import { program, TestHome } from "./kernel-helpers.js";

// The built modules (dist/), as `ncw` runs them: yargs is given the version of the package.json
// beside dist/.
const dist = (m: string) => new URL(`../dist/cli/${m}`, import.meta.url).href;
type Mod<T> = Promise<T>;
const { separateAppWords } = await (import(dist("app-args.js")) as Mod<
  typeof import("../cli/app-args.js")
>);
const { execCommand } = await (import(dist("commands/exec.js")) as Mod<
  typeof import("../cli/commands/exec.js")
>);
const { RUN_OPTIONS, runCommand_ } = await (import(dist("commands/run.js")) as Mod<
  typeof import("../cli/commands/run.js")
>);
const { commandWord, fastArgv, GLOBAL_OPTIONS } = await (import(dist("fast-argv.js")) as Mod<
  typeof import("../cli/fast-argv.js")
>);
const { buildParser } = await (import(dist("parser.js")) as Mod<typeof import("../cli/parser.js")>);

/** What yargs does with `given`: the argv the command's handler got, or the failure. */
async function viaYargs(given: string[]): Promise<{ argv?: unknown; failed?: string }> {
  const args = separateAppWords(given);
  let argv: unknown;
  const parser = await buildParser(args, (_name, mod: AnyCommand) => ({
    ...mod,
    handler: (a: unknown) => {
      argv = a;
    },
  }));
  try {
    await parser.exitProcess(false).parseAsync();
  } catch (e) {
    return { failed: (e as Error).message };
  }
  return argv === undefined ? { failed: "no handler ran (help or version)" } : { argv };
}

function viaFast(given: string[]): unknown {
  const args = separateAppWords(given);
  const word = commandWord(args);
  if (word === "run") return fastArgv(args, runCommand_.command as string, RUN_OPTIONS);
  if (word === "exec") return fastArgv(args, execCommand.command as string, RUN_OPTIONS);
  return undefined;
}

/** A small deterministic generator (the same lines on every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The spellings of an option on a command line, right and wrong, from its table entry. */
function spellings(name: string, spec: OptionSpec): string[][] {
  const common = [[`--${name}`], [`--no-${name}`], [`--${name}=`], [`--${name}=v`]];
  return spec.type === "boolean"
    ? [...common, [`--${name}`, "true"], [`--${name}=false`]]
    : [...common, [`--${name}`, "v"], [`--${name}`, "0x10"], [`--${name}`, "-x"]];
}

function corpus(command: "run" | "exec", count: number): string[][] {
  const rand = prng(command === "run" ? 18 : 81);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const global = Object.entries(GLOBAL_OPTIONS).flatMap(([n, s]) => spellings(n, s));
  const own = Object.entries({ ...GLOBAL_OPTIONS, ...RUN_OPTIONS }).flatMap(([n, s]) =>
    spellings(n, s),
  );
  const odd = [
    ["--help"],
    ["-h"],
    ["--version"],
    ["-V"],
    ["--bogus"],
    ["-t"],
    ["--"],
    ["--traceFile", "f"],
  ];
  const targets = ["prog.npp", "app.nap", "x::y", "123", "0x10", "greet"];
  const appWords = ["Ada", "-r", "2", "--json", "0x10", "--", "--help", "-", "true"];
  const lines: string[][] = [];
  for (let n = 0; n < count; n++) {
    const line: string[] = [];
    for (let k = Math.floor(rand() * 2); k > 0; k--) line.push(...pick(global));
    line.push(command);
    for (let k = Math.floor(rand() * 4); k > 0; k--)
      line.push(...(rand() < 0.1 ? pick(odd) : pick(own)));
    if (rand() < 0.95) line.push(pick(targets));
    if (rand() < 0.2) line.push("--");
    for (let k = Math.floor(rand() * 3); k > 0; k--) line.push(pick(appWords));
    lines.push(line);
  }
  return lines;
}

// yargs prints help and version texts for the lines that ask for them.
beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterAll(() => vi.restoreAllMocks());

describe("the fast path of ncw run and ncw exec", () => {
  // The plain forms a user types: the fast path must take them (or it would never run).
  const plain = [
    ["run", "prog.npp"],
    ["run", "app.nap", "greet", "Ada", "-r", "2"],
    ["run", "app.nap", "--", "--help"],
    ["--json", "run", "--trace", "prog.npp"],
    ["--home", "h", "run", "--no-color", "--allow", "a", "--allow", "b", "x::y", "0x10"],
    ["run", "--trace-file=t.txt", "--priority", "3", "--sandbox", "--apply", "app.nap"],
    ["run", "--sandbox=keep", "--deny", "net.fetch", "--permissions", "p.json", "app.nap"],
    ["exec", "greet", "Ada"],
    ["--json", "exec", "--trace", "--priority", "10", "ncw::hello.greet", "--", "-x"],
  ];

  it.each(plain)("takes the plain form %j, with yargs' argv", async (...given) => {
    const fast = viaFast(given);
    expect(fast).toBeDefined();
    const y = await viaYargs(given);
    expect(y.failed).toBeUndefined();
    expect(fast).toEqual(y.argv);
  });

  it.each(["run", "exec"] as const)(
    "gives up, or gives yargs' argv, on 400 generated `ncw %s` lines",
    async (command) => {
      let taken = 0;
      for (const given of corpus(command, 400)) {
        const fast = viaFast(given);
        if (fast === undefined) continue;
        taken++;
        const y = await viaYargs(given);
        expect(y.failed, JSON.stringify(given)).toBeUndefined();
        expect(fast, JSON.stringify(given)).toEqual(y.argv);
      }
      // The generator makes plenty of plain lines: the comparison above is not vacuous.
      expect(taken).toBeGreaterThan(40);
    },
    120_000,
  );

  it("gives up on help, version, unknown and short options and `--` before the program", () => {
    for (const given of [
      ["run", "--help"],
      ["run", "-h", "prog.npp"],
      ["--help", "run", "prog.npp"],
      ["run", "--version", "prog.npp"],
      ["run", "--bogus", "prog.npp"],
      ["run", "-t", "prog.npp"],
      ["run", "--", "prog.npp"],
      ["run"],
      ["run", "--trace", "--trace", "prog.npp"],
      ["run", "--trace=true", "prog.npp"],
      ["run", "--priority"],
      ["run", "--home", "--json", "prog.npp"],
      ["--trace", "run", "prog.npp"],
      ["exec"],
      ["ps"],
    ])
      expect(viaFast(given), JSON.stringify(given)).toBeUndefined();
  });
});

// Black-box: `ncw run` / `ncw exec` with flags, through the fast path and through yargs
// (NCW_CLI_YARGS=1), on one home and kernel: the same exit code, stdout and stderr.
describe("ncw run with flags: the fast path behaves as yargs' path", () => {
  const home = new TestHome();
  afterAll(() => home.cleanup());
  const hello = fileURLToPath(new URL("../dist/examples/hello.nap", import.meta.url));
  const both = (args: string[]) => {
    const fast = home.ncw(args);
    const slow = home.ncw(args, { NCW_CLI_YARGS: "1" });
    // A run's own numbers (its process id) differ from one run to the next; on a loaded machine so may
    // whether the process' end came within RETURN_EXIT_GRACE_MS of its value (docs/cli.md).
    const same = (s: string) =>
      s
        .replace(/"pid": \d+/g, '"pid": N')
        .replace(/process \d+/g, "process N")
        .replace(
          /"outcome": "exited",(\s*)"exitData": 0,/g,
          '"outcome": "returned",$1"exitData": null,',
        );
    expect(
      { ...fast, stdout: same(fast.stdout), stderr: same(fast.stderr) },
      args.join(" "),
    ).toEqual({
      ...slow,
      stdout: same(slow.stdout),
      stderr: same(slow.stderr),
    });
    return fast;
  };

  it("a run, its value, its exit data and --json", () => {
    const exit7 = home.write("exit7.wat", program("(call $exit (i64.const 7))"));
    const exit300 = home.write("exit300.wat", program("(call $exit (i64.const 300))"));
    expect(both(["run", hello, "Ada"])).toMatchObject({ code: 0, stdout: "Hello, Ada!\n" });
    expect(both(["--json", "run", "--no-color", hello, "Ada"]).code).toBe(0);
    expect(both(["run", exit7]).code).toBe(7);
    // A trace has the run's own timings and interleaving: its end is compared.
    for (const extra of [{}, { NCW_CLI_YARGS: "1" }] as Record<string, string>[]) {
      const traced = home.ncw(["run", "--trace", exit7], extra);
      expect(traced.code).toBe(7);
      expect(traced.stderr).toMatch(/EXIT \{exitData: 7\}[\s\S]*exited with exit data 7\n$/);
    }
    expect(both(["run", exit300])).toMatchObject({ code: 255 });
    expect(both(["run", "--priority", "5", "--allow", "fs.items.read", exit7]).code).toBe(7);
    // The app's own help (`--help` after the program is the app's word).
    expect(both(["run", hello, "--help"]).code).toBe(0);
  });

  it("errors of the run's flags, with their exit codes", () => {
    expect(both(["run", "--priority", "high", hello]).stderr).toContain(
      '--priority must be an integer from 0 to 10, got "high"',
    );
    expect(both(["run", "--priority", "1", "--priority", "2", hello]).code).toBe(2);
    expect(both(["run", "--allow", "no.such.permission", hello]).code).toBe(2);
    expect(both(["run", "--apply", hello]).stderr).toContain("it needs --sandbox");
    expect(both(["run", "--sandbox=.bad", hello]).code).toBe(2);
    expect(both(["run", "--permissions", home.write("p.json", "{"), hello]).code).toBe(2);
    expect(both(["run", path.join(home.dir, "missing.npp")]).code).toBe(66);
    expect(both(["exec", "no-such-command"]).code).not.toBe(0);
  });

  it("help and usage errors (yargs' on both paths)", () => {
    expect(both(["run", "--help"]).stdout).toContain("--trace-file");
    expect(both(["exec", "--help"]).code).toBe(0);
    expect(both(["run", "--bogus", hello]).stderr).toContain("unknown option --bogus");
    expect(both(["run"]).stderr).toContain("missing <program>");
    expect(both(["run", "--json=true", hello, "Ada"]).code).toBe(0);
  });
});
