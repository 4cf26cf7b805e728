// sys::crypto (specs/services/system/crypto.md; its table: commonassembly/abi/services/crypto.ts):
// random bytes from the host's CSPRNG (node:crypto's randomFillSync, the OS generator), written into
// the client's memory through its runner.

import { randomFillSync } from "node:crypto";
import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  MAX_RANDOM_BYTES,
  RANDOM_BUFFER,
  SYS_CRYPTO,
} from "../../commonassembly/abi/services/crypto.js";
import type { Fields, StructureCodecs } from "../../commonassembly/abi/services/fields.js";
import {
  type BufferPointer,
  FS_STRUCTURES,
} from "../../commonassembly/abi/services/fs-structures.js";
import { type MethodDef, ServiceCallErr } from "../../commonassembly/abi/services/method.js";
import type { Answer, Caller, NativeService } from "../host/service.js";

/** Where the client's buffer is: its runner writes the bytes (false: not all of it is its memory). */
export interface ClientMemoryWriter {
  write(pid: number, address: bigint, bytes: Uint8Array): Promise<boolean>;
}

export class SysCrypto implements NativeService {
  readonly name = "sys::crypto";
  readonly pid = SystemPid["sys::crypto"];
  readonly def = SYS_CRYPTO;
  readonly structures: StructureCodecs = { "Buffer pointer": FS_STRUCTURES["Buffer pointer"]! };

  constructor(
    private readonly memory: ClientMemoryWriter,
    /** The random source; node:crypto's CSPRNG unless a test gives another. */
    private readonly fill: (b: Uint8Array) => void = (b) => {
      randomFillSync(b);
    },
  ) {}

  async handle(method: MethodDef, args: Fields, caller: Caller): Promise<Answer> {
    if (method.code !== RANDOM_BUFFER.code)
      throw new Error(`sys::crypto has no handler for ${method.name}`);
    const buf = args.buffer as BufferPointer;
    if (buf.length > BigInt(MAX_RANDOM_BYTES))
      return { ok: false, errcode: ServiceCallErr.BAD_ARGUMENTS };
    const bytes = new Uint8Array(Number(buf.length));
    this.fill(bytes);
    // An empty buffer is filled by doing nothing, wherever it points.
    if (bytes.length > 0 && !(await this.memory.write(caller.pid, buf.address, bytes)))
      return { ok: false, errcode: ServiceCallErr.BAD_ARGUMENTS };
    return { ok: true, value: {} };
  }
}
