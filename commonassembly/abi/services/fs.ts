// The sys::fs method table (specs/services/system/fs.md, "Methods" and "Notifications"): codes,
// argument and answer layouts, errcodes and required permissions, as data for the sys::fs service.
// Divergences from the page (it contradicts itself) are marked DECISION and listed in docs/kernel.md.

import { u8, u64 } from "../codec.js";
import type { FsPermission } from "../permissions.js";
import { type FieldType, type Layout, method, type ServiceDef } from "./method.js";

const FS = "specs/services/integration/filesystem-interfaces.md";
const structure = (name: string, spec = FS): FieldType => ({ kind: "structure", name, spec });
const option = (of: FieldType): FieldType => ({ kind: "option", of });
const list = (of: FieldType): FieldType => ({ kind: "list", of });
const boolean: FieldType = { kind: "boolean" };

/**
 * DECISION: the page gives the FSID 8 bytes in most places (IS_FS_MOUNTED, FS_METADATA, FS_MOUNT,
 * FS_UNMOUNT, WATCH_ITEM, every "target FSID", the notifications) and 40 bytes in the item methods'
 * first argument; one identifier has one size, and filesystem.md gives none: 8 bytes everywhere.
 */
const fsid: FieldType = u64;
const feid: FieldType = u64;
const path: FieldType = structure("Filesystem path");
const filename: FieldType = structure("Filename");
const itemType: FieldType = structure("Item type byte");
const itemMetadata: FieldType = structure("Item metadata");

/** The errcodes most item methods share, in the page's order. */
const notMounted = { INVALID_FSID: 0x3000, NOT_MOUNTED: 0x3001 } as const;

const m = <const N extends string, const E extends Record<string, number>>(
  code: number,
  name: N,
  def: {
    args: Layout;
    answer?: Layout;
    errors?: E;
    permissions?: {
      always?: readonly FsPermission[];
      when?: readonly { permission: FsPermission; condition: string }[];
    };
  },
) => method("sys::fs", code, name, def);

// ---- filesystems (0x0001–0x0007) ------------------------------------------------------------------
export const IS_FS_MOUNTED = m(0x0001, "IS_FS_MOUNTED", {
  args: [["fsid", fsid]],
  answer: [["mounted", u8]],
  permissions: { always: ["fs.filesystems.mounted"] },
});
export const ENUM_FS = m(0x0002, "ENUM_FS", {
  args: [],
  answer: [["filesystems", list(fsid)]],
  permissions: { always: ["fs.filesystems.list"] },
});
export const FS_METADATA = m(0x0003, "FS_METADATA", {
  args: [["fsid", fsid]],
  answer: [
    ["mountedAt", structure("Timestamp", "specs/kernel/data-structures.md")],
    ["mountPath", feid],
    ["volumeFile", option(feid)],
    ["metadata", structure("Filesystem metadata")],
  ],
  errors: { NOT_MOUNTED: 0x3000 },
  permissions: { always: ["fs.filesystems.metadata"] },
});
export const FS_MOUNT = m(0x0004, "FS_MOUNT", {
  args: [
    ["fsid", fsid],
    ["mountPath", option({ kind: "string" })],
  ],
  errors: { UNKNOWN_FSID: 0x3000, ALREADY_MOUNTED: 0x3001 },
  permissions: { always: ["fs.filesystems.mount"] },
});
export const FS_UNMOUNT = m(0x0005, "FS_UNMOUNT", {
  args: [["fsid", fsid]],
  errors: { UNKNOWN_FSID: 0x3000, NOT_MOUNTED: 0x3001 },
  permissions: { always: ["fs.filesystems.unmount"] },
});
export const FS_WATCH = m(0x0006, "FS_WATCH", {
  args: [],
  permissions: { always: ["fs.filesystems.watch"] },
});
export const FS_UNWATCH = m(0x0007, "FS_UNWATCH", { args: [] });

// ---- items (0x1000–0x2FFF) ------------------------------------------------------------------------
/**
 * DECISION: the page requires `fs.path.exists`, which permissions.md does not list; its "check if an
 * item exists at a given path" is `fs.items.exists`.
 */
export const ITEM_EXISTS = m(0x1000, "ITEM_EXISTS", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["type", itemType],
  ],
  answer: [["type", itemType]],
  errors: notMounted,
  permissions: {
    when: [
      { permission: "fs.items.exists", condition: "to check any item type" },
      { permission: "fs.feid.exists", condition: "to check only FEID" },
    ],
  },
});
/** DECISION: the page requires `fs.path.exists` (not in permissions.md); converting a FEID is `fs.feid.path`. */
export const FEID_TO_SPLIT = m(0x1001, "FEID_TO_SPLIT", {
  args: [
    ["fsid", fsid],
    ["feid", feid],
  ],
  answer: [["path", structure("Split path")]],
  errors: { ...notMounted, FEID_NOT_FOUND: 0x3002 },
  permissions: { always: ["fs.feid.path"] },
});
export const ITEM_METADATA = m(0x1002, "ITEM_METADATA", {
  args: [
    ["fsid", fsid],
    ["path", path],
  ],
  answer: [["metadata", itemMetadata]],
  errors: { ...notMounted, NOT_FOUND: 0x3002 },
  permissions: {
    when: [{ permission: "fs.items.metadata", condition: "to get symbolic links' metadata" }],
  },
});
export const RENAME_ITEM = m(0x2000, "RENAME_ITEM", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["filename", filename],
  ],
  errors: {
    INVALID_FILENAME: 0x3000,
    INVALID_FSID: 0x3001,
    NOT_MOUNTED: 0x3002,
    NOT_FOUND: 0x3003,
    /** DECISION (NCW's, docs/sysfs.md): the page has no errcode for a name already taken. */
    ALREADY_EXISTS: 0x4000,
  },
  permissions: { always: ["fs.items.move"] },
});
/** The page lists `fs.items.move` without its "Required permissions" heading. */
export const MOVE_ITEM = m(0x2001, "MOVE_ITEM", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["parent", path],
    ["filename", option(filename)],
  ],
  errors: {
    INVALID_FILENAME: 0x1000,
    ...notMounted,
    NOT_FOUND: 0x3002,
    TARGET_NOT_FOUND: 0x3003,
    DIRECTORY_FULL: 0x4000,
    MAX_NESTING: 0x4001,
    MAX_PATH_LENGTH: 0x4002,
    CANNOT_MOVE: 0x4003,
    UNSPECIFIED: 0x4fff,
  },
  permissions: { always: ["fs.items.move"] },
});
export const DELETE_ITEM = m(0x2002, "DELETE_ITEM", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["mode", u8],
  ],
  errors: { ...notMounted, NOT_FOUND: 0x3002, DIRECTORY_NOT_EMPTY: 0x3003, UNSPECIFIED: 0x4fff },
  permissions: {
    when: [
      { permission: "fs.items.remove.trash", condition: "mode 0x01: send the item to the trash" },
      { permission: "fs.items.remove", condition: "mode 0x02: delete it permanently" },
    ],
  },
});

// ---- directories (0x3000–0x3FFF) ------------------------------------------------------------------
export const CREATE_DIRECTORY = m(0x3000, "CREATE_DIRECTORY", {
  args: [
    ["fsid", fsid],
    ["parent", path],
    ["filename", filename],
  ],
  errors: {
    INVALID_FILENAME: 0x1000,
    ...notMounted,
    PARENT_NOT_FOUND: 0x3002,
    DIRECTORY_FULL: 0x4000,
    MAX_NESTING: 0x4001,
    MAX_PATH_LENGTH: 0x4002,
    /** DECISION (NCW's, docs/sysfs.md): the page has no errcode for a name already taken. */
    ALREADY_EXISTS: 0x4003,
    UNSPECIFIED: 0x4fff,
  },
  permissions: { always: ["fs.items.create"] },
});
export const READ_DIRECTORY = m(0x3001, "READ_DIRECTORY", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["hidden", boolean],
  ],
  answer: [["items", list(itemMetadata)]],
  errors: { ...notMounted, NOT_FOUND: 0x3002, UNSPECIFIED: 0x4fff },
  permissions: {
    always: ["fs.dir.read"],
    when: [{ permission: "fs.dir.read.hidden", condition: "to also list hidden items" }],
  },
});

// ---- files (0x4000–0x4FFF) ------------------------------------------------------------------------
/**
 * DECISION (docs/sysfs.md): variant 0x01 ("existing path of the parent directory", to create the file)
 * names no file: it carries the parent's path and then the new file's filename.
 */
export const OPEN_FILE = m(0x4000, "OPEN_FILE", {
  args: [
    ["fsid", fsid],
    [
      "target",
      {
        kind: "enum",
        variants: {
          0: [["path", path]],
          1: [
            ["parent", path],
            ["filename", filename],
          ],
        },
      },
    ],
    ["read", u8],
    ["write", u8],
  ],
  answer: [["file", u64]],
  errors: {
    INVALID_FSID: 0x3000,
    INVALID_PARENT: 0x3001,
    NOT_MOUNTED: 0x3002,
    FILE_NOT_FOUND: 0x3003,
    DIRECTORY_NOT_FOUND: 0x3004,
    ALREADY_OPEN: 0x4000,
    DIRECTORY_FULL: 0x4001,
    MAX_NESTING: 0x4002,
    MAX_PATH_LENGTH: 0x4003,
    UNSPECIFIED: 0x4fff,
  },
  permissions: {
    when: [
      { permission: "fs.items.create", condition: "if the file must be created" },
      { permission: "fs.items.read", condition: "for read access" },
      { permission: "fs.items.write", condition: "for write access" },
    ],
  },
});
export const CLOSE_FILE = m(0x4001, "CLOSE_FILE", {
  args: [["file", u64]],
  errors: { INVALID_FILE: 0x3000 },
});
/** No permission: implicitly given by the OPEN_FILE call. */
export const READ_FILE = m(0x4002, "READ_FILE", {
  args: [
    ["file", u64],
    ["offset", u64],
    ["length", u64],
    ["buffer", structure("Buffer pointer", "specs/kernel/data-structures.md")],
  ],
  errors: {
    INVALID_FILE: 0x3000,
    NOT_OPEN_FOR_READ: 0x3001,
    OFFSET_OUT_OF_RANGE: 0x3002,
    END_OUT_OF_RANGE: 0x3003,
    UNSPECIFIED: 0x4fff,
  },
});
/**
 * DECISION: the page gives WRITE_FILE the code of READ_FILE (0x4002); one code names one method: NCW
 * gives WRITE_FILE 0x4003, the next free code of the files group. No permission (given by OPEN_FILE).
 */
export const WRITE_FILE = m(0x4003, "WRITE_FILE", {
  args: [
    ["file", u64],
    ["offset", u64],
    ["length", u64],
    ["buffer", structure("Buffer pointer", "specs/kernel/data-structures.md")],
    ["truncate", boolean],
  ],
  errors: {
    INVALID_FILE: 0x3000,
    NOT_OPEN_FOR_WRITE: 0x3001,
    OFFSET_OUT_OF_RANGE: 0x3002,
    CAPACITY_EXCEEDED: 0x4000,
    MAX_FILE_SIZE: 0x4001,
    UNSPECIFIED: 0x4fff,
  },
});

// ---- symbolic links (0x5000–0x5FFF) ---------------------------------------------------------------
export const CREATE_SYMLINK = m(0x5000, "CREATE_SYMLINK", {
  args: [
    ["fsid", fsid],
    ["parent", path],
    ["filename", filename],
    ["targetFsid", fsid],
    ["target", path],
  ],
  errors: {
    INVALID_FILENAME: 0x3000,
    INVALID_FSID: 0x3001,
    NOT_MOUNTED: 0x3002,
    PARENT_NOT_FOUND: 0x3003,
    CROSS_FILESYSTEM: 0x3004,
    TARGET_NOT_FOUND: 0x3005,
    DIRECTORY_FULL: 0x4000,
    MAX_NESTING: 0x4001,
    MAX_PATH_LENGTH: 0x4002,
    CAPACITY_EXCEEDED: 0x4003,
    /** DECISION (NCW's, docs/sysfs.md): the page has no errcode for a name already taken. */
    ALREADY_EXISTS: 0x4004,
    UNSPECIFIED: 0x4fff,
  },
  permissions: { always: ["fs.symlinks.create"] },
});
export const UPDATE_SYMLINK = m(0x5001, "UPDATE_SYMLINK", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["targetFsid", fsid],
    ["target", path],
  ],
  errors: {
    ...notMounted,
    NOT_FOUND: 0x3002,
    CROSS_FILESYSTEM: 0x3003,
    TARGET_NOT_FOUND: 0x3004,
    UNSPECIFIED: 0x4fff,
  },
  permissions: { always: ["fs.symlinks.update"] },
});
export const READ_SYMLINK = m(0x5002, "READ_SYMLINK", {
  args: [
    ["fsid", fsid],
    ["path", path],
  ],
  answer: [
    ["targetFsid", fsid],
    ["target", path],
  ],
  errors: { ...notMounted, NOT_FOUND: 0x3002, CYCLIC: 0x4000 },
  permissions: { always: ["fs.symlinks.read"] },
});

// ---- watching (0xA000–0xAFFF) and formatting (0xF000) ---------------------------------------------
export const WATCH_ITEM = m(0xa000, "WATCH_ITEM", {
  args: [
    ["fsid", fsid],
    ["path", path],
    ["watch", u64],
  ],
  errors: { INVALID_FSID: 0x3000, NOT_FOUND: 0x3001 },
  permissions: { always: ["fs.items.metadata"] },
});
export const UNWATCH = m(0xa001, "UNWATCH", {
  args: [["watch", u64]],
  errors: { WATCH_NOT_FOUND: 0x3000 },
});
export const FORMAT = m(0xf000, "FORMAT", {
  args: [
    ["fsid", fsid],
    ["sectorSize", option(u64)],
  ],
  answer: [["task", u64]],
  errors: { INVALID_SECTOR_SIZE: 0x1000, ...notMounted, UNSPECIFIED: 0x4000 },
  permissions: { always: ["fs.filesystems.format"] },
});

/** sys::fs, in code order. */
export const SYS_FS: ServiceDef<FsPermission> = {
  name: "sys::fs",
  spec: "specs/services/system/fs.md",
  methods: [
    IS_FS_MOUNTED,
    ENUM_FS,
    FS_METADATA,
    FS_MOUNT,
    FS_UNMOUNT,
    FS_WATCH,
    FS_UNWATCH,
    ITEM_EXISTS,
    FEID_TO_SPLIT,
    ITEM_METADATA,
    RENAME_ITEM,
    MOVE_ITEM,
    DELETE_ITEM,
    CREATE_DIRECTORY,
    READ_DIRECTORY,
    OPEN_FILE,
    CLOSE_FILE,
    READ_FILE,
    WRITE_FILE,
    CREATE_SYMLINK,
    UPDATE_SYMLINK,
    READ_SYMLINK,
    WATCH_ITEM,
    UNWATCH,
    FORMAT,
  ],
  notifications: [
    {
      code: 0x0006,
      name: "FS_CHANGED",
      datafield: [
        ["mounted", boolean],
        ["fsid", fsid],
      ],
    },
    {
      code: 0xa000,
      name: "ITEM_CHANGED",
      datafield: [
        ["fsid", fsid],
        ["feid", feid],
        ["event", u8],
      ],
    },
  ],
};
