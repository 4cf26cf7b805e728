// `ncw registry` as a user runs it (specs/registry.md, docs/registry.md): the default registry exported
// as the spec writes it, edited by hand and imported back, constraint violations refused with clear
// messages that change nothing, a home written in the first (flat) format upgraded in place.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { homeLayout } from "../ncw/home.js";
import { openTree } from "../services/fs/open.js";
import { ncw } from "./helpers/ncw.js";
import { NCW_DEFAULT, T } from "./helpers/registry-default.js";
import { NCW, TestHome } from "./kernel-helpers.js";

const homes: TestHome[] = [];
afterAll(() => {
  for (const h of homes) h.cleanup();
});
function newHome(): TestHome {
  const h = new TestHome();
  homes.push(h);
  return h;
}

/** The registry file in the home's tree, as stored. */
async function stored(h: TestHome): Promise<string | undefined> {
  const fs = await openTree(homeLayout(h.home), { access: "read" });
  try {
    return (await fs.stat("/etc/sys/registry")) === null
      ? undefined
      : new TextDecoder().decode(await fs.readFile("/etc/sys/registry"));
  } finally {
    await fs.close();
  }
}

describe("ncw registry", () => {
  it("exports the spec's default content, takes a hand-edited export back, and shows the edits", async () => {
    const h = newHome();
    const ex = h.ncw(["registry", "export"]);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toBe(NCW_DEFAULT);

    const edited = NCW_DEFAULT.replace(
      "collect_every(tmin(s,1s)): 60s",
      "collect_every(tmin(s,1s)): 2d 10s",
    )
      .replace("terminate_delay(time(ms)): 2000ms", "terminate_delay(time(ms)): 1s 500ms")
      .replace("reserved_memory(MB): 16MB", "reserved_memory(MB): 1GB 8MB")
      .replace(
        `${T}1: Admin # Administrator\n`,
        `${T}1: Admin # Administrator\n${T}1000: Standard # alice\n`,
      );
    const file = h.write("edited.hfrr", edited);
    const im = h.ncw(["registry", "import", file]);
    expect(im.stderr).toBe("");
    expect(im.code).toBe(0);
    expect(h.ncw(["registry", "export"]).stdout).toBe(edited);
    expect(h.ncw(["registry", "get", "system.crash_saves.collect_every"]).stdout).toBe("2d 10s\n");
    const j = JSON.parse(
      h.ncw(["registry", "get", "system.processes.terminate_delay", "--json"]).stdout,
    );
    expect(j).toEqual({
      path: "system.processes.terminate_delay",
      type: "time(ms)",
      purpose: "Delay before termination",
      hfrr: "1s 500ms",
      value: 1500,
      default: false,
    });
    expect(h.ncw(["registry", "get", "users"]).stdout).toBe(
      "0: Admin # System\n1: Admin # Administrator\n1000: Standard # alice\n",
    );
    // The file on disk is the nested tree.
    const tree = JSON.parse((await stored(h)) ?? "{}");
    expect(tree.version).toBe(2);
    expect(tree.root.system.value.crash_saves.value.collect_every).toMatchObject({
      type: "tmin(s,1s)",
      value: "2d 10s",
    });

    // An export to a file, and reset back to the spec's defaults.
    const out = `${h.dir}/out.hfrr`;
    expect(h.ncw(["registry", "export", out]).code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(edited);
    expect(h.ncw(["registry", "reset", "system.crash_saves.collect_every"]).code).toBe(0);
    expect(h.ncw(["registry", "get", "system.crash_saves.collect_every"]).stdout).toBe("60s\n");
    expect(h.ncw(["registry", "reset"]).code).toBe(0);
    expect(h.ncw(["registry", "export"]).stdout).toBe(NCW_DEFAULT);
  }, 120_000);

  it("refuses a constraint violation with a clear message and changes nothing", async () => {
    const h = newHome();
    expect(h.ncw(["registry", "set", "system.processes.terminate_delay", "700ms"]).code).toBe(0);
    const before = await stored(h);
    const cases: [string, string, RegExp][] = [
      [
        "system.crash_saves.collect_every",
        "500ms",
        /collect_every \(tmin\(s,1s\)\): expected a whole number of s/,
      ],
      ["system.crash_saves.collect_every", "0s", /less than the minimum 1s/],
      ["system.freeze_prevention.reserved_cpu_vcore", "256", /out of range 0\.\.255/],
      ["system.debugging.dev_mode", "yes", /expected true or false/],
      ["users.2", "Root", /expected one of MainAdmin, Admin, Standard, Guest/],
      [
        "system.processes.suspend_delay",
        "70s",
        /more than 65535ms: the signal's datafield carries it in 2 bytes/,
      ],
      ["system.datetime.custom_based_diff", "1 hour", /numbers each followed by a unit/],
    ];
    for (const [key, value, message] of cases) {
      const r = h.ncw(["registry", "set", key, value]);
      expect(r.code, `${key} ${value}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const unknown = h.ncw(["registry", "set", "system.colour", "1"]);
    expect(unknown.code).toBe(66);
    expect(unknown.stderr).toContain("system.colour is not in the registry");
    const bad = h.write(
      "bad.hfrr",
      `system(struct):\n${T}processes(struct):\n${T}${T}terminate_delay(time(ms)): 2 seconds\n`,
    );
    const im = h.ncw(["registry", "import", bad]);
    expect(im.code).toBe(65);
    expect(im.stderr).toContain(
      `${bad}: line 3, column 30: system.processes.terminate_delay: "2 seconds" is not a duration`,
    );
    expect(im.stderr).toContain("the registry is unchanged");
    expect(await stored(h)).toBe(before);
    expect(h.ncw(["registry", "get", "system.processes.terminate_delay"]).stdout).toBe("700ms\n");
  }, 120_000);

  it("keeps export and import to developer mode", () => {
    const h = newHome();
    expect(h.ncw(["registry", "set", "system.debugging.dev_mode", "false"]).code).toBe(0);
    const ex = h.ncw(["registry", "export"]);
    expect(ex.code).toBe(77);
    expect(ex.stderr).toContain("only in developer mode");
    expect(ex.stderr).toContain("ncw registry set system.debugging.dev_mode true");
    const k = h.ncw(["registry", "set", "kernel.signals.suspend_delay", "600ms"]);
    expect(k.code).toBe(77);
    expect(h.ncw(["registry", "set", "system.debugging.dev_mode", "true"]).code).toBe(0);
    expect(h.ncw(["registry", "export"]).code).toBe(0);
  }, 120_000);

  it("upgrades a home written in the first, flat format in place, keeping its values", async () => {
    const h = newHome();
    const v1 = JSON.stringify({
      format: "ncw-registry",
      version: 1,
      nodes: {
        "system.applications.sideloading": {
          type: "enum:(disabled,store-checking,unsecure)",
          value: "disabled",
        },
        "system.processes.terminate_delay": { type: "time(ms)", value: 700 },
        "system.processes.max_memory": { type: "MB", value: 512 },
      },
    });
    const fs = await openTree(homeLayout(h.home), { access: "write" });
    await fs.mkdir("/etc/sys", { recursive: true });
    await fs.writeFile("/etc/sys/registry", new TextEncoder().encode(v1));
    await fs.sync();
    await fs.close();
    expect(h.ncw(["registry", "get", "system.processes.terminate_delay"]).stdout).toBe("700ms\n");
    expect(h.ncw(["skyer", "sideloading"]).stdout).toBe("sideloading: disabled\n");
    expect(await stored(h)).toBe(v1); // reading changes nothing
    expect(h.ncw(["registry", "set", "system.crash_saves.collect_every", "2m"]).code).toBe(0);
    const tree = JSON.parse((await stored(h)) ?? "{}");
    expect(tree.version).toBe(2);
    const ex = h.ncw(["registry", "export"]).stdout;
    expect(ex).toBe(
      NCW_DEFAULT.replace("terminate_delay(time(ms)): 2000ms", "terminate_delay(time(ms)): 700ms")
        .replace("max_memory(MB): 2048MB", "max_memory(MB): 512MB")
        .replace(
          "sideloading(enum:(disabled,store-checking,unsecure)): unsecure",
          "sideloading(enum:(disabled,store-checking,unsecure)): disabled",
        )
        .replace("collect_every(tmin(s,1s)): 60s", "collect_every(tmin(s,1s)): 2m"),
    );
  }, 120_000);

  it("loses nothing when a write is killed at any point: the old value or the new one, never a broken file", async () => {
    const h = newHome();
    expect(h.ncw(["registry", "set", "system.processes.terminate_delay", "100ms"]).code).toBe(0);
    let previous = "100ms";
    // Kills spread over a write's life (start-up, the lock, the image, the commit) on this machine.
    for (const [i, ms] of [150, 300, 450, 550, 650, 750, 900, 1200].entries()) {
      const value = `${1000 + i}ms`;
      const child = spawn(
        process.execPath,
        [NCW, "registry", "set", "system.processes.terminate_delay", value],
        {
          env: h.envFor(),
          stdio: "ignore",
        },
      );
      const exited = new Promise((r) => child.on("exit", r));
      setTimeout(() => child.kill("SIGKILL"), ms);
      await exited;
      const r = h.ncw(["registry", "get", "system.processes.terminate_delay"]);
      expect(r.stderr).toBe("");
      expect([`${previous}\n`, `${value}\n`]).toContain(r.stdout);
      previous = r.stdout.trim();
    }
    // The next writer is not stuck behind the killed ones (their locks died with them).
    expect(h.ncw(["registry", "set", "system.processes.terminate_delay", "2s"]).code).toBe(0);
    expect(h.ncw(["registry", "get", "system.processes.terminate_delay"]).stdout).toBe("2s\n");
  }, 180_000);

  it("imports from stdin with -", () => {
    const h = newHome();
    const text = NCW_DEFAULT.replace(
      "collect_every(tmin(s,1s)): 60s",
      "collect_every(tmin(s,1s)): 5m 30s",
    );
    const r = ncw(["registry", "import", "-"], { env: h.envFor(), input: text });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(h.ncw(["registry", "get", "system.crash_saves.collect_every"]).stdout).toBe("5m 30s\n");
    const bad = ncw(["registry", "import", "-"], {
      env: h.envFor(),
      input: "users(map:(uint{4}):(enum:(MainAdmin, Admin, Standard, Guest))):\n\t-1: Admin\n",
    });
    expect(bad.status).toBe(65);
    expect(bad.stderr).toContain("-: line 2, column 2: users: out of range 0..4294967295");
  }, 60_000);

  it("has --help for each command", () => {
    const h = newHome();
    const r = h.ncw(["registry", "--help"]);
    expect(r.code).toBe(0);
    for (const c of ["get", "set", "rm", "export", "import", "reset"])
      expect(r.stdout).toContain(`ncw registry ${c}`);
    expect(h.ncw(["registry"]).code).toBe(2);
  });
});
