// `ncw shell` the way a user runs it (docs/hydre.md "ncw shell"): on a real pseudo-terminal
// (test/helpers/pty-drive.py) for the line editor (completion, history across restarts, Ctrl-C at the
// prompt, Ctrl-D), the persistent scope, multi-line blocks, errors that do not end the shell and
// tables; and from a pipe, as a session without prompts.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NCW, PTY_DRIVER, TestHome } from "./kernel-helpers.js";

const home = new TestHome();
afterAll(() => home.cleanup());

const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");
const PROMPT = "hydre> ";
/** The prompt shown the n-th time (the driver matches on the whole output so far). */
const prompts = (n: number) => `(hydre> .*){${n}}`;

/** `ncw shell` on a pseudo-terminal driven by `steps`; then `exit=<code>` on the same terminal. */
function onTerminal(steps: { expect?: string; send?: string }[]) {
  const driver = spawnSync(
    "python3",
    [PTY_DRIVER, "sh", "-c", `"${process.execPath}" "${NCW}" shell; echo "exit=$?"`],
    { env: home.envFor(), input: JSON.stringify(steps), timeout: 120_000 },
  );
  let res: { output: string; failed: string | null; status: number };
  try {
    res = JSON.parse(driver.stdout.toString());
  } catch {
    throw new Error(`the pty driver exited ${driver.status}:\n${driver.stderr}`);
  }
  return res;
}

function piped(input: string) {
  const r = spawnSync(process.execPath, [NCW, "shell"], {
    env: home.envFor(),
    encoding: "utf8",
    input,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("ncw shell on a terminal", () => {
  it("keeps a variable from one input to the next, goes on after a check error, shows tables", () => {
    const r = onTerminal([
      { expect: PROMPT, send: hex("let mut n = 20\r") },
      { expect: prompts(2), send: hex('let s: int = "text"\r') },
      { expect: "HYDRE_TYPE_MISMATCH.*?hydre> ", send: hex("n += 1\r") },
      { expect: prompts(4), send: hex('echo "n is $' + '{n * 2}"\r') },
      { expect: "n is 42", send: hex('[ { name: "ab", size: 1 }, { name: "c", size: 300 } ]\r') },
      { expect: "c +│ 300.*hydre> ", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(r.failed).toBeNull();
    // The failed input declared nothing, the shell went on; `n` was there for the later inputs.
    expect(r.output).toContain("expected int, found string");
    expect(r.output).toMatch(/name │ size\r\n─+┼─+\r\nab +│ 1\r\nc +│ 300/);
    expect(r.output).toContain("exit=0");
  });

  it("completes a command name, a variable, a flag and a path with TAB", () => {
    const r = onTerminal([
      { expect: PROMPT, send: hex("let greeting = 1\r") },
      { expect: prompts(2), send: hex("mkd\t") },
      { expect: "mkdir", send: hex(" ./made\r") },
      { expect: prompts(3), send: hex("echo $gree\t") },
      { expect: "echo \\$greeting", send: hex("\r") },
      { expect: "\n1\r\n", send: hex("ls\r") },
      // A flag from the command's typing, a path of the NightOS tree.
      { expect: "\\./made/.*hydre> ", send: hex("ls --hid\t") },
      { expect: "ls --hidden", send: hex(" ./ma\t") },
      { expect: "ls --hidden \\./made/", send: hex("\r") },
      { expect: "(hydre> .*){6}", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(r.failed).toBeNull();
    expect(r.output).toContain("exit=0");
  });

  it("runs a block typed over several lines, on a continuation prompt", () => {
    const r = onTerminal([
      { expect: PROMPT, send: hex("for i in 0..3\r") },
      { expect: "\\.\\.\\.> ", send: hex('  echo "item $i"\r') },
      { expect: "(\\.\\.\\.> .*){2}", send: hex("end\r") },
      { expect: "item 2.*hydre> ", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(r.failed).toBeNull();
    expect(r.output).toMatch(/item 0\r\nitem 1\r\nitem 2\r\n/);
    expect(r.output).toContain("exit=0");
  });

  it("clears the line with Ctrl-C at the prompt, and stays", () => {
    const r = onTerminal([
      { expect: PROMPT, send: hex("echo never") },
      { expect: "never", send: hex("\x03") },
      { expect: "\\^C", send: hex("echo after\r") },
      { expect: "\nafter.*hydre> ", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(r.failed).toBeNull();
    expect(r.output).not.toMatch(/\nnever/);
    expect(r.output).toContain("exit=0");
  });

  it("recalls the history with the up arrow after a restart (kept in the NightOS home), a block whole", () => {
    const first = onTerminal([
      { expect: PROMPT, send: hex('echo "remembered entry"\r') },
      { expect: prompts(2), send: hex("for i in 0..2\r") },
      { expect: "\\.\\.\\.> ", send: hex('  echo "it $i"\r') },
      { expect: "(\\.\\.\\.> .*){2}", send: hex("end\r") },
      { expect: "it 1.*hydre> ", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(first.failed).toBeNull();
    const second = onTerminal([
      // The newest entry is the block, recalled with its lines and run again.
      { expect: PROMPT, send: hex("\x1b[A") },
      { expect: "end", send: hex("\r") },
      { expect: "it 1.*hydre> ", send: hex("\x1b[A\x1b[A") },
      { expect: 'echo "remembered entry"', send: hex("\r") },
      { expect: "\nremembered entry.*hydre> ", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(second.failed).toBeNull();
    expect(second.output).toMatch(/it 0\r\nit 1\r\n/);
    // The history is a file of the tree, not of the host: one JSON string an entry.
    const r = home.ncw(["fs", "cat", "/home/user/appdata/hydre/data/history"]);
    // (The home is the other tests' too: these are its last entries. The block run again equals the
    // newest entry and is not added again; the echo recalled after it is.)
    const echo = JSON.stringify('echo "remembered entry"');
    const block = JSON.stringify('for i in 0..2\n  echo "it $i"\nend');
    expect(r.stdout.endsWith(`${echo}\n${block}\n${echo}\n`)).toBe(true);
  });
});

describe("ncw shell running an installed app's command", () => {
  it("Ctrl-C sends the running command TERMINATE, again WILL_TERMINATE, and the prompt comes back", () => {
    // The counter example counts 50 ticks of 100 ms and ignores TERMINATE: only WILL_TERMINATE ends it.
    const nap = path.join(path.dirname(NCW), "..", "examples", "counter.nap");
    if (!existsSync(nap)) throw new Error(`${nap} is missing: run \`npm run build\` first`);
    home.install(nap);
    const r = onTerminal([
      { expect: PROMPT, send: hex("counter\r") },
      // The command's keys are read (its keyboard protocol is on): Ctrl-C is now the command's.
      { expect: "\u001b\\[>1u", send: hex("\x03") },
      { expect: "sent TERMINATE", send: hex("\x03") },
      { expect: "sent WILL_TERMINATE.*hydre> ", send: hex("echo after\r") },
      { expect: "\nafter.*hydre> ", send: hex("\x04") },
      { expect: "exit=" },
    ]);
    expect(r.failed).toBeNull();
    expect(r.output).toContain("exit=0");
  });
});

describe("ncw shell from a pipe", () => {
  it("runs the lines as a session without prompts, errors do not stop it", () => {
    const r = piped(
      'let x = 2\nlet bad: string = 1\nfn twice(v: int) -> int\n  return v * 2\nend\ntwice(x)\n{ "a": 1 }\nexit\necho "not reached"\n',
    );
    expect(r.stdout).toBe("4\nkey │ value\n────┼──────\na   │ 1\n");
    expect(r.stderr).toContain("HYDRE_TYPE_MISMATCH");
    expect(r.stderr).toContain("<shell>:1:19");
    // An input had an error: the session's exit code says so.
    expect(r.code).toBe(1);
  });

  it("exits 0 when every input ran", () => {
    const r = piped("echo 1\necho 2\n");
    expect(r.stdout).toBe("1\n2\n");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
