// The kernel's signal delays from the home's NightOS registry (specs/registry.md `system.processes`,
// services/registry/): read at each process start, so a changed value applies to the next process.

import type { HomeLayout } from "../../ncw/home.js";
import { openTree } from "../../services/fs/open.js";
import { Registry } from "../../services/registry/registry.js";
import type { Delays } from "./kernel.js";

/** The stored delays (defaults where unset); undefined when the tree cannot be read (logged by the caller). */
export async function registryDelays(home: HomeLayout): Promise<Delays> {
  // Read only: the kernel never writes the tree here, and must not create or lock the image.
  const fs = await openTree(home, { access: "read" });
  try {
    const r = await Registry.open(fs);
    return {
      suspend: Number(r.get("system.processes.suspend_delay")),
      terminate: Number(r.get("system.processes.terminate_delay")),
    };
  } finally {
    await fs.close();
  }
}
