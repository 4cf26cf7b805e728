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
};
