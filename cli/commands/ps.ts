// `ncw ps`: the processes of the home's kernel server (system services at their fixed PIDs with --all).

import type { CommandModule } from "yargs";
import { connectKernel } from "../../kernel-compat/client.js";
import type { ProcessInfo } from "../../kernel-compat/protocol.js";
import { safeText } from "../../ncw/output.js";
import { type GlobalArgs, runCommand } from "../context.js";

/**
 * The SERVICES column (docs/services.md): what a service process serves and its clients' PIDs
 * ("main <- 101,102"), and the services a client is connected to ("-> 105").
 */
function services(p: ProcessInfo): string {
  const parts: string[] = [];
  if (p.service !== undefined)
    parts.push(`${safeText(p.service)} <- ${(p.clients ?? []).join(",") || "(none)"}`);
  if (p.connectedTo !== undefined && p.connectedTo.length > 0)
    parts.push(`-> ${p.connectedTo.join(",")}`);
  return parts.length === 0 ? "-" : parts.join(" ");
}

interface PsArgs extends GlobalArgs {
  all?: boolean;
}

export const psCommand: CommandModule<GlobalArgs, PsArgs> = {
  command: "ps",
  describe: "List the NightOS processes running on this home's kernel",
  builder: (y) =>
    y
      .option("all", {
        type: "boolean",
        describe: "Also list the system services' reserved PIDs (10–20)",
      })
      .epilogue("Does not start a kernel: with none running there are no processes."),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const conn = await connectKernel(home(), { start: false });
      let list: ProcessInfo[] = [];
      let kernelPid: number | undefined;
      if (conn) {
        kernelPid = conn.kernelPid;
        list = await conn.request({ t: "ps" }, (m) => (m.t === "ps" ? m.processes : undefined));
        conn.close();
      }
      const shown = argv.all ? list : list.filter((p) => p.kind === "app");
      if (out.json) {
        out.data({
          kernel: kernelPid === undefined ? null : { hostPid: kernelPid },
          processes: shown,
        });
        return;
      }
      if (kernelPid === undefined) {
        out.info("no kernel is running for this home (no processes)");
        return;
      }
      const rows = shown.map((p) => [
        String(p.pid),
        String(p.ppid),
        p.state,
        p.hostPid === undefined ? "-" : String(p.hostPid),
        p.startedAt ? `${((Date.now() - p.startedAt) / 1000).toFixed(1)}s` : "-",
        services(p),
        safeText(p.name), // from the kernel socket (the app's name): made safe
      ]);
      const head = ["PID", "PPID", "STATE", "HOST-PID", "AGE", "SERVICES", "NAME"];
      const widths = head.map((h, i) =>
        Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)),
      );
      const fmt = (r: string[]) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd();
      out.info(fmt(head));
      for (const r of rows) out.info(fmt(r));
      if (rows.length === 0) out.info(`(no app processes; kernel host PID ${kernelPid})`);
    }),
};
