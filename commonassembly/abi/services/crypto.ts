// The sys::crypto method table (specs/services/system/crypto.md): RANDOM_BUFFER, the one method the
// page specifies. Its notifications are "TODO" on the page, so there are none.

import { type FieldType, method, type ServiceDef } from "./method.js";

const bufferPointer: FieldType = {
  kind: "structure",
  name: "Buffer pointer",
  spec: "specs/kernel/data-structures.md",
};

/**
 * The most bytes one RANDOM_BUFFER call fills. DECISION (docs/services.md "sys::crypto"): the page sets
 * no limit; the bytes travel to the client's runner in one message, so NCW bounds them at 1 MiB. A
 * longer buffer is the host's BAD_ARGUMENTS (0x1FFF), and nothing of it is written.
 */
export const MAX_RANDOM_BYTES = 1024 * 1024;

/** Fill the buffer with cryptographically secure random bytes. No permission, no errcode, no answer. */
export const RANDOM_BUFFER = method("sys::crypto", 0x1000, "RANDOM_BUFFER", {
  args: [["buffer", bufferPointer]],
});

export const SYS_CRYPTO = {
  name: "sys::crypto",
  spec: "specs/services/system/crypto.md",
  methods: [RANDOM_BUFFER],
  notifications: [],
} as const satisfies ServiceDef;
