// The kernel's control socket against other host users (docs/security.md, "The control socket"),
// black-box through `ncw`: its mode whatever the umask, the private runtime folder for long homes, the
// peer check on both sides, and a stopping kernel that leaves another kernel's socket in place.

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
} from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AS_USER_SKIP, IS_ROOT, OTHER_UID, runAs } from "./helpers/as-user.js";
import { alive, NCW, program, TestHome, waitFor } from "./kernel-helpers.js";

const onUnix = process.platform !== "win32";
if (!IS_ROOT)
  console.warn(`test/kernel-security.test.ts: other-user cases skipped: ${AS_USER_SKIP}`);
const uid = process.geteuid?.() ?? -1;
const mode = (p: string) => statSync(p).mode & 0o777;
const EMPTY = program("");

const homes: TestHome[] = [];
const newHome = (env: Record<string, string> = {}) => {
  const h = new TestHome({ NCW_KERNEL_IDLE_MS: "20000", ...env });
  homes.push(h);
  return h;
};
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});
const sockOf = (h: TestHome) => path.join(h.home, "run", "kernel.sock");

describe.skipIf(!onUnix)("the kernel's control socket", () => {
  it("is 0600 in a 0700 run folder even under umask 000", () => {
    const h = newHome();
    const f = h.write("p.wat", EMPTY);
    const r = spawnSync(
      "/bin/sh",
      ["-c", 'umask 000; exec "$0" "$1" run "$2"', process.execPath, NCW, f],
      {
        env: h.envFor(),
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(mode(sockOf(h)).toString(8)).toBe("600");
    expect(mode(path.join(h.home, "run")).toString(8)).toBe("700");
  });

  it("for a home too long for sun_path, lives in a private 0700 runtime folder, refused when open", () => {
    const h = newHome();
    const long = path.join(h.dir, "l".repeat(100), "home");
    const tmp = path.join(h.dir, "tmp");
    mkdirSync(tmp);
    const env = { NCW_HOME: long, TMPDIR: tmp, XDG_RUNTIME_DIR: "" };
    const f = h.write("p.wat", EMPTY);
    try {
      const r = h.ncw(["run", f], env);
      expect(r.code, r.stderr).toBe(0);
      const dir = path.join(tmp, `ncw-${uid}`);
      expect(mode(dir).toString(8)).toBe("700");
      expect(statSync(dir).uid).toBe(uid);
      const socks = readdirSync(dir);
      expect(socks).toEqual([expect.stringMatching(/^ncw-kernel-[0-9a-f]{16}\.sock$/)]);
      expect(mode(path.join(dir, socks[0] ?? "")).toString(8)).toBe("600");
      expect(readdirSync(tmp)).toEqual([`ncw-${uid}`]); // nothing predictable left in the shared folder
    } finally {
      const pid = Number(readFileSync(path.join(long, "run", "kernel.pid"), "utf8"));
      if (pid > 0) process.kill(pid, "SIGTERM");
    }
    // A folder of that name made beforehand with the wrong mode: refused, and nothing is started.
    const tmp2 = path.join(h.dir, "tmp2");
    mkdirSync(path.join(tmp2, `ncw-${uid}`), { recursive: true });
    chmodSync(path.join(tmp2, `ncw-${uid}`), 0o755);
    const bad = h.ncw(["run", f], { ...env, TMPDIR: tmp2 });
    expect(bad.code).toBe(77);
    expect(bad.stderr).toMatch(/open to other host users \(mode 0755, it must be 0700\)/);
    expect(readdirSync(path.join(tmp2, `ncw-${uid}`))).toEqual([]);
  });

  it("a stopping kernel leaves in place a socket another kernel now owns", async () => {
    const h = newHome();
    expect(h.run(EMPTY).code).toBe(0);
    const first = h.kernelPid() ?? 0;
    // The first kernel's socket is moved away: the next command starts a second kernel on the path.
    renameSync(sockOf(h), `${sockOf(h)}.first`);
    expect(h.run(EMPTY).code).toBe(0);
    const second = h.kernelPid() ?? 0;
    expect(second).not.toBe(first);
    process.kill(first, "SIGTERM");
    expect(await waitFor(() => !alive(first), 10_000)).toBe(true);
    expect(existsSync(sockOf(h))).toBe(true);
    const ps = h.ncw(["ps", "--json"]);
    expect(ps.code, ps.stderr).toBe(0);
    expect((JSON.parse(ps.stdout) as { kernel: { hostPid: number } }).kernel.hostPid).toBe(second);
  });

  it.skipIf(!IS_ROOT)(
    "the kernel answers nothing to another host user's client, not even shutdown",
    async () => {
      const h = newHome();
      expect(h.run(EMPTY).code).toBe(0);
      const kernel = h.kernelPid() ?? 0;
      // Open the way as wide as a careless umask would, so only the peer check stands in the way.
      for (const d of [h.dir, h.home, path.join(h.home, "run")]) chmodSync(d, 0o755);
      chmodSync(sockOf(h), 0o666);
      const client = runAs(
        OTHER_UID,
        `import net from "node:net"; import v8 from "node:v8";
       const frame = (m) => { const b = v8.serialize(m); const n = Buffer.alloc(4); n.writeUInt32LE(b.length); return Buffer.concat([n, b]); };
       let got = 0;
       const c = net.connect(${JSON.stringify(sockOf(h))});
       c.on("connect", () => c.write(Buffer.concat([frame({ t: "hello", version: 2 }), frame({ t: "shutdown" })])));
       c.on("data", (d) => { got += d.length; });
       c.on("error", (e) => { process.stdout.write(e.code + " "); });
       c.on("close", () => { process.stdout.write("closed " + got); process.exit(0); });
       setTimeout(() => { process.stdout.write("open " + got); process.exit(0); }, 5000);`,
      );
      expect(await client.out).toMatch(/(^| )closed 0$/); // an EPIPE or ECONNRESET may come first
      expect(alive(kernel)).toBe(true);
      const ps = h.ncw(["ps", "--json"]);
      expect((JSON.parse(ps.stdout) as { kernel: { hostPid: number } }).kernel.hostPid).toBe(
        kernel,
      );
      expect(readFileSync(path.join(h.home, "logs", "kernel.log"), "utf8")).toMatch(
        /refused a connection: the other end belongs to host user 65534/,
      );
    },
  );

  it.skipIf(!IS_ROOT)(
    "ncw run sends nothing to a socket another host user listens on",
    async () => {
      const h = newHome();
      const run = path.join(h.home, "run");
      mkdirSync(run, { recursive: true });
      for (const d of [h.dir, h.home]) chmodSync(d, 0o755);
      chmodSync(run, 0o777);
      const impostor = runAs(
        OTHER_UID,
        `import net from "node:net";
       net.createServer((c) => c.on("data", (d) => { process.stdout.write("data " + d.length + "\\n"); c.destroy(); }))
         .listen(${JSON.stringify(sockOf(h))}, () => process.stdout.write("up\\n"));
       setTimeout(() => process.exit(0), 30000);`,
      );
      try {
        expect(await waitFor(() => impostor.lines().includes("up"), 10_000)).toBe(true);
        const r = h.run(EMPTY, ["secret-argument"]);
        expect(r.code).toBe(77);
        expect(r.stderr).toMatch(/refusing to talk to .*kernel\.sock: it is not your kernel/);
        expect(r.stderr).toMatch(/host user 65534/);
        expect(impostor.lines()).toBe("up\n");
      } finally {
        impostor.kill();
      }
    },
  );
});
