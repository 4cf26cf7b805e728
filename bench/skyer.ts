// Benchmark: Skyer from the CLI (issues 6 and 18; what each side times: bench/README.md "Skyer"): each
// operation is a fresh `ncw skyer …` process on both tree backends (the Btrfs image, the default, and
// host folders), its package carrying a real pre-compiled program (the install AOT-compiles it), against
// fresh host processes doing the equivalent: `tar --zstd -xf` + `md5sum -c`, `rm -rf`, `cat` of the
// same installed-apps database. Medians of ROUNDS, anchors in the same run.
// Run: npm run bench:skyer (or node dist/bench/skyer.js [files] [MiB] [rounds])

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, NCW_JS, processTimer, wallOf } from "./common.js";

const FILES = Number(process.argv[2] ?? 2000);
const MIB = Number(process.argv[3] ?? 32);
const ROUNDS = Number(process.argv[4] ?? 3);

/** A program of `funcs` functions, each with a loop (so the AOT step has real work): a .wat text. */
function programText(funcs: number, salt: number): string {
  const fs: string[] = [];
  for (let i = 0; i < funcs; i++)
    fs.push(`(func $f${i} (param $n i32) (result i32) (local $i i32) (local $a i32)
      (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (i32.add (i32.mul (local.get $a) (i32.const ${salt + i})) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
      (local.get $a))`);
  return `(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 1 funcref)
  ${fs.join("\n  ")}
  (func (export "_start") (drop (call $f${funcs - 1} (i32.const 3)))))`;
}

function makeApp(
  work: string,
  dir: string,
  version: string,
  salt: number,
  size: { files: number; mib: number; funcs: number } = { files: FILES, mib: MIB, funcs: 2000 },
): void {
  mkdirSync(path.join(dir, "assets"), { recursive: true });
  writeFileSync(
    path.join(dir, "manifest.toml"),
    `type = "application"\n[infos]\nname = "Bench"\nslug = "bench"\ndid = "ncw"\ndescription = "bench"\nversion = "${version}"\nauthors = [{ name = "NCW" }]\nicon = "icon-%{}.svg"\nlicense = "MIT"\n[content.program]\nprecomp = "main.npp"\n[content.program.source]\ntoolchain = "wat"\nbuild = { entry = "main.wat" }\n[dependencies.libraries]\n[sysfeatures]\ncrash_saves_support = false\n`,
  );
  const wat = path.join(work, `main-${version}.wat`);
  writeFileSync(wat, programText(size.funcs, salt));
  writeFileSync(path.join(dir, "main.wat"), "(module)");
  execFileSync(process.execPath, [NCW_JS, "ca", "asm", wat, "-o", path.join(dir, "main.npp")], {
    stdio: "ignore",
  });
  writeFileSync(path.join(dir, "icon-16.svg"), "<svg/>");
  const per = Math.floor((size.mib * 1024 * 1024) / size.files);
  let seed = 7;
  for (let i = 0; i < size.files; i++) {
    const buf = Buffer.alloc(per);
    for (let j = 0; j < per; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      buf[j] = 97 + (seed % 16);
    }
    writeFileSync(path.join(dir, "assets", `f${i}.txt`), buf);
  }
}

interface Figures {
  install: number[];
  /** A hello-sized package (one asset, a one-function program): issue 18's "hello within 0.3 s". */
  small: number[];
  reinstall: number[];
  list: number[];
  uninstall: number[];
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "ncw-bench-skyer-"));
  try {
    const timer = processTimer(work);
    makeApp(work, path.join(work, "v1"), "1.0.0", 7);
    makeApp(work, path.join(work, "v2"), "1.1.0", 11);
    const nap1 = path.join(work, "v1.nap");
    const nap2 = path.join(work, "v2.nap");
    makeApp(work, path.join(work, "small"), "1.0.0", 3, { files: 1, mib: 0.001, funcs: 1 });
    const napSmall = path.join(work, "small.nap");
    execFileSync(process.execPath, [NCW_JS, "pack", path.join(work, "small"), "-o", napSmall], {
      stdio: "ignore",
    });
    execFileSync(process.execPath, [NCW_JS, "pack", path.join(work, "v1"), "-o", nap1], {
      stdio: "ignore",
    });
    execFileSync(process.execPath, [NCW_JS, "pack", path.join(work, "v2"), "-o", nap2], {
      stdio: "ignore",
    });

    const figures: Record<"btrfs" | "hostdir", Figures> = {
      btrfs: { install: [], small: [], reinstall: [], list: [], uninstall: [] },
      hostdir: { install: [], small: [], reinstall: [], list: [], uninstall: [] },
    };
    const anchors = {
      install: [] as number[],
      small: [] as number[],
      list: [] as number[],
      rm: [] as number[],
      node: [] as number[],
    };
    let db = "";
    for (let r = 0; r < ROUNDS; r++) {
      for (const backend of ["btrfs", "hostdir"] as const) {
        const home = path.join(work, `home-${backend}-${r}`);
        const env = { ...process.env, NCW_TREE_BACKEND: backend === "btrfs" ? "" : "hostdir" };
        const skyer = (...args: string[]) =>
          wallOf(timer, process.execPath, [NCW_JS, "--home", home, "skyer", ...args], env);
        skyer("list"); // creates the home (and its image): not part of the install
        const f = figures[backend];
        f.install.push(skyer("install", "--sideloading", "unsecure", nap1));
        f.reinstall.push(skyer("install", "--sideloading", "unsecure", nap2));
        f.list.push(skyer("list"));
        if (backend === "hostdir" && db === "") {
          // The database as it stands with the app installed, copied aside for the list anchor.
          const found = execFileSync("find", [home, "-path", "*etc/sys/skyer/installed.json"], {
            encoding: "utf8",
          })
            .trim()
            .split("\n")[0];
          if (found) {
            db = path.join(work, "installed.json");
            copyFileSync(found, db);
          }
        }
        f.uninstall.push(skyer("uninstall", "ncw::bench"));
        f.small.push(skyer("install", "--sideloading", "unsecure", napSmall));
        skyer("uninstall", "ncw::bench");
      }
      // The anchors, fresh host processes, in the same round.
      /** The install's anchor: `nap` extracted into a new folder `out` and its hashes checked. */
      const extractAndCheck = (nap: string, out: string) => {
        mkdirSync(out);
        return wallOf(timer, "sh", [
          "-c",
          `tar --zstd -xf "${nap}" -C "${out}" && cd "${out}" && md5sum -c --quiet hash.md5`,
        ]);
      };
      const out = path.join(work, `anchor-${r}`);
      anchors.install.push(extractAndCheck(nap1, out));
      anchors.small.push(extractAndCheck(napSmall, path.join(work, `anchor-small-${r}`)));
      if (db !== "") anchors.list.push(wallOf(timer, "cat", [db]));
      anchors.rm.push(wallOf(timer, "rm", ["-rf", out]));
      anchors.node.push(wallOf(timer, process.execPath, ["-e", "0"]));
    }

    const row = (name: string, v: number[], anchor: number[], anchorName: string) => {
      const a = median(anchor);
      console.log(
        `${name.padEnd(48)} ${median(v).toFixed(0).padStart(7)} ms   ${anchorName.padEnd(40)} ${
          anchor.length === 0
            ? "n/a"
            : `${a.toFixed(1).padStart(7)} ms   ncw/host ${(median(v) / a).toFixed(2)}x`
        }`,
      );
    };
    console.log(
      `Skyer from the CLI: ${FILES} files, ${MIB} MiB, a 2000-function program; each figure a fresh process, median of ${ROUNDS} rounds (load ${os.loadavg()[0]?.toFixed(2)})`,
    );
    for (const backend of ["btrfs", "hostdir"] as const) {
      const f = figures[backend];
      console.log(`-- ${backend === "btrfs" ? "Btrfs image (default)" : "host-directory tree"}`);
      row(
        "`ncw skyer install` (incl. AOT of the program)",
        f.install,
        anchors.install,
        "tar --zstd -xf + md5sum -c",
      );
      row(
        "`ncw skyer install`, hello-sized (target 0.3 s)",
        f.small,
        anchors.small,
        "tar --zstd -xf + md5sum -c",
      );
      row(
        "`ncw skyer install` of v2 (update)",
        f.reinstall,
        anchors.install,
        "tar --zstd -xf + md5sum -c",
      );
      row("`ncw skyer list`", f.list, anchors.list, "cat of the same installed.json");
      row("`ncw skyer uninstall`", f.uninstall, anchors.rm, "rm -rf of the extracted app");
    }
    console.log(`(node -e 0, the floor of any ncw process: ${median(anchors.node).toFixed(0)} ms)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
