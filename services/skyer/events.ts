// Application events (specs/applications.md "Application manifest" events, "Startup Reason"):
// Skyer asks an EventRunner to start the app with the matching reason. The CLI's runner starts it
// through the kernel (kernel-compat/skyer-events.ts, injected by the CLI); this one only records (unit tests).

import { type EventName, STARTUP_REASON } from "./model.js";

export interface AppEvent {
  event: EventName;
  aid: string;
  anid: number;
  version: string;
  /** NightOS path of the application's folder. */
  dir: string;
  /** The startup reason byte (bits 0-3 of the context header's first byte). */
  reason: number;
  /** The application's pre-compiled program (content.program.precomp), when it has one. */
  program?: Uint8Array;
}

export interface EventOutcome {
  event: EventName;
  aid: string;
  reason: number;
  /** Whether the application was really started. */
  started: boolean;
  note: string;
}

/** Starts applications for their install/update/uninstall events. */
export interface EventRunner {
  run(ev: AppEvent): Promise<EventOutcome>;
}

export function makeEvent(
  event: EventName,
  it: { aid: string; anid: number; version: string; dir: string; program?: Uint8Array },
): AppEvent {
  return { event, ...it, reason: STARTUP_REASON[event] };
}

/** The outcome of an event whose application is not started, saying why. */
export function notStarted(ev: AppEvent, why: string): EventOutcome {
  return {
    event: ev.event,
    aid: ev.aid,
    reason: ev.reason,
    started: false,
    note: `would start ${ev.aid} with reason 0x${ev.reason.toString(16)} (${ev.event}); skipped: ${why}`,
  };
}

/** The default runner: records "would start <aid> with reason 0xN" and starts nothing. */
export class RecordingEventRunner implements EventRunner {
  readonly log: AppEvent[] = [];
  async run(ev: AppEvent): Promise<EventOutcome> {
    this.log.push(ev);
    return notStarted(ev, "this runner only records events");
  }
}
