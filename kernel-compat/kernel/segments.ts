// Host shared-memory segments the kernel owns (docs/kernel.md "Kernel objects"; the room for abstract
// memory segments and pipe buffers, specs/kernel/ipc.md): each is created through native/ on behalf of
// one NightOS process and released when that process exits. A runner maps one when the kernel tells it
// to (ToRunner `map-segment`, protocol.ts). Decided: identifiers from 1, never reused for the kernel's life.

import type { HostNative, SharedSegment } from "../../native/types.js";

export interface KSegment {
  readonly id: number;
  /** The PID of the process it was made for: its exit releases the segment. */
  readonly owner: number;
  /** What a runner passes to `openSegment` to map it. */
  readonly name: string;
  /** In bytes, a whole number of host pages. */
  readonly size: number;
  /** The kernel's own mapping. */
  readonly bytes: Uint8Array;
  /** The host address of the kernel's mapping (wait/wake on its words: a ring's close, docs/ipc.md). */
  readonly address: bigint;
}

export class SegmentTable {
  private readonly byId = new Map<number, { seg: KSegment; host: SharedSegment }>();
  private next = 1;

  constructor(private readonly native: Pick<HostNative, "createSegment">) {}

  /** A new zero-filled segment of at least `size` bytes for process `owner`; throws a native error. */
  create(owner: number, size: number, label: string): KSegment {
    return this.adopt(owner, this.native.createSegment(size, `${label}:${owner}`));
  }

  /** Take over a segment this process mapped (`openSegment`), for process `owner`, like create(). */
  adopt(owner: number, host: SharedSegment): KSegment {
    const seg: KSegment = {
      id: this.next++,
      owner,
      name: host.name,
      size: host.size,
      bytes: new Uint8Array(host.buffer),
      address: host.address,
    };
    this.byId.set(seg.id, { seg, host });
    return seg;
  }

  get(id: number): KSegment | undefined {
    return this.byId.get(id)?.seg;
  }

  ownedBy(pid: number): KSegment[] {
    return [...this.byId.values()].filter((e) => e.seg.owner === pid).map((e) => e.seg);
  }

  /** Unmap and close segment `id` (its runners' mappings stay valid until they unmap). */
  release(id: number): boolean {
    const e = this.byId.get(id);
    if (e === undefined) return false;
    this.byId.delete(id);
    e.host.close();
    return true;
  }

  /** Process `pid` exited: release every segment it owned; how many. */
  releaseOwner(pid: number): number {
    const mine = this.ownedBy(pid);
    for (const s of mine) this.release(s.id);
    return mine.length;
  }
}
