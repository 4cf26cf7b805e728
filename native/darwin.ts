// macOS (shm_open + mmap, os_sync_wait_on_address) implementation of HostNative (native/types.ts).
// Not written yet: every call raises a documented NcwError instead of pretending (docs/kernel.md, "Hosts").
// Parent-death protection falls back to the runner's IPC channel, which works on every host.

import { NcwError } from "../ncw/errors.js";
import type { HostNative } from "./types.js";

function unavailable(what: string): never {
  throw new NcwError("unavailable", `${what} is not implemented on this host (darwin) yet`, {
    code: "NATIVE_UNAVAILABLE_ON_HOST",
    hint: "NCW's shared-memory IPC runs on Linux today; see docs/kernel.md, section Hosts",
  });
}

export const darwinNative: HostNative = {
  platform: "darwin",
  createSegment: () => unavailable("host shared memory"),
  openSegment: () => unavailable("host shared memory"),
  wait: () => unavailable("wait-on-address"),
  wake: () => unavailable("wait-on-address"),
  dieWithParent: () => false,
  // Not written yet: fcntl(F_PUNCHHOLE) with a struct fpunchhole {fp_flags, reserved, fp_offset, fp_length} would do it on APFS. Refused clearly, so a caller
  // keeps the image correct and only larger on disk (docs/btrfs.md, "Giving space back").
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
};
