// The host interface the kernel needs beyond Node's own API: shared-memory segments mappable by
// several host processes, wait/wake on an address in them, parent-death protection for runners, and
// giving a sparse file's freed ranges back to the host filesystem (punching holes).
// One implementation per platform (linux.ts, darwin.ts, win32.ts); index.ts picks one.

/** A shared-memory segment mapped into this process. */
export interface SharedSegment {
  /** What another process passes to `openSegment` to map the same memory (a path on Linux). */
  readonly name: string;
  readonly size: number;
  /** The mapped bytes (an external ArrayBuffer: use `futexWait`/`futexWake`, not Atomics.wait, across processes). */
  readonly buffer: ArrayBuffer;
  /** The host address of byte 0 of the mapping. */
  readonly address: bigint;
  /** Unmap (and close the handle). Further use of `buffer` is a bug. */
  close(): void;
}

export type WaitResult = "woken" | "timeout" | "not-equal";

export interface HostNative {
  readonly platform: NodeJS.Platform;
  /** Create a segment of `size` bytes (rounded up to a host page), zero-filled. */
  createSegment(size: number, label: string): SharedSegment;
  /** Map a segment another process created (its `name`). */
  openSegment(name: string, size: number): SharedSegment;
  /**
   * Block the calling thread while the 32-bit word at `address` equals `expected`, until woken or
   * `timeoutMs` elapses (undefined = no timeout). Works across processes sharing the segment.
   * Call it from a worker thread: it blocks the event loop of the thread that calls it.
   */
  wait(address: bigint, expected: number, timeoutMs?: number): WaitResult;
  /** Wake up to `count` waiters on `address`; returns how many were woken. */
  wake(address: bigint, count: number): number;
  /** Ask the host to kill this process when its parent dies (Linux prctl); false where the host has no such call. */
  dieWithParent(): boolean;
  /**
   * Deallocate [offset, offset+length) of the open file `fd`, keeping its size: the range reads as
   * zeros and takes no space on the host disk any more (Linux fallocate(FALLOC_FL_PUNCH_HOLE |
   * FALLOC_FL_KEEP_SIZE); macOS would use fcntl(F_PUNCHHOLE), Windows FSCTL_SET_ZERO_DATA on a
   * sparse file). Throws NcwError "unavailable" (NATIVE_PUNCH_UNSUPPORTED) where the host or its
   * filesystem cannot.
   */
  punchHole(fd: number, offset: bigint, length: bigint): void;
}
