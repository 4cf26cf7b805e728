// `ncw kill`: end a NightOS process the way the kernel does (WILL_TERMINATE and the registry's delay),
// send it another signal, or kill it at once.

import type { CommandModule } from "yargs";
import { Sig, type SigName } from "../../commonassembly/abi/numbers.js";
import { connectKernel } from "../../kernel-compat/client.js";
import { NcwError } from "../../ncw/errors.js";
import { type GlobalArgs, runCommand } from "../context.js";
import { intArg } from "../usage.js";

interface KillArgs extends GlobalArgs {
  pid: string;
  signal?: string;
  force?: boolean;
  priority?: string;
}

export const killCommand: CommandModule<GlobalArgs, KillArgs> = {
  command: "kill <pid>",
  describe:
    "Terminate a NightOS process (WILL_TERMINATE, then killed after the terminate delay), signal it or set its priority",
  builder: (y) =>
    y
      .positional("pid", {
        type: "string",
        describe: "The NightOS PID (see `ncw ps`)",
        demandOption: true,
      })
      .option("signal", {
        type: "string",
        describe: "Send this signal instead, by name (e.g. TERMINATE, SUSPEND, WILL_SUSPEND)",
      })
      .option("force", { type: "boolean", describe: "Kill at once, without a signal" })
      .option("priority", {
        type: "string",
        describe: "Instead, set the process' priority: 0 suspends, 1–9 throttle, 10 full speed",
      })
      .conflicts("signal", "force")
      .conflicts("priority", ["signal", "force"]),
  handler: (argv) =>
    runCommand(argv, async ({ out, home }) => {
      const pid = intArg(
        argv.pid,
        "the PID",
        { min: 1, max: Number.MAX_SAFE_INTEGER },
        "KILL_BAD_PID",
        "`ncw ps` lists the running processes and their PIDs",
      );
      const priority =
        argv.priority === undefined
          ? undefined
          : intArg(argv.priority, "--priority", { min: 0, max: 10 }, "KILL_BAD_PRIORITY");
      let signal: number = Sig.WILL_TERMINATE;
      if (argv.signal !== undefined) {
        const name = argv.signal.toUpperCase() as SigName;
        if (!(name in Sig)) {
          throw new NcwError("usage", `unknown signal ${argv.signal}`, {
            code: "KILL_BAD_SIGNAL",
            hint: `one of ${Object.keys(Sig).join(", ")}`,
          });
        }
        signal = Sig[name];
      }
      const conn = await connectKernel(home(), { start: false });
      if (conn === undefined) {
        throw new NcwError("not-found", `no process ${pid}: no kernel is running for this home`, {
          code: "KERNEL_NO_SUCH_PROCESS",
        });
      }
      try {
        const msg =
          priority !== undefined
            ? { t: "priority" as const, pid, priority }
            : argv.force
              ? { t: "kill" as const, pid }
              : { t: "signal" as const, pid, signal };
        await conn
          .request(msg, (m) => (m.t === "ok" ? true : undefined))
          .catch((e: NcwError) => {
            throw new NcwError("not-found", e.message, { code: e.code });
          });
      } finally {
        conn.close();
      }
      out.info(
        priority !== undefined
          ? `set the priority of process ${pid} to ${priority}`
          : argv.force
            ? `killed process ${pid}`
            : `sent ${argv.signal?.toUpperCase() ?? "WILL_TERMINATE"} to process ${pid}`,
      );
    }),
};
