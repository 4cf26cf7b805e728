// Tests of the per-user control endpoint in the host layer (docs/security.md, "The control socket"):
// the private runtime folder's creation and checks, the home's run folder, and the peer check
// (SO_PEERCRED) against a process of another host user. The other-user cases need root (CI is root).

import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AS_USER_SKIP, IS_ROOT, OTHER_UID, runAs } from "../test/helpers/as-user.js";
import { hostNative } from "./index.js";
import type { ControlEndpoint } from "./types.js";

const onLinux = process.platform === "linux";
const isRoot = IS_ROOT;
if (onLinux && !isRoot)
  console.warn(`native/endpoint.test.ts: other-user cases skipped: ${AS_USER_SKIP}`);

const base = mkdtempSync(path.join(os.tmpdir(), "ncw-endpoint-test-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = path.join(base, `t${n++}`);
  mkdirSync(d);
  return d;
};
const mode = (p: string) => statSync(p).mode & 0o777;
const LONG = `/${"x".repeat(120)}/run/kernel.sock`;

describe.skipIf(!onLinux)("control endpoint folder", () => {
  const native = hostNative();
  const uid = process.geteuid?.() ?? -1;
  const tmpEndpoint = (tmp: string): ControlEndpoint =>
    native.controlEndpoint(LONG, () => "ncw-kernel-t", { TMPDIR: tmp });

  it("creates the fallback runtime folder 0700, owned by the user", () => {
    const tmp = fresh();
    const ep = tmpEndpoint(tmp);
    expect(ep.folder).toEqual({ path: path.join(tmp, `ncw-${uid}`), kind: "runtime" });
    expect(path.dirname(ep.path)).toBe(path.join(tmp, `ncw-${uid}`));
    native.secureEndpoint(ep);
    const st = statSync(path.join(tmp, `ncw-${uid}`));
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(uid);
    native.secureEndpoint(ep); // a second time: it exists and is fine
  });

  it("refuses a runtime folder that others can open, or that is a link", () => {
    const tmp = fresh();
    const dir = path.join(tmp, `ncw-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    expect(() => native.secureEndpoint(tmpEndpoint(tmp))).toThrow(/mode 0755, it must be 0700/);
    expect(mode(dir)).toBe(0o755); // refused, not silently repaired
    const tmp2 = fresh();
    const target = fresh();
    chmodSync(target, 0o700);
    symlinkSync(target, path.join(tmp2, `ncw-${uid}`));
    expect(() => native.secureEndpoint(tmpEndpoint(tmp2))).toThrow(/is not a folder/);
  });

  it.skipIf(!isRoot)("refuses a runtime folder another host user made first", () => {
    const tmp = fresh();
    const dir = path.join(tmp, `ncw-${uid}`);
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, OTHER_UID, OTHER_UID);
    let err: unknown;
    try {
      native.secureEndpoint(tmpEndpoint(tmp));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "NATIVE_UNSAFE_ENDPOINT" });
    expect(String(err)).toMatch(new RegExp(`belongs to host user ${OTHER_UID}, not to you`));
  });

  it("uses $XDG_RUNTIME_DIR when set, and checks it the same way", () => {
    const xdg = fresh();
    chmodSync(xdg, 0o700);
    const ep = native.controlEndpoint(LONG, () => "ncw-kernel-t", { XDG_RUNTIME_DIR: xdg });
    expect(ep.path).toBe(path.join(xdg, "ncw-kernel-t.sock"));
    native.secureEndpoint(ep);
    chmodSync(xdg, 0o755);
    expect(() => native.secureEndpoint(ep)).toThrow(/open to other host users/);
  });

  it("closes the home's own run folder (made with the umask of its time)", () => {
    const run = path.join(fresh(), "run");
    mkdirSync(run);
    chmodSync(run, 0o777);
    const ep = native.controlEndpoint(path.join(run, "kernel.sock"), () => "ncw-kernel-t", {});
    expect(ep.folder).toEqual({ path: run, kind: "home" });
    native.secureEndpoint(ep);
    expect(mode(run)).toBe(0o700);
    if (isRoot) {
      chownSync(run, OTHER_UID, OTHER_UID);
      expect(() => native.secureEndpoint(ep)).toThrow(/belongs to host user 65534/);
    }
  });
});

describe.skipIf(!onLinux)("peer check (SO_PEERCRED)", () => {
  const native = hostNative();

  it("accepts a peer of the same host user and fails closed on a socket with no descriptor", async () => {
    const dir = fresh();
    const sock = path.join(dir, "s.sock");
    const server = net.createServer();
    const seen = new Promise<unknown>((resolve) =>
      server.on("connection", (c) => {
        resolve(native.checkPeer(c));
        c.destroy();
      }),
    );
    await new Promise<void>((r) => server.listen(sock, r));
    const c = net.connect(sock);
    await new Promise((r) => c.once("connect", r));
    // Both ends are this process: the peer's PID (the CMDIN runner's /proc path uses it) is ours.
    const me = { ok: true, uid: process.geteuid?.(), pid: process.pid };
    expect(native.checkPeer(c)).toEqual(me);
    expect(await seen).toEqual(me);
    c.destroy();
    server.close();
    expect(native.checkPeer(new net.Socket())).toMatchObject({
      ok: false,
      code: "NATIVE_PEER_UNKNOWN",
    });
  });

  it.skipIf(!isRoot)("sees a client and a server of another host user", async () => {
    chmodSync(base, 0o755); // mkdtemp made it 0700: the other user must reach the sockets
    const dir = fresh();
    chmodSync(dir, 0o777);
    // The server's side: a client of uid 65534 connects.
    const sock = path.join(dir, "k.sock");
    const server = net.createServer();
    const seen = new Promise<unknown>((resolve) =>
      server.on("connection", (c) => {
        resolve(native.checkPeer(c));
        c.destroy();
      }),
    );
    await new Promise<void>((r) => server.listen(sock, r));
    chmodSync(sock, 0o777);
    const client = runAs(
      OTHER_UID,
      `import net from "node:net";
       const c = net.connect(${JSON.stringify(sock)});
       c.on("connect", () => { process.stdout.write("connected"); setTimeout(() => process.exit(0), 200); });
       c.on("error", (e) => process.stdout.write(e.code));
       c.on("close", () => process.exit(0));`,
    );
    const out = await client.out;
    expect(out).toBe("connected");
    expect(await seen).toMatchObject({ ok: false, code: "NATIVE_PEER_OTHER_USER", uid: OTHER_UID });
    server.close();

    // The client's side: a server of uid 65534 listens where we connect.
    const impostor = path.join(dir, "i.sock");
    const srv = runAs(
      OTHER_UID,
      `import net from "node:net";
       net.createServer((c) => c.on("data", () => {})).listen(${JSON.stringify(impostor)});
       setTimeout(() => process.exit(0), 20000);`,
    );
    try {
      for (let i = 0; i < 400 && !statSafe(impostor); i++)
        await new Promise((r) => setTimeout(r, 10));
      const c = net.connect(impostor);
      await new Promise((r, j) => {
        c.once("connect", r);
        c.once("error", j);
      });
      expect(native.checkPeer(c)).toMatchObject({
        ok: false,
        code: "NATIVE_PEER_OTHER_USER",
        uid: OTHER_UID,
      });
      c.destroy();
    } finally {
      srv.kill();
    }
  });
});

function statSafe(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
