// Black-box tests of --json's consistency (docs/cli.md, "--json"): numbers are numbers, a field has
// the same value in every command, and `ncw run --json` prints the outcome.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw } from "./helpers/ncw.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ncw-json-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// The kernel server that `ncw run` starts ends on its own once idle.
const env = { NCW_HOME: path.join(tmp, "home"), NO_COLOR: "1", NCW_KERNEL_IDLE_MS: "300" };
const run = (args: string[]) => ncw(args, { env, cwd: tmp });
const json = (args: string[]): Record<string, unknown> => {
  const r = run([...args, "--json"]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};
const HELLO = path.join(import.meta.dirname, "..", "dist", "examples", "hello.nap");

describe("--json", () => {
  it("writes sizes, IDs and counts as numbers", () => {
    const img = path.join(tmp, "n.img");
    const mkfs = json(["fs", "mkfs", img, "--size", "96M"]);
    expect(mkfs.size).toBe(96 * 1024 * 1024);
    const info = json(["fs", "info", "--image", img]);
    expect(typeof info.generation).toBe("number");
    expect(typeof info.totalBytes).toBe("number");
    const snap = json(["fs", "snapshot", "--image", img, "/", "/s"]);
    expect(typeof snap.id).toBe("number");
  });

  it("gives the scope the same value in skyer install, list and info", () => {
    const inst = json(["skyer", "install", HELLO]);
    expect(inst.scope).toBe("user");
    expect(inst.user).toBe("user");
    const info = json(["skyer", "info", "ncwdemo::hello"]);
    expect([info.scope, info.user]).toEqual([inst.scope, inst.user]);
    const list = JSON.parse(run(["skyer", "list", "--json"]).stdout) as Record<string, unknown>[];
    const row = list.find((r) => r.aid === "ncwdemo::hello");
    expect([row?.scope, row?.user]).toEqual([inst.scope, inst.user]);
    const un = json(["skyer", "uninstall", "ncwdemo::hello"]);
    expect([un.scope, un.user]).toEqual([inst.scope, inst.user]);
  });

  it("ncw run --json prints the outcome as one document", () => {
    const r = run(["run", "--json", HELLO]);
    expect(r.status, r.stderr).toBe(0);
    // stdout is the document alone: hello's greeting (CMDMSG) goes to stderr under --json (docs/cli.md).
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(r.stderr).toContain("Hello, world!");
    // hello returns void, then exits at once: its end is waited for (docs/cli.md "RETURN_EXIT_GRACE_MS").
    expect(doc).toMatchObject({
      exitCode: 0,
      returned: { type: "void" },
      failed: false,
      outcome: "exited",
      exitData: 0,
    });
    expect(typeof doc.pid).toBe("number");
  });
});
