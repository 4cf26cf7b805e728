// fs.ts — typed wrappers for sys::fs (specs/services/system/fs.md; docs/sysfs.md, docs/sdk.md "sys::fs"),
// hand-written on nightos.ts: the connection (CONNECT_SERVICE to the system, PID 10 as the scope), one
// function per method an app needs (open, read, write, close, create, list, stat, exists, rename, remove),
// the arguments encoded as filesystem-interfaces.md and data-structures.md lay them out. Every method
// code and errcode comes from the generated nightos.ts (FS_METHOD_*, FS_<METHOD>_ERR_*).
//
// Paths are absolute NightOS paths as strings ("/home/user/appdata/x/notes"), sent as split paths. A
// failed call returns false / 0 / null and leaves its errcode in fsError() (the method's errcode,
// SERVICE_ERR_PERMISSION, …; FS_SDK_ERR_* below for what failed before sys::fs answered).
// Calls are synchronous: the request goes out with SEND_SOCK_MSG and the answer is polled with
// READ_SOCK_MSG (which never waits), spinning a little then sleeping in short, growing slices, so no
// RECV_SOCK_MSG handler is installed and the app's own signal handlers are left alone. Notifications
// (ITEM_CHANGED, FS_CHANGED) that arrive meanwhile are queued for nextChange() (watchItem, fsWatch).
// One thread at a time: the buffers are shared.

import {
  CONNECT_SERVICE_RET_SOCKET,
  connectService,
  errcode,
  FS_METHOD_CLOSE_FILE,
  FS_METHOD_CREATE_DIRECTORY,
  FS_METHOD_DELETE_ITEM,
  FS_METHOD_ENUM_FS,
  FS_METHOD_FS_UNWATCH,
  FS_METHOD_FS_WATCH,
  FS_METHOD_ITEM_EXISTS,
  FS_METHOD_ITEM_METADATA,
  FS_METHOD_OPEN_FILE,
  FS_METHOD_READ_DIRECTORY,
  FS_METHOD_READ_FILE,
  FS_METHOD_RENAME_ITEM,
  FS_METHOD_UNWATCH,
  FS_METHOD_WATCH_ITEM,
  FS_METHOD_WRITE_FILE,
  FS_PID,
  FS_TYPE_ANY,
  OK,
  READ_SOCK_MSG_RET_RETRIEVED,
  READ_SOCK_MSG_RET_STATUS,
  READ_SOCK_MSG_RET_WRITTEN,
  readSockMsg,
  retU8,
  retU32,
  retU64,
  sendSockMsg,
} from "./nightos";

// READ_SOCK_MSG's status bits (docs/ipc.md "Service sockets"): a new exchange (a notification), an
// error message (its body: the errcode, u16 LE, docs/services.md).
const STATUS_NEW_EXCHANGE: u8 = 0x01;
const STATUS_ERROR: u8 = 0x02;
/** The largest answer a system service sends (docs/services.md "The socket's size": 1 MiB). */
const MAX_ANSWER: i32 = 1 << 20;

/** NCW SDK errcodes, for failures before sys::fs answered (outside the spec's u16 range). */
export const FS_SDK_ERR_CONNECT: i32 = 0x10000;
export const FS_SDK_ERR_SEND: i32 = 0x10001;
export const FS_SDK_ERR_READ: i32 = 0x10002;
export const FS_SDK_ERR_NO_FSID: i32 = 0x10003;
export const FS_SDK_ERR_BAD_ANSWER: i32 = 0x10004;

let socket: u64 = 0;
let connected = false;
let theFsid: u64 = 0;
let haveFsid = false;
let lastError: i32 = 0;
let dropped: i32 = 0;
let answer: Uint8Array = new Uint8Array(0);
let answerLen: i32 = 0;
const SLEEP_WORD: usize = memory.data(8, 8);

/** The errcode of the last call that failed (0 after a call that worked). */
export function fsError(): i32 {
  return lastError;
}
/** How many notifications were dropped: not understood, or past the queue's MAX_QUEUED. */
export function fsDroppedNotifications(): i32 {
  return dropped;
}

/** A notification of sys::fs: ITEM_CHANGED (a watched item changed) or FS_CHANGED (a filesystem). */
export class FsChange {
  /** True for FS_CHANGED, false for ITEM_CHANGED. */
  filesystem: bool = false;
  fsid: u64 = 0;
  /** ITEM_CHANGED: the item's FEID and the event (0x01 changed, 0x02 moved, 0x03 deleted, 0x04 opened, 0x05 closed). */
  feid: u64 = 0;
  event: u8 = 0;
  /** FS_CHANGED: mounted (true) or unmounted. */
  mounted: bool = false;
}
/** Notifications kept until nextChange() takes them; more are dropped (counted). */
const MAX_QUEUED: i32 = 4096;
const queued = new Array<FsChange>(0);
let queueHead: i32 = 0;

/**
 * A notification's bytes at answer[0..len) as an FsChange, or null. READ_SOCK_MSG does not give the
 * exchange's code, so the two are told apart by their datafield's size, which differs (fs.md): ITEM_CHANGED
 * FSID (8) + FEID (8) + event (1) = 17 bytes, FS_CHANGED boolean (1) + FSID (8) = 9 bytes.
 */
function changeOf(len: i32): FsChange | null {
  const p = answer.dataStart;
  const c = new FsChange();
  if (len === 17) {
    c.fsid = load<u64>(p);
    c.feid = load<u64>(p + 8);
    c.event = load<u8>(p + 16);
    return c;
  }
  if (len === 9) {
    c.filesystem = true;
    c.mounted = load<u8>(p) === 0x01;
    c.fsid = load<u64>(p + 1);
    return c;
  }
  return null;
}

function keep(len: i32): void {
  const c = changeOf(len);
  if (c === null || queued.length - queueHead >= MAX_QUEUED) {
    dropped++;
    return;
  }
  if (queueHead > 0 && queueHead === queued.length) {
    queued.length = 0;
    queueHead = 0;
  }
  queued.push(c);
}

/** Connects to sys::fs (once; every call does it when needed). False, with fsError(), if it failed. */
export function fsConnect(): bool {
  if (connected) return true;
  // ANID 0 names the system; the scope's 8 bytes hold the service's PID (docs/services.md).
  const scope = memory.data(8, 8);
  store<u64>(scope, <u64>FS_PID);
  const status = connectService(0, 0, scope, 0, 0);
  if (status !== OK) {
    lastError = FS_SDK_ERR_CONNECT | errcode(status);
    return false;
  }
  socket = retU64(CONNECT_SERVICE_RET_SOCKET);
  answer = new Uint8Array(MAX_ANSWER);
  connected = true;
  return true;
}

// ---- encoding the arguments -------------------------------------------------------------------------

/** The arguments being built, in one buffer reused by every call (grown when a call needs more). */
class Args {
  buf: Uint8Array = new Uint8Array(4096);
  used: i32 = 0;
  room(n: i32): usize {
    if (this.used + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.used + n) size *= 2;
      const bigger = new Uint8Array(size);
      memory.copy(bigger.dataStart, this.buf.dataStart, <usize>this.used);
      this.buf = bigger;
    }
    const at = this.buf.dataStart + <usize>this.used;
    this.used += n;
    return at;
  }
  u8(v: u8): Args {
    store<u8>(this.room(1), v);
    return this;
  }
  u64(v: u64): Args {
    store<u64>(this.room(8), v);
    return this;
  }
  /** A delimited string (data-structures.md): its UTF-8 byte length (u64) then the bytes. */
  string(s: string): Args {
    const n = String.UTF8.byteLength(s);
    store<u64>(this.room(8), <u64>n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.room(n));
    return this;
  }
  /** A filesystem path of kind 0x02, a split path: the delimited list of `path`'s components. */
  path(path: string): Args {
    this.u8(0x02);
    const lenAt = this.used;
    this.room(8);
    const start = this.used;
    let from = 0;
    for (let i = 0; i <= path.length; i++) {
      if (i === path.length || path.charCodeAt(i) === 0x2f) {
        if (i > from) this.string(path.substring(from, i));
        from = i + 1;
      }
    }
    store<u64>(this.buf.dataStart + <usize>lenAt, <u64>(this.used - start));
    return this;
  }
}
const args = new Args();

/** The arguments of a call to sys::fs's filesystem: its FSID first. Null if no FSID is known. */
function withFsid(): Args | null {
  if (!haveFsid && !fsFsid()) return null;
  args.used = 0;
  return args.u64(theFsid);
}

// ---- calling -----------------------------------------------------------------------------------------

/** Waits about `us` microseconds (a wait no one wakes). */
function nap(us: i64): void {
  memory.atomic.wait32(SLEEP_WORD, 0, us * 1000);
}

/** Calls `method` with the arguments in `args`; true with the answer in answer[0..answerLen). */
function call(method: i32): bool {
  if (!fsConnect()) return false;
  let status = sendSockMsg(socket, 0, <u16>method, 0, <u64>args.buf.dataStart, <u64>args.used);
  if (status !== OK) {
    lastError = FS_SDK_ERR_SEND | errcode(status);
    return false;
  }
  let tries = 0;
  let slice: i64 = 20;
  while (true) {
    status = readSockMsg(socket, <u64>answer.dataStart);
    if (status !== OK) {
      lastError = FS_SDK_ERR_READ | errcode(status);
      return false;
    }
    if (retU8(READ_SOCK_MSG_RET_RETRIEVED) !== 0) {
      const bits = retU8(READ_SOCK_MSG_RET_STATUS);
      // A notification creates its own exchange; the answer concludes the call's.
      answerLen = <i32>retU32(READ_SOCK_MSG_RET_WRITTEN);
      if ((bits & STATUS_NEW_EXCHANGE) !== 0) {
        keep(answerLen);
        continue;
      }
      if ((bits & STATUS_ERROR) !== 0) {
        lastError = answerLen >= 2 ? <i32>load<u16>(answer.dataStart) : FS_SDK_ERR_BAD_ANSWER;
        return false;
      }
      lastError = 0;
      return true;
    }
    // A call answers in tens to hundreds of µs: spin a little, then sleep 20 µs, doubling to 2 ms.
    if (++tries > 32) {
      nap(slice);
      if (slice < 2000) slice *= 2;
    }
  }
}

// ---- decoding the answers -----------------------------------------------------------------------------

let at: i32 = 0;
function need(n: i32): bool {
  if (at + n > answerLen) {
    lastError = FS_SDK_ERR_BAD_ANSWER;
    return false;
  }
  return true;
}
function takeU8(): u8 {
  const v = load<u8>(answer.dataStart + <usize>at);
  at += 1;
  return v;
}
function takeU64(): u64 {
  const v = load<u64>(answer.dataStart + <usize>at);
  at += 8;
  return v;
}

/** An item's metadata (filesystem-interfaces.md "Item metadata"); absent dates are -1. */
export class FsItem {
  feid: u64 = 0;
  type: u8 = 0;
  flags: u8 = 0;
  size: u64 = 0;
  modifiedAt: i64 = -1;
  name: string = "";
  isDirectory(): bool {
    return this.type === 0x01;
  }
  isFile(): bool {
    return this.type === 0x02;
  }
}

/** An option (data-structures.md): 0x00 absent, 0x01 then the u64; -1 when absent. */
function takeOptionU64(): i64 {
  if (!need(1)) return -1;
  if (takeU8() === 0) return -1;
  if (!need(8)) return -1;
  return <i64>takeU64();
}

function takeItem(): FsItem | null {
  const item = new FsItem();
  if (!need(18)) return null;
  item.feid = takeU64();
  item.type = takeU8();
  item.flags = takeU8();
  item.size = takeU64();
  takeOptionU64(); // owner
  takeOptionU64(); // created
  item.modifiedAt = takeOptionU64();
  takeOptionU64(); // accessed
  if (!need(8)) return null;
  const n = <i32>takeU64();
  if (!need(n)) return null;
  item.name = String.UTF8.decodeUnsafe(answer.dataStart + <usize>at, <usize>n);
  at += n;
  return lastError === 0 ? item : null;
}

// ---- the methods ---------------------------------------------------------------------------------------

/**
 * The home tree's FSID (ENUM_FS' first filesystem), asked once; false if it could not be had. ENUM_FS
 * needs `fs.filesystems.list` (permissions.md level 3: a prompt, or `ncw run --allow fs.filesystems.list`).
 */
export function fsFsid(): bool {
  if (haveFsid) return true;
  args.used = 0;
  if (!call(FS_METHOD_ENUM_FS)) return false;
  at = 0;
  if (!need(16) || takeU64() < 8) {
    lastError = FS_SDK_ERR_NO_FSID;
    return false;
  }
  theFsid = takeU64();
  haveFsid = true;
  return true;
}
/** Uses `fsid` as the filesystem's FSID (known otherwise), so ENUM_FS is not asked. */
export function fsUseFsid(fsid: u64): void {
  theFsid = fsid;
  haveFsid = true;
}
/** The FSID in use (after fsFsid() or fsUseFsid()). */
export function fsid(): u64 {
  return theFsid;
}

/** ITEM_EXISTS: the item's type byte (FS_TYPE_*), or 0 when nothing (of that `type`) is there. */
export function itemExists(path: string, type: u8 = FS_TYPE_ANY): u8 {
  const a = withFsid();
  if (a === null) return 0;
  a.path(path).u8(type);
  if (!call(FS_METHOD_ITEM_EXISTS)) return 0;
  at = 0;
  return need(1) ? takeU8() : 0;
}

/** ITEM_METADATA of the item itself (a final symlink not followed). */
export function itemMetadata(path: string): FsItem | null {
  const a = withFsid();
  if (a === null) return null;
  a.path(path);
  if (!call(FS_METHOD_ITEM_METADATA)) return null;
  at = 0;
  return takeItem();
}

/** READ_DIRECTORY: the folder's items (hidden ones too with `hidden`, which needs fs.dir.read.hidden). */
export function readDirectory(path: string, hidden: bool = false): FsItem[] | null {
  const a = withFsid();
  if (a === null) return null;
  // A boolean (data-structures.md): 0x01 true, 0x02 false.
  a.path(path).u8(hidden ? 0x01 : 0x02);
  if (!call(FS_METHOD_READ_DIRECTORY)) return null;
  at = 0;
  if (!need(8)) return null;
  const end = at + <i32>takeU64();
  if (end > answerLen) {
    lastError = FS_SDK_ERR_BAD_ANSWER;
    return null;
  }
  const items = new Array<FsItem>(0);
  while (at < end) {
    const item = takeItem();
    if (item === null) return null;
    items.push(item);
  }
  return items;
}

/** CREATE_DIRECTORY `name` in the folder `parent`. */
export function createDirectory(parent: string, name: string): bool {
  const a = withFsid();
  if (a === null) return false;
  a.path(parent).string(name);
  return call(FS_METHOD_CREATE_DIRECTORY);
}

/** RENAME_ITEM: gives the item at `path` the filename `name` (in the same folder). */
export function renameItem(path: string, name: string): bool {
  const a = withFsid();
  if (a === null) return false;
  a.path(path).string(name);
  return call(FS_METHOD_RENAME_ITEM);
}

/** DELETE_ITEM: to the trash (mode 0x01), or `permanently` (0x02; a non-empty folder is refused). */
export function deleteItem(path: string, permanently: bool): bool {
  const a = withFsid();
  if (a === null) return false;
  a.path(path).u8(permanently ? 0x02 : 0x01);
  return call(FS_METHOD_DELETE_ITEM);
}

function opened(read: bool, write: bool): u64 {
  args.u8(read ? 0x01 : 0x00).u8(write ? 0x01 : 0x00);
  if (!call(FS_METHOD_OPEN_FILE)) return 0;
  at = 0;
  return need(8) ? takeU64() : 0;
}

/** OPEN_FILE of an existing file: its opened file ID, or 0. A write opening locks out every other. */
export function openFile(path: string, read: bool, write: bool): u64 {
  const a = withFsid();
  if (a === null) return 0;
  a.u8(0x00).path(path);
  return opened(read, write);
}

/** OPEN_FILE variant 0x01: opens the file `name` in the folder `parent`, created empty if missing. */
export function createFile(parent: string, name: string, read: bool, write: bool): u64 {
  const a = withFsid();
  if (a === null) return 0;
  a.u8(0x01).path(parent).string(name);
  return opened(read, write);
}

/** CLOSE_FILE. */
export function closeFile(file: u64): bool {
  args.used = 0;
  args.u64(file);
  return call(FS_METHOD_CLOSE_FILE);
}

function io(file: u64, offset: u64, data: Uint8Array): Args {
  args.used = 0;
  // The buffer pointer (data-structures.md): the address, then the length.
  return args
    .u64(file)
    .u64(offset)
    .u64(<u64>data.length)
    .u64(<u64>data.dataStart)
    .u64(<u64>data.length);
}

/** READ_FILE: fills `into` from `offset` (the whole range must be in the file). */
export function readFile(file: u64, offset: u64, into: Uint8Array): bool {
  io(file, offset, into);
  return call(FS_METHOD_READ_FILE);
}

/** WRITE_FILE: `data` at `offset` (at most the file's end); `truncate` ends the file after it. */
export function writeFile(file: u64, offset: u64, data: Uint8Array, truncate: bool = false): bool {
  io(file, offset, data).u8(truncate ? 0x01 : 0x02);
  return call(FS_METHOD_WRITE_FILE);
}

// ---- watching ------------------------------------------------------------------------------------------

/**
 * WATCH_ITEM: sys::fs sends ITEM_CHANGED for the item at `path` (a folder: when its entries change) until
 * unwatch(`watch`); `watch` is the app's own ID (one already in use is re-pointed). Needs fs.items.metadata.
 */
export function watchItem(path: string, watch: u64): bool {
  const a = withFsid();
  if (a === null) return false;
  a.path(path).u64(watch);
  return call(FS_METHOD_WATCH_ITEM);
}
/** UNWATCH. */
export function unwatch(watch: u64): bool {
  args.used = 0;
  args.u64(watch);
  return call(FS_METHOD_UNWATCH);
}
/** FS_WATCH: FS_CHANGED when a filesystem is mounted or unmounted (needs fs.filesystems.watch). */
export function fsWatch(): bool {
  args.used = 0;
  return call(FS_METHOD_FS_WATCH);
}
/** FS_UNWATCH. */
export function fsUnwatch(): bool {
  args.used = 0;
  return call(FS_METHOD_FS_UNWATCH);
}

/**
 * The next notification: a queued one, else one read from the connection within `waitMs` ms (0: do not
 * wait; -1: wait for one). Null when none came (or the connection failed: fsError()).
 */
export function nextChange(waitMs: i32 = -1): FsChange | null {
  if (!fsConnect()) return null;
  let waited: i64 = 0;
  let slice: i64 = 20;
  while (queueHead >= queued.length) {
    const status = readSockMsg(socket, <u64>answer.dataStart);
    if (status !== OK) {
      lastError = FS_SDK_ERR_READ | errcode(status);
      return null;
    }
    if (retU8(READ_SOCK_MSG_RET_RETRIEVED) !== 0) {
      // Between calls, only notifications come (every answer is read by its call).
      if ((retU8(READ_SOCK_MSG_RET_STATUS) & STATUS_NEW_EXCHANGE) !== 0)
        keep(<i32>retU32(READ_SOCK_MSG_RET_WRITTEN));
      else dropped++;
      continue;
    }
    if (waitMs >= 0 && waited >= <i64>waitMs * 1000) return null;
    nap(slice);
    waited += slice;
    if (slice < 5000) slice *= 2;
  }
  return queued[queueHead++];
}

/** Creates (or replaces) the file `name` in `parent` with `data`: open, write, close. */
export function writeWholeFile(parent: string, name: string, data: Uint8Array): bool {
  const file = createFile(parent, name, false, true);
  if (file === 0) return false;
  const wrote = writeFile(file, 0, data, true);
  const err = lastError;
  const closed = closeFile(file);
  if (!wrote) lastError = err;
  return wrote && closed;
}

/** Reads the whole file at `path` (its size from ITEM_METADATA), or null. */
export function readWholeFile(path: string): Uint8Array | null {
  const meta = itemMetadata(path);
  if (meta === null) return null;
  const file = openFile(path, true, false);
  if (file === 0) return null;
  const data = new Uint8Array(<i32>meta.size);
  const ok = data.length === 0 || readFile(file, 0, data);
  const err = lastError;
  closeFile(file);
  if (!ok) {
    lastError = err;
    return null;
  }
  return data;
}
