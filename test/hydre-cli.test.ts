// `ncw hydre` the way a user runs it (docs/cli.md "ncw hydre", docs/hydre.md): scripts from a file and
// from -c, the pre-evaluation check's report and exit codes (specs/shell.md "Pre-evaluation checking"),
// --check and --json, prompts answered from stdin, and the commands of real installed apps (the stat and
// hello examples, built by `npm run build`) checked against their manifests and run through the kernel.

import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NCW, TestHome } from "./kernel-helpers.js";

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

function ncw(args: string[], input = "") {
  const r = spawnSync(process.execPath, [NCW, ...args], {
    env: home.envFor(),
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
    expect(r.code).toBe(0);
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
    expect(r.stderr).toBe("stat: max of no integers\n");
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
