// A runner's door thread (docs/ipc.md "The runner-to-runner path"): started by the relay with the
// runner itself (a pooled runner has it before it serves a process: nothing to start at the first
// socket), on the door the runner made (ipc/door.ts). It sleeps on the door with the host's futex, and
// for each entry queues the signal on the ring of the thread it is for (the process' own, or a client
// thread's by connection), then raises the poll flag (and interrupts a blocking kernel syscall of the
// program, as the relay does): RECV_SOCK_MSG reaches the program without any event loop. While a queued
// signal is not taken it raises the flag again every 2 ms (the relay's re-poke). Entries for a client
// thread it does not know yet go to the relay (its early queue).

import {
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from "node:worker_threads";
import { CTL_POLL_FLAG_OFFSET } from "../../commonassembly/abi/wasm-names.js";
import { hostNative } from "../../native/index.js";
import { DOOR_BYTES, Door } from "../ipc/door.js";
import { hostRingMemory } from "../ipc/ring.js";
import { Mailbox, raisePollFlag, SignalRing } from "./channel.js";

/** What the relay tells its door thread (on `port`). */
export type ToDoorThread =
  | { t: "memory"; memory: WebAssembly.Memory; ctlAddr: number }
  | { t: "client"; connection: bigint; signals: SharedArrayBuffer }
  | { t: "client-gone"; connection: bigint }
  | { t: "stop" };

/** What the door thread tells the relay (on its parentPort). */
export type FromDoorThread =
  | {
      t: "client-signal";
      connection: bigint;
      signal: number;
      datafield: Uint8Array;
    }
  /** Node bootstrapped and this module loaded: the entry may set the late V8 flags (main.ts). */
  | { t: "booted" };

export interface DoorThreadStart {
  door: { name: string; size: number };
  ring: SharedArrayBuffer;
  mailbox: SharedArrayBuffer;
  port: MessagePort;
}

function run(start: DoorThreadStart): void {
  const native = hostNative();
  const seg = native.openSegment(start.door.name, Math.max(start.door.size, DOOR_BYTES));
  const door = new Door(hostRingMemory(seg, native));
  const ring = new SignalRing(start.ring);
  const mailbox = new Mailbox(start.mailbox);
  const clients = new Map<bigint, SignalRing>();
  let flag: Int32Array | undefined;
  let flagAt = 0;
  const raise = () => {
    if (flag) raisePollFlag(flag, flagAt);
  };
  const pending = () => {
    if (ring.needsSafepoint()) return true;
    for (const r of clients.values()) if (r.pending()) return true;
    return false;
  };
  for (;;) {
    const seen = door.sequence();
    for (let m = receiveMessageOnPort(start.port); m; m = receiveMessageOnPort(start.port)) {
      const msg = m.message as ToDoorThread;
      if (msg.t === "stop") return;
      if (msg.t === "memory") {
        flag = new Int32Array(msg.memory.buffer);
        flagAt = (msg.ctlAddr + CTL_POLL_FLAG_OFFSET) >> 2;
      } else if (msg.t === "client") clients.set(msg.connection, new SignalRing(msg.signals));
      else clients.delete(msg.connection);
    }
    let own = false;
    for (const e of door.take()) {
      if (e.connection === 0n) {
        // A full ring drops the signal, as the relay does (the kernel's channel has no other way).
        ring.push(e.signal, e.datafield);
        own = true;
        continue;
      }
      const r = clients.get(e.connection);
      if (r === undefined || !r.push(e.signal, e.datafield))
        parentPort?.postMessage({
          t: "client-signal",
          connection: e.connection,
          signal: e.signal,
          datafield: e.datafield,
        } satisfies FromDoorThread);
    }
    const waiting = pending();
    if (waiting) raise();
    // A worker blocked in a kernel syscall runs its handlers now (the program's mailbox only).
    if (own) mailbox.interrupt();
    if (door.closed) return;
    door.sleep(seen, waiting ? 2 : 1000);
  }
}

if (parentPort && (workerData as { ncwDoor?: boolean } | undefined)?.ncwDoor === true) {
  parentPort.once("message", (start: DoorThreadStart) => run(start));
  parentPort.postMessage({ t: "booted" } satisfies FromDoorThread);
}
