// One-shot copies through `ncw fs` (docs/btrfs.md "Data cache"): cat, get and put read or write each
// byte once, so they keep no data cache and reuse one buffer: their peak memory stays near a
// listing's, whatever the file's size.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { skipUnless, tempDir } from "./btrfs-oracle.js";
import { NCW_JS, ncw } from "./helpers/ncw.js";

const tmp = tempDir("ncw-fs-oneshot-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const img = path.join(tmp, "n.img");
const MiB = 1 << 20;

/** GNU time gives a command's peak resident memory (%M, KiB). */
function gnuTimeMissing(): string | undefined {
  return existsSync("/usr/bin/time") ? undefined : "GNU time (/usr/bin/time) is not installed";
}

/** Peak resident memory of `ncw <args>` in bytes (its stdout thrown away). */
function peakRss(args: string[]): number {
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "%M", "-o", path.join(tmp, "rss.txt"), process.execPath, NCW_JS, ...args],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", timeout: 120_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return Number(readFileSync(path.join(tmp, "rss.txt"), "utf8").trim().split("\n").pop()) * 1024;
}

describe.skipIf(skipUnless(gnuTimeMissing()))("ncw fs cat/get/put of a large file", () => {
  it("keep their memory near a listing's: no data cache filled, no buffer per chunk", () => {
    expect(ncw(["fs", "mkfs", img, "--size", "512M"]).status).toBe(0);
    const host = path.join(tmp, "big.bin");
    const data = Buffer.alloc(96 * MiB);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    writeFileSync(host, data);
    const base = peakRss(["fs", "ls", "/", "--image", img]);
    const put = peakRss(["fs", "put", host, "/big.bin", "--image", img]);
    const cat = peakRss(["fs", "cat", "/big.bin", "--image", img]);
    const out = path.join(tmp, "back.bin");
    const get = peakRss(["fs", "get", "/big.bin", out, "--image", img]);
    expect(readFileSync(out).equals(data)).toBe(true);
    const report = `ls ${base}, put ${put}, cat ${cat}, get ${get}`;
    // Holding the file (a cache of it, or a buffer per 8 MiB chunk) would add ~96 MiB.
    for (const rss of [put, cat, get]) expect(rss - base, report).toBeLessThan(40 * MiB);
  });
});
