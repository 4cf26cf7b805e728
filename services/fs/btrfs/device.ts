// The block device a Btrfs image lives on: an image file (positioned reads/writes, fsync) or memory
// (sparse pages, for tests). Offsets are physical byte offsets on the device.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { dirname as pathDirname } from "node:path";
import { isHostError } from "../../../native/errors.js";
import { NcwError } from "../../../ncw/errors.js";
import { holePuncher } from "./punch.js";

export interface BlockDevice {
  /** Size in bytes. */
  readonly size: bigint;
  read(off: bigint, len: number): Uint8Array;
  /** Optional: read `dest.length` bytes at `off` into `dest`. */
  readInto?(off: bigint, dest: Uint8Array): void;
  write(off: bigint, data: Uint8Array): void;
  /** Make every write so far durable. */
  sync(): void;
  /**
   * Optional: give [off, off+len) back to the host (it then reads as zeros). Returns false where the
   * device cannot (the range then keeps its bytes: correct, only not smaller).
   */
  discard?(off: bigint, len: bigint): boolean;
  close(): void;
}

function checkRange(dev: BlockDevice, off: bigint, len: number, what: string): void {
  if (off < 0n || len < 0 || off + BigInt(len) > dev.size) {
    throw new NcwError(
      "data",
      `btrfs device ${what} of ${len} bytes at ${off} is outside the ${dev.size}-byte device`,
      { code: "BTRFS_DEV_RANGE", hint: "The image is truncated or damaged." },
    );
  }
}

/** An image file. Opens read-write unless `readOnly`. */
export class FileDevice implements BlockDevice {
  readonly size: bigint;
  private fd: number;

  private constructor(
    readonly path: string,
    fd: number,
    readonly readOnly: boolean,
  ) {
    this.fd = fd;
    this.size = BigInt(fs.fstatSync(fd).size);
  }

  static open(path: string, opts: { readOnly?: boolean } = {}): FileDevice {
    const ro = opts.readOnly === true;
    try {
      return new FileDevice(path, fs.openSync(path, ro ? "r" : "r+"), ro);
    } catch (e) {
      if (isHostError(e, "not-found")) {
        throw new NcwError("not-found", `image ${path} does not exist`, {
          code: "BTRFS_IMAGE_MISSING",
          hint: "Create one with `ncw fs mkfs <image> --size 256M`.",
        });
      }
      throw new NcwError("io", `cannot open image ${path}: ${(e as Error).message}`, {
        code: "BTRFS_IMAGE_OPEN",
        cause: e,
      });
    }
  }

  /** Creates (or truncates) a sparse image file of `size` bytes. */
  static create(path: string, size: bigint): FileDevice {
    try {
      const fd = fs.openSync(path, "w+");
      markSparse(path);
      fs.ftruncateSync(fd, Number(size));
      return new FileDevice(path, fd, false);
    } catch (e) {
      throw new NcwError("cant-create", `cannot create image ${path}: ${(e as Error).message}`, {
        code: "BTRFS_IMAGE_CREATE",
        cause: e,
      });
    }
  }

  read(off: bigint, len: number): Uint8Array {
    const buf = new Uint8Array(len);
    this.readInto(off, buf);
    return buf;
  }

  readInto(off: bigint, dest: Uint8Array): void {
    const len = dest.length;
    checkRange(this, off, len, "read");
    let done = 0;
    while (done < len) {
      const n = fs.readSync(this.fd, dest, done, len - done, Number(off) + done);
      if (n === 0) {
        dest.fill(0, done); // past EOF of a sparse file: zeros
        break;
      }
      done += n;
    }
  }

  write(off: bigint, data: Uint8Array): void {
    if (this.readOnly) {
      throw new NcwError("no-perm", `image ${this.path} is open read-only`, {
        code: "BTRFS_READ_ONLY",
      });
    }
    checkRange(this, off, data.length, "write");
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(this.fd, data, done, data.length - done, Number(off) + done);
    }
  }

  sync(): void {
    if (!this.readOnly) fs.fsyncSync(this.fd);
  }

  /** Set once the host refused to punch holes in this file (it will not start to later). */
  private cannotPunch = false;

  /**
   * Punches [off, off+len) out of the sparse image file (native/ HostNative.punchHole), once this
   * process loaded the call (punch.ts loadHolePunching); false before, or where the host cannot.
   */
  discard(off: bigint, len: bigint): boolean {
    const punch = holePuncher();
    if (this.readOnly || this.cannotPunch || !punch) return false;
    checkRange(this, off, Number(len), "discard");
    try {
      punch(this.fd, off, len);
      return true;
    } catch (e) {
      if (!(e instanceof NcwError) || e.kind !== "unavailable") throw e;
      this.cannotPunch = true;
      return false;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Renames the whole, durable file `from` to `to` (replacing a file there) and makes the rename
 * durable: the folder is fsynced where the host allows opening one (not Windows, where the rename
 * itself is written through). Both paths are in the same folder.
 */
export function renameIntoPlace(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (e) {
    throw new NcwError("cant-create", `cannot rename ${from} to ${to}: ${(e as Error).message}`, {
      code: "BTRFS_IMAGE_CREATE",
      cause: e,
    });
  }
  if (process.platform === "win32") return;
  const dir = fs.openSync(pathDirname(to), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

const PAGE = 65536;

function isZero(b: Uint8Array): boolean {
  if ((b.byteOffset & 3) === 0) {
    const w = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    for (let i = w.length << 2; i < b.length; i++) if (b[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** A device in memory, stored as sparse 64 KiB pages (unwritten ranges read as zeros). */
export class MemoryDevice implements BlockDevice {
  private readonly pages = new Map<number, Uint8Array>();
  /** Number of write() calls, for tests. */
  writes = 0;

  constructor(readonly size: bigint) {}

  /** A device holding a copy of `bytes` (e.g. an image file read into memory). */
  static fromBytes(bytes: Uint8Array): MemoryDevice {
    const d = new MemoryDevice(BigInt(bytes.length));
    for (let off = 0; off < bytes.length; off += PAGE) {
      const page = bytes.subarray(off, Math.min(off + PAGE, bytes.length));
      if (!isZero(page)) d.write(BigInt(off), page);
    }
    d.writes = 0;
    return d;
  }

  read(off: bigint, len: number): Uint8Array {
    checkRange(this, off, len, "read");
    const out = new Uint8Array(len);
    let pos = Number(off);
    let done = 0;
    while (done < len) {
      const page = Math.floor(pos / PAGE);
      const inPage = pos - page * PAGE;
      const n = Math.min(PAGE - inPage, len - done);
      const p = this.pages.get(page);
      if (p) out.set(p.subarray(inPage, inPage + n), done);
      done += n;
      pos += n;
    }
    return out;
  }

  write(off: bigint, data: Uint8Array): void {
    checkRange(this, off, data.length, "write");
    this.writes++;
    let pos = Number(off);
    let done = 0;
    while (done < data.length) {
      const page = Math.floor(pos / PAGE);
      const inPage = pos - page * PAGE;
      const n = Math.min(PAGE - inPage, data.length - done);
      let p = this.pages.get(page);
      if (!p) {
        p = new Uint8Array(PAGE);
        this.pages.set(page, p);
      }
      p.set(data.subarray(done, done + n), inPage);
      done += n;
      pos += n;
    }
  }

  sync(): void {}

  /** Forgets [off, off+len): whole pages go, partial ones are zeroed. */
  discard(off: bigint, len: bigint): boolean {
    checkRange(this, off, Number(len), "discard");
    let pos = Number(off);
    const end = pos + Number(len);
    while (pos < end) {
      const page = Math.floor(pos / PAGE);
      const inPage = pos - page * PAGE;
      const n = Math.min(PAGE - inPage, end - pos);
      if (n === PAGE) this.pages.delete(page);
      else this.pages.get(page)?.fill(0, inPage, inPage + n);
      pos += n;
    }
    return true;
  }

  /** Bytes held in memory (whole pages), for tests. */
  get storedBytes(): number {
    return this.pages.size * PAGE;
  }

  close(): void {}
}

/**
 * On Windows, marks a new (empty) image file sparse so that extending it does not reserve the whole
 * size on NTFS (`fsutil sparse setflag`). Best effort: where it fails the image works the same and
 * only takes its full size on disk. Linux and macOS files are sparse when extended by ftruncate.
 */
function markSparse(path: string): void {
  if (process.platform !== "win32") return;
  try {
    execFileSync("fsutil", ["sparse", "setflag", path], { stdio: "ignore", windowsHide: true });
  } catch {
    // not sparse: correct, only larger on disk
  }
}
