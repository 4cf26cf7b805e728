// Syscalls that cannot exist for an app on a host (specs/kernel/syscalls.md 0x70–0x74, 0xD0–0xD7):
// the spec's constant argument checks (0x10–0x1F) run first, exactly as they would on NightOS, then
// the spec's own refusal errcode (the caller drives no device / is not the reserved system service).

import { GenericErr } from "../../commonassembly/abi/numbers.js";
import { type Errcode, fail, type SysResult } from "../../commonassembly/abi/result.js";
import { MANAGE_ACTIONS } from "../../commonassembly/abi/services/process.js";
import {
  DEVICE_AMS,
  SET_DMA_MEM_ACCESS,
  SYS_MANAGE_PROCESS,
  type SyscallDef,
} from "../../commonassembly/abi/syscalls.js";
import { PAGE_SIZE } from "../runner/memory.js";

const P = BigInt(PAGE_SIZE);

/** DEVICE_AMS' and SET_DMA_MEM_ACCESS' range checks (the same errcodes 0x10–0x12 in both). */
function rangeChecks(
  errors: typeof DEVICE_AMS.errors | typeof SET_DMA_MEM_ACCESS.errors,
  address: bigint,
  length: bigint,
): Errcode | undefined {
  if (address % P !== 0n) return errors.UNALIGNED_ADDRESS;
  if (length % P !== 0n) return errors.UNALIGNED_LENGTH;
  if (length === 0n) return errors.ZERO_LENGTH;
  return undefined;
}

/** Runs a refused syscall: constant checks, then the refusal. */
export function refuse(def: SyscallDef, args: unknown): SysResult<never> {
  if (def.support.kind !== "refused") throw new Error(`${def.name} is not a refused syscall`);
  const a = args as Record<string, bigint | number>;
  let e: Errcode | undefined;
  if (def.code === DEVICE_AMS.code)
    e = rangeChecks(DEVICE_AMS.errors, a.address as bigint, a.length as bigint);
  if (def.code === SET_DMA_MEM_ACCESS.code) {
    e = rangeChecks(SET_DMA_MEM_ACCESS.errors, a.address as bigint, a.length as bigint);
    if (e === undefined && (a.authorization as number) > 1) e = GenericErr.INVALID_ARGUMENT;
  }
  if (def.code === SYS_MANAGE_PROCESS.code) {
    // The actions sys::process' MANAGE_PROCESS takes too (0x01–0x05).
    if (!Object.values(MANAGE_ACTIONS).includes(a.action as never))
      e = SYS_MANAGE_PROCESS.errors.INVALID_ACTION;
  }
  return fail(e ?? def.support.refusal);
}
