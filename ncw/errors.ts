// User-facing errors and the process exit codes of the `ncw` CLI (documented in docs/cli.md).
// Errors that a user can act on are NcwError values; anything else is a bug and is reported as one.

/** Exit codes of `ncw`, modelled on BSD sysexits so scripts can tell failures apart. */
export const ExitCode = {
  /** The command did what was asked. */
  OK: 0,
  /** The command ran and failed (for `ncw run`: the app failed). */
  FAILURE: 1,
  /** Wrong command-line usage: unknown command or option, missing argument. */
  USAGE: 2,
  /** Input data is invalid: a corrupt package, a manifest that breaks a rule, a malformed module. */
  DATA: 65,
  /** An input file or an installed item does not exist. */
  NOT_FOUND: 66,
  /** A required service or host facility is unavailable (e.g. the kernel server cannot start). */
  UNAVAILABLE: 69,
  /** An internal error: a bug in NCW. Please report it. */
  INTERNAL: 70,
  /** An output file or folder cannot be created. */
  CANT_CREATE: 73,
  /** An I/O error on the host. */
  IO: 74,
  /** A temporary failure (e.g. the home is locked by another command): try again. */
  TEMP_FAIL: 75,
  /** The operation is not permitted (sideloading disabled, permission denied). */
  NO_PERM: 77,
  /** The configuration (registry, policy file, home) is invalid. */
  CONFIG: 78,
  /** Something already exists (an app with the same AID, a destination file). */
  CONFLICT: 80,
  /**
   * stdout was closed before all output was written (`ncw … | head -1`): 128 + SIGPIPE, the status
   * a shell reports for a program ended by SIGPIPE. The command ends quietly.
   */
  BROKEN_PIPE: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Machine-readable error kinds; each maps to one exit code. */
export type ErrorKind =
  | "usage"
  | "data"
  | "not-found"
  | "unavailable"
  | "cant-create"
  | "io"
  | "temp-fail"
  | "no-perm"
  | "config"
  | "conflict"
  | "failure";

const EXIT_OF_KIND: Record<ErrorKind, ExitCode> = {
  usage: ExitCode.USAGE,
  data: ExitCode.DATA,
  "not-found": ExitCode.NOT_FOUND,
  unavailable: ExitCode.UNAVAILABLE,
  "cant-create": ExitCode.CANT_CREATE,
  io: ExitCode.IO,
  "temp-fail": ExitCode.TEMP_FAIL,
  "no-perm": ExitCode.NO_PERM,
  config: ExitCode.CONFIG,
  conflict: ExitCode.CONFLICT,
  failure: ExitCode.FAILURE,
};

export interface NcwErrorOptions {
  /** What the user can do about it, shown on its own line after the message. */
  hint?: string;
  /** A stable machine-readable code, e.g. "PKG_PATH_TRAVERSAL"; shown in --json output. */
  code?: string;
  cause?: unknown;
}

/** An error the user can understand and act on. The CLI prints it without a stack trace. */
export class NcwError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly code: string;

  constructor(kind: ErrorKind, message: string, options: NcwErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NcwError";
    this.kind = kind;
    this.hint = options.hint;
    this.code = options.code ?? kind.toUpperCase().replaceAll("-", "_");
  }

  get exitCode(): ExitCode {
    return EXIT_OF_KIND[this.kind];
  }
}

export function isNcwError(e: unknown): e is NcwError {
  return e instanceof NcwError;
}
