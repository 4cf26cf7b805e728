// `ncw hydre` the way a user runs it (docs/cli.md "ncw hydre", docs/hydre.md): scripts from a file and
// from -c, the pre-evaluation check's report and exit codes (specs/shell.md "Pre-evaluation checking"),
// --check and --json, prompts answered from stdin, and the commands of real installed apps (the stat and
// hello examples, built by `npm run build`) checked against their manifests and run through the kernel.

import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTextMessage } from "../commonassembly/abi/text-message.js";
import { FAILURE_BYTES } from "../commonassembly/abi/values.js";
import { CAT_APP, commandApp, commandNap, watBytes } from "./command-helpers.js";
import { NCW, OK, TestHome } from "./kernel-helpers.js";

const EXAMPLES = path.join(fileURLToPath(new URL("..", import.meta.url)), "dist", "examples");
const nap = (name: string) => {
  const f = path.join(EXAMPLES, `${name}.nap`);
  if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
  return f;
};

const home = new TestHome();
afterAll(() => {
  rmSync(home.dir, { recursive: true, force: true });
});

function ncw(args: string[], input = "", env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [NCW, ...args], {
    env: home.envFor(env),
    encoding: "utf8",
    input,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("ncw hydre", () => {
  it("runs a script given with -c, without starting a kernel", () => {
    const r = ncw(["hydre", "-c", 'let name = "Jack"\necho "Hello, $name!"\necho (2 + 1)']);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Hello, Jack!\n3\n");
    expect(r.code).toBe(0);
    expect(existsSync(path.join(home.home, "kernel.sock"))).toBe(false);
  });

  it("runs a script file; a file that does not exist is 66", () => {
    const f = home.write(
      "loop.hys",
      "let mut total = 0\nfor i in 0..=10\n  total += i\nend\necho $total\n",
    );
    const r = ncw(["hydre", f]);
    expect(r.stdout).toBe("55\n");
    expect(r.code).toBe(0);
    const missing = ncw(["hydre", path.join(home.dir, "nope.hys")]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain("cannot read the script");
  });

  it("reports every error before running anything, underlined, and exits 65", () => {
    const f = home.write(
      "bad.hys",
      'echo "this never shows"\nlet a = 0\na &&= 1\necho $lastName\n',
    );
    const r = ncw(["hydre", f]);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(65);
    expect(r.stderr).toBe(
      [
        "error[HYDRE_NOT_MUTABLE]: `a` is not mutable",
        ` --> ${f}:3:1`,
        "  |",
        "3 | a &&= 1",
        "  | ^",
        "  = hint: declare it `let mut a = …` to change it",
        "",
        "error[HYDRE_TYPE_MISMATCH]: cannot assign a bool to `a`, an int",
        ` --> ${f}:3:1`,
        "  |",
        "3 | a &&= 1",
        "  | ^^^^^^^ `&&=` gives a bool",
        "",
        "error[HYDRE_UNKNOWN_NAME]: `lastName` is not in scope",
        ` --> ${f}:4:6`,
        "  |",
        "4 | echo $lastName",
        "  |      ^^^^^^^^^",
        "",
        `error: ${f} has 3 errors: nothing ran`,
        "",
      ].join("\n"),
    );
  });

  it("--check only checks; with --json the diagnostics are data", () => {
    const ok = ncw(["hydre", "--check", "-c", 'echo "not run"']);
    expect(ok.stdout).toBe("");
    expect(ok.code).toBe(0);
    const bad = ncw(["--json", "hydre", "--check", "-c", "let x: int = 'c'"]);
    expect(bad.code).toBe(65);
    expect(JSON.parse(bad.stdout)).toEqual({
      ok: false,
      diagnostics: [
        {
          code: "HYDRE_TYPE_MISMATCH",
          kind: "type",
          message: "the value of `x`: expected int, found char",
          line: 1,
          column: 14,
          end: { line: 1, column: 17 },
          text: "'c'",
          expected: "expected int",
        },
      ],
    });
  });

  it("a failed script exits 1 with its message; a panic shows where it happened", () => {
    const failed = ncw(["hydre", "-c", 'echo "a"\nfail "it went wrong"\necho "b"']);
    expect(failed.stdout).toBe("a\n");
    expect(failed.stderr).toBe("error: the script failed: it went wrong\n");
    expect(failed.code).toBe(1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
    const panic = ncw(["hydre", "-c", 'let names = [ "Jack" ]\necho "Hello, ${names[1]}!"']);
    expect(panic.code).toBe(1);
    expect(panic.stderr).toBe(
      [
        "panic[HYDRE_PANIC]: index 1 is out of bounds: the list has 1 item",
        " --> <command line>:2:22",
        "  |",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
        '2 | echo "Hello, ${names[1]}!"',
        "  |                      ^",
        "",
      ].join("\n"),
    );
  });

  it("prompts read the user's answers from stdin; --seed makes the random functions repeatable", () => {
    const script = 'let n = retry prompt_int("Guess: ")\necho (n * 2)\necho (rand_int(1, 1000))';
    const a = ncw(["hydre", "--seed", "5", "-c", script], "many\n21\n");
    expect(a.code).toBe(0);
    const lines = a.stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual(["Guess: ", "Guess: ", "42"]);
    const b = ncw(["hydre", "--seed", "5", "-c", script], "21\n");
    expect(b.stdout.split("\n")[2]).toBe(lines[3]);
    expect(ncw(["hydre", "--seed", "x", "-c", "exit"]).code).toBe(2);
  });

  it("takes no arguments without command typing, and says so", () => {
    const r = ncw(["hydre", "-c", "exit", "one"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("takes no arguments");
  });

  it("writes and reads files of the home's NightOS tree (its Btrfs image), kept between runs", () => {
    const w = ncw([
      "hydre",
      "-c",
      'echo "Hello world!" > ./somefile.txt\nmkdir ./notes\nwt ./notes/a.txt "first"\nwt ./notes/a.txt "second" -a',
    ]);
    expect(w.stderr).toBe("");
    expect(w.code).toBe(0);
    // Seen by the other commands that read the tree, at the user's NightOS home.
    const cat = ncw(["fs", "cat", "/home/user/notes/a.txt"]);
    expect(cat.stdout).toBe("first\nsecond\n");
    const r = ncw(["hydre", "-c", "rd ./somefile.txt\nls ./notes\nrd ./nope.txt"]);
    expect(r.stdout).toBe("Hello world!\n./notes/a.txt\n");
    expect(r.stderr).toBe("rd: no such file or folder in the NightOS tree: /home/user/nope.txt\n");
    // Its last command line failed: so did the script (docs/hydre.md "Failing").
    expect(r.code).toBe(1);
  });

  it("a script with a command description takes its arguments after it, typed, for its main", () => {
    const f = home.write(
      "repeat.hys",
      [
        "cmd",
        '  help "Repeats names"',
        "  return int",
        "  args",
        '    pos "names"',
        "      type list[string]",
        '    dash "repeat"',
        "      type int",
        '      short "r"',
        "      default 1",
        "end",
        "fn main(names: list[string], repeat: int) -> int",
        "  for i in 0..repeat",
        '    echo (names.join(", "))',
        "  end",
        "  return names.len() * repeat",
        "end",
      ].join("\n"),
    );
    const r = ncw(["hydre", f, '["Ada", "Bob"]', "-r", "2"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Ada, Bob\nAda, Bob\n4\n");
    expect(r.code).toBe(0);
    const help = ncw(["hydre", f, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Repeats names");
    const bad = ncw(["hydre", f, '["Ada"]', "-r", "many"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("error: argument repeat (-r) of");
  });

  it("a script declared as a command reads its CMDIN (ncw's stdin, typed) and returns with cmdout", () => {
    const f = home.write(
      "count.hys",
      [
        "cmd",
        "  return int",
        "  cmdin string",
        "end",
        "fn main() -> int",
        "  let s = $(cmdin)",
        "  let again: string = $(cmdin)",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
        '  echo "read ${s.len()} characters"',
        "  cmdout (s.len() + again.len())",
        "  return 0",
        "end",
      ].join("\n"),
    );
    const r = ncw(["hydre", f], "Hello world!\n");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("read 12 characters\n24\n");
    expect(r.code).toBe(0);
  });

  it("--help says what it does and its exit codes", () => {
    const r = ncw(["hydre", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--check");
    expect(r.stdout).toContain("65 it has errors");
  });
});

describe("ncw hydre with installed apps", () => {
  beforeAll(() => {
    for (const app of ["stat", "hello"]) {
      const r = ncw(["skyer", "install", nap(app)]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it("checks app commands against their manifests before anything runs", () => {
    const r = ncw(["hydre", "-c", 'echo "never"\nstat [1, 2] --op mean\nhello 1 2\nfrobnicate']);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      'error[ARG_BAD_VALUE]: argument op (-o, --op) of `ncwdemo::stat.stat` expects enum["sum" | "product" | "min" | "max"], got "mean": not one of the enumeration\'s values',
    );
    expect(r.stderr).toContain(" --> <command line>:2:18\n");
    expect(r.stderr).toContain("error[ARG_UNEXPECTED]");
    expect(r.stderr).toContain(" --> <command line>:3:9\n");
    expect(r.stderr).toContain("error[HYDRE_UNKNOWN_COMMAND]: unknown command `frobnicate`");
    // The typed return value: stat returns an int, so it cannot be a string.
    const typed = ncw(["hydre", "--check", "-c", "let s: string = $(stat [1])"]);
    expect(typed.code).toBe(65);
    expect(typed.stderr).toContain("expected string, found int");
  });

  it("runs app commands with typed values and reads their typed return values", () => {
    const script = [
      "let numbers = [ 4, 5, 6 ]",
      "let n = $(stat $numbers --op=sum)",
      "echo (n * 2)",
      "stat [2, 3] -o product",
      "hello Ada",
      "let msgs = $?(hello Bob)",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
      "echo ${msgs.len() > 0}",
      "catch $(stat [] -o min)",
      '  ok v => echo "ok $v"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
      '  err e => echo "failed: ${e.len()} error message(s)"',
      "end",
      "stat [] -o max",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
      "echo ${last_failed()}",
    ].join("\n");
    const r = ncw(["hydre", "-c", script]);
    expect(r.stdout).toBe("30\n6\nHello, Ada!\ntrue\nfailed: 1 error message(s)\ntrue\n");
    expect(r.stderr).toBe("stat: max of no integers\nerror: the command `stat` failed\n");
    // The last command line (`echo`) ran: the script's status is its.
    expect(r.code).toBe(0);
  });

  it("file commands before and after an app command (the kernel then holds the image)", () => {
    const r = ncw([
      "hydre",
      "-c",
      'echo "before" > ./seq.txt\nstat [1, 2]\necho "after" >> ./seq.txt\nrd ./seq.txt',
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("3\nbeforeafter\n");
    expect(r.code).toBe(0);
  });

  it("imports: a command under another name, an app as a namespace", () => {
    const r = ncw([
      "hydre",
      "-c",
      "import ncwdemo::stat::stat as total\nimport ncwdemo::hello\ntotal [1, 2]\nhello::hello Ada",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("3\nHello, Ada!\n");
    expect(r.code).toBe(0);
    const bad = ncw(["hydre", "-c", "import ncwdemo::nothing\necho 1"]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain("error[HYDRE_UNKNOWN_IMPORT]");
  });

  it("a failed $(…) stops the script with the command's errors", () => {
    const r = ncw(["hydre", "-c", 'let x = $(stat [] -o min)\necho "never"']);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("error: the script failed: stat: min of no integers\n");
    expect(r.code).toBe(1);
  });
});

/** The bytes at `addr`, as a WAT data segment, written to a pipe in blocking mode (exit 2 if not). */
function sendData(pipe: string, addr: number, bytes: Uint8Array): { wat: string; call: string } {
  return {
    wat: `(data (i32.const ${addr}) "${watBytes(bytes)}")`,
    call: `(call $check (i32.const 2) (call $write (call $${pipe}) (i32.const ${bytes.length}) (i32.const ${addr}) (i32.const 0)) (i32.const ${OK}))`,
  };
}

/** A command app that writes `parts` in order, then exits with exit data 9. */
function writer(parts: { wat: string; call: string }[]): string {
  return commandApp(
    `${parts.map((p) => p.call).join(" ")} (call $exit (i64.const 9))`,
    parts.map((p) => p.wat).join("\n"),
  );
}

describe("ncw hydre: failing command lines and internal errors", () => {
  beforeAll(() => {
    const install = (slug: string, wat: string, commands: string) => {
      const r = ncw(["skyer", "install", commandNap(home, slug, wat, commands)]);
      expect(r.code, r.stderr).toBe(0);
    };
    // Fails without a word: the failure value on CMDOUT, nothing on CMDERR.
    install(
      "quiet",
      writer([sendData("cmdout", 0x6000, FAILURE_BYTES)]),
      `[commands.quiet]\nhelp = "Fails silently"\nreturn = "int"\n`,
    );
    // Says why on CMDERR, then fails.
    install(
      "loud",
      writer([
        sendData("cmderr", 0x6000, encodeTextMessage({ text: "loud: no luck\n" })),
        sendData("cmdout", 0x6100, FAILURE_BYTES),
      ]),
      `[commands.loud]\nhelp = "Fails with a message"\nreturn = "int"\n`,
    );
    // Returns a value whose length is 0 (no type code): faulty.
    install(
      "broken",
      writer([sendData("cmdout", 0x6000, new Uint8Array(8))]),
      `[commands.broken]\nhelp = "Returns garbage"\nreturn = "int"\n`,
    );
    install("sink", CAT_APP, `[commands.sink]\nhelp = "Takes an int"\ncmdin = "int"\n`);
  });

  it("a failing app command on its own line is reported, and as the last line fails the script", () => {
    const alone = ncw(["hydre", "-c", "quiet"]);
    expect(alone.stdout).toBe("");
    expect(alone.stderr).toBe("error: the command `quiet` failed\n");
    expect(alone.code).toBe(1);
    // Not the last line: the script goes on, last_failed() tells, the status is the last line's.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
    const on = ncw(["hydre", "-c", "quiet\necho ${last_failed()}"]);
    expect(on.stdout).toBe("true\n");
    expect(on.stderr).toBe("error: the command `quiet` failed\n");
    expect(on.code).toBe(0);
    // In a block, the same.
    const inIf = ncw(["hydre", "-c", "if true\n  quiet\nend"]);
    expect(inIf.stderr).toBe("error: the command `quiet` failed\n");
    expect(inIf.code).toBe(1);
    // Its own CMDERR message first (from the app), then Hydre's line.
    const loud = ncw(["hydre", "-c", "loud"]);
    expect(loud.stderr).toBe("loud: no luck\nerror: the command `loud` failed\n");
    expect(loud.code).toBe(1);
  });

  it("a faulty command says why; a failure before `|` shows the messages it wrote", () => {
    const faulty = ncw(["hydre", "-c", "broken"]);
    expect(faulty.stderr).toBe(
      "ncwtest::broken.broken is faulty: invalid return value: the value's length is 0 (no type code)\n" +
        "error: the command `broken` failed\n",
    );
    expect(faulty.code).toBe(1);
    const piped = ncw(["hydre", "-c", "loud | sink"]);
    expect(piped.stdout).toBe("");
    expect(piped.stderr).toBe("loud: no luck\nerror: the command `loud` failed\n");
    expect(piped.code).toBe(1);
    // Captured, nothing is reported by the line: `catch` has it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Hydre's own ${…}, not a template
    const caught = ncw(["hydre", "-c", 'catch $(loud)\n  err e => echo "caught ${e.len()}"\nend']);
    expect(caught.stderr).toBe("");
    expect(caught.stdout).toBe("caught 1\n");
    expect(caught.code).toBe(0);
  });

  it("an internal error while an app command starts is printed and ncw exits 70, not hanging", () => {
    const r = spawnSync(process.execPath, [NCW, "hydre", "-c", "quiet"], {
      env: home.envFor({ NCW_TEST_FAULT_AT: "hydre-run-app" }),
      encoding: "utf8",
      timeout: 30_000,
    });
    // Before the fix the kernel connection stayed open: the process never ended (status null).
    expect(r.status).toBe(70);
    expect(r.stderr).toContain(
      "internal error: a fault injected at hydre-run-app (NCW_TEST_FAULT_AT)",
    );
  });
});
