// Skyer's core on the in-memory tree: layout, ANIDs, update path, libraries, events, rollback.

import { describe, expect, it } from "vitest";
import type { FsLayer } from "../fs/layer.js";
import { MemoryFs } from "../fs/memory.js";
import { readDb } from "./db.js";
import { RecordingEventRunner } from "./events.js";
import { EVENT_NAMES, type EventFlags, type PackageInfo, type Scope } from "./model.js";
import { diffPackages } from "./nau.js";
import { readInstalledManifest as readManifest } from "./package.js";
import { linkStaysInside, Skyer } from "./skyer.js";
import { recover } from "./txn.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const USER: Scope = { kind: "user", user: "user" };
const GLOBAL: Scope = { kind: "global" };
const noEvents: EventFlags = {
  postinstall: false,
  preupdate: false,
  postupdate: false,
  preuninstall: false,
};
const allEvents: EventFlags = {
  postinstall: true,
  preupdate: true,
  postupdate: true,
  preuninstall: true,
};

function manifestText(
  aid: string,
  version: string,
  libs: Record<string, string>,
  lib: boolean,
  events: EventFlags,
): string {
  const [did, slug] = aid.split("::");
  const deps = Object.entries(libs)
    .map(([a, r]) => `"${a}" = "${r}"`)
    .join("\n");
  const app = lib
    ? ""
    : `[sysfeatures]\ncrash_saves_support = false\n[events]\n${Object.entries(events)
        .map(([k, v]) => `${k} = ${v}`)
        .join("\n")}\n`;
  return `type = "${lib ? "library" : "application"}"
[infos]
name = "${slug}"
slug = "${slug}"
did = "${did}"
description = "test"
version = "${version}"
authors = [{ name = "Ada" }]
icon = "icon-%{}.png"
license = "MIT"
[content.program.source]
toolchain = "wat"
build = { entry = "src/main.wat" }
[dependencies.libraries]
${deps}
${app}`;
}

function pkg(
  aid: string,
  version: string,
  o: {
    libs?: Record<string, string>;
    lib?: boolean;
    events?: EventFlags;
    extra?: Record<string, string>;
  } = {},
): PackageInfo {
  const [did, slug] = aid.split("::") as [string, string];
  const files = new Map<string, Uint8Array>([
    [
      "manifest.toml",
      enc(manifestText(aid, version, o.libs ?? {}, o.lib ?? false, o.events ?? noEvents)),
    ],
    ["main.npp", enc(`program ${version}`)],
  ]);
  for (const [k, v] of Object.entries(o.extra ?? {})) files.set(k, enc(v));
  return {
    kind: "nap",
    isLibrary: o.lib ?? false,
    did,
    slug,
    aid,
    name: slug,
    version,
    libraries: o.libs ?? {},
    events: o.events ?? noEvents,
    files,
    dirs: [],
    symlinks: new Map(),
    bytes: enc(`package bytes ${aid} ${version}`),
  };
}

const opts = { sideloading: "unsecure" as const, user: "user" };

async function open(fs: FsLayer, events = new RecordingEventRunner()) {
  return Skyer.open(fs, { events, readManifest });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "no error";
}

describe("Skyer", () => {
  it("installs a user app in the spec's tree with a random non-zero ANID", async () => {
    const fs = new MemoryFs();
    const sk = await open(fs);
    const r = await sk.install(pkg("dev::notes", "1.0.0"), { ...opts, scope: USER });
    expect(r.action).toBe("installed");
    expect(r.anid).toBeGreaterThan(0);
    expect(r.anid).toBeLessThanOrEqual(0xffffffff);
    expect((await fs.readdir("/home/user/apps/dev.notes")).map((e) => e.name)).toEqual([
      "content",
      "crashsaves",
      "data",
      "packages",
      "sandboxes",
    ]);
    expect(dec(await fs.readFile("/home/user/apps/dev.notes/content/main.npp"))).toBe(
      "program 1.0.0",
    );
    expect(await fs.readdir("/home/user/apps/dev.notes/packages")).toEqual([
      { name: "dev.notes-1.0.0.nap", kind: "file" },
    ]);
    const db = await readDb(fs);
    expect(db.items).toHaveLength(1);
    expect(db.items[0]).toMatchObject({
      aid: "dev::notes",
      anid: r.anid,
      scope: "user",
      user: "user",
    });
    expect(await fs.stat("/etc/sys/skyer/journal.json")).toBeNull();
    expect(await fs.stat("/etc/sys/skyer/staging")).toBeNull();
  });

  it("gives a global app its folder in /apps and the user's appdata, kept on uninstall", async () => {
    const fs = new MemoryFs();
    const sk = await open(fs);
    await sk.install(pkg("dev::notes", "1.0.0"), { ...opts, scope: GLOBAL });
    expect((await fs.stat("/apps/dev.notes/content/manifest.toml"))?.kind).toBe("file");
    expect((await fs.readdir("/home/user/appdata/dev.notes")).map((e) => e.name)).toEqual([
      "crashsaves",
      "data",
      "sandboxes",
    ]);
    expect(await codeOf(sk.install(pkg("dev::notes", "1.0.0"), { ...opts, scope: USER }))).toBe(
      "SKYER_AID_CONFLICT",
    );
    await sk.uninstall("dev::notes", USER);
    expect(await fs.stat("/apps/dev.notes")).toBeNull();
    expect((await fs.stat("/home/user/appdata/dev.notes"))?.kind).toBe("dir");
  });

  it("treats reinstalling an AID as an update: same ANID, data kept, older refused unless forced", async () => {
    const fs = new MemoryFs();
    const events = new RecordingEventRunner();
    const sk = await open(fs, events);
    const a = await sk.install(pkg("dev::notes", "1.0.0", { events: allEvents }), {
      ...opts,
      scope: USER,
    });
    await fs.writeFile("/home/user/apps/dev.notes/data/db", enc("user data"));
    const b = await sk.install(pkg("dev::notes", "1.2.0", { events: allEvents }), {
      ...opts,
      scope: USER,
    });
    expect(b).toMatchObject({ action: "updated", anid: a.anid, previousVersion: "1.0.0" });
    expect(dec(await fs.readFile("/home/user/apps/dev.notes/data/db"))).toBe("user data");
    expect(dec(await fs.readFile("/home/user/apps/dev.notes/content/main.npp"))).toBe(
      "program 1.2.0",
    );
    expect((await fs.readdir("/home/user/apps/dev.notes/packages")).map((e) => e.name)).toEqual([
      "dev.notes-1.0.0.nap",
      "dev.notes-1.2.0.nap",
    ]);
    expect(await codeOf(sk.install(pkg("dev::notes", "1.1.0"), { ...opts, scope: USER }))).toBe(
      "SKYER_DOWNGRADE",
    );
    const c = await sk.install(pkg("dev::notes", "1.1.0", { events: allEvents }), {
      ...opts,
      scope: USER,
      force: true,
    });
    expect(c.anid).toBe(a.anid);
    expect((await readDb(fs)).items).toHaveLength(1);
    // Events in order, with the spec's startup reasons.
    expect(events.log.map((e) => [e.event, e.reason, e.version])).toEqual([
      ["postinstall", 0x1, "1.0.0"],
      ["preupdate", 0x2, "1.0.0"],
      ["postupdate", 0x3, "1.2.0"],
      ["preupdate", 0x2, "1.2.0"],
      ["postupdate", 0x3, "1.1.0"],
    ]);
    await sk.uninstall("dev::notes", USER);
    expect(events.log.at(-1)).toMatchObject({ event: "preuninstall", reason: 0x4 });
    expect(EVENT_NAMES).toHaveLength(4);
  });

  it("installs library versions side by side and resolves the highest matching one", async () => {
    const fs = new MemoryFs();
    const sk = await open(fs);
    for (const v of ["1.0.0", "1.4.2", "2.0.0"]) {
      await sk.install(pkg("dev::maths", v, { lib: true }), { ...opts, scope: GLOBAL });
    }
    expect((await fs.readdir("/apps/dev.maths")).map((e) => e.name)).toEqual([
      "1.0.0",
      "1.4.2",
      "2.0.0",
    ]);
    expect((await fs.stat("/apps/dev.maths/1.4.2/content/main.npp"))?.kind).toBe("file");
    const libItem = (await readDb(fs)).items.find((i) => i.aid === "dev::maths")!;
    expect(libItem.versions.map((v) => v.version)).toEqual(["1.0.0", "1.4.2", "2.0.0"]);
    const r = await sk.install(
      pkg("dev::calc", "1.0.0", { libs: { "dev::maths": "^1.0.0", "sys::lib": "^1.0.0" } }),
      {
        ...opts,
        scope: USER,
      },
    );
    expect(r.resolved).toEqual({ "dev::maths": "1.4.2", "sys::lib": "1.0.0" });
    const err = await sk
      .install(
        pkg("dev::calc2", "1.0.0", {
          libs: { "dev::maths": "^3.0.0", "dev::plot": "~1.2", "sys::lib": "^2" },
        }),
        {
          ...opts,
          scope: USER,
        },
      )
      .catch((e: Error & { code: string }) => e);
    expect((err as { code: string }).code).toBe("SKYER_MISSING_LIBRARIES");
    expect((err as Error).message).toContain("dev::maths ^3.0.0 (installed: 1.0.0, 1.4.2, 2.0.0)");
    expect((err as Error).message).toContain("dev::plot ~1.2 (not installed)");
    expect((err as Error).message).toContain("sys::lib ^2 (installed: 1.0.0)");
    // The version in use cannot go; the others can.
    const inUse = await sk.uninstall("dev::maths", USER, "1.4.2").catch((e: Error) => e);
    expect((inUse as unknown as { code: string }).code).toBe("SKYER_LIBRARY_IN_USE");
    expect((inUse as Error).message).toContain("dev::calc 1.0.0 (user user) uses dev::maths 1.4.2");
    await sk.uninstall("dev::maths", USER, "2.0.0");
    expect((await fs.readdir("/apps/dev.maths")).map((e) => e.name)).toEqual(["1.0.0", "1.4.2"]);
    expect(await codeOf(sk.uninstall("dev::maths", USER))).toBe("SKYER_LIBRARY_IN_USE");
    await sk.uninstall("dev::calc", USER);
    await sk.uninstall("dev::maths", USER);
    expect(await fs.stat("/apps/dev.maths")).toBeNull();
    expect(await codeOf(sk.uninstall("sys::lib", USER))).toBe("SKYER_BUILTIN");
  });

  it("enforces sideloading modes and refuses volatile packages and reserved DIDs", async () => {
    const sk = await open(new MemoryFs());
    const p = pkg("dev::notes", "1.0.0");
    expect(await codeOf(sk.install(p, { ...opts, scope: USER, sideloading: "disabled" }))).toBe(
      "SKYER_SIDELOADING_DISABLED",
    );
    expect(
      await codeOf(sk.install(p, { ...opts, scope: USER, sideloading: "store-checking" })),
    ).toBe("SKYER_SIDELOADING_OFFLINE");
    expect(await codeOf(sk.install({ ...p, kind: "nva" }, { ...opts, scope: USER }))).toBe(
      "SKYER_VOLATILE",
    );
    expect(await codeOf(sk.install(pkg("sys::fake", "1.0.0"), { ...opts, scope: USER }))).toBe(
      "SKYER_RESERVED_DID",
    );
    const r = await sk.install(p, { ...opts, scope: USER });
    expect(r.warnings[0]).toMatch(/unsecure/);
  });

  it("applies a .nau only to the version it names, keeping data/", async () => {
    const fs = new MemoryFs();
    const sk = await open(fs);
    const v1 = pkg("dev::notes", "1.0.0", { extra: { "old.txt": "old" } });
    const v2 = pkg("dev::notes", "1.1.0", { extra: { "new.txt": "new" } });
    await sk.install(v1, { ...opts, scope: USER });
    await fs.writeFile("/home/user/apps/dev.notes/data/db", enc("kept"));
    const nau = diffPackages("dev::notes", v1, v2);
    expect(nau.metadata.remove).toEqual(["old.txt"]);
    const r = await sk.update("dev::notes", nau, enc("nau bytes"), {
      scope: USER,
      sideloading: "unsecure",
    });
    expect(r).toMatchObject({ action: "updated", version: "1.1.0", previousVersion: "1.0.0" });
    const dir = "/home/user/apps/dev.notes";
    expect(dec(await fs.readFile(`${dir}/content/main.npp`))).toBe("program 1.1.0");
    expect(await fs.stat(`${dir}/content/old.txt`)).toBeNull();
    expect(dec(await fs.readFile(`${dir}/data/db`))).toBe("kept");
    expect(dec(await fs.readFile(`${dir}/packages/dev.notes-1.0.0-to-1.1.0.nau`))).toBe(
      "nau bytes",
    );
    expect(
      await codeOf(
        sk.update("dev::notes", nau, enc("x"), { scope: USER, sideloading: "unsecure" }),
      ),
    ).toBe("NAU_WRONG_VERSION");
    expect(
      await codeOf(
        sk.update("dev::other", nau, enc("x"), { scope: USER, sideloading: "unsecure" }),
      ),
    ).toBe("SKYER_NOT_INSTALLED");
  });

  it("rolls back a commit that fails half-way, leaving the previous install intact", async () => {
    const mem = new MemoryFs();
    const sk0 = await open(mem);
    await sk0.install(pkg("dev::notes", "1.0.0"), { ...opts, scope: USER });
    // A tree whose second rename of the next commit fails (a full disk, an I/O error).
    let renames = 0;
    let armed = false;
    const faulty: FsLayer = Object.assign(
      Object.create(Object.getPrototypeOf(mem)) as FsLayer,
      mem,
      {
        rename: async (a: string, b: string, o?: { replace?: boolean }) => {
          if (armed && ++renames === 3) throw new Error("injected I/O error");
          return mem.rename(a, b, o);
        },
      },
    );
    const sk = await open(faulty);
    armed = true;
    await expect(sk.install(pkg("dev::notes", "2.0.0"), { ...opts, scope: USER })).rejects.toThrow(
      /injected/,
    );
    armed = false;
    expect(await recover(mem)).toBeNull();
    expect(dec(await mem.readFile("/home/user/apps/dev.notes/content/main.npp"))).toBe(
      "program 1.0.0",
    );
    expect((await readDb(mem)).items[0]!.versions[0]!.version).toBe("1.0.0");
    expect(await mem.stat("/etc/sys/skyer/staging")).toBeNull();
  });

  it("never writes through a symlink or creates one that leaves content/", async () => {
    expect(linkStaysInside("a/b", "c")).toBe(true);
    expect(linkStaysInside("a/b", "../c")).toBe(true);
    expect(linkStaysInside("a/b", "../../c")).toBe(false);
    expect(linkStaysInside("b", "/apps/x")).toBe(false);
    const fs = new MemoryFs();
    const sk = await open(fs);
    const v1 = pkg("dev::notes", "1.0.0");
    v1.symlinks.set("assets", "real");
    v1.dirs.push("real");
    await sk.install(v1, { ...opts, scope: USER });
    const before = await readDb(fs);
    const v2 = pkg("dev::notes", "1.1.0");
    v2.symlinks.set("assets", "real");
    v2.dirs.push("real");
    const through = diffPackages("dev::notes", v1, v2);
    through.files.set("assets/evil.txt", enc("x"));
    const err = await sk
      .update("dev::notes", through, enc("x"), { scope: USER, sideloading: "unsecure" })
      .catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe("SKYER_UNSAFE_PATH");
    const escaping = diffPackages("dev::notes", v1, v2);
    escaping.symlinks.set("up", "../../data");
    expect(
      await codeOf(
        sk.update("dev::notes", escaping, enc("x"), { scope: USER, sideloading: "unsecure" }),
      ),
    ).toBe("SKYER_UNSAFE_PATH");
    expect(await readDb(fs)).toEqual(before);
    expect(await fs.stat("/etc/sys/skyer/staging")).toBeNull();
  });
});
