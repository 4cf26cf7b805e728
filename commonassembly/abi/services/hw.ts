// The sys::hw method table (specs/services/system/hw.md "Methods", "Notifications"), with its two
// structures: the device pattern ("Patterns") and the bytes a normalized method or notification carries
// (the rest of the message). NCW hosts sys::hw on a machine whose devices it does not drive: every method
// answers the page's own errcode for an NCW client (docs/services.md "sys::hw").

import { bytes, u8, u32, u64 } from "../codec.js";
import { AbiError } from "../error.js";
import type { StructureCodec } from "./fields.js";
import { type FieldType, method, type ServiceDef } from "./method.js";

const pattern: FieldType = {
  kind: "structure",
  name: "Pattern",
  spec: "specs/services/system/hw.md",
};
/** A normalized method's arguments or notification's content: every byte left in the message. */
const rest: FieldType = {
  kind: "structure",
  name: "Normalized content",
  spec: "specs/services/system/hw.md",
};

/** The pattern's flag bits ("Patterns": bit 0 all connection types, bit 2 all buses, bit 3 all ports). */
export const PatternFlag = { ALL_CONNECTIONS: 0x01, ALL_BUSES: 0x04, ALL_PORTS: 0x08 } as const;
/** The connection types of specs/kernel/hardware.md "Connection interface identifier". */
export const CONNECTION_TYPES = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07] as const;
/** A DDRD's size ("Drivable device raw descriptor"). */
export const DDRD_SIZE = 512;

export interface Pattern {
  flags: number;
  connection: number;
  bus: number;
  port: number;
  /** The DTD pattern indicator (32 bytes) and the DTD, when the DTD length is not 0. */
  dtd?: { indicator: Uint8Array; dtd: Uint8Array };
}

/**
 * A pattern: flags, connection type, bus, port, DTD length (1 byte each), then, only when that length is
 * not 0, the 32-byte indicator and the DTD — 5 to 5 + 32 + 255 bytes. DECISION: the page says 5 to 277
 * bytes and "DTD (up to 256 bytes)", but the length is one byte (255 at most); ENUM_DEVICES and
 * SUBSCRIBE_DEVICES write "Pattern (277 bytes)": NCW reads a pattern as long as its own DTD length says,
 * in every method (docs/services.md "sys::hw").
 */
export const PATTERN_CODEC: StructureCodec = {
  decode(b, off) {
    const need = (n: number) => {
      if (off + n > b.length)
        throw new AbiError("data", `Pattern: needs ${off + n - b.length} more bytes`, {
          code: "ABI_TRUNCATED",
        });
    };
    need(5);
    const len = b[off + 4]!;
    const p: Pattern = {
      flags: b[off]!,
      connection: b[off + 1]!,
      bus: b[off + 2]!,
      port: b[off + 3]!,
    };
    if (len === 0) return [p, off + 5];
    need(5 + 32 + len);
    p.dtd = {
      indicator: b.slice(off + 5, off + 37),
      dtd: b.slice(off + 37, off + 37 + len),
    };
    return [p, off + 37 + len];
  },
  encode(v) {
    const p = v as Pattern;
    const head = [p.flags, p.connection, p.bus, p.port, p.dtd?.dtd.length ?? 0];
    if (p.dtd === undefined) return Uint8Array.from(head);
    return Uint8Array.from([...head, ...p.dtd.indicator, ...p.dtd.dtd]);
  },
};

/** The rest of the message, as bytes. */
export const REST_CODEC: StructureCodec = {
  decode: (b, off) => [b.slice(off), b.length],
  encode: (v) => v as Uint8Array,
};

/** Errcode of every method reserved to system services: "Client is not a system service". */
const NOT_SYSTEM = 0x3000;

export const ENUM_DEVICES = method("sys::hw", 0x0001, "ENUM_DEVICES", {
  args: [
    ["start", u32],
    ["end", u32],
    ["pattern", pattern],
  ],
  answer: [
    ["found", u32],
    ["listed", u32],
    ["ddrds", rest],
    /** 0x01 if some devices were masked, 0x00 else: a byte, not a data-structures boolean. */
    ["masked", u8],
  ],
  errors: {
    /** DECISION: the page says "Start index is lower than the end index"; NCW reads it as greater. */
    BAD_RANGE: 0x1000,
    BAD_CONNECTION: 0x1001,
    BUS_WITHOUT_CONNECTION: 0x1002,
    PORT_WITHOUT_CONNECTION: 0x1003,
    BAD_DTD: 0x1004,
    RANGE_TOO_LARGE: 0x1005,
    NOT_SYSTEM,
    NO_BUS: 0x3001,
    NO_PORT: 0x3002,
  },
  permissions: { always: ["devices.enum"] },
});

export const SUBSCRIBE_DEVICES = method("sys::hw", 0x0002, "SUBSCRIBE_DEVICES", {
  args: [
    ["unsubscribe", u8],
    ["pattern", pattern],
  ],
  errors: { NOT_SYSTEM, NOT_SUBSCRIBED: 0x3001 },
  permissions: { always: ["devices.subscribe"] },
});

export const REGISTER_DRIVER = method("sys::hw", 0x1000, "REGISTER_DRIVER", {
  args: [["pattern", pattern]],
  errors: { NOT_A_SERVICE: 0x3000, NO_DRIVER_SERVICE: 0x3001, ALREADY_REGISTERED: 0x3002 },
  permissions: { always: ["devices.register_driver"] },
});

export const UNREGISTER_DRIVER = method("sys::hw", 0x1001, "UNREGISTER_DRIVER", {
  args: [["pattern", pattern]],
  errors: { NOT_REGISTERED: 0x3000 },
});

export const NOTIFY_PROCESS = method("sys::hw", 0x2000, "NOTIFY_PROCESS", {
  args: [
    ["notification", u64],
    ["content", rest],
  ],
  answer: [["answer", rest]],
  errors: { UNKNOWN_NOTIFICATION: 0x3000 },
});

export const ASK_DRIVER = method("sys::hw", 0xa000, "ASK_DRIVER", {
  args: [
    ["udi", u64],
    ["method", u32],
    ["args", rest],
  ],
  answer: [["answer", rest]],
  errors: { NOT_SYSTEM, UNKNOWN_DEVICE: 0x3001, BAD_METHOD: 0x3002, BAD_ARGS: 0x3003 },
  permissions: { always: ["devices.ask_driver"] },
});

export const AUTHORIZE_FS_INTERFACE = method("sys::hw", 0xd000, "AUTHORIZE_FS_INTERFACE", {
  args: [
    ["udi", u64],
    ["start", u64],
    ["end", u64],
  ],
  answer: [["token", u64]],
  errors: {
    NOT_SYS_FS: 0x3000,
    UNKNOWN_DEVICE: 0x3001,
    START_UNALIGNED: 0x3002,
    END_UNALIGNED: 0x3003,
    BAD_RANGE: 0x3004,
  },
});

export const UNAUTHORIZE_FS_INTERFACE = method("sys::hw", 0xd001, "UNAUTHORIZE_FS_INTERFACE", {
  args: [["token", u64]],
  errors: { NOT_SYS_FS: 0x3000, UNKNOWN_TOKEN: 0x3001 },
});

export const AUTH_PERFORM_STORAGE = method("sys::hw", 0xd002, "AUTH_PERFORM_STORAGE", {
  args: [
    ["token", u64],
    ["method", u32],
    ["args", rest],
  ],
  answer: [["answer", rest]],
  errors: { UNKNOWN_TOKEN: 0x3000 },
});

export const SYS_HW = {
  name: "sys::hw",
  spec: "specs/services/system/hw.md",
  methods: [
    ENUM_DEVICES,
    SUBSCRIBE_DEVICES,
    REGISTER_DRIVER,
    UNREGISTER_DRIVER,
    NOTIFY_PROCESS,
    ASK_DRIVER,
    AUTHORIZE_FS_INTERFACE,
    UNAUTHORIZE_FS_INTERFACE,
    AUTH_PERFORM_STORAGE,
  ],
  // Declared as the page gives them; NCW drives no device, so none is ever sent.
  notifications: [
    {
      code: 0x0002,
      name: "IDENTIFY_DEVICE",
      datafield: [["ddrd", bytes(DDRD_SIZE)]],
      answer: [["dtd", bytes(DDRD_SIZE)]],
    },
    {
      code: 0x0003,
      name: "DEVICE_EVENT",
      datafield: [
        ["ddt", bytes(DDRD_SIZE)],
        ["event", u8],
        ["indicator", u8],
      ],
    },
    {
      code: 0x1000,
      name: "DEVICE_INTERRUPT",
      datafield: [
        ["udi", u64],
        ["interrupt", rest],
      ],
    },
    {
      code: 0xa000,
      name: "DRIVER_METHOD_REQUEST",
      datafield: [
        ["ddt", u32],
        ["notification", u64],
        ["method", u32],
        ["args", rest],
      ],
      answer: [["answer", rest]],
    },
    {
      code: 0xa001,
      name: "DEVICE_NORM_NOTIF",
      datafield: [
        ["udi", u32],
        ["content", rest],
      ],
    },
  ],
} as const satisfies ServiceDef;
