// The kernel's settings from the home's NightOS registry (specs/registry.md `system.processes`,
// services/registry/): the signal delays and NCW's resource limits (docs/kernel.md "Limits"). Read when
// the kernel starts, at each `ncw run`, and again whenever a committed tree request changes the
// registry file (main.ts), so a changed value applies at once, without restarting the kernel.

import type { HomeLayout } from "../../ncw/home.js";
import type { FsLayer } from "../../services/fs/layer.js";
import { openTree } from "../../services/fs/open.js";
import { REGISTRY_PATH, Registry } from "../../services/registry/registry.js";
import type { Delays, Limits } from "./kernel.js";

export interface RegistrySettings {
  delays: Delays;
  limits: Limits;
  /** system.debugging.dev_mode: application proxies are allowed (docs/kernel.md "Application proxies"). */
  devMode: boolean;
}

/** The settings a registry holds (defaults where it holds none). */
export function settingsOf(r: Registry): RegistrySettings {
  return {
    delays: {
      suspend: Number(r.get("system.processes.suspend_delay")),
      terminate: Number(r.get("system.processes.terminate_delay")),
      serviceAnswer: Number(r.get("system.processes.service_answer_delay")),
    },
    limits: {
      processes: Number(r.get("system.processes.max_processes")),
      memoryBytes: Number(r.get("system.processes.max_memory")) * 1024 * 1024,
      threadsPerProcess: Number(r.get("system.processes.max_threads")),
    },
    devMode: r.get("system.debugging.dev_mode") === true,
  };
}

/** The stored values (defaults where unset); throws when the tree cannot be read (logged by the caller). */
export async function registrySettings(home: HomeLayout): Promise<RegistrySettings> {
  // Read only: the kernel never writes the tree here, and must not create or lock the image.
  const fs = await openTree(home, { access: "read" });
  try {
    return settingsOf(await Registry.open(fs));
  } finally {
    await fs.close();
  }
}

/** The settings from the kernel's own open tree (it owns it for writing: no second open). */
export async function registrySettingsOf(layer: FsLayer): Promise<RegistrySettings> {
  return settingsOf(await Registry.open(layer));
}

/** Whether a change of `paths` may have changed the registry file (it, or a folder above it). */
export function touchesRegistry(paths: readonly string[]): boolean {
  return paths.some((p) => {
    const q = p.replace(/\/+$/, "");
    return q === REGISTRY_PATH || q === "" || REGISTRY_PATH.startsWith(`${q}/`);
  });
}
