// The NightOS image gives space back to the host (docs/btrfs.md "Giving space back"): what a commit
// frees is punched out of the sparse image file, so uninstalling every app returns the image close
// to its fresh size on disk; `ncw fs trim` punches whatever free space an image still holds. btrfs
// check accepts the image after each.
import { execFileSync } from "node:child_process";
import { rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { btrfsCheck, btrfsProgsMissing } from "./btrfs-oracle.js";
import { ncw as run } from "./helpers/ncw.js";
import { makePackage, tempDir } from "./skyer-fixtures.js";

const work = tempDir("ncw-btrfs-space-");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const progs = btrfsProgsMissing();
if (progs !== undefined && process.env.CI) throw new Error(`required in CI: ${progs}`);
const onLinux = process.platform === "linux"; // (the host that punches holes today: native/)
const MiB = 1 << 20;

/** What `du` says: bytes the file takes on the host disk. */
const du = (file: string) => statSync(file).blocks * 512;

function checked(img: string): void {
  if (progs !== undefined) return;
  const r = btrfsCheck(img);
  expect(r.ok, r.output).toBe(true);
}

describe.skipIf(!onLinux)("giving space back", () => {
  it("uninstalling every app returns the image close to its fresh size on disk", async () => {
    const home = path.join(work, "home");
    const img = path.join(home, "nightos.img");
    const env = { NCW_USER: "", NCW_TREE_BACKEND: "", NCW_IMAGE_SIZE: "1G" };
    const ncw = (args: string[]) => {
      const r = run(["--home", home, ...args], { env });
      expect(r.status, `ncw ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    ncw(["skyer", "list"]); // makes the image
    const fresh = du(img);
    const apps = ["dev::one", "dev::two", "dev::three"];
    for (const [i, aid] of apps.entries()) {
      const big = Array.from({ length: 4 * 1024 }, (_, k) =>
        `${aid} ${i} line ${k} `.padEnd(1024, "."),
      );
      ncw([
        "skyer",
        "install",
        await makePackage(work, { aid, version: "1.0.0", files: { "data/big.txt": big.join("") } }),
      ]);
    }
    const full = du(img);
    expect(full - fresh).toBeGreaterThan(10 * MiB);
    checked(img);
    for (const aid of apps) ncw(["skyer", "uninstall", aid]);
    const after = du(img);
    expect(after - fresh, `fresh ${fresh}, installed ${full}, uninstalled ${after}`).toBeLessThan(
      2 * MiB,
    );
    checked(img);
  });

  it("ncw fs rm gives a file's space back, and ncw fs trim the free space of a full image", () => {
    const img = path.join(work, "n.img");
    const fsx = (...args: string[]) => {
      const r = run(["fs", ...args, "--image", img]);
      expect(r.status, `ncw fs ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    fsx("mkfs", "--size", "512M");
    const fresh = du(img);
    const host = path.join(work, "big.bin");
    writeFileSync(host, Buffer.alloc(32 * MiB, 0x5a));
    fsx("put", host, "/big.bin");
    expect(du(img) - fresh).toBeGreaterThan(30 * MiB);
    fsx("rm", "/big.bin");
    expect(du(img) - fresh).toBeLessThan(MiB);
    checked(img);

    // An image whose free space takes room on disk (copied without holes, or written elsewhere).
    const full = path.join(work, "full.img");
    execFileSync("cp", ["--sparse=never", img, full]);
    expect(du(full)).toBeGreaterThan(500 * MiB);
    const r = run(["fs", "trim", "--json", "--image", full]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { onDiskBefore: number; onDiskAfter: number };
    expect(out.onDiskBefore).toBeGreaterThan(500 * MiB);
    // What is left: what the fresh image holds, and its first MiB (never punched).
    expect(du(full)).toBeLessThan(fresh + 2 * MiB);
    expect(out.onDiskAfter).toBe(du(full));
    checked(full);
    expect(run(["fs", "check", "--image", full]).status).toBe(0);
  });
});
