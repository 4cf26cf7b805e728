// Skyer's query API (services/skyer/query.ts, docs/skyer.md "Queries") on the in-memory tree: an
// installed application by AID for a user (theirs or a global one), its manifest, its program.

import { describe, expect, it } from "vitest";
import { MemoryFs } from "../fs/memory.js";
import type { PackageInfo, Scope } from "./model.js";
import { readInstalledManifest } from "./package.js";
import { SkyerQuery } from "./query.js";
import { Skyer } from "./skyer.js";

const enc = (s: string) => new TextEncoder().encode(s);
const noEvents = { postinstall: false, preupdate: false, postupdate: false, preuninstall: false };

function pkg(
  aid: string,
  version: string,
  o: { lib?: boolean; precomp?: string; commands?: string } = {},
): PackageInfo {
  const [did, slug] = aid.split("::") as [string, string];
  const manifest = `type = "${o.lib ? "library" : "application"}"
[infos]
name = "${slug}"
slug = "${slug}"
did = "${did}"
description = "test"
version = "${version}"
authors = [{ name = "Ada" }]
icon = "icon-%{}.png"
license = "MIT"
[content.program]
${o.precomp ? `precomp = "${o.precomp}"` : ""}
[content.program.source]
toolchain = "wat"
build = { entry = "src/main.wat" }
[dependencies.libraries]
${o.lib ? "" : "[sysfeatures]\ncrash_saves_support = false\n"}
${o.commands ?? ""}`;
  return {
    kind: "nap",
    isLibrary: o.lib ?? false,
    did,
    slug,
    aid,
    name: slug,
    version,
    libraries: {},
    events: noEvents,
    ...(o.precomp ? { precomp: o.precomp } : {}),
    files: new Map([
      ["manifest.toml", enc(manifest)],
      ["main.npp", enc(`program ${aid} ${version}`)],
    ]),
    dirs: [],
    symlinks: new Map(),
    bytes: enc(`package ${aid} ${version}`),
  };
}

const USER = (user: string): Scope => ({ kind: "user", user });
const GLOBAL: Scope = { kind: "global" };

async function tree() {
  const fs = new MemoryFs();
  const sk = await Skyer.open(fs, {
    readManifest: readInstalledManifest,
    precompile: async (p) => ({ program: p.path, artifact: "", cached: false, ms: 0, steps: [] }),
  });
  const install = (p: PackageInfo, scope: Scope) =>
    sk.install(p, { scope, sideloading: "unsecure", user: "ada" });
  return { fs, install };
}

describe("SkyerQuery", () => {
  it("lists the applications a user sees (theirs and the global ones) and their commands", async () => {
    const { fs, install } = await tree();
    await install(pkg("dev::notes", "1.0.0", { commands: '[commands.add]\nhelp = "Add"' }), GLOBAL);
    await install(pkg("dev::todo", "2.0.0"), USER("ada"));
    await install(pkg("dev::todo", "1.0.0"), USER("bob"));
    await install(pkg("dev::lib", "1.0.0", { lib: true }), GLOBAL);
    const q = new SkyerQuery(fs);
    const seen = async (user: string) =>
      (await q.installedApps(user)).map((a) => `${a.aid} ${a.version} ${a.scope}`);
    expect(await seen("ada")).toEqual(["dev::notes 1.0.0 global", "dev::todo 2.0.0 user"]);
    expect(await seen("bob")).toEqual(["dev::notes 1.0.0 global", "dev::todo 1.0.0 user"]);
    expect(await seen("cyd")).toEqual(["dev::notes 1.0.0 global"]);
    const [notes, todo] = await q.installedApps("ada");
    expect(await q.commands(notes!)).toEqual({ add: { help: "Add", return: "void", args: [] } });
    expect(await q.commands(todo!)).toEqual({});
    await expect(q.installedApps("Not A User")).rejects.toThrow();
  });

  it("finds an application by AID with its ANID, version and program, as its user sees it", async () => {
    const { fs, install } = await tree();
    const g = await install(pkg("dev::notes", "1.0.0", { precomp: "main.npp" }), GLOBAL);
    const mine = await install(pkg("dev::todo", "2.0.0", { precomp: "main.npp" }), USER("ada"));
    const q = new SkyerQuery(fs);

    const todo = await q.installedApp("dev::todo", "ada");
    expect(todo).toMatchObject({
      ok: true,
      app: { aid: "dev::todo", anid: mine.anid, scope: "user", user: "ada", version: "2.0.0" },
    });
    // A global install is everyone's.
    const notes = await q.installedApp("dev::notes", "bob");
    expect(notes).toMatchObject({
      ok: true,
      app: { anid: g.anid, scope: "global", version: "1.0.0" },
    });

    if (!todo.ok || !notes.ok) throw new Error("unreachable");
    expect((await q.manifest(todo.app)).version).toBe("2.0.0");
    const prog = await q.program(notes.app);
    expect(prog.ok && new TextDecoder().decode(prog.bytes)).toBe("program dev::notes 1.0.0");
  });

  it("tells a missing application from a library, and an app without a program from a lost one", async () => {
    const { fs, install } = await tree();
    await install(pkg("dev::strs", "1.0.0", { lib: true }), GLOBAL);
    await install(pkg("dev::plain", "1.0.0"), USER("ada"));
    await install(pkg("dev::lost", "1.0.0", { precomp: "main.npp" }), USER("ada"));
    const q = new SkyerQuery(fs);

    expect(await q.installedApp("dev::strs", "ada")).toEqual({ ok: false, why: "library" });
    expect(await q.installedApp("dev::none", "ada")).toEqual({ ok: false, why: "not-installed" });
    // Another user's install is not theirs to see.
    expect(await q.installedApp("dev::plain", "bob")).toEqual({ ok: false, why: "not-installed" });

    const plain = await q.installedApp("dev::plain", "ada");
    if (!plain.ok) throw new Error("unreachable");
    expect(await q.program(plain.app)).toEqual({ ok: false, why: "no-precomp" });

    const lost = await q.installedApp("dev::lost", "ada");
    if (!lost.ok) throw new Error("unreachable");
    await fs.rm(`${lost.app.dir}/content/main.npp`);
    expect(await q.program(lost.app)).toEqual({
      ok: false,
      why: "missing",
      file: `${lost.app.dir}/content/main.npp`,
    });
  });

  it("checks the user's name: it names a folder", async () => {
    const { fs } = await tree();
    await expect(new SkyerQuery(fs).installedApp("dev::notes", "../etc")).rejects.toMatchObject({
      code: expect.stringMatching(/USER/),
    });
  });
});
