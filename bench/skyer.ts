// Benchmark: Skyer install / reinstall / uninstall of a package (services/skyer) on the host-directory
// tree, against the host-native anchor (GNU tar + zstd extracting the same .nap; rm -rf).
// Run: npx tsc && node dist/bench/skyer.js [files] [MiB]

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { homeLayout } from "../ncw/home.js";
import { packDirectory } from "../ncw/package/package.js";
import { loadPackage } from "../services/skyer/package.js";
import { openSkyerSession } from "../services/skyer/session.js";

const FILES = Number(process.argv[2] ?? 2000);
const MIB = Number(process.argv[3] ?? 32);

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function makeApp(dir: string, version: string): void {
  mkdirSync(path.join(dir, "assets"), { recursive: true });
  writeFileSync(
    path.join(dir, "manifest.toml"),
    `type = "application"\n[infos]\nname = "Bench"\nslug = "bench"\ndid = "ncw"\ndescription = "bench"\nversion = "${version}"\nauthors = [{ name = "NCW" }]\nicon = "icon-%{}.svg"\nlicense = "MIT"\n[content.program]\nprecomp = "main.npp"\n[dependencies.libraries]\n[sysfeatures]\ncrash_saves_support = false\n`,
  );
  writeFileSync(path.join(dir, "main.npp"), "program");
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

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-skyer-"));
  try {
    makeApp(path.join(work, "v1"), "1.0.0");
    makeApp(path.join(work, "v2"), "1.1.0");
    const nap1 = path.join(work, "v1.nap");
    const bytes1 = await packDirectory(path.join(work, "v1"));
    writeFileSync(nap1, bytes1);
    const bytes2 = await packDirectory(path.join(work, "v2"));
    const home = homeLayout(path.join(work, "home"));
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

    t = process.hrtime.bigint();
    const p2 = await loadPackage("v2.nap", bytes2);
    s = await openSkyerSession(home, { command: "bench", write: true });
    await s.skyer.install(p2, opts);
    await s.close();
    const reinstall = ms(t);

    t = process.hrtime.bigint();
    s = await openSkyerSession(home, { command: "bench", write: true });
    await s.skyer.uninstall("ncw::bench", opts.scope);
    await s.close();
    const uninstall = ms(t);

    const out = path.join(work, "anchor");
    mkdirSync(out);
    t = process.hrtime.bigint();
    const tar = spawnSync("tar", ["-I", "zstd", "-xf", nap1, "-C", out]);
    const anchorExtract = ms(t);
    const md5 = spawnSync("md5sum", ["-c", "--quiet", "hash.md5"], { cwd: out });
    const anchorInstall = ms(t);
    t = process.hrtime.bigint();
    spawnSync("rm", ["-rf", out]);
    const anchorRm = ms(t);
    const anchored = tar.status === 0 && md5.status === 0;

    const row = (name: string, v: number, anchor: number | null, anchorName: string) =>
      console.log(
        `${name.padEnd(34)} ${v.toFixed(1).padStart(9)} ms   ${anchorName.padEnd(28)} ${
          anchor === null
            ? "n/a (tar/zstd/md5sum missing)"
            : `${anchor.toFixed(1).padStart(8)} ms   ratio ${(v / anchor).toFixed(2)}x`
        }`,
      );
    console.log(
      `Skyer on the host-directory tree: ${FILES} files, ${MIB} MiB (${bytes1.length} bytes packed)`,
    );
    row(
      "install (read+verify+stage+commit)",
      install,
      anchored ? anchorInstall : null,
      "tar -I zstd -x + md5sum -c",
    );
    row(
      "reinstall (update path)",
      reinstall,
      anchored ? anchorInstall : null,
      "tar -I zstd -x + md5sum -c",
    );
    row("uninstall", uninstall, anchored ? anchorRm : null, "rm -rf");
    if (anchored) console.log(`(anchor extraction alone: ${anchorExtract.toFixed(1)} ms)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
