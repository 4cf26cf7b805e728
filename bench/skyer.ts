// Benchmark: Skyer install / reinstall / list / uninstall of a package (services/skyer) on both tree
// backends (the Btrfs image, the default, and the host-directory tree), against the host-native
// anchor (GNU tar + zstd extracting the same .nap; rm -rf; `ls`), plus what a CLI command pays to open
// the tree (a whole `ncw skyer list` process, against `node -e 0`).
// Run: npx tsc && node dist/bench/skyer.js [files] [MiB]

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { homeLayout } from "../ncw/home.js";
import { packDirectory } from "../ncw/package/package.js";
import { type TreeBackend, treeBackendOf } from "../services/fs/open.js";
import { loadPackage } from "../services/skyer/package.js";
import { openSkyerSession } from "../services/skyer/session.js";

/** The built CLI beside this script (dist/bench/skyer.js → dist/cli/ncw.js). */
const NCW_JS = fileURLToPath(new URL("../cli/ncw.js", import.meta.url));

const FILES = Number(process.argv[2] ?? 2000);
const MIB = Number(process.argv[3] ?? 32);

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function makeApp(dir: string, version: string): void {
  mkdirSync(path.join(dir, "assets"), { recursive: true });
  writeFileSync(
    path.join(dir, "manifest.toml"),
    `type = "application"\n[infos]\nname = "Bench"\nslug = "bench"\ndid = "ncw"\ndescription = "bench"\nversion = "${version}"\nauthors = [{ name = "NCW" }]\nicon = "icon-%{}.svg"\nlicense = "MIT"\n[content.program.source]\ntoolchain = "wat"\nbuild = { entry = "main.npp" }\n[dependencies.libraries]\n[sysfeatures]\ncrash_saves_support = false\n`,
  );
  writeFileSync(path.join(dir, "main.npp"), "program (not compiled: the bench measures the tree)");
  writeFileSync(path.join(dir, "icon-16.svg"), "<svg/>");
  const per = Math.floor((MIB * 1024 * 1024) / FILES);
  let seed = 7;
  for (let i = 0; i < FILES; i++) {
    const buf = Buffer.alloc(per);
    for (let j = 0; j < per; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      buf[j] = 97 + (seed % 16);
    }
    writeFileSync(path.join(dir, "assets", `f${i}.txt`), buf);
  }
}

interface Figures {
  install: number;
  reinstall: number;
  list: number;
  uninstall: number;
  open: number;
  cliList: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(
  work: string,
  backend: TreeBackend,
  bytes1: Uint8Array,
  bytes2: Uint8Array,
): Promise<Figures> {
  process.env.NCW_TREE_BACKEND = backend;
  const home = homeLayout(path.join(work, `home-${backend}`));
  const opts = {
    scope: { kind: "user" as const, user: "user" },
    sideloading: "unsecure" as const,
    user: "user",
  };

  let t = process.hrtime.bigint();
  const p1 = await loadPackage("v1.nap", bytes1);
  let s = await openSkyerSession(home, { command: "bench", write: true });
  await s.skyer.install(p1, opts);
  await s.close();
  const install = ms(t);
  if (treeBackendOf(home, {}) !== backend) throw new Error(`the home is not on ${backend}`);

  t = process.hrtime.bigint();
  const p2 = await loadPackage("v2.nap", bytes2);
  s = await openSkyerSession(home, { command: "bench", write: true });
  await s.skyer.install(p2, opts);
  await s.close();
  const reinstall = ms(t);

  // A reader's whole session (lock, open, recovery check, database, list, close), median of 5.
  const lists: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = process.hrtime.bigint();
    s = await openSkyerSession(home, { command: "bench", write: false });
    if (!s.skyer.list("all").some((i) => i.aid === "ncw::bench"))
      throw new Error("list: no ncw::bench");
    await s.close();
    lists.push(ms(t));
  }
  // A whole CLI process: `ncw skyer list`, median of 3.
  const clis: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [NCW_JS, "--home", home.root, "skyer", "list"], {
      env: { ...process.env, NCW_TREE_BACKEND: "" },
    });
    clis.push(ms(t));
    if (r.status !== 0) throw new Error(`ncw skyer list: ${r.stderr}`);
  }

  t = process.hrtime.bigint();
  s = await openSkyerSession(home, { command: "bench", write: true });
  await s.skyer.uninstall("ncw::bench", opts.scope);
  await s.close();
  const uninstall = ms(t);

  // Opening and closing the tree alone (the write lock, the superblock, the roots), median of 5.
  const { openTree } = await import("../services/fs/open.js");
  const opens: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = process.hrtime.bigint();
    const fs = await openTree(home, { access: "write" });
    await fs.stat("/etc/sys/skyer/installed.json");
    await fs.close();
    opens.push(ms(t));
  }
  return {
    install,
    reinstall,
    list: median(lists),
    uninstall,
    open: median(opens),
    cliList: median(clis),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-skyer-"));
  try {
    makeApp(path.join(work, "v1"), "1.0.0");
    makeApp(path.join(work, "v2"), "1.1.0");
    const nap1 = path.join(work, "v1.nap");
    const bytes1 = await packDirectory(path.join(work, "v1"));
    writeFileSync(nap1, bytes1);
    const bytes2 = await packDirectory(path.join(work, "v2"));

    const figures: Record<TreeBackend, Figures> = {
      btrfs: await measure(work, "btrfs", bytes1, bytes2),
      hostdir: await measure(work, "hostdir", bytes1, bytes2),
    };

    const out = path.join(work, "anchor");
    mkdirSync(out);
    let t = process.hrtime.bigint();
    const tar = spawnSync("tar", ["-I", "zstd", "-xf", nap1, "-C", out]);
    const anchorExtract = ms(t);
    const md5 = spawnSync("md5sum", ["-c", "--quiet", "hash.md5"], { cwd: out });
    const anchorInstall = ms(t);
    t = process.hrtime.bigint();
    spawnSync("ls", ["-lR", out], { stdio: "ignore" });
    const anchorLs = ms(t);
    t = process.hrtime.bigint();
    spawnSync("rm", ["-rf", out]);
    const anchorRm = ms(t);
    const anchored = tar.status === 0 && md5.status === 0;
    t = process.hrtime.bigint();
    spawnSync(process.execPath, ["-e", "0"]);
    const nodeStart = ms(t);

    const row = (name: string, v: number, anchor: number | null, anchorName: string) =>
      console.log(
        `${name.padEnd(40)} ${v.toFixed(1).padStart(9)} ms   ${anchorName.padEnd(28)} ${
          anchor === null
            ? "n/a (tar/zstd/md5sum missing)"
            : `${anchor.toFixed(1).padStart(8)} ms   ratio ${(v / anchor).toFixed(2)}x`
        }`,
      );
    console.log(`Skyer: ${FILES} files, ${MIB} MiB (${bytes1.length} bytes packed)`);
    for (const backend of ["btrfs", "hostdir"] as const) {
      const f = figures[backend];
      const a = (v: number) => (anchored ? v : null);
      console.log(`-- ${backend === "btrfs" ? "Btrfs image (default)" : "host-directory tree"}`);
      row(
        "install (read+verify+stage+commit)",
        f.install,
        a(anchorInstall),
        "tar -I zstd -x + md5sum -c",
      );
      row("reinstall (update path)", f.reinstall, a(anchorInstall), "tar -I zstd -x + md5sum -c");
      row("list (reader session)", f.list, anchorLs, "ls -lR of the extracted app");
      row("uninstall", f.uninstall, a(anchorRm), "rm -rf");
      row("open + stat + close the tree", f.open, anchorLs, "ls -lR of the extracted app");
      row("`ncw skyer list` process", f.cliList, nodeStart, "node -e 0");
    }
    console.log(
      `image vs hostdir: install ${(figures.btrfs.install / figures.hostdir.install).toFixed(2)}x, reinstall ${(figures.btrfs.reinstall / figures.hostdir.reinstall).toFixed(2)}x, list ${(figures.btrfs.list / figures.hostdir.list).toFixed(2)}x, uninstall ${(figures.btrfs.uninstall / figures.hostdir.uninstall).toFixed(2)}x`,
    );
    if (anchored) console.log(`(anchor extraction alone: ${anchorExtract.toFixed(1)} ms)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
