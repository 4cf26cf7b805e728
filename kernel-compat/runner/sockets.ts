// A runner's socket table (docs/ipc.md "Service sockets"): the service-socket ends its process names, by
// the process' own identifier, as pipes.ts does for pipe ends. The relay fills it when the kernel grants
// or revokes an end (`socket-grant`, `socket-revoke`); the thread that executes SEND_SOCK_MSG /
// READ_SOCK_MSG maps the end's two rings once, on first use: the message bytes never go through the kernel.
// An end granted with the fast path (docs/ipc.md "The runner-to-runner path") also names the socket's
// exchange table (in one of the two segments) and the peer: its identifier for the socket, its
// connection (a service's client thread) and its runner's signal door, where SEND_SOCK_MSG posts the
// peer's RECV_SOCK_MSG itself.

import { hostNative } from "../../native/index.js";
import type { SharedSegment } from "../../native/types.js";
import { DOOR_BYTES, Door } from "../ipc/door.js";
import { ExchangeTable, type SocketSide } from "../ipc/exchanges.js";
import { hostRingMemory, RingReader, RingState, RingWriter } from "../ipc/ring.js";
import { memoryFrom } from "../ipc/shared-lock.js";
import { MappedEnds, SlotTable } from "./slot-table.js";

/** Socket ends one process may name at once (decided, docs/ipc.md): a grant past it is refused. */
export const SOCKET_SLOTS = 1024;
const SLOT_BYTES = 512;
const NAME_AT = [32, 144, 296] as const;
const NAME_MAX = 111;
// Slot layout (slot-table.ts gives the first two): i32 state (0 free, 1 used) | u64 handle @8 | u32 out size @16 | u32 in size @20 |
// u32 largest message @24 | u8 out name length @28 | u8 in name length @29 | u8 fast path (0 none, 1) @30 |
// u8 table in (0 out, 1 in) @31 | out name @32 | in name @144 | u32 table offset @256 | u8 side (0 service,
// 1 client) @260 | u8 door name length @261 | u64 peer's identifier @264 | u64 peer's connection @272 |
// u32 peer pid @280 | u32 door size @284 | door name @296.

/** What the fast path needs (the kernel's `socket-grant` `fast`). */
export interface SocketFastGrant {
  /** Which of the two segments holds the exchange table, and where in it. */
  table: "out" | "in";
  tableAt: number;
  side: SocketSide;
  peer: { pid: number; handle: bigint; connection: bigint; door: { name: string; size: number } };
}

export interface SocketSlot {
  handle: bigint;
  out: { name: string; size: number };
  in: { name: string; size: number };
  maxMessage: number;
  fast?: SocketFastGrant;
}

/** The table in a SharedArrayBuffer: written by the relay only, read by the process' threads. */
export class SocketSlots extends SlotTable {
  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(SOCKET_SLOTS * SLOT_BYTES)) {
    super(sab, SOCKET_SLOTS, SLOT_BYTES);
  }

  /** Relay side: record an end; false when the table is full or a name does not fit. */
  add(e: SocketSlot): boolean {
    const names = [Buffer.from(e.out.name, "utf8"), Buffer.from(e.in.name, "utf8")];
    const door = Buffer.from(e.fast?.peer.door.name ?? "", "utf8");
    if (names.some((n) => n.length > NAME_MAX) || door.length > NAME_MAX) return false;
    return this.claim(e.handle, (at) => {
      this.dv.setUint32(at + 16, e.out.size, true);
      this.dv.setUint32(at + 20, e.in.size, true);
      this.dv.setUint32(at + 24, e.maxMessage, true);
      names.forEach((n, k) => {
        this.u8[at + 28 + k] = n.length;
        this.u8.set(n, at + (NAME_AT[k] ?? 0));
      });
      const f = e.fast;
      this.u8[at + 30] = f === undefined ? 0 : 1;
      if (f === undefined) return;
      this.u8[at + 31] = f.table === "in" ? 1 : 0;
      this.dv.setUint32(at + 256, f.tableAt, true);
      this.u8[at + 260] = f.side === "service" ? 0 : 1;
      this.u8[at + 261] = door.length;
      this.dv.setBigUint64(at + 264, f.peer.handle, true);
      this.dv.setBigUint64(at + 272, f.peer.connection, true);
      this.dv.setUint32(at + 280, f.peer.pid, true);
      this.dv.setUint32(at + 284, f.peer.door.size, true);
      this.u8.set(door, at + NAME_AT[2]);
    });
  }

  read(slot: number): SocketSlot {
    const at = slot * SLOT_BYTES;
    const name = (k: 0 | 1 | 2) => {
      const len = this.u8[at + (k === 2 ? 261 : 28 + k)] ?? 0;
      return Buffer.from(this.u8.subarray(at + NAME_AT[k], at + NAME_AT[k] + len)).toString("utf8");
    };
    const slotted: SocketSlot = {
      handle: this.dv.getBigUint64(at + 8, true),
      out: { name: name(0), size: this.dv.getUint32(at + 16, true) },
      in: { name: name(1), size: this.dv.getUint32(at + 20, true) },
      maxMessage: this.dv.getUint32(at + 24, true),
    };
    if (this.u8[at + 30] !== 1) return slotted;
    slotted.fast = {
      table: this.u8[at + 31] === 1 ? "in" : "out",
      tableAt: this.dv.getUint32(at + 256, true),
      side: this.u8[at + 260] === 0 ? "service" : "client",
      peer: {
        handle: this.dv.getBigUint64(at + 264, true),
        connection: this.dv.getBigUint64(at + 272, true),
        pid: this.dv.getUint32(at + 280, true),
        door: { name: name(2), size: this.dv.getUint32(at + 284, true) },
      },
    };
    return slotted;
  }
}

/** One end as a thread uses it: the ring it writes (to the peer) and the one it reads. */
export interface SocketRing {
  readonly out: RingWriter;
  readonly in: RingReader;
  readonly maxMessage: number;
  /** The socket was closed (by either side, or because the peer ended). */
  closed(): boolean;
  /** The runner-to-runner path, when the kernel granted it (else SEND_SOCK_MSG asks the kernel). */
  readonly fast?: FastEnd;
}

/** What SEND_SOCK_MSG needs to apply the exchange rules and tell the peer itself. */
export interface FastEnd {
  readonly side: SocketSide;
  readonly table: ExchangeTable;
  /** The peer runner's door; undefined when it could not be mapped (the peer's runner is gone). */
  readonly door: Door | undefined;
  readonly peer: { readonly pid: number; readonly handle: bigint; readonly connection: bigint };
}

/** A thread's mapped socket ends, looked up by identifier; revoked ones are unmapped on the way. */
export class SocketRings {
  private readonly ends: MappedEnds<SocketRing>;
  constructor(slots: SocketSlots) {
    this.ends = new MappedEnds(slots, (slot) => {
      const e = slots.read(slot);
      const native = hostNative();
      const segments: SharedSegment[] = [];
      try {
        segments.push(native.openSegment(e.out.name, e.out.size));
        segments.push(native.openSegment(e.in.name, e.in.size));
      } catch {
        for (const s of segments) s.close();
        return undefined; // the kernel released them meanwhile: the end is gone
      }
      const [outSeg, inSeg] = segments as [SharedSegment, SharedSegment];
      const outMemory = hostRingMemory(outSeg, native);
      const inMemory = hostRingMemory(inSeg, native);
      const out = new RingWriter(outMemory);
      const inRing = new RingReader(inMemory);
      let fast: FastEnd | undefined;
      const f = e.fast;
      if (f !== undefined) {
        let door: Door | undefined;
        try {
          const seg = native.openSegment(f.peer.door.name, Math.max(f.peer.door.size, DOOR_BYTES));
          segments.push(seg);
          door = new Door(hostRingMemory(seg, native));
        } catch {
          door = undefined; // the peer's runner is gone: its end closes with it
        }
        const tableMemory = memoryFrom(f.table === "in" ? inMemory : outMemory, f.tableAt);
        fast = { side: f.side, table: new ExchangeTable(tableMemory), door, peer: f.peer };
      }
      const end: SocketRing = {
        out,
        in: inRing,
        maxMessage: e.maxMessage,
        closed: () => (inRing.state() & (RingState.writerClosed | RingState.readerClosed)) !== 0,
        ...(fast === undefined ? {} : { fast }),
      };
      return { segments, end };
    });
  }

  /** The end `handle` names for this process, or undefined (never granted, or revoked). */
  get(handle: bigint): SocketRing | undefined {
    return this.ends.get(handle);
  }
}
