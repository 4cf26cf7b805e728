// Skyer run by the kernel for sys::app's INSTALL_APP and UNINSTALL_APP (docs/services.md "sys::app"):
// the same session, checks and events as `ncw skyer install|uninstall` (services/skyer/operations.ts),
// on the kernel's own tree. Skyer writes through an in-process RemoteFs whose every operation is a
// request of the tree owner's queue (server/tree.ts), exactly what a CLI's Skyer sends while a kernel
// runs; the home lock keeps it apart from a CLI's Skyer; the events run with the kernel's event runner
// (kernel-compat/skyer-events.ts), which starts them through this kernel's socket as for the CLI.

import type { HomeLayout } from "../../ncw/home.js";
import type { InstallDone } from "../../services/app/service.js";
import type { OperationReport } from "../../services/skyer/skyer.js";
import { KernelEventRunner } from "../skyer-events.js";
import { RemoteFs } from "../tree-client.js";
import type { TreeOwner } from "./tree.js";

/** `ncw skyer install` of a package's bytes for `user` (their own scope); throws Skyer's NcwError. */
export async function installForUser(
  home: HomeLayout,
  tree: TreeOwner,
  user: string,
  name: string,
  bytes: Uint8Array,
): Promise<InstallDone> {
  const { readInstallPackage, installIn } = await import("../../services/skyer/operations.js");
  // Read and checked first, as the CLI does: a bad package never takes the home lock.
  const pkg = await readInstallPackage(name, bytes);
  return withWriter(home, tree, `sys::app install ${name}`, async (s) => {
    const r = await installIn(s, pkg, { scope: { kind: "user", user }, user });
    return { anid: r.anid, action: r.action, aid: r.aid, version: r.version, events: notes(r) };
  });
}

/** `ncw skyer uninstall <aid>` for `user` (their own install); throws Skyer's NcwError. */
export async function uninstallForUser(
  home: HomeLayout,
  tree: TreeOwner,
  user: string,
  aid: string,
): Promise<{ events: string[] }> {
  return withWriter(home, tree, `sys::app uninstall ${aid}`, async (s) => ({
    events: notes(await s.skyer.uninstall(aid, { kind: "user", user })),
  }));
}

/** Each event's line, as `ncw skyer` prints it ("event postinstall: started …"). */
const notes = (r: OperationReport): string[] => r.events.map((e) => `event ${e.event}: ${e.note}`);

async function withWriter<T>(
  home: HomeLayout,
  tree: TreeOwner,
  command: string,
  body: (s: import("../../services/skyer/session.js").SkyerSession) => Promise<T>,
): Promise<T> {
  const { openSkyerSession } = await import("../../services/skyer/session.js");
  const { readInstalledManifest } = await import("../../services/skyer/package.js");
  const { offThreadPrecompiler } = await import("../../services/skyer/aot.js");
  const s = await openSkyerSession(home, {
    command,
    write: true,
    writer: async () => new RemoteFs(ownerChannel(tree)),
    readManifest: readInstalledManifest,
    events: new KernelEventRunner(home),
    // The AOT step off the kernel's event loop (a compile takes seconds; other processes run meanwhile).
    precompile: offThreadPrecompiler(home.cache),
  });
  try {
    return await body(s);
  } finally {
    await s.close();
  }
}

/** A RemoteFs channel that hands each tree request to the tree owner's queue, in this process. */
function ownerChannel(tree: TreeOwner): ConstructorParameters<typeof RemoteFs>[0] {
  return {
    request: async (m, pick) => {
      if (m.t !== "tree")
        throw new Error(`the tree owner's channel carries tree requests, not ${m.t}`);
      const answer = pick(await tree.handle(m.id, m.op));
      if (answer === undefined) throw new Error("the tree owner answered another request");
      return answer;
    },
    close: () => {},
  };
}
