// Black-box tests of the ncw CLI's conventions: help, version, usage errors, exit codes, NO_COLOR.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("ncw CLI", () => {
  it("prints help listing commands and exits 0", () => {
    const r = ncw(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ncw <command> [options]");
    expect(r.stdout).toContain("--home");
  });

  it("prints the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const r = ncw(["--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("rejects an unknown command with exit code 2 and a hint, without a stack trace", () => {
    const r = ncw(["definitely-not-a-command"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error:");
    expect(r.stderr).toContain("hint:");
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it("exits 2 with no command", () => {
    expect(ncw([]).status).toBe(2);
  });

  it("creates the home on first use and reports it as JSON", () => {
    const home = path.join(tmp, "fresh-home");
    const r = ncw(["home", "--json"], { env: { NCW_HOME: home } });
    expect(r.status).toBe(0);
    const data = JSON.parse(r.stdout) as { root: string; tree: string; backend: string };
    expect(data.root).toBe(home);
    expect(spawnSync("test", ["-d", data.root]).status).toBe(0);
    // A new home keeps its NightOS tree in a Btrfs image (created when the tree is first opened).
    expect(data.backend).toBe("btrfs");
    expect(data.tree).toBe(path.join(home, "nightos.img"));
  });

  it("--home wins over NCW_HOME", () => {
    const a = path.join(tmp, "a");
    const r = ncw(["home", "--json", "--home", a], { env: { NCW_HOME: path.join(tmp, "b") } });
    expect((JSON.parse(r.stdout) as { root: string }).root).toBe(a);
  });

  it("prints no colour escape codes when NO_COLOR is set, even when forced to a TTY-like state", () => {
    const r = ncw(["nope"], { env: { NO_COLOR: "1" } });
    expect(r.stderr).not.toContain("\u001b[");
  });

  it("uses colours when FORCE_COLOR is set", () => {
    const r = ncw(["nope"], { env: { FORCE_COLOR: "1" } });
    expect(r.stderr).toContain("\u001b[31m");
  });

  it("--color forces colours on a pipe, --no-color turns them off; both win over the environment", () => {
    const list = (flags: string[], env: Record<string, string> = {}) =>
      ncw(["skyer", "list", ...flags], { env: { NCW_HOME: path.join(tmp, "colors"), ...env } });
    const plain = list([]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("nothing installed yet");
    expect(plain.stdout).not.toContain("\u001b[");
    // Piped stdout, yet coloured: bold header, dim note.
    expect(list(["--color"]).stdout).toContain("\u001b[1m");
    expect(list(["--color"]).stdout).toContain("\u001b[2m");
    expect(list(["--color"], { NO_COLOR: "1" }).stdout).toContain("\u001b[");
    expect(list([], { FORCE_COLOR: "1" }).stdout).toContain("\u001b[1m");
    expect(list(["--no-color"], { FORCE_COLOR: "1" }).stdout).not.toContain("\u001b[");
    expect(list([], { NO_COLOR: "1" }).stdout).not.toContain("\u001b[");
    // A usage error honours the flag too.
    expect(ncw(["nope", "--color"]).stderr).toContain("\u001b[31m");
    expect(ncw(["nope", "--no-color"], { env: { FORCE_COLOR: "1" } }).stderr).not.toContain(
      "\u001b[",
    );
  });
});
