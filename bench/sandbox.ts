// Sandbox figures (docs/dev-loop.md "Sandboxes"), in-process on a Btrfs image: a home of 10,000 small
// files in 100 folders; open a sandbox (two snapshots of "/", one commit), change 10 files in it, diff,
// apply, drop. `npm run bench:sandbox`; NCW_BENCH_RUNS (default 3) runs, each printed as JSON.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BtrfsLayer } from "../services/fs/btrfs/layer.js";
import { applySandbox, diffSandbox } from "../services/fs/sandbox.js";

const enc = (s: string) => new TextEncoder().encode(s);
const runs = Number(process.env.NCW_BENCH_RUNS ?? 3);
const dir = mkdtempSync(path.join(tmpdir(), "ncw-bench-sandbox-"));
try {
  for (let run = 0; run < runs; run++) {
    const img = path.join(dir, `home${run}.img`);
    const l = BtrfsLayer.create(img, 512n << 20n);
    for (const d of ["/home/u/appdata/x/sandboxes", "/tmp/u", "/etc/public"])
      await l.mkdir(d, { recursive: true });
    for (let d = 0; d < 100; d++) {
      await l.mkdir(`/home/u/documents/d${d}`, { recursive: true });
      for (let f = 0; f < 100; f++)
        await l.writeFile(`/home/u/documents/d${d}/f${f}`, enc(`file ${d} ${f}`));
    }
    await l.sync();
    const SB = "/home/u/appdata/x/sandboxes/default";
    const ms = (t: number) => Number((performance.now() - t).toFixed(1));
    let t = performance.now();
    await l.mkdir(SB);
    await l.snapshot("/", `${SB}/base`, { readOnly: true });
    await l.snapshot("/", `${SB}/tree`);
    await l.sync();
    const openMs = ms(t);
    for (let i = 0; i < 10; i++)
      await l.writeFile(`${SB}/tree/home/u/documents/d${i}/f0`, enc("changed!"));
    await l.sync();
    t = performance.now();
    const changes = await diffSandbox(l, SB, "u");
    const diffMs = ms(t);
    t = performance.now();
    await applySandbox(l, SB, changes);
    await l.sync();
    const applyMs = ms(t);
    t = performance.now();
    await l.deleteSubvolume(`${SB}/tree`);
    await l.deleteSubvolume(`${SB}/base`);
    await l.sync();
    const dropMs = ms(t);
    await l.close();
    rmSync(img, { force: true });
    console.log(
      JSON.stringify({ files: 10_000, changes: changes.length, openMs, diffMs, applyMs, dropMs }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
