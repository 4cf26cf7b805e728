// Pipes, the kernel object (specs/kernel/ipc.md "Pipes"; docs/ipc.md "Pipes"): each pipe is a byte ring
// in a host segment the kernel owns, its two ends (SC, RC) named to processes by per-process identifiers
// (handles.ts), and its closed state. The kernel creates, shares and closes pipes; it never moves bytes.

import type { HostNative } from "../../native/types.js";
import {
  hostRingMemory,
  initRing,
  MESSAGE_HEADER_SIZE,
  RingFlag,
  RingReader,
  ringSegmentSize,
} from "../ipc/ring.js";
import { Handles } from "./handles.js";
import type { KSegment, SegmentTable } from "./segments.js";

/** ipc.md: "The default size of the pipe's buffer is 64 KB" (decided: KiB), times the multiplier. */
export const PIPE_UNIT = 64 * 1024;

export type PipeEndKind = "sc" | "rc";

export interface PipeEnd {
  readonly pipe: KPipe;
  readonly kind: PipeEndKind;
}

export interface KPipe {
  readonly id: number;
  /** The PID of the process that opened it (PIPE_INFO, RECV_PIPE). */
  readonly creator: number;
  readonly creatorAnid: number;
  readonly message: boolean;
  /** The pipe's buffer, in bytes (the ring's data area is 4 bytes more for a message pipe). */
  readonly buffer: number;
  readonly sizeHint: bigint;
  readonly segment: KSegment;
  readonly sc: PipeEnd;
  readonly rc: PipeEnd;
  /** "open", closed with CLOSE_PIPE ("proper"), or because a holder's process ended ("brutal"). */
  state: "open" | "proper" | "brutal";
}

/** The kernel's view of a ring: only to close it (the state word) and wake its sleepers. */
type KernelRing = Pick<RingReader, "close">;

export class PipeTable {
  /** Every process' identifiers for pipe ends. */
  readonly ids = new Handles<PipeEnd>();
  private readonly rings = new Map<KPipe, KernelRing>();
  /** Pipes held by someone who is not a NightOS process (the CLI's command-pipe ends), and how often. */
  private readonly pins = new Map<KPipe, number>();
  /**
   * SC ends held open past their writer: a Hydre pipeline's CMDRAW handed on, until the producer's
   * outcome is known (docs/ipc.md "Command pipes between two commands"). The writer's end (its process
   * ending, its CLOSE_PIPE) does not close the pipe meanwhile; `closed`: its CLOSE_PIPE came.
   */
  private readonly held = new Map<PipeEnd, { writerClosed: boolean }>();
  private next = 1;

  constructor(
    private readonly segments: SegmentTable,
    private readonly host: Pick<HostNative, "wait" | "wake">,
  ) {}

  /**
   * A new open pipe made by `creator`: its ring in a fresh segment. Decided (docs/ipc.md): the segment
   * belongs to the pipe, not to a process (owner 0, the kernel), and goes when no process names the pipe.
   */
  create(
    creator: { pid: number; anid: number },
    opts: { message: boolean; multiplier: number; sizeHint: bigint },
  ): KPipe {
    const buffer = PIPE_UNIT * Math.max(1, opts.multiplier);
    const capacity = buffer + (opts.message ? MESSAGE_HEADER_SIZE : 0);
    const segment = this.segments.create(0, ringSegmentSize(capacity), `pipe${this.next}`);
    const memory = hostRingMemory(
      { buffer: segment.bytes.buffer as ArrayBuffer, address: segment.address },
      this.host,
    );
    initRing(memory, capacity, opts.message ? RingFlag.message : 0);
    const pipe = {
      id: this.next++,
      creator: creator.pid,
      creatorAnid: creator.anid,
      message: opts.message,
      buffer,
      sizeHint: opts.sizeHint,
      segment,
      state: "open",
    } as KPipe & { sc: PipeEnd; rc: PipeEnd };
    (pipe as { sc: PipeEnd }).sc = { pipe, kind: "sc" };
    (pipe as { rc: PipeEnd }).rc = { pipe, kind: "rc" };
    this.rings.set(pipe, new RingReader(memory));
    return pipe;
  }

  /** Close both sides at once (ipc.md "Closing pipes"); sleepers on either side wake. */
  close(pipe: KPipe, brutal: boolean): void {
    if (pipe.state !== "open") return;
    pipe.state = brutal ? "brutal" : "proper";
    const ring = this.rings.get(pipe);
    ring?.close("writer", brutal);
    ring?.close("reader", brutal);
  }

  /** Every (process, identifier) naming an end of `pipe`. */
  holders(pipe: KPipe): { pid: number; id: bigint; end: PipeEnd }[] {
    const out: { pid: number; id: bigint; end: PipeEnd }[] = [];
    for (const end of [pipe.sc, pipe.rc])
      for (const pid of this.ids.holders(end))
        for (const id of this.ids.idsOf(pid, end)) out.push({ pid, id, end });
    return out;
  }

  /** Forget process `pid`'s identifier `id`; release the pipe when nobody names it any more. */
  drop(pid: number, id: bigint): PipeEnd | undefined {
    const end = this.ids.remove(pid, id);
    if (end !== undefined) this.releaseIfUnnamed(end.pipe);
    return end;
  }

  /** A process ended: its identifiers go; the ends it named (each once). */
  dropProcess(pid: number): PipeEnd[] {
    return this.ids.dropProcess(pid);
  }

  /**
   * Keep `pipe`'s segment while a holder outside the process table needs it: the CLI maps its ends of
   * the command pipes (docs/ipc.md "Command pipes") and may do so after the app has ended.
   */
  pin(pipe: KPipe): void {
    this.pins.set(pipe, (this.pins.get(pipe) ?? 0) + 1);
  }

  /** Undo one `pin`; the pipe goes if nobody names it any more. */
  unpin(pipe: KPipe): void {
    const n = this.pins.get(pipe);
    if (n === undefined) return;
    if (n > 1) this.pins.set(pipe, n - 1);
    else this.pins.delete(pipe);
    this.releaseIfUnnamed(pipe);
  }

  /** Hold `end` (an SC) open past its writer until `letGo`. */
  hold(end: PipeEnd): void {
    this.held.set(end, { writerClosed: false });
  }

  /** Whether `end` is held open, and whether its writer closed it meanwhile (settable). */
  heldOpen(end: PipeEnd): { writerClosed: boolean } | undefined {
    return this.held.get(end);
  }

  /** Stop holding `end`: what `heldOpen` said (undefined: it was not held). */
  letGo(end: PipeEnd): { writerClosed: boolean } | undefined {
    const h = this.held.get(end);
    this.held.delete(end);
    return h;
  }

  releaseIfUnnamed(pipe: KPipe): void {
    if (this.pins.has(pipe)) return;
    if (this.ids.holders(pipe.sc).length > 0 || this.ids.holders(pipe.rc).length > 0) return;
    this.held.delete(pipe.sc);
    this.close(pipe, false);
    this.rings.delete(pipe);
    this.segments.release(pipe.segment.id);
  }
}
