// A runner's socket table (docs/ipc.md "Service sockets"): the service-socket ends its process names, by
// the process' own identifier, as pipes.ts does for pipe ends. The relay fills it when the kernel grants
// or revokes an end (`socket-grant`, `socket-revoke`); the thread that executes SEND_SOCK_MSG /
// READ_SOCK_MSG maps the end's two rings once, on first use: the message bytes never go through the kernel.

import { hostNative } from "../../native/index.js";
import type { SharedSegment } from "../../native/types.js";
import { hostRingMemory, RingReader, RingState, RingWriter } from "../ipc/ring.js";
import { MappedEnds, SlotTable } from "./slot-table.js";

/** Socket ends one process may name at once (decided, docs/ipc.md): a grant past it is refused. */
export const SOCKET_SLOTS = 1024;
const SLOT_BYTES = 256;
const NAME_AT = [32, 144] as const;
const NAME_MAX = 111;
// Slot layout (slot-table.ts gives the first two): i32 state (0 free, 1 used) | u64 handle @8 | u32 out size @16 | u32 in size @20 |
// u32 largest message @24 | u8 out name length @28 | u8 in name length @29 | out name @32 | in name @144.

export interface SocketSlot {
  handle: bigint;
  out: { name: string; size: number };
  in: { name: string; size: number };
  maxMessage: number;
}

/** The table in a SharedArrayBuffer: written by the relay only, read by the process' threads. */
export class SocketSlots extends SlotTable {
  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(SOCKET_SLOTS * SLOT_BYTES)) {
    super(sab, SOCKET_SLOTS, SLOT_BYTES);
  }

  /** Relay side: record an end; false when the table is full or a name does not fit. */
  add(e: SocketSlot): boolean {
    const names = [Buffer.from(e.out.name, "utf8"), Buffer.from(e.in.name, "utf8")];
    if (names.some((n) => n.length > NAME_MAX)) return false;
    return this.claim(e.handle, (at) => {
      this.dv.setUint32(at + 16, e.out.size, true);
      this.dv.setUint32(at + 20, e.in.size, true);
      this.dv.setUint32(at + 24, e.maxMessage, true);
      names.forEach((n, k) => {
        this.u8[at + 28 + k] = n.length;
        this.u8.set(n, at + (NAME_AT[k] ?? 0));
      });
    });
  }

  read(slot: number): SocketSlot {
    const at = slot * SLOT_BYTES;
    const name = (k: 0 | 1) => {
      const len = this.u8[at + 28 + k] ?? 0;
      return Buffer.from(this.u8.subarray(at + NAME_AT[k], at + NAME_AT[k] + len)).toString("utf8");
    };
    return {
      handle: this.dv.getBigUint64(at + 8, true),
      out: { name: name(0), size: this.dv.getUint32(at + 16, true) },
      in: { name: name(1), size: this.dv.getUint32(at + 20, true) },
      maxMessage: this.dv.getUint32(at + 24, true),
    };
  }
}

/** One end as a thread uses it: the ring it writes (to the peer) and the one it reads. */
export interface SocketRing {
  readonly out: RingWriter;
  readonly in: RingReader;
  readonly maxMessage: number;
  /** The socket was closed (by either side, or because the peer ended). */
  closed(): boolean;
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
      const out = new RingWriter(hostRingMemory(outSeg, native));
      const inRing = new RingReader(hostRingMemory(inSeg, native));
      const end: SocketRing = {
        out,
        in: inRing,
        maxMessage: e.maxMessage,
        closed: () => (inRing.state() & (RingState.writerClosed | RingState.readerClosed)) !== 0,
      };
      return { segments, end };
    });
  }

  /** The end `handle` names for this process, or undefined (never granted, or revoked). */
  get(handle: bigint): SocketRing | undefined {
    return this.ends.get(handle);
  }
}
