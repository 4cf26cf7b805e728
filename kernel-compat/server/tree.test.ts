// The kernel's tree owner (tree.ts, docs/skyer.md "Writers and readers"): requests run in order, each
// change is committed before it is answered, errors come back as values with the layer's codes.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openHome } from "../../ncw/home.js";
import { BtrfsLayer } from "../../services/fs/btrfs/layer.js";
import { imagePath } from "../../services/fs/open.js";
import { touchesRegistry } from "./registry-delays.js";
import { TreeOwner } from "./tree.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "ncw-tree-owner-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const text = (s: string) => new TextEncoder().encode(s);

describe("TreeOwner", () => {
  it("answers in order and commits each change before answering", async () => {
    process.env.NCW_IMAGE_SIZE = "256M";
    const home = openHome(path.join(dir, "home"));
    const lines: string[] = [];
    const owner = new TreeOwner(home, (l) => lines.push(l));
    const answers = await Promise.all([
      owner.handle(1, { op: "mkdir", path: "/d", recursive: false }),
      owner.handle(2, { op: "writeFile", path: "/d/a", data: text("one") }),
      owner.handle(3, { op: "readFile", path: "/d/a" }),
      owner.handle(4, { op: "rename", from: "/d/nothing", to: "/d/b", replace: false }),
      owner.handle(5, { op: "stat", path: "relative" }),
    ]);
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3, 4, 5]);
    expect(answers[2]).toMatchObject({ ok: true, value: text("one") });
    expect(answers[3]).toMatchObject({
      ok: false,
      error: { code: "FS_NOT_FOUND", kind: "not-found" },
    });
    expect(answers[4]).toMatchObject({ ok: false, error: { code: "FS_BAD_PATH", kind: "usage" } });
    // Committed: a reader opening the image now (the owner still holds it) sees the change.
    const reader = BtrfsLayer.open(imagePath(home), { readOnly: true });
    expect(new TextDecoder().decode(await reader.readFile("/d/a"))).toBe("one");
    await reader.close();
    await owner.close();
    expect(lines.join("\n")).toMatch(/owns the NightOS tree/);
    // Closed: the image's lock is free again, and later requests are refused.
    await BtrfsLayer.open(imagePath(home)).close();
    expect(await owner.handle(6, { op: "sync" })).toMatchObject({ ok: false });
  });

  it("makes and drops test homes in one request (subvolumes), all or none", async () => {
    process.env.NCW_IMAGE_SIZE = "256M";
    const home = openHome(path.join(dir, "home3"));
    const owner = new TreeOwner(home, () => {});
    await owner.handle(1, { op: "mkdir", path: "/home", recursive: true });
    await owner.handle(2, { op: "createSubvolume", path: "/home/tpl" });
    await owner.handle(3, { op: "writeFile", path: "/home/tpl/x", data: text("x") });
    const made = await owner.handle(4, {
      op: "subvolumes",
      drop: [],
      src: "/home/tpl",
      dests: ["/home/t0", "/home/t1"],
    });
    expect(made).toMatchObject({ ok: true });
    const failed = await owner.handle(5, {
      op: "subvolumes",
      drop: ["/home/t0"],
      src: "/home/tpl",
      dests: ["/home/t1"],
    });
    expect(failed).toMatchObject({ ok: false, error: { code: "FS_EXISTS" } });
    const names = async () =>
      (
        (await owner.handle(6, { op: "readdir", path: "/home" })) as { value: { name: string }[] }
      ).value
        .map((e) => e.name)
        .filter((n) => n.startsWith("t"))
        .sort();
    expect(await names()).toEqual(["t0", "t1", "tpl"]);
    await owner.handle(7, {
      op: "subvolumes",
      drop: ["/home/t0", "/home/t1"],
      src: "/home/tpl",
      dests: [],
    });
    expect(await names()).toEqual(["tpl"]);
    await owner.close();
  });

  it("tells its listener which paths each committed change touched (the kernel re-reads the registry)", async () => {
    process.env.NCW_IMAGE_SIZE = "256M";
    const owner = new TreeOwner(openHome(path.join(dir, "home2")), () => {});
    const seen: string[][] = [];
    owner.onChange = (paths) => seen.push(paths);
    await owner.handle(1, { op: "mkdir", path: "/etc/sys", recursive: true });
    await owner.handle(2, { op: "writeFile", path: "/etc/sys/registry.tmp", data: text("{}") });
    await owner.handle(3, { op: "readFile", path: "/etc/sys/registry.tmp" });
    await owner.handle(4, {
      op: "rename",
      from: "/nothing",
      to: "/etc/sys/registry",
      replace: true,
    });
    await owner.handle(5, {
      op: "rename",
      from: "/etc/sys/registry.tmp",
      to: "/etc/sys/registry",
      replace: true,
    });
    await new Promise((r) => setImmediate(r));
    // Reads and failed requests change nothing, so they are not reported.
    expect(seen).toEqual([
      ["/etc/sys"],
      ["/etc/sys/registry.tmp"],
      ["/etc/sys/registry.tmp", "/etc/sys/registry"],
    ]);
    expect(seen.map(touchesRegistry)).toEqual([true, false, true]);
    expect(touchesRegistry(["/etc/sys/registryx", "/etc/system"])).toBe(false);
    expect(touchesRegistry(["/"])).toBe(true);
    await owner.close();
  });
});
