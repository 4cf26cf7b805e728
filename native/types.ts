// The host interface the kernel needs beyond Node's own API: shared-memory segments mappable by
// several host processes, wait/wake on an address in them, parent-death protection for runners, the
// per-user control endpoint with its peer check (docs/security.md), and giving a sparse file's freed
// ranges back to the host filesystem (punching holes).
// One implementation per platform (linux.ts, darwin.ts, win32.ts); index.ts picks one.

import type { Socket } from "node:net";

/** A shared-memory segment mapped into this process. */
export interface SharedSegment {
  /**
   * What another process passes to `openSegment` to map the same memory while this mapping is open (a
   * path on Linux: this process' descriptor of it, for a segment it created or opened).
   */
  readonly name: string;
  readonly size: number;
  /** The mapped bytes (an external ArrayBuffer: use `futexWait`/`futexWake`, not Atomics.wait, across processes). */
  readonly buffer: ArrayBuffer;
  /** The host address of byte 0 of the mapping. */
  readonly address: bigint;
  /**
   * Copy `bytes` into the segment at `offset`, or the segment's bytes from `offset` into `into`, through
   * the host's file interface rather than the mapping: one copy by the host kernel, without a page
   * fault per page (a 64 MiB fork image: docs/kernel.md "CREATE_PROCESS").
   */
  write(bytes: Uint8Array, offset: number): void;
  read(into: Uint8Array, offset: number): void;
  /** Unmap (and close the handle). Further use of `buffer` is a bug. */
  close(): void;
}

export type WaitResult = "woken" | "timeout" | "not-equal";

/**
 * A control endpoint private to this host user (docs/security.md, "The control socket"): what to listen
 * on or connect to, and the folder holding it when it is a Unix socket (none for a Windows named pipe).
 */
export interface ControlEndpoint {
  readonly path: string;
  /**
   * "home": NCW's own run folder in the home (made private, 0700, when it is not);
   * "runtime": the user's private runtime folder (created 0700 when missing, refused when not private).
   */
  readonly folder?: { readonly path: string; readonly kind: "home" | "runtime" };
}

/** Whether the host user at the other end of a connected control socket is this process' user. */
export type PeerCheck =
  /** `pid`: the peer's host process, where the host's credential call gives it (Linux SO_PEERCRED). */
  | { ok: true; uid: number; pid?: number }
  | { ok: false; code: "NATIVE_PEER_OTHER_USER"; uid: number; reason: string }
  | { ok: false; code: "NATIVE_PEER_UNKNOWN"; reason: string };

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
   * Where the control endpoint `name` of this host user lives: the Unix socket `preferred` when it fits
   * in sun_path, else `<name>.sock` in the user's private runtime folder ($XDG_RUNTIME_DIR, else
   * <TMPDIR>/ncw-<uid>); on Windows the named pipe `\\.\pipe\<name>`. Creates and checks nothing.
   * `name` is asked only when the endpoint is not `preferred` (computing it may cost a hash).
   */
  controlEndpoint(preferred: string, name: () => string, env?: NodeJS.ProcessEnv): ControlEndpoint;
  /**
   * Make sure no other host user can create, replace or reach what lives in the endpoint's folder
   * before listening on or connecting to it: the folder is a real folder (not a link) owned by this
   * user and closed to others. Throws NcwError NATIVE_UNSAFE_ENDPOINT when it is not and cannot be.
   */
  secureEndpoint(endpoint: ControlEndpoint): void;
  /** Check the host user at the other end of a connected control socket; fails closed when the host cannot tell. */
  checkPeer(sock: Socket): PeerCheck;
  /**
   * Deallocate [offset, offset+length) of the open file `fd`, keeping its size: the range reads as
   * zeros and takes no space on the host disk any more (Linux fallocate(FALLOC_FL_PUNCH_HOLE |
   * FALLOC_FL_KEEP_SIZE); macOS would use fcntl(F_PUNCHHOLE), Windows FSCTL_SET_ZERO_DATA on a
   * sparse file). Throws NcwError "unavailable" (NATIVE_PUNCH_UNSUPPORTED) where the host or its
   * filesystem cannot.
   */
  punchHole(fd: number, offset: bigint, length: bigint): void;
  /**
   * The host address of byte 0 of `buffer` (a WebAssembly memory's): where its pages are, for
   * `mapSegmentAt` / `mapZeroAt` (docs/ipc.md "Shared memory"). Throws "unavailable" where the host
   * cannot map a segment into a memory.
   */
  memoryAddress(buffer: ArrayBufferLike): bigint;
  /**
   * Copy all of `src` to the start of `dst` with the host's memmove (Linux): V8 copies between two
   * shared buffers (a ring's segment, a WebAssembly memory) word by word, memmove much faster from a
   * few KiB (bench/README.md, "Commands"). Throws a RangeError, copying nothing, when `dst` is shorter.
   * Absent where the host has none: callers copy with `Uint8Array.set`.
   */
  copyBytes?(dst: Uint8Array, src: Uint8Array): void;
  /**
   * Map `length` bytes of segment `name` (another process' `SharedSegment.name`), from byte `offset`,
   * over the host pages at `address` (MAP_FIXED: whatever was there is replaced). `access` "read" opens
   * the segment read-only, so nothing in this process can make the pages writable; `private` maps it
   * copy-on-write (MAP_PRIVATE). Page-aligned arguments only. Throws a native error.
   */
  mapSegmentAt(
    name: string,
    offset: number,
    address: bigint,
    length: number,
    opts: { access: "read" | "read-write"; private: boolean },
  ): void;
  /** Replace the host pages at `address` by fresh zero-filled private read-write ones (MAP_FIXED). */
  mapZeroAt(address: bigint, length: number): void;
  /**
   * Wait at most `timeoutMs` for the open file `fd` to be readable (data, its end, or an error): true
   * when a read would not block. A thread that reads stdin for a command asks it between reads, so it
   * can stop when the command ends instead of blocking the exit (Linux poll(2)). Where the host cannot
   * tell, true (the read then blocks).
   */
  waitReadable(fd: number, timeoutMs: number): boolean;
  /**
   * Ask for a larger kernel buffer on the pipe `fd` (Linux F_SETPIPE_SZ, up to the host's
   * pipe-max-size): fewer, larger reads for a fast writer. The size the pipe has now, or undefined when
   * `fd` is no pipe or the host has no such call.
   */
  growPipe(fd: number, bytes: number): number | undefined;
  /**
   * One read(2) of the non-blocking `fd` into `into`: the bytes read (0: its end), or "would-block"
   * when nothing is there yet, without throwing for it (Node's readSync throws an error for EAGAIN,
   * ~45 µs each on the CMDIN path; docs/ipc.md "CMDIN read by the runner"). Other errors throw.
   * Undefined where the host has no such call (the caller uses readSync).
   */
  readNonBlocking?(fd: number, into: Uint8Array): number | "would-block";
}
