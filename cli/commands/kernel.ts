// `ncw kernel status|stop`: the home's kernel server (docs/kernel.md "The kernel server"). A kernel
// starts with the first command that needs one and exits by itself once idle; `stop` ends it now,
// through its own `shutdown` request, so its tree is let go cleanly (the awake indicator removed).

import type { CommandModule } from "yargs";
import { connectKernel, type KernelConnection } from "../../kernel-compat/client.js";
import type { ProcessInfo } from "../../kernel-compat/protocol.js";
import { hostProcessAlive } from "../../native/errors.js";
import { NcwError } from "../../ncw/errors.js";
import { type GlobalArgs, runCommand } from "../context.js";

/** How long `stop` waits for the kernel's host process to be gone after it accepted the shutdown. */
export const KERNEL_STOP_WAIT_MS = 10_000;

interface StopArgs extends GlobalArgs {
  force?: boolean;
}

async function appProcesses(conn: KernelConnection): Promise<ProcessInfo[]> {
  const list = await conn.request({ t: "ps" }, (m) => (m.t === "ps" ? m.processes : undefined));
  return list.filter((p) => p.kind === "app");
}

/** Resolves once host process `pid` is gone, or false after `ms`. */
async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (hostProcessAlive(pid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "status",
  describe: "Say whether this home's kernel is running, its host PID and its app processes",
  builder: (y) => y.epilogue("Does not start a kernel. Exit code 0 either way."),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const conn = await connectKernel(home(), { start: false });
      if (conn === undefined) {
        if (out.json) out.data({ running: false, hostPid: null, processes: 0 });
        else out.info("no kernel is running for this home");
        return;
      }
      try {
        const apps = await appProcesses(conn);
        if (out.json) out.data({ running: true, hostPid: conn.kernelPid, processes: apps.length });
        else
          out.info(
            `kernel running: host PID ${conn.kernelPid}, ${apps.length} app process${apps.length === 1 ? "" : "es"}`,
          );
      } finally {
        conn.close();
      }
    }),
};

const stopCommand: CommandModule<GlobalArgs, StopArgs> = {
  command: "stop",
  describe: "Stop this home's kernel now (it would exit by itself once idle)",
  builder: (y) =>
    y
      .option("force", {
        type: "boolean",
        describe: "Stop it even while app processes run: they are killed",
      })
      .epilogue(
        "Without a running kernel there is nothing to do (exit 0). While app processes run it refuses " +
          "(exit 75) unless --force. The kernel lets its tree go cleanly before it exits.",
      ),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const conn = await connectKernel(home(), { start: false });
      if (conn === undefined) {
        if (out.json) out.data({ stopped: false, running: false, hostPid: null, killed: [] });
        else out.info("no kernel is running for this home");
        return;
      }
      const hostPid = conn.kernelPid;
      let killed: number[];
      try {
        const apps = await appProcesses(conn);
        if (apps.length > 0 && argv.force !== true) {
          const pids = apps.map((p) => p.pid).join(", ");
          throw new NcwError(
            "temp-fail",
            `the kernel has ${apps.length} app process${apps.length === 1 ? "" : "es"} running (PID ${pids})`,
            {
              code: "KERNEL_BUSY",
              hint: "end them first (ncw kill <pid>), or pass --force to stop the kernel and kill them",
            },
          );
        }
        killed = apps.map((p) => p.pid);
        await conn.request({ t: "shutdown" }, (m) => (m.t === "ok" ? true : undefined));
      } finally {
        conn.close();
      }
      if (!(await gone(hostPid, KERNEL_STOP_WAIT_MS)))
        throw new NcwError(
          "temp-fail",
          `the kernel (host PID ${hostPid}) accepted to stop but is still running after ${KERNEL_STOP_WAIT_MS / 1000} s`,
          { code: "KERNEL_STOP_TIMEOUT", hint: `kill it: kill ${hostPid}` },
        );
      if (out.json) out.data({ stopped: true, running: false, hostPid, killed });
      else
        out.info(
          `kernel stopped (host PID ${hostPid})${killed.length > 0 ? `; killed PID ${killed.join(", ")}` : ""}`,
        );
    }),
};

export const kernelCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "kernel <command>",
  describe: "Show or stop the home's kernel server",
  builder: (y) =>
    y
      .command(statusCommand)
      .command(stopCommand)
      .demandCommand(1, "name a command: status or stop")
      .epilogue(
        "A kernel starts with the first command that needs one and exits by itself once it has no " +
          "process and no client for NCW_KERNEL_IDLE_MS (30 s by default).",
      ),
  handler: () => {},
};
