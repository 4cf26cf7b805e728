// A runner's pipe table (docs/ipc.md "Pipes"; specs/kernel/ipc.md): the pipe ends its process names,
// by the process' own identifier. The relay fills it when the kernel grants or revokes an end
// (`pipe-grant`, `pipe-revoke`); the thread that executes PIPE_WRITE / PIPE_READ / PIPE_INFO maps each
// ring once, on first use, and then works on it directly: the bytes never go through the kernel.

import { hostNative } from "../../native/index.js";
import type { SharedSegment } from "../../native/types.js";
import { hostRingMemory, RingReader, RingWriter } from "../ipc/ring.js";
import { HostInput } from "./host-input.js";
import { MappedEnds, SlotTable } from "./slot-table.js";

/**
 * How long a PIPE_READ / PIPE_WRITE spins before it sleeps (ring.ts `WaitOptions.spin`), from
 * NCW_RING_SPIN in the runner's environment (docs/ipc.md "Waiting"; a tuning and benchmark knob, as
 * the kernel's environment reaches its runners): 0 sleeps at once ("blocking"); unset, the ring's default.
 */
export const PIPE_SPIN: number | undefined = spinFromEnv(process.env.NCW_RING_SPIN);

function spinFromEnv(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Pipe ends one process may name at once (decided, docs/ipc.md): a grant past it is refused. */
export const PIPE_SLOTS = 1024;
const SLOT_BYTES = 128;
/** Where a host-fed end's host descriptor is (plus one: 0, the zeroed slot, names none). */
const HOST_FD_AT = SLOT_BYTES - 4;
const NAME_MAX = HOST_FD_AT - 33;
// Slot layout (slot-table.ts gives the first two): i32 state (0 free, 1 used) | u64 handle @8 | u32 size @16 | u8 end @20 (0 rc, 1 sc) |
// u64 creator @24 | u8 name length @32 | name @33 | i32 host fd + 1 @124 (host-input.ts; 0: none).

/** The table in a SharedArrayBuffer: written by the relay only, read by the process' threads. */
export class PipeSlots extends SlotTable {
  constructor(sab: SharedArrayBuffer = new SharedArrayBuffer(PIPE_SLOTS * SLOT_BYTES)) {
    super(sab, PIPE_SLOTS, SLOT_BYTES);
  }

  /** Relay side: record an end; false when the table is full or the name does not fit. */
  add(e: {
    handle: bigint;
    name: string;
    size: number;
    end: "sc" | "rc";
    creator: number;
    /** An RC whose bytes this process' threads read from this host descriptor (host-input.ts). */
    hostFd?: number;
  }): boolean {
    const name = Buffer.from(e.name, "utf8");
    if (name.length > NAME_MAX) return false;
    return this.claim(e.handle, (at) => {
      this.dv.setInt32(at + HOST_FD_AT, e.hostFd === undefined ? 0 : e.hostFd + 1, true);
      this.dv.setUint32(at + 16, e.size, true);
      this.u8[at + 20] = e.end === "sc" ? 1 : 0;
      this.dv.setBigUint64(at + 24, BigInt(e.creator), true);
      this.u8[at + 32] = name.length;
      this.u8.set(name, at + 33);
    });
  }

  read(slot: number): {
    name: string;
    size: number;
    end: "sc" | "rc";
    creator: number;
    hostFd: number | undefined;
  } {
    const at = slot * SLOT_BYTES;
    const len = this.u8[at + 32] ?? 0;
    const fd = this.dv.getInt32(at + HOST_FD_AT, true) - 1;
    return {
      hostFd: fd >= 0 ? fd : undefined,
      size: this.dv.getUint32(at + 16, true),
      end: this.u8[at + 20] === 1 ? "sc" : "rc",
      creator: Number(this.dv.getBigUint64(at + 24, true)),
      name: Buffer.from(this.u8.subarray(at + 33, at + 33 + len)).toString("utf8"),
    };
  }
}

/** One end as a thread uses it: its ring side, mapped in this thread. */
export type PipeRing =
  | { end: "sc"; creator: number; ring: RingWriter }
  | { end: "rc"; creator: number; ring: RingReader; host?: HostInput };

/** A thread's mapped rings, looked up by identifier; stale ones (revoked) are unmapped on the way. */
export class PipeRings {
  private readonly ends: MappedEnds<PipeRing>;
  constructor(slots: PipeSlots) {
    this.ends = new MappedEnds(slots, (slot) => {
      const e = slots.read(slot);
      const native = hostNative();
      let segment: SharedSegment;
      try {
        segment = native.openSegment(e.name, e.size);
      } catch {
        return undefined; // the kernel released it meanwhile: the end is gone
      }
      const memory = hostRingMemory(segment, native);
      const pipe: PipeRing =
        e.end === "sc"
          ? { end: "sc", creator: e.creator, ring: new RingWriter(memory) }
          : {
              end: "rc",
              creator: e.creator,
              ring: new RingReader(memory),
              ...(e.hostFd === undefined
                ? {}
                : { host: new HostInput(e.hostFd, new RingWriter(memory), native) }),
            };
      return { segments: [segment], end: pipe };
    });
  }

  /** The end `handle` names for this process, or undefined (never granted, or revoked). */
  get(handle: bigint): PipeRing | undefined {
    return this.ends.get(handle);
  }
}
