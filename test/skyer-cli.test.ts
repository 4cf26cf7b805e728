// Black-box tests of `ncw skyer`: the whole life of an app (pack, install, list, info, update,
// uninstall), scopes, sideloading modes, libraries, downgrades, the home lock. Each test has its
// own temporary home.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NCW_JS, ncw as run } from "./helpers/ncw.js";
import {
  makePackage,
  readTreeText,
  tempDir,
  treeHas,
  treeSnapshot,
  writeTreeText,
} from "./skyer-fixtures.js";

const work = tempDir("ncw-skyer-cli-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

let homeN = 0;
function newHome(): string {
  return path.join(work, `home-${++homeN}`);
}
function ncw(home: string, args: string[], env: Record<string, string> = {}) {
  return run(["--home", home, ...args], { env: { NCW_USER: "", ...env } });
}
function json<T>(r: { stdout: string; stderr: string; status: number | null }): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
}
function errorOf(r: { stdout: string; stderr: string; status: number | null }): {
  code: string;
  message: string;
  hint?: string;
} {
  return json<{ error: { code: string; message: string; hint?: string } }>(r).error;
}

let notes1: string;
let notes2: string;
let notes3: string;

beforeAll(async () => {
  const ev = { postinstall: true, preupdate: true, postupdate: true, preuninstall: true };
  notes1 = await makePackage(work, {
    aid: "dev::notes",
    version: "1.0.0",
    events: ev,
    files: { "old.txt": "old" },
  });
  notes2 = await makePackage(work, {
    aid: "dev::notes",
    version: "1.1.0",
    events: ev,
    files: { "assets/new.txt": "new" },
  });
  notes3 = await makePackage(work, { aid: "dev::notes", version: "1.2.0", events: ev });
});

describe("ncw skyer", () => {
  it("has help for every subcommand", () => {
    const r = run(["skyer", "--help"]);
    expect(r.status).toBe(0);
    for (const c of [
      "install",
      "uninstall",
      "update",
      "list",
      "info",
      "sideloading",
      "make-update",
    ]) {
      expect(r.stdout).toContain(`ncw skyer ${c}`);
      expect(run(["skyer", c, "--help"]).status).toBe(0);
    }
  });

  it("installs, lists, shows, updates with a .nau and uninstalls an app", async () => {
    const home = newHome();
    const inst = ncw(home, ["skyer", "install", notes1, "--json"]);
    expect(inst.status, inst.stderr).toBe(0);
    expect(inst.stderr).toContain("unsecure");
    const rep = json<{ action: string; anid: number; dir: string; events: { note: string }[] }>(
      inst,
    );
    expect(rep.action).toBe("installed");
    expect(rep.anid).toBeGreaterThan(0);
    expect(rep.dir).toBe("/home/user/apps/dev.notes");
    expect(rep.events.map((e) => e.note)).toEqual([
      expect.stringMatching(/^would start dev::notes with reason 0x1/),
    ]);
    const dir = "/home/user/apps/dev.notes";
    for (const sub of ["content", "data", "packages", "crashsaves", "sandboxes"]) {
      expect(await treeHas(home, `${dir}/${sub}`)).toBe(true);
    }
    expect(await readTreeText(home, `${dir}/content/old.txt`)).toBe("old");
    expect(await treeHas(home, `${dir}/packages/dev.notes-1.0.0.nap`)).toBe(true);
    // content/ (copied out of the tree with `ncw fs get -r` when it is an image) verifies with
    // md5sum -c, as a package does.
    const hostContent = path.join(work, `content-${homeN}`);
    if (existsSync(path.join(home, "nightos.img"))) {
      const got = ncw(home, ["fs", "get", "-r", `${dir}/content`, hostContent]);
      expect(got.status, got.stderr).toBe(0);
    }
    const md5 = spawnSync("md5sum", ["-c", "hash.md5"], {
      cwd: existsSync(hostContent) ? hostContent : path.join(home, "tree", dir, "content"),
      encoding: "utf8",
    });
    if (md5.error === undefined) expect(md5.status, md5.stdout).toBe(0);

    const list = json<{ aid: string; versions: string[]; anid: number | null }[]>(
      ncw(home, ["skyer", "list", "--json"]),
    );
    expect(list.map((i) => [i.aid, i.versions])).toEqual([
      ["sys::lib", ["1.0.0"]],
      ["dev::notes", ["1.0.0"]],
    ]);
    const human = ncw(home, ["skyer", "list"]);
    expect(human.stdout).toMatch(/dev::notes\s+1\.0\.0\s+app\s+user user\s+0x[0-9a-f]{8}/);

    await writeTreeText(home, `${dir}/data/db`, "user data");
    const nau = path.join(work, "notes-1.0.0-to-1.1.0.nau");
    const mk = ncw(home, ["skyer", "make-update", notes1, notes2, "-o", nau]);
    expect(mk.status, mk.stderr).toBe(0);
    const up = ncw(home, ["skyer", "update", "dev::notes", nau, "--json"]);
    expect(up.status, up.stderr).toBe(0);
    const upRep = json<{
      version: string;
      anid: number;
      events: { event: string; reason: number }[];
    }>(up);
    expect(upRep.version).toBe("1.1.0");
    expect(upRep.anid).toBe(rep.anid);
    expect(upRep.events.map((e) => [e.event, e.reason])).toEqual([
      ["preupdate", 2],
      ["postupdate", 3],
    ]);
    expect(await readTreeText(home, `${dir}/data/db`)).toBe("user data");
    expect(await treeHas(home, `${dir}/content/old.txt`)).toBe(false);
    expect(await readTreeText(home, `${dir}/content/assets/new.txt`)).toBe("new");
    expect(await treeHas(home, `${dir}/packages/dev.notes-1.0.0-to-1.1.0.nau`)).toBe(true);

    // The same update again names the version problem.
    const again = ncw(home, ["skyer", "update", "dev::notes", nau, "--json"]);
    expect(again.status).toBe(80);
    expect(errorOf(again).code).toBe("NAU_WRONG_VERSION");

    const info = json<{ anid: number; versions: { version: string; packages: string[] }[] }>(
      ncw(home, ["skyer", "info", "dev::notes", "--json"]),
    );
    expect(info.anid).toBe(rep.anid);
    expect(info.versions[0]).toMatchObject({
      version: "1.1.0",
      packages: ["dev.notes-1.0.0.nap", "dev.notes-1.0.0-to-1.1.0.nau"],
    });
    const infoHuman = ncw(home, ["skyer", "info", "dev::notes"]);
    expect(infoHuman.stdout).toContain(
      "events:     postinstall, preupdate, postupdate, preuninstall",
    );

    const un = ncw(home, ["skyer", "uninstall", "dev::notes", "--json"]);
    expect(un.status, un.stderr).toBe(0);
    expect(json<{ events: { event: string; reason: number }[] }>(un).events).toMatchObject([
      { event: "preuninstall", reason: 4 },
    ]);
    expect(await treeHas(home, dir)).toBe(false);
    const gone = ncw(home, ["skyer", "info", "dev::notes"]);
    expect(gone.status).toBe(66);
    expect(gone.stderr).toContain("dev::notes is not installed");
    expect(gone.stderr).toContain("ncw skyer list");
    expect(gone.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it("reinstalling an AID updates it in place (same ANID); older versions need --force", () => {
    const home = newHome();
    const a = json<{ anid: number }>(ncw(home, ["skyer", "install", notes2, "--json"]));
    const b = ncw(home, ["skyer", "install", notes3, "--json"]);
    expect(json<{ action: string; anid: number; previousVersion: string }>(b)).toMatchObject({
      action: "updated",
      anid: a.anid,
      previousVersion: "1.1.0",
    });
    const down = ncw(home, ["skyer", "install", notes1, "--json"]);
    expect(down.status).toBe(80);
    expect(errorOf(down)).toMatchObject({ code: "SKYER_DOWNGRADE" });
    expect(errorOf(down).hint).toContain("--force");
    const forced = ncw(home, ["skyer", "install", notes1, "--force", "--json"]);
    expect(forced.status).toBe(0);
    const list = json<{ aid: string }[]>(ncw(home, ["skyer", "list", "--json"]));
    expect(list.filter((i) => i.aid === "dev::notes")).toHaveLength(1);
  });

  it("installs globally with the user's appdata, and per user", async () => {
    const home = newHome();
    expect(ncw(home, ["skyer", "install", notes1, "--global"]).status).toBe(0);
    expect(await treeHas(home, "/apps/dev.notes/content/main.npp")).toBe(true);
    expect(await treeHas(home, "/home/user/appdata/dev.notes/data")).toBe(true);
    const clash = ncw(home, ["skyer", "install", notes1, "--user", "bob", "--json"]);
    expect(errorOf(clash).code).toBe("SKYER_AID_CONFLICT");
    expect(ncw(home, ["skyer", "uninstall", "dev::notes", "--global"]).status).toBe(0);
    expect(await treeHas(home, "/apps/dev.notes")).toBe(false);
    expect(await treeHas(home, "/home/user/appdata/dev.notes")).toBe(true);
    // Two users may each have the same AID.
    expect(ncw(home, ["skyer", "install", notes1, "--user", "alice"]).status).toBe(0);
    expect(ncw(home, ["skyer", "install", notes1], { NCW_USER: "bob" }).status).toBe(0);
    expect(await treeHas(home, "/home/alice/apps/dev.notes")).toBe(true);
    expect(await treeHas(home, "/home/bob/apps/dev.notes")).toBe(true);
    const all = json<{ user: string; anid: number }[]>(
      ncw(home, ["skyer", "list", "--all", "--json"]),
    );
    const users = all.filter((i) => i.user !== null);
    expect(users.map((i) => i.user).sort()).toEqual(["alice", "bob"]);
    expect(users[0]!.anid).not.toBe(users[1]!.anid);
    const bad = ncw(home, ["skyer", "list", "--user", "Bad Name"]);
    expect(bad.status).toBe(2);
  });

  it("applies the sideloading mode from the registry or the flag", async () => {
    const home = newHome();
    expect(
      json<{ mode: string; default: boolean }>(ncw(home, ["skyer", "sideloading", "--json"])),
    ).toEqual({
      mode: "unsecure",
      default: true,
    });
    expect(ncw(home, ["skyer", "sideloading", "disabled"]).status).toBe(0);
    const reg = JSON.parse((await readTreeText(home, "/etc/sys/registry")) ?? "{}") as {
      root: { system: { value: { applications: { value: { sideloading: { value: string } } } } } };
    };
    expect(reg.root.system.value.applications.value.sideloading.value).toBe("disabled");
    const before = await treeSnapshot(home);
    const off = ncw(home, ["skyer", "install", notes1]);
    expect(off.status).toBe(77);
    expect(off.stderr).toContain("sideloading is disabled");
    expect(off.stderr).toContain("--sideloading unsecure");
    const sc = ncw(home, ["skyer", "install", notes1, "--sideloading", "store-checking", "--json"]);
    expect(sc.status).toBe(77);
    expect(errorOf(sc).code).toBe("SKYER_SIDELOADING_OFFLINE");
    expect(errorOf(sc).message).toContain("no Store is reachable from NCW");
    expect(await treeSnapshot(home)).toEqual(before);
    const ok = ncw(home, ["skyer", "install", notes1, "--sideloading", "unsecure"]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain("warning: sideloading in unsecure mode");
    expect(ok.stderr).toContain("shown once for this home");
    expect(ncw(home, ["skyer", "sideloading", "wide-open"]).status).toBe(2);
    // Once per home: the next install says nothing, `skyer info` still tells.
    expect(ncw(home, ["skyer", "sideloading", "unsecure"]).status).toBe(0);
    const again = ncw(home, ["skyer", "install", notes2]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("sideloading");
    const info = ncw(home, ["skyer", "info", "dev::notes"]);
    expect(info.stdout).toMatch(/source: sideloaded — its AID was not checked against the Store/);
    // Another home warns again; --json still lists the warning in every report.
    const other = ncw(newHome(), ["skyer", "install", notes1, "--json"]);
    expect(other.stderr).toContain("warning: sideloading in unsecure mode");
    expect(json<{ warnings: string[] }>(other).warnings[0]).toMatch(/^sideloading in unsecure/);
    const twice = ncw(home, ["skyer", "install", notes3, "--json"]);
    expect(twice.stderr).toBe("");
    expect(json<{ warnings: string[] }>(twice).warnings).toHaveLength(1);
  });

  it("refuses volatile packages", async () => {
    const home = newHome();
    const nva = await makePackage(work, { aid: "dev::vol", version: "1.0.0" }, true);
    const r = ncw(home, ["skyer", "install", nva, "--json"]);
    expect(r.status).toBe(2);
    expect(errorOf(r).code).toBe("SKYER_VOLATILE");
    expect(errorOf(r).hint).toContain("ncw run");
  });

  it("installs library versions side by side, resolves by semver and protects used ones", async () => {
    const home = newHome();
    for (const v of ["1.0.0", "1.3.0", "2.0.0"]) {
      const lib = await makePackage(work, { aid: "acme::maths", version: v, lib: true });
      const r = ncw(home, ["skyer", "install", lib, "--global"]);
      expect(r.status, r.stderr).toBe(0);
    }
    expect(await treeHas(home, "/apps/acme.maths/1.3.0/content/main.npp")).toBe(true);
    const calc = await makePackage(work, {
      aid: "dev::calc",
      version: "1.0.0",
      libs: { "acme::maths": "^1.1.0", "sys::lib": "^1.0.0" },
    });
    const ok = ncw(home, ["skyer", "install", calc, "--json"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(json<{ resolved: Record<string, string> }>(ok).resolved).toEqual({
      "acme::maths": "1.3.0",
      "sys::lib": "1.0.0",
    });
    const needy = await makePackage(work, {
      aid: "dev::needy",
      version: "1.0.0",
      libs: { "acme::maths": "^3.0.0", "acme::plot": "~1.2.0" },
    });
    const miss = ncw(home, ["skyer", "install", needy]);
    expect(miss.status).toBe(66);
    expect(miss.stderr).toContain("acme::maths ^3.0.0 (installed: 1.0.0, 1.3.0, 2.0.0)");
    expect(miss.stderr).toContain("acme::plot ~1.2.0 (not installed)");
    const inUse = ncw(home, [
      "skyer",
      "uninstall",
      "acme::maths",
      "--global",
      "--lib-version",
      "1.3.0",
    ]);
    expect(inUse.status).toBe(80);
    expect(inUse.stderr).toContain("dev::calc 1.0.0 (user user) uses acme::maths 1.3.0");
    expect(
      ncw(home, ["skyer", "uninstall", "acme::maths", "--global", "--lib-version", "2.0.0"]).status,
    ).toBe(0);
    expect(await treeHas(home, "/apps/acme.maths/2.0.0")).toBe(false);
    expect(ncw(home, ["skyer", "uninstall", "dev::calc"]).status).toBe(0);
    expect(ncw(home, ["skyer", "uninstall", "acme::maths", "--global"]).status).toBe(0);
    expect(await treeHas(home, "/apps/acme.maths")).toBe(false);
    const sys = ncw(home, ["skyer", "uninstall", "sys::lib", "--json"]);
    expect(sys.status).toBe(77);
    expect(errorOf(sys).code).toBe("SKYER_BUILTIN");
  });

  it("refuses a second writer with TEMP_FAIL and takes a dead process's lock over", () => {
    const home = newHome();
    expect(ncw(home, ["skyer", "list"]).status).toBe(0);
    const lock = path.join(home, "run", "tree.lock");
    // A live holder: this test process.
    writeFileSync(
      lock,
      JSON.stringify({
        pid: process.pid,
        host: os.hostname(),
        command: "test holder",
        since: "now",
      }),
    );
    const busy = ncw(home, ["skyer", "install", notes1]);
    expect(busy.status).toBe(75);
    expect(busy.stderr).toContain("in use by another ncw command");
    expect(busy.stderr).toContain("test holder");
    // Readers still see the last committed state.
    expect(ncw(home, ["skyer", "list"]).status).toBe(0);
    // A dead holder: a process that has exited.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    writeFileSync(
      lock,
      JSON.stringify({
        pid: Number(dead.stdout),
        host: os.hostname(),
        command: "dead",
        since: "then",
      }),
    );
    const r = ncw(home, ["skyer", "install", notes1]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });

  it("--wait says what it waits for and goes on when the holder is done", async () => {
    const home = newHome();
    expect(ncw(home, ["skyer", "list"]).status).toBe(0);
    const lock = path.join(home, "run", "tree.lock");
    const holder = { pid: process.pid, host: os.hostname(), command: "test holder", since: "now" };
    writeFileSync(lock, JSON.stringify(holder));
    const busy = ncw(home, ["skyer", "install", notes1]);
    expect(busy.status).toBe(75);
    expect(busy.stderr).toContain("run this command with --wait");

    const child = spawn(
      process.execPath,
      [NCW_JS, "--home", home, "skyer", "install", notes1, "--wait"],
      {
        env: { ...process.env, NCW_USER: "" },
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    // It says once what it waits for, and waits.
    for (let i = 0; i < 200 && !stderr.includes("waiting for"); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(
      /ncw: waiting for the NCW home, which another ncw command holds \(pid \d+: test holder, since now\); Ctrl-C to give up/,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBe(null);
    expect(stderr.match(/waiting for/g)).toHaveLength(1);
    // The holder is done: the waiting install takes the home and finishes.
    rmSync(lock);
    expect(await exited, stderr).toBe(0);
    expect(
      json<{ aid: string }[]>(ncw(home, ["skyer", "list", "--json"])).map((i) => i.aid),
    ).toContain("dev::notes");
  });

  it("--wait waits for the NightOS image's own lock too, past the usual few seconds", async () => {
    const home = newHome();
    expect(ncw(home, ["skyer", "list"]).status).toBe(0);
    const image = path.join(home, "nightos.img");
    expect(existsSync(image)).toBe(true);
    // Another live process (this test) holds the image open for writing.
    writeFileSync(`${image}.lock`, `${process.pid}\n`);
    const child = spawn(
      process.execPath,
      [NCW_JS, "--home", home, "skyer", "sideloading", "disabled", "--wait"],
      { env: { ...process.env, NCW_USER: "" } },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    for (let i = 0; i < 300 && !stderr.includes("waiting for"); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(
      new RegExp(
        `ncw: waiting for the NightOS image: .* is being changed by process ${process.pid}`,
      ),
    );
    expect(child.exitCode).toBe(null);
    rmSync(`${image}.lock`);
    expect(await exited, stderr).toBe(0);
    expect(json<{ mode: string }>(ncw(home, ["skyer", "sideloading", "--json"])).mode).toBe(
      "disabled",
    );
  }, 20_000);
});
