// Sandboxes on a Btrfs image (docs/dev-loop.md "Sandboxes"): the view a sandboxed process gets, the
// diff of its snapshot against the tree it was made from, and applying it (with a conflict), with
// `btrfs check` on the image after. The black-box tests through `ncw run`: test/sandbox.test.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  btrfsProgsMissing,
  expectCheckClean,
  skipUnless,
  tempDir,
} from "../../test/btrfs-oracle.js";
import { BtrfsLayer } from "./btrfs/layer.js";
import { applySandbox, diffSandbox, SandboxView } from "./sandbox.js";

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const SB = "/home/u/appdata/x.app/sandboxes/default";

async function prepared(name: string): Promise<{ l: BtrfsLayer; img: string; view: SandboxView }> {
  const img = path.join(dir, name);
  const l = BtrfsLayer.create(img, 128n << 20n);
  for (const d of ["/home/u/appdata/x.app/sandboxes", "/home/u/documents", "/tmp/u", "/etc/public"])
    await l.mkdir(d, { recursive: true });
  await l.writeFile("/home/u/documents/keep", enc("keep"));
  await l.writeFile("/home/u/documents/edit", enc("old"));
  await l.writeFile("/home/u/documents/same", enc("same"));
  await l.writeFile("/home/u/documents/gone", enc("gone!"));
  await l.mkdir("/home/u/documents/olddir");
  await l.writeFile("/home/u/documents/olddir/f", enc("f"));
  await l.writeFile("/apps-note", enc("outside"));
  await l.mkdir(SB);
  await l.snapshot("/", `${SB}/base`, { readOnly: true });
  await l.snapshot("/", `${SB}/tree`);
  await l.sync();
  return { l, img, view: new SandboxView(l, `${SB}/tree`, "u") };
}

describe("sandboxes", () => {
  it("shows a sandboxed process its snapshot, lists its changes and applies them", async () => {
    const { l, img, view } = await prepared("apply.img");
    await view.writeFile("/home/u/documents/new", enc("brand new"));
    await view.writeFile("/home/u/documents/edit", enc("new text"));
    await view.writeFile("/home/u/documents/same", enc("same"));
    await view.rm("/home/u/documents/gone");
    await view.rm("/home/u/documents/olddir", { recursive: true });
    await view.mkdir("/home/u/documents/sub");
    await view.writeFile("/home/u/documents/sub/a", enc("aa"));
    await view.writeFile("/tmp/u/t", enc("tmp"));
    await view.symlink("/home/u/documents/keep", "/home/u/link");
    // Outside the covered paths the view is the real tree; the sandboxes folder is hidden.
    expect(dec(await view.readFile("/apps-note"))).toBe("outside");
    expect(await view.stat("/home/u/appdata/x.app/sandboxes")).toBeNull();
    expect((await view.readdir("/home/u/appdata/x.app")).map((e) => e.name)).toEqual([]);
    // FEIDs: a sandbox item's names its virtual path; a real item the view covers names nothing.
    const st = await view.stat("/home/u/documents/new");
    expect(await view.pathOfFeid(st!.feid!)).toBe("/home/u/documents/new");
    const realKeep = await l.stat("/home/u/documents/keep");
    expect(await view.pathOfFeid(realKeep!.feid!)).toBeNull();
    const outside = await l.stat("/apps-note");
    expect(await view.pathOfFeid(outside!.feid!)).toBe("/apps-note");
    // The real tree is untouched.
    expect(await l.stat("/home/u/documents/new")).toBeNull();
    expect(dec(await l.readFile("/home/u/documents/edit"))).toBe("old");
    expect(await l.stat("/home/u/documents/gone")).not.toBeNull();
    await l.sync();

    const changes = await diffSandbox(l, SB, "u");
    expect(changes).toEqual([
      { path: "/home/u/documents/edit", change: "changed", kind: "file", size: 8, oldSize: 3 },
      { path: "/home/u/documents/gone", change: "removed", kind: "file", size: 0, oldSize: 5 },
      { path: "/home/u/documents/new", change: "added", kind: "file", size: 9, oldSize: 0 },
      { path: "/home/u/documents/olddir", change: "removed", kind: "dir", size: 0, oldSize: 0 },
      { path: "/home/u/documents/olddir/f", change: "removed", kind: "file", size: 0, oldSize: 1 },
      { path: "/home/u/documents/sub", change: "added", kind: "dir", size: 0, oldSize: 0 },
      { path: "/home/u/documents/sub/a", change: "added", kind: "file", size: 2, oldSize: 0 },
      { path: "/home/u/link", change: "added", kind: "symlink", size: 22, oldSize: 0 },
      { path: "/tmp/u/t", change: "added", kind: "file", size: 3, oldSize: 0 },
    ]);

    // The real tree changes `edit` meanwhile: that change is refused, the others applied.
    await l.writeFile("/home/u/documents/edit", enc("changed outside"));
    await l.sync();
    const r = await applySandbox(l, SB, changes);
    await l.sync();
    expect(r.refused.map((c) => c.path)).toEqual(["/home/u/documents/edit"]);
    expect(r.applied.length).toBe(changes.length - 1);
    expect(dec(await l.readFile("/home/u/documents/new"))).toBe("brand new");
    expect(dec(await l.readFile("/home/u/documents/edit"))).toBe("changed outside");
    expect(dec(await l.readFile("/home/u/documents/sub/a"))).toBe("aa");
    expect(await l.readlink("/home/u/link")).toBe("/home/u/documents/keep");
    expect(await l.stat("/home/u/documents/gone")).toBeNull();
    expect(await l.stat("/home/u/documents/olddir")).toBeNull();
    expect(dec(await l.readFile("/tmp/u/t"))).toBe("tmp");
    await l.deleteSubvolume(`${SB}/tree`);
    await l.deleteSubvolume(`${SB}/base`);
    await l.close();
    if (!skipUnless(btrfsProgsMissing())) expectCheckClean(img);
  });

  it("after a new base, only what was refused is left to apply", async () => {
    const { l, img, view } = await prepared("rebase.img");
    await view.writeFile("/home/u/documents/new", enc("n"));
    await view.writeFile("/home/u/documents/edit", enc("mine"));
    await l.writeFile("/home/u/documents/edit", enc("theirs"));
    await l.sync();
    await applySandbox(l, SB, await diffSandbox(l, SB, "u"));
    await l.deleteSubvolume(`${SB}/base`);
    await l.snapshot("/", `${SB}/base`, { readOnly: true });
    await l.sync();
    expect((await diffSandbox(l, SB, "u")).map((c) => `${c.change} ${c.path}`)).toEqual([
      "changed /home/u/documents/edit",
    ]);
    await l.close();
    if (!skipUnless(btrfsProgsMissing())) expectCheckClean(img);
  });

  it("a snapshot that takes a deleted one's tree id numbers new inodes from its own tree", async () => {
    // Found by `ncw run --sandbox` (test/sandbox.test.ts): the old tree's next inode number was
    // handed out in the new one, where the source had made that number already (BTRFS_ITEM_EXISTS).
    const img = path.join(dir, "reuse.img");
    const l = BtrfsLayer.create(img, 128n << 20n);
    await l.mkdir("/s");
    const first = await l.snapshot("/", "/s/a");
    await l.writeFile("/s/a/one", enc("1"));
    await l.deleteSubvolume("/s/a");
    for (let i = 0; i < 5; i++) await l.writeFile(`/f${i}`, enc("x"));
    await l.sync();
    expect(await l.snapshot("/", "/s/b")).toBe(first);
    await l.writeFile("/s/b/new", enc("new"));
    await l.sync();
    expect(dec(await l.readFile("/s/b/new"))).toBe("new");
    expect(dec(await l.readFile("/s/b/f4"))).toBe("x");
    await l.close();
    if (!skipUnless(btrfsProgsMissing())) expectCheckClean(img);
  });
});
