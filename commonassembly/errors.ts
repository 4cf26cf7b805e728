// Errors about a CommonAssembly module or NPP file: an NcwError that also says where (byte offset,
// function index) and which rule was broken (the rule name is the error's stable code).

import { NcwError } from "../ncw/errors.js";

export interface ModuleErrorLocation {
  /** Byte offset in the WebAssembly module (not in the NPP file). */
  offset?: number;
  /** Index of the function in the module's function index space (imports first). */
  funcIndex?: number;
  /** The function's name, when the module has a name section. */
  funcName?: string;
}

/** A module that breaks a WebAssembly or NightOS ABI rule. `code` names the rule. */
export class ModuleError extends NcwError {
  readonly rule: string;
  readonly offset: number | undefined;
  readonly funcIndex: number | undefined;

  constructor(rule: string, message: string, where: ModuleErrorLocation = {}, hint?: string) {
    super("data", `${message}${describeLocation(where)}`, {
      code: rule,
      ...(hint === undefined ? {} : { hint }),
    });
    this.name = "ModuleError";
    this.rule = rule;
    this.offset = where.offset;
    this.funcIndex = where.funcIndex;
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function describeLocation(where: ModuleErrorLocation): string {
  const parts: string[] = [];
  if (where.funcIndex !== undefined)
    parts.push(
      `function ${where.funcIndex}${where.funcName === undefined ? "" : ` "${where.funcName}"`}`,
    );
  if (where.offset !== undefined) parts.push(`byte offset ${hex(where.offset)}`);
  return parts.length ? ` (at ${parts.join(", ")})` : "";
}

/** An NPP container that cannot be decoded. `code` is one of the NPP_* codes in docs/commonassembly.md. */
export function nppError(code: string, message: string, hint?: string): NcwError {
  return new NcwError("data", message, { code, ...(hint === undefined ? {} : { hint }) });
}
