// Linux implementation of HostNative (native/types.ts) through koffi: memfd_create + mmap(MAP_SHARED)
// for segments (opened by other processes through /proc/<pid>/fd/<n>), futex(2) for wait/wake,
// prctl(PR_SET_PDEATHSIG) so runners die with the kernel server, getsockopt(SO_PEERCRED) for the peer
// check of the control socket (the rest of it is shared with macOS in posix.ts), fallocate(2) to punch
// holes; mmap(MAP_FIXED) of a segment over a WebAssembly memory's pages for AMS mappings (docs/ipc.md
// "Shared memory").

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import koffi from "koffi";
import { NcwError } from "../ncw/errors.js";
import {
  type PeerUid,
  posixCheckPeer,
  posixControlEndpoint,
  posixSecureEndpoint,
} from "./posix.js";
import type { HostNative, SharedSegment, WaitResult } from "./types.js";

const SYS_FUTEX: Partial<Record<string, number>> = { x64: 202, arm64: 98, ia32: 240, arm: 240 };
const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const PROT_READ_WRITE = 0x1 | 0x2;
const PROT_READ = 0x1;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MFD_CLOEXEC = 0x0001;
const MFD_ALLOW_SEALING = 0x0002;
const F_ADD_SEALS = 1033;
/** F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL: a mapped segment can never lose pages under a mapper (SIGBUS). */
const SEGMENT_SEALS = 0x0002 | 0x0004 | 0x0001;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9;
const EAGAIN = 11;
const ETIMEDOUT = 110;
const EINTR = 4;
const PAGE = 4096;
const SOL_SOCKET = 1;
/** SO_PEERCRED's value differs on a few architectures (asm-generic/socket.h and the arch overrides). */
const SO_PEERCRED: Partial<Record<string, number>> = {
  x64: 17,
  arm64: 17,
  ia32: 17,
  arm: 17,
  riscv64: 17,
  s390x: 17,
  loong64: 17,
  ppc64: 21,
  ppc: 21,
  mips: 18,
  mipsel: 18,
};
/** struct ucred: pid_t pid, uid_t uid, gid_t gid. */
const UCRED_SIZE = 12;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const EOPNOTSUPP = 95;
/** poll(2): struct pollfd { int fd; short events; short revents; }, and the bits that end a wait. */
const POLLIN = 0x001;
const F_SETPIPE_SZ = 1031;
const POLL_READY = POLLIN | 0x008 /* POLLERR */ | 0x010 /* POLLHUP */ | 0x020; /* POLLNVAL */

interface Libc {
  memfdCreate(name: string, flags: number): number;
  ftruncate(fd: number, len: number): number;
  mmap(addr: null, len: number, prot: number, flags: number, fd: number, off: number): unknown;
  munmap(addr: unknown, len: number): number;
  futex(
    nr: number,
    addr: bigint,
    op: number,
    val: number,
    ts: Buffer | null,
    a2: null,
    v3: number,
  ): number;
  prctl(option: number, arg: number, a3: number, a4: number, a5: number): number;
  getsockopt(fd: number, level: number, name: number, val: Buffer, len: Buffer): number;
  fallocate(fd: number, mode: number, offset: bigint, len: bigint): number;
  /** mmap with an integer address: MAP_FIXED at a given host address. */
  mmapAt(addr: bigint, len: number, prot: number, flags: number, fd: number, off: number): unknown;
  /**
   * memmove of typed arrays' bytes (copyBytes); memmove(d, d, 0) returns d: the host address of a
   * typed array's bytes, without copying (memoryAddress).
   */
  memmove(d: Uint8Array, s: Uint8Array, n: number): unknown;
  poll(fds: Buffer, nfds: number, timeout: number): number;
  fcntl(fd: number, cmd: number, type: "int", arg: number): number;
  close(fd: number): number;
  read(fd: number, buf: Uint8Array, n: number): number;
}

let libc: Libc | undefined;
/** FUTEX_WAIT's relative timeout (struct timespec), reused: wait() is on the pipes' hot path. */
const TIMESPEC = Buffer.alloc(16);
function load(): Libc {
  if (libc) return libc;
  try {
    const lib = koffi.load("libc.so.6");
    libc = {
      memfdCreate: lib.func("int memfd_create(const char *name, unsigned int flags)"),
      ftruncate: lib.func("int ftruncate(int fd, int64_t len)"),
      mmap: lib.func(
        "void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)",
      ),
      munmap: lib.func("int munmap(void *addr, size_t len)"),
      // syscall(2) is variadic; declaring its integer-only futex form avoids koffi's slow variadic path.
      futex: lib.func(
        "long syscall(long nr, uint64_t addr, int op, int val, void *ts, void *a2, int v3)",
      ),
      prctl: lib.func(
        "int prctl(int option, unsigned long arg2, unsigned long a3, unsigned long a4, unsigned long a5)",
      ),
      getsockopt: lib.func("int getsockopt(int fd, int level, int name, void *val, void *len)"),
      fallocate: lib.func("int fallocate(int fd, int mode, int64_t offset, int64_t len)"),
      mmapAt: lib.func(
        "void *mmap(uint64_t addr, size_t len, int prot, int flags, int fd, int64_t off)",
      ),
      memmove: lib.func("void *memmove(void *d, const void *s, size_t n)"),
      poll: lib.func("int poll(void *fds, unsigned long nfds, int timeout)"),
      fcntl: lib.func("int fcntl(int fd, int cmd, ...)"),
      close: lib.func("int close(int fd)"),
      read: lib.func("long read(int fd, void *buf, size_t n)"),
    } as Libc;
    return libc;
  } catch (e) {
    throw new NcwError(
      "unavailable",
      `cannot load the C library through koffi: ${(e as Error).message}`,
      {
        code: "NATIVE_UNAVAILABLE",
        cause: e,
      },
    );
  }
}

function hostError(call: string): NcwError {
  const errno = koffi.errno();
  return new NcwError("io", `${call} failed (errno ${errno})`, { code: "NATIVE_HOST_ERROR" });
}

/**
 * Map `fd` and own it: `closeFd` closes it with the segment. A memfd is closed through libc, not Node's
 * fs: Node's fs warns when a worker thread closes a descriptor it did not open through fs.
 */
function mapFd(
  fd: number,
  size: number,
  name: string,
  closeFd: (fd: number) => void,
): SharedSegment {
  const c = load();
  const ptr = c.mmap(null, size, PROT_READ_WRITE, MAP_SHARED, fd, 0);
  const address = koffi.address(ptr) as bigint;
  if (address === 0xffff_ffff_ffff_ffffn || address === 0n) {
    const e = hostError("mmap");
    closeFd(fd);
    throw e;
  }
  const buffer = koffi.view(ptr, size) as ArrayBuffer;
  let open = true;
  return {
    name,
    size,
    buffer,
    address,
    write(bytes, offset) {
      for (let done = 0; done < bytes.length; )
        done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
    },
    read(into, offset) {
      for (let done = 0; done < into.length; ) {
        const n = readSync(fd, into, done, into.length - done, offset + done);
        if (n === 0) throw new RangeError(`segment ${name}: read past its end`);
        done += n;
      }
    },
    close() {
      if (!open) return;
      open = false;
      c.munmap(ptr, size);
      closeFd(fd);
    },
  };
}

/** A segment name this module made (`createSegment`): what `openSegment` / `mapSegmentAt` accept. */
function checkName(name: string): void {
  if (!/^\/proc\/\d+\/fd\/\d+$/.test(name)) {
    throw new NcwError("data", `not a shared segment name: ${name}`, {
      code: "NATIVE_BAD_SEGMENT",
    });
  }
}

function openNamed(name: string, flags: "r" | "r+"): number {
  checkName(name);
  try {
    return openSync(name, flags);
  } catch (e) {
    throw new NcwError("not-found", `cannot open shared segment ${name}: ${(e as Error).message}`, {
      code: "NATIVE_SEGMENT_GONE",
      hint: "the process that created it has exited",
    });
  }
}

function pageAligned(what: string, v: number | bigint): void {
  if (BigInt(v) % BigInt(PAGE) !== 0n)
    throw new RangeError(`${what} must be a multiple of the host page (${PAGE}), got ${v}`);
}

function roundUp(size: number): number {
  if (!Number.isInteger(size) || size <= 0)
    throw new RangeError(`segment size must be a positive integer, got ${size}`);
  return Math.ceil(size / PAGE) * PAGE;
}

/** SO_PEERCRED: the credentials the peer had when it connected (or listened), as the kernel recorded them. */
function peerUid(fd: number): PeerUid {
  const opt = SO_PEERCRED[process.arch];
  if (opt === undefined)
    return { ok: false, reason: `SO_PEERCRED is not known on ${process.arch}` };
  const cred = Buffer.alloc(UCRED_SIZE);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(UCRED_SIZE, 0);
  if (load().getsockopt(fd, SOL_SOCKET, opt, cred, len) !== 0)
    return { ok: false, reason: `getsockopt(SO_PEERCRED) failed (errno ${koffi.errno()})` };
  if (len.readUInt32LE(0) !== UCRED_SIZE)
    return { ok: false, reason: `getsockopt(SO_PEERCRED) returned ${len.readUInt32LE(0)} bytes` };
  // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  return { ok: true, uid: cred.readUInt32LE(4), pid: cred.readInt32LE(0) };
}

export const linuxNative: HostNative = {
  platform: "linux",
  createSegment(size, label) {
    const c = load();
    const len = roundUp(size);
    const fd = c.memfdCreate(`ncw:${label}`, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw hostError("memfd_create");
    if (c.ftruncate(fd, len) !== 0 || c.fcntl(fd, F_ADD_SEALS, "int", SEGMENT_SEALS) !== 0) {
      const e = hostError("ftruncate / fcntl(F_ADD_SEALS)");
      c.close(fd);
      throw e;
    }
    return mapFd(fd, len, `/proc/${process.pid}/fd/${fd}`, (d) => c.close(d));
  },
  openSegment(name, size) {
    const fd = openNamed(name, "r+");
    // Named by this process' own descriptor: another process can map it through this one while this
    // mapping is open, even once its creator has closed it (the kernel relays a fork image so).
    return mapFd(fd, roundUp(size), `/proc/${process.pid}/fd/${fd}`, closeSync);
  },
  memoryAddress(buffer) {
    const view = new Uint8Array(buffer, 0, 0);
    return koffi.address(load().memmove(view, view, 0)) as bigint;
  },
  copyBytes(dst, src) {
    // koffi passes a view's own bytes (its buffer from byteOffset) as the pointer: checking the two
    // lengths is what keeps memmove inside both.
    if (!(dst instanceof Uint8Array) || !(src instanceof Uint8Array) || dst.length < src.length) {
      throw new RangeError(`copyBytes: ${src.length} bytes do not fit a view of ${dst.length}`);
    }
    if (src.length > 0) load().memmove(dst, src, src.length);
  },
  mapSegmentAt(name, offset, address, length, opts) {
    pageAligned("offset", offset);
    pageAligned("address", address);
    pageAligned("length", length);
    // A read-only or copy-on-write mapping opens the segment read-only: no mprotect (V8 makes the whole
    // memory read-write again when it grows) can then make a shared read-only page writable.
    const fd = openNamed(name, opts.access === "read" || opts.private ? "r" : "r+");
    try {
      const prot = opts.access === "read" ? PROT_READ : PROT_READ_WRITE;
      const flags = MAP_FIXED | (opts.private ? MAP_PRIVATE : MAP_SHARED);
      const at = koffi.address(load().mmapAt(address, length, prot, flags, fd, offset)) as bigint;
      if (at === MAP_FAILED) throw hostError("mmap(MAP_FIXED)");
      if (at !== address) throw new Error(`mmap(MAP_FIXED) mapped at ${at}, not ${address}`);
    } finally {
      // The mapping holds the segment; the descriptor is not needed any more.
      closeSync(fd);
    }
  },
  mapZeroAt(address, length) {
    pageAligned("address", address);
    pageAligned("length", length);
    const flags = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS;
    const at = koffi.address(
      load().mmapAt(address, length, PROT_READ_WRITE, flags, -1, 0),
    ) as bigint;
    if (at === MAP_FAILED) throw hostError("mmap(MAP_FIXED | MAP_ANONYMOUS)");
  },
  wait(address, expected, timeoutMs): WaitResult {
    const c = load();
    const nr = SYS_FUTEX[process.arch];
    if (nr === undefined)
      throw new NcwError("unavailable", `futex: unknown syscall number on ${process.arch}`);
    let ts: Buffer | null = null;
    if (timeoutMs !== undefined) {
      // One timespec per thread (each worker has its own copy of this module), filled per call.
      ts = TIMESPEC;
      const ms = Math.max(0, timeoutMs);
      ts.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
      ts.writeBigInt64LE(BigInt(Math.min(999_999_999, Math.floor((ms % 1000) * 1e6))), 8);
    }
    for (;;) {
      const r = c.futex(nr, address, FUTEX_WAIT, expected | 0, ts, null, 0);
      if (r === 0) return "woken";
      const errno = koffi.errno();
      if (errno === EAGAIN) return "not-equal";
      if (errno === ETIMEDOUT) return "timeout";
      if (errno !== EINTR) throw hostError("futex(FUTEX_WAIT)");
    }
  },
  wake(address, count) {
    const c = load();
    const nr = SYS_FUTEX[process.arch];
    if (nr === undefined)
      throw new NcwError("unavailable", `futex: unknown syscall number on ${process.arch}`);
    const r = c.futex(nr, address, FUTEX_WAKE, count, null, null, 0);
    if (r < 0) throw hostError("futex(FUTEX_WAKE)");
    return r;
  },
  dieWithParent() {
    return load().prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) === 0;
  },
  controlEndpoint: posixControlEndpoint,
  secureEndpoint: posixSecureEndpoint,
  checkPeer: (sock) => posixCheckPeer(sock, peerUid),
  punchHole(fd, offset, length) {
    if (length <= 0n) return;
    const mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    for (;;) {
      if (load().fallocate(fd, mode, offset, length) === 0) return;
      const errno = koffi.errno();
      if (errno === EINTR) continue;
      if (errno === EOPNOTSUPP) {
        throw new NcwError("unavailable", "the host filesystem cannot punch holes in files", {
          code: "NATIVE_PUNCH_UNSUPPORTED",
        });
      }
      throw hostError("fallocate(FALLOC_FL_PUNCH_HOLE)");
    }
  },
  waitReadable(fd, timeoutMs) {
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(fd, 0);
    pfd.writeInt16LE(POLLIN, 4);
    const r = load().poll(pfd, 1, Math.max(0, Math.floor(timeoutMs)));
    if (r < 0) return koffi.errno() !== EINTR; // an error: let the read report it
    return r > 0 && (pfd.readInt16LE(6) & POLL_READY) !== 0;
  },
  growPipe(fd, bytes) {
    const r = load().fcntl(fd, F_SETPIPE_SZ, "int", bytes);
    return r > 0 ? r : undefined;
  },
  readNonBlocking(fd, into) {
    const c = load();
    for (;;) {
      const r = c.read(fd, into, into.length);
      if (r >= 0) return r;
      const errno = koffi.errno();
      if (errno === EAGAIN) return "would-block";
      if (errno !== EINTR) throw hostError("read");
    }
  },
};
