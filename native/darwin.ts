// macOS implementation of HostNative (native/types.ts). Shared memory (shm_open + mmap) and
// os_sync_wait_on_address are not written yet: those calls raise a documented NcwError instead of
// pretending (docs/kernel.md, "Host layer"). The control socket's peer check uses getpeereid(3) from
// libSystem through koffi (the rest is shared with Linux in posix.ts). Written without a Mac to run it
// on: CI runs Linux only, so this file is type-checked but untested (docs/security.md says so).
// Parent-death protection falls back to the runner's IPC channel, which works on every host.

import koffi from "koffi";
import { NcwError } from "../ncw/errors.js";
import {
  type PeerUid,
  posixCheckPeer,
  posixControlEndpoint,
  posixSecureEndpoint,
} from "./posix.js";
import type { HostNative } from "./types.js";

function unavailable(what: string): never {
  throw new NcwError("unavailable", `${what} is not implemented on this host (darwin) yet`, {
    code: "NATIVE_UNAVAILABLE_ON_HOST",
    hint: "NCW's shared-memory IPC runs on Linux today; see docs/kernel.md, section Hosts",
  });
}

type GetPeerEid = (fd: number, euid: Buffer, egid: Buffer) => number;
let getpeereid: GetPeerEid | undefined;

/** getpeereid(3): the peer's effective uid and gid (uid_t and gid_t are 32-bit on macOS). */
function peerUid(fd: number): PeerUid {
  getpeereid ??= koffi
    .load("/usr/lib/libSystem.B.dylib")
    .func("int getpeereid(int s, void *euid, void *egid)") as GetPeerEid;
  const uid = Buffer.alloc(4);
  const gid = Buffer.alloc(4);
  if (getpeereid(fd, uid, gid) !== 0)
    return { ok: false, reason: `getpeereid failed (errno ${koffi.errno()})` };
  return { ok: true, uid: uid.readUInt32LE(0) };
}

export const darwinNative: HostNative = {
  platform: "darwin",
  createSegment: () => unavailable("host shared memory"),
  openSegment: () => unavailable("host shared memory"),
  wait: () => unavailable("wait-on-address"),
  wake: () => unavailable("wait-on-address"),
  dieWithParent: () => false,
  controlEndpoint: posixControlEndpoint,
  secureEndpoint: posixSecureEndpoint,
  checkPeer: (sock) => posixCheckPeer(sock, peerUid),
  // Not written yet: fcntl(F_PUNCHHOLE) with a struct fpunchhole {fp_flags, reserved, fp_offset, fp_length} would do it on APFS. Refused clearly, so a caller
  // keeps the image correct and only larger on disk (docs/btrfs.md, "Giving space back").
  // docs/ipc.md "Shared memory", "Hosts": macOS would take the same calls as Linux (shm_open, mmap
  // MAP_FIXED | MAP_SHARED over the memory's pages); Windows cannot map a view over V8's reservation.
  memoryAddress: () => unavailable("mapping shared memory into a WebAssembly memory"),
  mapSegmentAt: () => unavailable("mapping shared memory into a WebAssembly memory"),
  mapZeroAt: () => unavailable("mapping shared memory into a WebAssembly memory"),
  punchHole: () => {
    throw new NcwError(
      "unavailable",
      "punching holes in files is not implemented on this host (darwin) yet",
      {
        code: "NATIVE_PUNCH_UNSUPPORTED",
        hint: "the image stays correct; it only keeps its size on disk (docs/btrfs.md, section Giving space back)",
      },
    );
  },
  // Not written yet (poll(2) on macOS; PeekNamedPipe on Windows): a read of stdin then blocks.
  waitReadable: () => true,
  growPipe: () => undefined,
};
