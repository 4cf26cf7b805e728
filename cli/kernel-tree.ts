// Writers reach the home's running kernel, the tree's one writer while it runs (docs/skyer.md
// "Writers and readers"): detected by connecting to its socket, never by starting one.

import { existsSync } from "node:fs";
import type { RemoteFs } from "../kernel-compat/tree-client.js";
import type { HomeLayout } from "../ncw/home.js";
import { useKernelWriter } from "../services/fs/open.js";

/**
 * The home's kernel as the tree's writer, or undefined when no kernel runs for it. Every command
 * registers it; only one that writes the tree calls it, so what it needs loads then, not at start-up.
 */
export async function kernelTree(home: HomeLayout): Promise<RemoteFs | undefined> {
  const { hostNative } = await import("../native/index.js");
  const { kernelEndpoint } = await import("../kernel-compat/paths.js");
  const ep = kernelEndpoint(home, hostNative());
  // No socket file: no kernel (and nothing to create or secure for a home that never ran one).
  if (ep.folder !== undefined && !existsSync(ep.path)) return undefined;
  const { connectKernel } = await import("../kernel-compat/client.js");
  const conn = await connectKernel(home, { start: false });
  if (conn === undefined) return undefined;
  const { RemoteFs } = await import("../kernel-compat/tree-client.js");
  return new RemoteFs(conn);
}

/** From now on, services/fs/open.ts hands writers the running kernel's tree. */
export function useKernelTree(): void {
  useKernelWriter(kernelTree);
}
