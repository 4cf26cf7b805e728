// The kernel's settings from the home's NightOS registry (specs/registry.md `system.processes`,
// services/registry/): the signal delays and NCW's resource limits (docs/kernel.md "Limits"), read at
// each process start, so a changed value applies to the next process.

import type { HomeLayout } from "../../ncw/home.js";
import { openTree } from "../../services/fs/open.js";
import { Registry } from "../../services/registry/registry.js";
import type { Delays, Limits } from "./kernel.js";

/** The stored values (defaults where unset); throws when the tree cannot be read (logged by the caller). */
export async function registrySettings(
  home: HomeLayout,
): Promise<{ delays: Delays; limits: Limits }> {
  // Read only: the kernel never writes the tree here, and must not create or lock the image.
  const fs = await openTree(home, { access: "read" });
  try {
    const r = await Registry.open(fs);
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
    };
  } finally {
    await fs.close();
  }
}
