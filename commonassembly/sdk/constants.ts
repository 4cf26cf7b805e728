// The spec's numbers and layouts the SDKs' command API needs (the execution context's offsets, value type
// codes, the command pipes' formats), taken from the ABI leaf so both generated SDK files (as-bindings.ts,
// c-header.ts) carry the same values as the kernel and the CLI, and no SDK writes an offset by hand.

import type { Codec } from "../abi/codec.js";
import {
  COMMAND_NAME_MAX,
  CONTEXT_BASE_SIZE,
  CONTEXT_COMMAND_HEADER_SIZE,
  ContextBase,
  ContextCommand,
  MAX_ARGS_SIZE,
  StartupBit,
  StartupCode,
} from "../abi/context.js";
import { ContextInfo, MAX_PIPE_MESSAGE_SIZE, PipeMode, SystemPid } from "../abi/numbers.js";
import { SYS_FS } from "../abi/services/fs.js";
import { ItemFlag, ItemType } from "../abi/services/fs-structures.js";
import { KERNEL_ERROR_ON_WIRE, ServiceCallErr, ServiceErr } from "../abi/services/method.js";
import { TEXT_MESSAGE_HEADER_SIZE, TextControl, TextStyle } from "../abi/text-message.js";
import { KeyCode, KeyModifier, USER_INPUT_SIZE } from "../abi/user-input.js";
import { FAILURE_TYPE, ValueType } from "../abi/values.js";

export interface SdkConstant {
  /** UPPER_SNAKE name without the language's prefix. */
  name: string;
  value: number;
  /** Byte width of the value's type (1: u8, 4: i32). */
  width: 1 | 4;
}

export interface SdkConstantGroup {
  comment: string;
  constants: SdkConstant[];
}

const snake = (s: string) => s.replace(/[A-Z]/g, (m) => `_${m}`).toUpperCase();

function group(
  comment: string,
  prefix: string,
  o: Record<string, number>,
  width: 1 | 4 = 1,
): SdkConstantGroup {
  return {
    comment,
    constants: Object.entries(o).map(([k, v]) => ({ name: `${prefix}${k}`, value: v, width })),
  };
}

/** Each field's offset in the context header: the command fields follow the 16-byte base. */
function contextOffsets(): Record<string, number> {
  const out: Record<string, number> = {};
  let off = 0;
  for (const codec of [ContextBase, ContextCommand] as const) {
    for (const [name, c] of codec.fields as readonly (readonly [string, Codec<unknown>])[]) {
      out[snake(name)] = off;
      off += c.size;
    }
  }
  return out;
}

/** sys::fs's method and notification codes, and each method's errcodes (`FS_<METHOD>_ERR_<NAME>`). */
function fsCodes(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of SYS_FS.methods) out[`METHOD_${m.name}`] = m.code;
  for (const n of SYS_FS.notifications) out[`NOTIFY_${n.name}`] = n.code;
  for (const m of SYS_FS.methods)
    for (const [e, c] of Object.entries(m.errors)) out[`${m.name}_ERR_${e}`] = c;
  return out;
}

// StartupCode names 0x4 twice (pre-uninstall and service); both are kept.
const startupCodes = Object.fromEntries(Object.entries(StartupCode));

export const SDK_CONSTANT_GROUPS: readonly SdkConstantGroup[] = [
  group("EXECUTION_CONTEXT's information codes (syscalls.md 0xA0).", "CONTEXT_INFO_", ContextInfo),
  group(
    "The startup reason (applications.md): its code is the high nibble, then two flag bits.",
    "STARTUP_",
    { ...startupCodes, ...StartupBit },
  ),
  group(
    "Offsets in the execution context header (applications.md, Context header).",
    "CTX_",
    {
      ...contextOffsets(),
      BASE_SIZE: CONTEXT_BASE_SIZE,
      COMMAND_HEADER_SIZE: CONTEXT_COMMAND_HEADER_SIZE,
      MAX_ARGS_SIZE,
      // NCW addition: the future-proof space starts with the command's name (length byte, UTF-8).
      COMMAND_NAME_MAX,
    },
    4,
  ),
  group("Value type codes (applications.md, Values encoding).", "VALUE_", {
    ...Object.fromEntries(Object.entries(ValueType).map(([k, v]) => [k.toUpperCase(), v])),
  }),
  group("PIPE_WRITE / PIPE_READ modes (syscalls.md 0x22, 0x23).", "PIPE_MODE_", PipeMode),
  group("A text message's style bits (shell.md, Text output; bit 0 = 0x80).", "STYLE_", TextStyle),
  group(
    "Control character codes of a text message (shell.md, Text output).",
    "CONTROL_",
    TextControl,
  ),
  group("A user input's modifier bits (shell.md, User inputs; bit 0 = 0x80).", "KEY_", KeyModifier),
  group("A user input's keycode: NCW's, the USB HID usage IDs (docs/ipc.md).", "KEYCODE_", KeyCode),
  group(
    "The command pipes' sizes and the failure byte (shell.md; applications.md).",
    "",
    {
      MAX_PIPE_MESSAGE_SIZE,
      TEXT_MESSAGE_HEADER_SIZE,
      USER_INPUT_SIZE,
      // "the 0xFF value" of a failing command: NCW's reading is a value of this type code (docs/ipc.md).
      COMMAND_FAILURE: FAILURE_TYPE,
    },
    4,
  ),
  group(
    "Every service's errcodes (services/README.md; docs/services.md: KERNEL travels as 0xFFFF).",
    "SERVICE_ERR_",
    { ...ServiceErr, KERNEL: KERNEL_ERROR_ON_WIRE, ...ServiceCallErr },
    4,
  ),
  group(
    "sys::fs (specs/services/system/fs.md; table: abi/services/fs.ts): its PID, method codes, errcodes.",
    "FS_",
    { PID: SystemPid["sys::fs"], ...fsCodes() },
    4,
  ),
  group("Item type bytes and item flags (filesystem-interfaces.md).", "FS_", {
    ...Object.fromEntries(Object.entries(ItemType).map(([k, v]) => [`TYPE_${k}`, v])),
    ...Object.fromEntries(Object.entries(ItemFlag).map(([k, v]) => [`FLAG_${k}`, v])),
  }),
];
