// Picks the HostNative implementation for this host (native/types.ts); the rest of NCW never asks which OS it is on.

import { darwinNative } from "./darwin.js";
import { linuxNative } from "./linux.js";
import type { HostNative } from "./types.js";
import { win32Native } from "./win32.js";

export type {
  ControlEndpoint,
  HostNative,
  PeerCheck,
  SharedSegment,
  WaitResult,
} from "./types.js";

export function hostNative(platform: NodeJS.Platform = process.platform): HostNative {
  if (platform === "linux") return linuxNative;
  if (platform === "darwin") return darwinNative;
  if (platform === "win32") return win32Native;
  return { ...win32Native, platform };
}

/** True if a host process with this id exists (signal 0 probes without sending anything). */
export function hostProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
