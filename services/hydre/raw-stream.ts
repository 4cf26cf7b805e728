// `$@(…)`'s stream (specs "Reading a command's output": "To get the result from CMDRAW instead (as a
// `stream`)"; docs/hydre.md "Streams held by the script"): the CMDRAW bytes of a command left running
// while the script goes on, held in a bounded queue until the script reads them. The command's CMDRAW
// is read only as the queue makes room (the app's ring fills, and the app waits, meanwhile).

import { NcwError } from "../../ncw/errors.js";
import type { StreamSource } from "./values.js";

/** How many CMDRAW bytes wait for the script at most before the command's CMDRAW is held. */
export const RAW_QUEUE_LIMIT = 4 << 20;

export class RawQueue implements StreamSource {
  /** CMDRAW has no size hint a command gives (its pipe is the kernel's). */
  readonly sizeHint = null;
  private chunks: Uint8Array[] = [];
  private held = 0;
  private ended = false;
  private error: unknown;
  private dropped = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(private readonly limit = RAW_QUEUE_LIMIT) {}

  /** Still pending: the command has not ended (its CMDRAW may bring more). */
  pending(): boolean {
    return !this.ended;
  }

  /**
   * CMDRAW's next bytes (copied): resolves once the queue has room again. Rejects once the stream was
   * dropped (the command's CMDRAW is then closed on its reader's side).
   */
  async put(bytes: Uint8Array): Promise<void> {
    if (this.dropped) throw dropped();
    this.chunks.push(bytes.slice());
    this.held += bytes.length;
    this.wake();
    while (this.held >= this.limit && !this.dropped)
      await new Promise<void>((r) => {
        this.wakeWriter = r;
      });
    if (this.dropped) throw dropped();
  }

  /** The command's end: the stream ends after what is queued, or fails with `error` (it failed). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
  }

  /** Nobody will read it (the script or input ended): the command's CMDRAW is no longer read. */
  drop(): void {
    this.dropped = true;
    this.chunks = [];
    this.held = 0;
    this.end(dropped());
  }

  async read(max: number): Promise<Uint8Array | null> {
    while (this.chunks.length === 0 && !this.ended)
      await new Promise<void>((r) => {
        this.wakeReader = r;
      });
    const first = this.chunks[0];
    if (first !== undefined) {
      const out = first.length > max ? first.subarray(0, max) : first;
      if (first.length > max) this.chunks[0] = first.subarray(max);
      else this.chunks.shift();
      this.held -= out.length;
      this.wake();
      return out;
    }
    if (this.error !== undefined) throw this.error;
    return null;
  }

  private wake(): void {
    const r = this.wakeReader;
    const w = this.wakeWriter;
    this.wakeReader = undefined;
    this.wakeWriter = undefined;
    r?.();
    w?.();
  }
}

const dropped = () =>
  new NcwError("usage", "the stream was dropped: its script or input ended before reading it");
