// Crash safety: a process applying a stream of commits is killed (SIGKILL) at random points; the
// image must pass `btrfs check` and hold exactly the state of its last commit (superblock generation).
// Runs the compiled workload from dist/ (build with `npx tsc -p tsconfig.json` first).

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  btrfsCheck,
  btrfsProgsMissing,
  longTimeout,
  loopMountMissing,
  mkfsBtrfs,
  scaled,
  skipUnless,
  tempDir,
  withLoopMount,
} from "../../../test/btrfs-oracle.js";
import { DATA_SUBVOL, fileContent, filesAfter, snapshotsAfter } from "./crash-workload.js";
import { FileDevice } from "./device.js";
import { openEngine } from "./engine.js";
import { FS_TREE_OBJECTID } from "./format/key.js";
import { createSubvolume, listSubvolumes } from "./subvol.js";
import { listDir, readTestFile } from "./tree/testing.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const child = path.join(repo, "dist/services/fs/btrfs/crash-workload.js");
const skip = skipUnless(btrfsProgsMissing());

function runAndKill(img: string, gen0: bigint, killAfterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, img, String(gen0)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), killAfterMs);
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`workload exited ${code}: ${err}`));
      const lines = out.trim().split("\n").filter(Boolean);
      resolve(lines.length ? Number(lines[lines.length - 1]) : 0);
    });
  });
}

function verify(img: string, gen0: bigint, lastReported: number): number {
  const r = btrfsCheck(img);
  if (!r.ok) console.error(r.output);
  expect(r.ok).toBe(true);
  const e = openEngine(FileDevice.open(img, { readOnly: true }));
  try {
    const k = Number(e.generation - gen0);
    // The commit in flight when killed may or may not have reached its superblock.
    expect(k === lastReported || k === lastReported + 1).toBe(true);
    const names = listDir(e.committed, DATA_SUBVOL, 256n).sort();
    expect(names).toEqual([...filesAfter(k)].sort());
    for (const n of names) {
      const m = /^k(\d+)_(\d+)$/.exec(n)!;
      const got = readTestFile(e, e.committed, DATA_SUBVOL, 256n, n)!;
      expect(
        Buffer.compare(Buffer.from(got), Buffer.from(fileContent(Number(m[1]), Number(m[2])))),
      ).toBe(0);
    }
    const snaps = listSubvolumes(e.committed)
      .filter((s) => s.name.startsWith("snap"))
      .map((s) => Number(s.name.slice(4)))
      .sort((a, b) => a - b);
    expect(snaps).toEqual(snapshotsAfter(k));
    for (const s of listSubvolumes(e.committed).filter((x) => x.name.startsWith("snap"))) {
      const i = Number(s.name.slice(4));
      expect(listDir(e.committed, s.id, 256n).sort()).toEqual([...filesAfter(i - 1)].sort());
    }
    return k;
  } finally {
    e.close();
  }
}

describe.skipIf(skip)("crash safety", () => {
  it(
    "survives SIGKILL at random points during a stream of commits",
    async () => {
      if (!fs.existsSync(child)) {
        throw new Error(`${child} is missing: build first with \`npx tsc -p tsconfig.json\``);
      }
      const img = path.join(tempDir(), "c.img");
      mkfsBtrfs(img, 256 << 20);
      const e = openEngine(FileDevice.open(img));
      const t = e.begin();
      createSubvolume(t, FS_TREE_OBJECTID, 256n, "data");
      t.commit();
      const gen0 = e.generation;
      e.close();
      let seed = Number(process.env.NCW_CRASH_SEED ?? 12345);
      const rnd = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      let k = 0;
      for (let round = 0; round < scaled(8, 60); round++) {
        const last = await runAndKill(img, gen0, 250 + Math.floor(rnd() * 900));
        k = verify(img, gen0, Math.max(last, k));
        if (process.env.NCW_CRASH_LOG) console.log("round", round, "reported", last, "on disk", k);
      }
      expect(k).toBeGreaterThan(5);
      // The kernel mounts the crashed image and sees the last commit.
      if (!skipUnless(loopMountMissing())) {
        withLoopMount(
          img,
          (mnt) => {
            expect(fs.readdirSync(path.join(mnt, "data")).sort()).toEqual(
              [...filesAfter(k)].sort(),
            );
          },
          ["ro"],
        );
      }
    },
    longTimeout(900_000) ?? 120_000,
  );
});
