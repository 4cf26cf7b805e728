// Black-box tests of a CLI that never misleads (docs/cli.md, "Usage errors", "--json"): usage
// errors name what is wrong, --json covers them too, --home and pack -o fail plainly.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-usage-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const env = { NCW_HOME: path.join(tmp, "home"), NO_COLOR: "1" };
const run = (args: string[]) => ncw(args, { env, cwd: tmp });
const HELLO = path.join(import.meta.dirname, "..", "examples", "hello");

describe("usage errors name what is wrong", () => {
  it("an unknown option of a command is named, not reported as a missing argument", () => {
    const r = run(["run", "--bogus", "x.npp"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option --bogus");
    expect(r.stderr).not.toContain("non-option arguments");
    expect(r.stderr).toContain("--trace");
  });

  it("unknown global options are named; -v points to -V", () => {
    const bogus = run(["--bogus"]);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toContain("unknown option --bogus");
    const v = run(["-v"]);
    expect(v.status).toBe(2);
    expect(v.stderr).toContain("unknown option -v");
    expect(v.stderr).toContain("-V (--version)");
  });

  it("a misspelt option suggests the close one", () => {
    const r = run(["run", "--trace-fil", "t.txt", "x.npp"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("did you mean --trace-file?");
  });

  it("a malformed number says what a valid value is", () => {
    const kill = run(["kill", "abc"]);
    expect(kill.status).toBe(2);
    expect(kill.stderr).toContain('the PID must be an integer from 1 up, got "abc"');
    expect(kill.stderr).not.toContain("NaN");
    const level = run(["pack", HELLO, "--level", "abc", "-o", path.join(tmp, "l.nap")]);
    expect(level.status).toBe(2);
    expect(level.stderr).toContain('--level must be an integer from 1 to 22, got "abc"');
    expect(level.stderr).not.toContain("NaN");
    const nodesize = run(["fs", "mkfs", path.join(tmp, "n.img"), "--nodesize", "big"]);
    expect(nodesize.status).toBe(2);
    expect(nodesize.stderr).toContain(
      '--nodesize must be an integer from 4096 to 65536, got "big"',
    );
    expect(existsSync(path.join(tmp, "n.img"))).toBe(false);
    const prio = run(["run", "--priority", "high", "x.npp"]);
    expect(prio.stderr).toContain('--priority must be an integer from 0 to 10, got "high"');
  });

  it("a command group without its subcommand lists the subcommands", () => {
    const ca = run(["ca"]);
    expect(ca.status).toBe(2);
    expect(ca.stderr).toContain("say which ca command to run: asm, disasm, validate, info, aot");
    const skyer = run(["skyer"]);
    expect(skyer.stderr).toContain("say which skyer command to run: install, uninstall");
    expect(run([]).stderr).toContain(
      "say which command to run: run, exec, hydre, shell, commands, help, ps, kill",
    );
  });

  it("a missing argument is named with the command's usage", () => {
    const r = run(["skyer", "info"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("missing <aid>: usage is `ncw skyer info <aid>`");
  });

  it("an unknown command suggests only close names", () => {
    const foo = run(["foo"]);
    expect(foo.status).toBe(2);
    expect(foo.stderr).toContain("unknown command foo");
    expect(foo.stderr).not.toMatch(/did you mean/i);
    expect(run(["rn"]).stderr).toContain("did you mean run?");
    expect(run(["isnpect"]).stderr).toContain("did you mean inspect?");
    expect(run(["skyer", "lst"]).stderr).toContain("unknown skyer command lst");
  });
});

describe("--json covers usage errors", () => {
  it("prints a usage error as a JSON document on stdout", () => {
    const r = run(["--json", "run", "--bogus", "x.npp"]);
    expect(r.status).toBe(2);
    const doc = JSON.parse(r.stdout) as { error: { code: string; kind: string; message: string } };
    expect(doc.error.code).toBe("CLI_UNKNOWN_OPTION");
    expect(doc.error.kind).toBe("usage");
    expect(doc.error.message).toContain("--bogus");
    const ca = JSON.parse(run(["ca", "--json"]).stdout) as { error: { code: string } };
    expect(ca.error.code).toBe("CLI_MISSING_COMMAND");
  });
});

describe.skipIf(process.platform !== "linux")("folders that cannot be created", () => {
  it("--home where nothing can be created fails at once", () => {
    const t0 = Date.now();
    const r = ncw(["--home", "/proc/nope", "home"], { timeoutMs: 10_000 });
    expect(r.status).toBe(73);
    expect(r.stderr).toContain("cannot create the NCW home at /proc/nope");
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("pack -o into a folder that cannot be created says so", () => {
    const r = ncw(["pack", HELLO, "-o", "/proc/nope/x.nap"], { timeoutMs: 10_000 });
    expect(r.status).toBe(73);
    expect(r.stderr).toContain("cannot create the folder /proc/nope");
    expect(r.stderr).not.toContain(".tmp");
  });
});

describe("ncw pack -o into a missing folder", () => {
  it("creates the folder", () => {
    const out = path.join(tmp, "new", "sub", "hello.nap");
    const r = run(["pack", HELLO, "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it("leaves nothing behind when the package cannot be built", () => {
    const out = path.join(tmp, "never", "x.nap");
    const r = run(["pack", path.join(tmp, "no-such-app"), "-o", out]);
    expect(r.status).not.toBe(0);
    expect(existsSync(path.join(tmp, "never"))).toBe(false);
  });
});
