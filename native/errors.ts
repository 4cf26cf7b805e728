// Host errors, translated in one place (STYLE.md §5, docs/architecture.md): what the error of a host
// call means for NCW, read from its code through a per-platform table. Nothing else in NCW compares a
// host error code. This file imports nothing, so every floor may ask it (test/layers.test.ts).

/** What went wrong, in NCW's terms. */
export type HostErrorKind =
  | "not-found"
  | "exists"
  | "not-dir"
  | "is-dir"
  | "not-empty"
  | "permission"
  | "busy"
  | "would-block"
  | "broken-pipe"
  | "no-space"
  | "read-only"
  | "loop"
  | "name-too-long"
  | "cross-device"
  | "refused"
  | "in-use"
  | "no-process"
  | "too-many-files"
  | "invalid"
  | "interrupted"
  | "timed-out"
  | "not-supported";

/**
 * Node reports host errors with libuv's POSIX-style codes on every platform (libuv maps Windows'
 * own errors onto them), so the table is mostly shared.
 */
const COMMON: Readonly<Record<string, HostErrorKind>> = {
  ENOENT: "not-found",
  EEXIST: "exists",
  ENOTDIR: "not-dir",
  EISDIR: "is-dir",
  ENOTEMPTY: "not-empty",
  EACCES: "permission",
  EPERM: "permission",
  EBUSY: "busy",
  EAGAIN: "would-block",
  EWOULDBLOCK: "would-block",
  EPIPE: "broken-pipe",
  ECONNRESET: "broken-pipe",
  ENOSPC: "no-space",
  EDQUOT: "no-space",
  EROFS: "read-only",
  ELOOP: "loop",
  ENAMETOOLONG: "name-too-long",
  EXDEV: "cross-device",
  ECONNREFUSED: "refused",
  EADDRINUSE: "in-use",
  ESRCH: "no-process",
  EMFILE: "too-many-files",
  ENFILE: "too-many-files",
  EINVAL: "invalid",
  EINTR: "interrupted",
  ETIMEDOUT: "timed-out",
  ENOTSUP: "not-supported",
  EOPNOTSUPP: "not-supported",
  ENOSYS: "not-supported",
  // Node's own code for a write to a stream whose reader is gone (a closed stdout).
  ERR_STREAM_DESTROYED: "broken-pipe",
};

/**
 * What a platform says differently from COMMON: where a platform's difference goes. libuv already
 * maps Windows' and macOS's errors onto the POSIX codes above (a sharing violation is EBUSY there, a
 * missing right EPERM or EACCES), and no difference NCW depends on is known yet, so the tables are
 * empty; `hostErrorKind`'s tests check the translation per platform.
 */
const PLATFORM: Readonly<
  Partial<Record<NodeJS.Platform, Readonly<Record<string, HostErrorKind>>>>
> = { linux: {}, darwin: {}, win32: {} };

/** Every code the table knows (a test checks no other file compares one). */
export const HOST_ERROR_CODES: readonly string[] = Object.keys(COMMON);

/** The kind of host error `e` is (an Error with a code, as Node throws them), or undefined. */
export function hostErrorKind(
  e: unknown,
  platform: NodeJS.Platform = process.platform,
): HostErrorKind | undefined {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== "string") return undefined;
  return PLATFORM[platform]?.[code] ?? COMMON[code];
}

/** Whether `e` is a host error of `kind`. */
export function isHostError(e: unknown, kind: HostErrorKind): boolean {
  return hostErrorKind(e) === kind;
}

/**
 * True if a host process with this id exists: signal 0 probes without sending anything, and a
 * refusal (another user's process) means it exists.
 */
export function hostProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return hostErrorKind(e) === "permission";
  }
}
