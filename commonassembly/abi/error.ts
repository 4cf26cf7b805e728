// The error the ABI leaf throws for bytes that break a layout of the spec or values NightOS does not
// allow. The leaf imports nothing of NCW, so this is not an NcwError: the CLI turns it into one (cli/context.ts).

/** "data": malformed input bytes; "usage": a value the user gave that NightOS does not allow. */
export type AbiErrorKind = "data" | "usage";

export interface AbiErrorOptions {
  /** A stable machine-readable code, e.g. "ABI_TRUNCATED". */
  code: string;
  /** What the user can do about it. */
  hint?: string;
}

export class AbiError extends Error {
  readonly kind: AbiErrorKind;
  readonly code: string;
  readonly hint: string | undefined;

  constructor(kind: AbiErrorKind, message: string, options: AbiErrorOptions) {
    super(message);
    this.name = "AbiError";
    this.kind = kind;
    this.code = options.code;
    this.hint = options.hint;
  }
}
