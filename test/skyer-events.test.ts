// Skyer's events start the application for real (specs/applications.md "Application manifest"
// events, "Startup Reason"; docs/skyer.md "Events"): an app with every event flag on, whose program
// exits with the startup reason byte it reads with EXECUTION_CONTEXT, is started through the kernel
// with postinstall, preupdate, postupdate and preuninstall.

import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ncw as run } from "./helpers/ncw.js";
import { program } from "./kernel-helpers.js";
import { tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-events-");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const HELLO = path.resolve(import.meta.dirname, "../examples/hello");

interface Report {
  action: string;
  events: { event: string; reason: number; started: boolean; note: string }[];
}

/** Exits with the startup reason byte (EXECUTION_CONTEXT 0xA0, information 0x01). */
const REASON_WAT = program(`
  (drop (call $s8_64 (i32.const 0xa0) (i32.const 1) (i64.const 0x3000)))
  (call $exit (i64.extend_i32_u (i32.load8_u (i32.const 0x3000))))
`);

/** The hello example at `version` with every event on and the program above, packed. */
function helloPackage(version: string): string {
  const dir = path.join(work, `hello-${version}`);
  cpSync(HELLO, dir, { recursive: true });
  const wat = path.join(work, "reason.wat");
  writeFileSync(wat, REASON_WAT);
  const asm = run(["ca", "asm", wat, "-o", path.join(dir, "main.npp")]);
  expect(asm.status, asm.stderr).toBe(0);
  const m = path.join(dir, "manifest.toml");
  writeFileSync(
    m,
    readFileSync(m, "utf8")
      .replace('version = "0.1.0"', `version = "${version}"`)
      .replace(
        "postinstall = false",
        "postinstall = true\npreupdate = true\npostupdate = true\npreuninstall = true",
      ),
  );
  const out = `${dir}.nap`;
  const r = run(["pack", dir, "-o", out]);
  expect(r.status, r.stderr).toBe(0);
  return out;
}

describe("events start the application", () => {
  it("postinstall, preupdate + postupdate, preuninstall, each with its startup reason", () => {
    const home = path.join(work, "home");
    const ncw = (args: string[]): Report => {
      const r = run(["--home", home, ...args, "--json"], {
        env: { NCW_USER: "", NCW_KERNEL_IDLE_MS: "1000" },
      });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Report;
    };
    const done = (e: Report["events"][number]) => [e.event, e.reason, e.started, e.note];
    // The app's exit data is the reason byte it was given: the code in its high nibble.
    const started = (event: string, reason: number) => [
      event,
      reason,
      true,
      `started ncwdemo::hello with reason 0x${reason} (${event}): exited with exit data ${reason << 4}`,
    ];

    const installed = ncw(["skyer", "install", helloPackage("0.1.0")]);
    expect(installed.events.map(done)).toEqual([started("postinstall", 1)]);
    const updated = ncw(["skyer", "install", helloPackage("0.2.0")]);
    expect(updated.action).toBe("updated");
    expect(updated.events.map(done)).toEqual([started("preupdate", 2), started("postupdate", 3)]);
    const removed = ncw(["skyer", "uninstall", "ncwdemo::hello"]);
    expect(removed.events.map(done)).toEqual([started("preuninstall", 4)]);
  });
});
