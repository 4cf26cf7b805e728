// Skyer's events run for real (specs/applications.md "Application manifest" events, "Startup
// Reason"): the application's pre-compiled program is started through the home's kernel server
// (client.ts startRun; the kernel builds the event's execution context) with the event's startup
// reason; unlike runToEnd, it kills a process that outlives the time limit. Decisions: docs/skyer.md.
// It lives beside the kernel client, not in services/skyer: Skyer gets it injected as its EventRunner,
// so the services never import the kernel (docs/kernel.md, "Layers").

import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HomeLayout } from "../ncw/home.js";
import {
  type AppEvent,
  type EventOutcome,
  type EventRunner,
  notStarted,
} from "../services/skyer/events.js";

/** How long an event's process may run before Skyer kills it (NCW_EVENT_TIMEOUT_MS overrides). */
export const EVENT_TIMEOUT_MS = 30_000;

export class KernelEventRunner implements EventRunner {
  constructor(
    private readonly home: HomeLayout,
    private readonly timeoutMs = Number(process.env.NCW_EVENT_TIMEOUT_MS ?? EVENT_TIMEOUT_MS),
  ) {}

  async run(ev: AppEvent): Promise<EventOutcome> {
    if (ev.program === undefined)
      return notStarted(
        ev,
        "the application has no pre-compiled program (content.program.precomp)",
      );
    // Loaded only when an event really starts an app.
    const { connectKernel, startRun } = await import("./client.js");
    // The kernel reads programs from host files; the AOT cache already holds this one's artifact.
    const dir = path.join(this.home.run, "events");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${randomBytes(6).toString("hex")}.npp`);
    writeFileSync(file, ev.program);
    const conn = await connectKernel(this.home, { start: true });
    if (conn === undefined) throw new Error("unreachable: connectKernel with start");
    try {
      const run = startRun(
        conn,
        {
          path: file,
          args: [],
          startup: { kind: "event", code: ev.reason },
          anid: ev.anid,
          trace: false,
          priority: 10,
        },
        { started: () => undefined, trace: () => undefined },
      );
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), this.timeoutMs);
      });
      const outcome = await Promise.race([run.done, timedOut]);
      clearTimeout(timer);
      const hex = `0x${ev.reason.toString(16)}`;
      const started = `started ${ev.aid} with reason ${hex} (${ev.event})`;
      if (outcome === "timeout") {
        run.kill();
        return {
          event: ev.event,
          aid: ev.aid,
          reason: ev.reason,
          started: true,
          note: `${started}: still running after ${this.timeoutMs} ms, killed`,
        };
      }
      return {
        event: ev.event,
        aid: ev.aid,
        reason: ev.reason,
        started: true,
        note:
          outcome.kind === "exit"
            ? `${started}: exited with exit data ${outcome.exitData}`
            : `${started}: killed (${outcome.reason})`,
      };
    } finally {
      conn.close();
      rmSync(file, { force: true });
    }
  }
}
