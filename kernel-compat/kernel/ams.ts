// Abstract memory segments, the kernel object (specs/kernel/memory.md "Abstract memory segments",
// ipc.md "Shared Memory"; docs/ipc.md "Shared memory"): each AMS is a host segment the kernel owns
// (segments.ts), its owner, its sharings and every process' mappings of it. The kernel decides; the
// runners map the segment over their memory's pages (runner/ams.ts). An AMS ID is one number for every
// process (syscalls.md SHARE_AMS: "common for both the sender and the receiver"); a process names only
// the AMS it made or was shared.

import { AmsPermission } from "../../commonassembly/abi/signals.js";
import type { KSegment, SegmentTable } from "./segments.js";

export interface KMapping {
  /** Where in the process' memory, how many bytes, from which byte of the AMS. */
  readonly address: number;
  readonly length: number;
  readonly from: number;
  /** Made by SHARE_AMS (pages the receiver's allocator gave), not MAP_AMS. */
  readonly auto: boolean;
  /** The range VIRT_MEM_AMS registered. */
  readonly source: boolean;
}

export interface KSharing {
  readonly receiver: number;
  readonly exclusive: boolean;
  /** AmsPermission bits (mutual); 0 for exclusive. */
  readonly permissions: number;
  readonly copyOnWrite: boolean;
  readonly command: number;
}

/**
 * What the kernel knows of a signal-backed AMS (BACKED_AMS; docs/ipc.md "Signal-backed AMS"): its
 * copy-on-write mode, and per page filled the bytes the backer last gave or acknowledged, so a
 * write-back sends only the words a receiver changed.
 */
export interface KBacking {
  readonly copyOnWrite: boolean;
  readonly served: Map<number, Uint8Array>;
}

export interface KAms {
  readonly id: bigint;
  /** The process that shares it: its creator, or the receiver of an exclusive sharing. */
  owner: number;
  readonly kind: "virtual" | "backed";
  readonly length: number;
  readonly segment: KSegment;
  /** Mutual sharings in force, and the exclusive one that made `owner` (kept for AMS_SHARING_INFO). */
  sharings: KSharing[];
  /** The exclusive sharing that gave it to `owner`, with the process that shared it. */
  exclusive?: { sharing: KSharing; sharer: number };
  /** Every process' mappings of it. */
  readonly mappings: Map<number, KMapping[]>;
  /** Set for a signal-backed AMS (kind "backed"). */
  readonly backing?: KBacking;
}

export class AmsTable {
  private readonly byId = new Map<bigint, KAms>();
  private next = 1n;

  constructor(private readonly segments: SegmentTable) {}

  /** A new AMS of `length` bytes (whole pages) owned by `owner`; throws a native error. */
  create(owner: number, kind: KAms["kind"], length: number, copyOnWrite = false): KAms {
    const segment = this.segments.create(0, length, `ams${this.next}`);
    const ams: KAms = {
      id: this.next++,
      owner,
      kind,
      length,
      segment,
      sharings: [],
      mappings: new Map(),
      ...(kind === "backed" ? { backing: { copyOnWrite, served: new Map() } } : {}),
    };
    this.byId.set(ams.id, ams);
    return ams;
  }

  /** The AMS `id` if process `pid` names it (its owner or a receiver), else undefined. */
  named(pid: number, id: bigint): KAms | undefined {
    const a = this.byId.get(id);
    if (a === undefined) return undefined;
    return a.owner === pid || a.sharings.some((s) => s.receiver === pid) ? a : undefined;
  }

  /** How `pid` may map `a`: the owner reads and writes; a receiver as it was shared. */
  accessOf(
    a: KAms,
    pid: number,
  ): { readOnly: boolean; private: boolean; permissions: number } | undefined {
    if (a.owner === pid)
      return {
        readOnly: false,
        private: false,
        permissions: AmsPermission.READ | AmsPermission.WRITE,
      };
    const s = a.sharings.find((x) => x.receiver === pid);
    if (s === undefined) return undefined;
    // Write without read cannot be a host page's protection: it maps read-write (docs/ipc.md).
    const write = (s.permissions & AmsPermission.WRITE) !== 0;
    // A copy-on-write backed AMS maps privately for every receiver (BACKED_AMS' own mode).
    const cow = s.copyOnWrite || a.backing?.copyOnWrite === true;
    return { readOnly: !write, private: cow, permissions: s.permissions };
  }

  addMapping(a: KAms, pid: number, m: KMapping): void {
    const list = a.mappings.get(pid) ?? [];
    list.push(m);
    a.mappings.set(pid, list);
  }

  /** Forget `pid`'s mapping of `a` at `address` (all of them for undefined); those forgotten. */
  removeMappings(a: KAms, pid: number, address?: number): KMapping[] {
    const list = a.mappings.get(pid) ?? [];
    const gone = list.filter((m) => address === undefined || m.address === address);
    const kept = list.filter((m) => !gone.includes(m));
    if (kept.length === 0) a.mappings.delete(pid);
    else a.mappings.set(pid, kept);
    return gone;
  }

  /** Every AMS process `pid` owns or receives. */
  namedBy(pid: number): KAms[] {
    return [...this.byId.values()].filter((a) => this.named(pid, a.id) !== undefined);
  }

  /** Forget `a` and release its segment (its runners' mappings stay valid until they unmap). */
  release(a: KAms): void {
    if (!this.byId.delete(a.id)) return;
    this.segments.release(a.segment.id);
  }

  get size(): number {
    return this.byId.size;
  }
}
