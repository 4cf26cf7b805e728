// What Linux and macOS share in HostNative (native/types.ts; docs/security.md, "The control socket"):
// where a per-user control socket lives, the owner and mode checks on its folder, and the peer check
// around each host's credential call (SO_PEERCRED in linux.ts, getpeereid in darwin.ts).

import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import type { Socket } from "node:net";
import path from "node:path";
import { NcwError } from "../ncw/errors.js";
import { isHostError } from "./errors.js";
import type { ControlEndpoint, PeerCheck } from "./types.js";

/** sun_path is 108 bytes on Linux, 104 on macOS; keep a margin. */
export const MAX_SOCKET_PATH = 100;

/** What a host's credential call says about a socket's peer. */
export type PeerUid = { ok: true; uid: number; pid?: number } | { ok: false; reason: string };

/** This process' effective host user. */
export function myUid(): number {
  const uid = process.geteuid?.();
  if (uid === undefined) throw new Error("unreachable: process.geteuid is missing on a POSIX host");
  return uid;
}

/** The user's private runtime folder: $XDG_RUNTIME_DIR when set, else <TMPDIR or /tmp>/ncw-<uid>. */
export function runtimeFolder(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.resolve(xdg);
  const tmp = env.TMPDIR !== undefined && path.isAbsolute(env.TMPDIR) ? env.TMPDIR : "/tmp";
  return path.join(path.resolve(tmp), `ncw-${myUid()}`);
}

export function posixControlEndpoint(
  preferred: string,
  name: () => string,
  env: NodeJS.ProcessEnv = process.env,
): ControlEndpoint {
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH)
    return { path: preferred, folder: { path: path.dirname(preferred), kind: "home" } };
  const dir = runtimeFolder(env);
  return { path: path.join(dir, `${name()}.sock`), folder: { path: dir, kind: "runtime" } };
}

function unsafe(message: string, hint: string): NcwError {
  return new NcwError("no-perm", message, { code: "NATIVE_UNSAFE_ENDPOINT", hint });
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

export function posixSecureEndpoint(endpoint: ControlEndpoint): void {
  const folder = endpoint.folder;
  if (folder === undefined) return;
  const dir = folder.path;
  const uid = myUid();
  const fixHint =
    folder.kind === "runtime"
      ? `remove ${dir} if it is not yours, or set XDG_RUNTIME_DIR (or TMPDIR) to a folder only you can use`
      : "the NCW home must belong to you; choose another with --home or NCW_HOME";
  if (folder.kind === "runtime") {
    try {
      // Not recursive: the parent (/tmp, $XDG_RUNTIME_DIR's) must exist. A folder just made is ours,
      // and chmod makes it 0700 whatever the umask was.
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700);
    } catch (e) {
      if (!isHostError(e, "exists"))
        throw unsafe(`cannot create the private folder ${dir}: ${(e as Error).message}`, fixHint);
    }
  }
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch (e) {
    throw unsafe(`cannot inspect the folder ${dir}: ${(e as Error).message}`, fixHint);
  }
  if (!st.isDirectory())
    throw unsafe(
      `${dir} is not a folder (a symbolic link or another file): refusing to use it`,
      fixHint,
    );
  if (st.uid !== uid)
    throw unsafe(
      `${dir} belongs to host user ${st.uid}, not to you (${uid}): another user could impersonate the kernel there`,
      fixHint,
    );
  if ((st.mode & 0o077) === 0) return;
  if (folder.kind === "home") {
    // NCW's own run folder, made with the umask of its time: NCW closes it rather than refuse.
    chmodSync(dir, 0o700);
    return;
  }
  throw unsafe(
    `${dir} is open to other host users (mode ${octal(st.mode)}, it must be 0700): refusing to use it`,
    `chmod 700 ${dir}, or remove it (NCW creates it 0700)`,
  );
}

/**
 * The file descriptor of a connected net.Socket. Node does not document it: on Unix, a connected
 * socket's libuv handle exposes `_handle.fd` (uv_fileno). Anything else (no handle, -1 on Windows, a
 * future Node that drops it) gives undefined, and the caller refuses the peer.
 */
export function socketFd(sock: Socket): number | undefined {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** The peer check: the host's answer for the socket's fd, compared with this process' user. */
export function posixCheckPeer(sock: Socket, peerUid: (fd: number) => PeerUid): PeerCheck {
  const fd = socketFd(sock);
  if (fd === undefined)
    return {
      ok: false,
      code: "NATIVE_PEER_UNKNOWN",
      reason: "the socket exposes no file descriptor, so its peer cannot be identified",
    };
  let r: PeerUid;
  try {
    r = peerUid(fd);
  } catch (e) {
    r = { ok: false, reason: (e as Error).message };
  }
  if (!r.ok) return { ok: false, code: "NATIVE_PEER_UNKNOWN", reason: r.reason };
  const mine = myUid();
  if (r.uid !== mine)
    return {
      ok: false,
      code: "NATIVE_PEER_OTHER_USER",
      uid: r.uid,
      reason: `the other end belongs to host user ${r.uid}, not to ${mine}`,
    };
  return { ok: true, uid: r.uid, ...(r.pid !== undefined && r.pid > 0 ? { pid: r.pid } : {}) };
}
