// Helpers for the ABI codec unit tests (commonassembly/abi/services/*.test.ts): bytes written out by
// hand in hex, and the code of the AbiError a malformed input must raise.
import { expect } from "vitest";
import { AbiError } from "../../commonassembly/abi/error.js";

/** The bytes of a hex string; anything between the byte pairs (spaces) is skipped. */
export const hex = (s: string) =>
  Uint8Array.from(s.match(/[0-9a-f]{2}/gi) ?? [], (h) => parseInt(h, 16));

/** The code of the AbiError `f` throws; fails the test if it throws anything else or nothing. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AbiError);
    return (e as AbiError).code;
  }
  throw new Error("did not throw");
}
