// Windows (CreateFileMapping, WaitOnAddress/named events) implementation of HostNative (native/types.ts).
// Not written yet: every call raises a documented NcwError instead of pretending (docs/kernel.md, "Hosts").
// The control endpoint is a named pipe; its peer check is not implemented and refuses every peer
// (docs/security.md, "Windows"): NCW never talks to a pipe whose owner it cannot tell.
// Parent-death protection falls back to the runner's IPC channel, which works on every host.

import { NcwError } from "../ncw/errors.js";
import type { HostNative } from "./types.js";

function unavailable(what: string): never {
  throw new NcwError("unavailable", `${what} is not implemented on this host (win32) yet`, {
    code: "NATIVE_UNAVAILABLE_ON_HOST",
    hint: "NCW's shared-memory IPC runs on Linux today; see docs/kernel.md, section Hosts",
  });
}

export const win32Native: HostNative = {
  platform: "win32",
  createSegment: () => unavailable("host shared memory"),
  openSegment: () => unavailable("host shared memory"),
  wait: () => unavailable("wait-on-address"),
  wake: () => unavailable("wait-on-address"),
  dieWithParent: () => false,
  // Named pipes live in one namespace for the whole machine: there is no folder to make private.
  controlEndpoint: (_preferred, name) => ({ path: `\\\\.\\pipe\\${name()}` }),
  secureEndpoint: () => {},
  // Node does not expose the pipe's HANDLE (a net.Socket's `_handle.fd` is -1 here), so neither
  // GetNamedPipeClientProcessId / GetNamedPipeServerProcessId nor ImpersonateNamedPipeClient can be
  // called on it; docs/security.md says what an implementation needs. Until then: refuse.
  checkPeer: () => ({
    ok: false,
    code: "NATIVE_PEER_UNKNOWN",
    reason:
      "checking which Windows user is at the other end of the kernel's named pipe is not implemented yet",
  }),
  // Not written yet: DeviceIoControl(FSCTL_SET_ZERO_DATA) on a file marked sparse would do it on NTFS. Refused clearly, so a caller
  // keeps the image correct and only larger on disk (docs/btrfs.md, "Giving space back").
  // docs/ipc.md "Shared memory", "Hosts": macOS would take the same calls as Linux (shm_open, mmap
  // MAP_FIXED | MAP_SHARED over the memory's pages); Windows cannot map a view over V8's reservation.
  memoryAddress: () => unavailable("mapping shared memory into a WebAssembly memory"),
  mapSegmentAt: () => unavailable("mapping shared memory into a WebAssembly memory"),
  mapZeroAt: () => unavailable("mapping shared memory into a WebAssembly memory"),
  punchHole: () => {
    throw new NcwError(
      "unavailable",
      "punching holes in files is not implemented on this host (win32) yet",
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
