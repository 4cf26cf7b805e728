// Picks the HostNative implementation for this host (native/types.ts); the rest of NCW never asks which OS it is on.

import { darwinNative } from "./darwin.js";
import { linuxNative } from "./linux.js";
import type { HostNative } from "./types.js";
import { win32Native } from "./win32.js";

export type { HostErrorKind } from "./errors.js";
export { hostErrorKind, hostProcessAlive, isHostError } from "./errors.js";

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
