// AMS syscalls 0x40–0x46 (specs/kernel/syscalls.md, memory.md "Abstract memory segments", ipc.md
// "Shared Memory"; docs/ipc.md "Shared memory"). Every one is the kernel's (kernel/ams.ts decides who
// names what); the runners map the AMS' host segment over their memory when the kernel asks
// (runner/ams.ts), so loads and stores never go through a syscall. No runner half: the table says
// `where: "kernel"` for each.

import { GenericErr, Sig } from "../../commonassembly/abi/numbers.js";
import { fail, ok } from "../../commonassembly/abi/result.js";
import { AmsPermission, Datafield, encodeDatafield } from "../../commonassembly/abi/signals.js";
import {
  AMS_SHARING_INFO,
  BACKED_AMS,
  MAP_AMS,
  SHARE_AMS,
  UNMAP_AMS,
  UNSHARE_AMS,
  VIRT_MEM_AMS,
} from "../../commonassembly/abi/syscalls.js";
import type { KAms, KernelApi, KMapping, KSharing } from "../kernel/api.js";
import type { KProcess } from "../kernel/process.js";
import { type AmsRange, backedAccess, fillBacked, writeBack } from "./ams-backed.js";
import { bindKernel } from "./result.js";

/** NightOS pages are 4 KiB (memory.md "Pages"; runner/memory.ts). */
const PAGE = 4096n;
const WASM32_LIMIT = 2n ** 32n;

/** SHARE_AMS' mode byte. Decided (docs/ipc.md): 0x08 and 0x09 are exclusive, as the spec writes them. */
export const ShareMode = {
  EXEC: 0x01,
  WRITE: 0x02,
  READ: 0x04,
  COPY_ON_WRITE: 0x08,
  EXCLUSIVE: 0x08,
  UNMAP_ORIGINAL: 0x01,
} as const;

/** UNSHARED_AMS' unsharing type (signals.md 0x37). */
export const Unsharing = { PROPER: 0x00, BRUTAL: 0x01 } as const;

/** RECV_SHARED_AMS' access permissions for an exclusive sharing (signals.md 0x35: `0b11100000`). */
const EXCLUSIVE_PERMISSIONS = 0b1110_0000;

type ModeOf =
  | { kind: "exclusive"; unmapOriginal: boolean }
  | { kind: "mutual"; permissions: number; copyOnWrite: boolean }
  | { kind: "invalid" }
  | { kind: "no-permissions" };

/** SHARE_AMS' mode: `0b0000crwx` mutual, `0b0000100u` exclusive (docs/ipc.md). */
export function decodeShareMode(mode: number): ModeOf {
  if (mode > 0x0f) return { kind: "invalid" };
  if ((mode & 0x0e) === ShareMode.EXCLUSIVE)
    return { kind: "exclusive", unmapOriginal: (mode & ShareMode.UNMAP_ORIGINAL) !== 0 };
  const permissions =
    (mode & ShareMode.READ ? AmsPermission.READ : 0) |
    (mode & ShareMode.WRITE ? AmsPermission.WRITE : 0) |
    (mode & ShareMode.EXEC ? AmsPermission.EXEC : 0);
  if (permissions === 0) return { kind: "no-permissions" };
  return { kind: "mutual", permissions, copyOnWrite: (mode & ShareMode.COPY_ON_WRITE) !== 0 };
}

const aligned = (v: bigint) => v % PAGE === 0n;

/** Another live process of the caller's application and user (decided as for pipes, docs/ipc.md). */
function peer(k: KernelApi, caller: KProcess, pid: bigint): KProcess | undefined {
  const t = k.processes.get(Number(pid));
  if (t === undefined || t.state === "exited" || t.pid === caller.pid) return undefined;
  if (t.anid !== caller.anid || t.user !== caller.user) return undefined;
  return t;
}

/** How an unmapped range is left: pages SHARE_AMS took go back as zeros; others keep a private copy. */
const leaveAs = (m: KMapping) => (m.auto ? "zero" : "keep");

/** Unmap `pid`'s mappings of `a` (all, or the one at `address`) in its runner; those unmapped. */
export async function unmapAll(
  k: Pick<KernelApi, "ams" | "processes" | "unmapAms">,
  a: KAms,
  pid: number,
  address?: number,
  mode?: "keep" | "zero",
): Promise<KMapping[]> {
  const gone = k.ams.removeMappings(a, pid, address);
  const p = k.processes.get(pid);
  if (p !== undefined && p.state !== "exited")
    for (const m of gone) await k.unmapAms(p, m.address, mode ?? leaveAs(m));
  return gone;
}

/** UNSHARED_AMS' datafield (signals.md 0x37). */
export function unsharedAms(type: number): Uint8Array {
  return encodeDatafield(Datafield[Sig.UNSHARED_AMS], { unsharing: type });
}

/** The AMS ranges `pid`'s mappings of `a` show (at `address` only, if given). */
const rangesOf = (a: KAms, pid: number, address?: number): AmsRange[] =>
  (a.mappings.get(pid) ?? [])
    .filter((m) => address === undefined || m.address === address)
    .map((m) => ({ from: m.from, length: m.length }));

/**
 * End `s`: what the receiver wrote goes back to a backer (docs/ipc.md "Signal-backed AMS"), its
 * mappings go, it forgets the AMS, and it gets UNSHARED_AMS `type`.
 */
export async function endSharing(
  k: Pick<KernelApi, "ams" | "processes" | "unmapAms" | "signal" | "askBacker">,
  a: KAms,
  s: KSharing,
  type: number,
): Promise<void> {
  if (a.backing !== undefined) await writeBack(k, a, rangesOf(a, s.receiver));
  a.sharings = a.sharings.filter((x) => x !== s);
  await unmapAll(k, a, s.receiver);
  const r = k.processes.get(s.receiver);
  if (r !== undefined && r.state !== "exited")
    k.signal(r, Sig.UNSHARED_AMS, { datafield: unsharedAms(type) });
}

/**
 * A process ended (docs/ipc.md): the AMS it owned are unshared from every receiver, "brutally"
 * (UNSHARED_AMS 0x01), then released; the sharings it received end without a signal.
 */
export async function amsProcessEnded(
  k: Pick<KernelApi, "ams" | "processes" | "unmapAms" | "signal" | "askBacker">,
  pid: number,
): Promise<void> {
  // Every segment goes now (the caller reports the end right after); the receivers' runners after.
  const ending: Promise<void>[] = [];
  for (const a of k.ams.namedBy(pid)) {
    // A receiver's stores are in the segment still: they go back to a live backer (docs/ipc.md).
    if (a.backing !== undefined && a.owner !== pid) ending.push(writeBack(k, a, rangesOf(a, pid)));
    a.mappings.delete(pid);
    if (a.owner === pid) {
      const sharings = a.sharings;
      a.sharings = [];
      k.ams.release(a);
      for (const s of sharings) ending.push(endSharing(k, a, s, Unsharing.BRUTAL));
    } else a.sharings = a.sharings.filter((s) => s.receiver !== pid);
  }
  await Promise.all(ending);
}

/** What AMS_SHARING_INFO describes for `pid`: its own sharing as receiver, or the owner's first. */
function sharingFor(a: KAms, pid: number): { s: KSharing; sharer: number } | undefined {
  const mine = a.sharings.find((s) => s.receiver === pid);
  if (mine !== undefined) return { s: mine, sharer: a.owner };
  if (a.exclusive !== undefined) return { s: a.exclusive.sharing, sharer: a.exclusive.sharer };
  const first = a.sharings[0];
  return first === undefined ? undefined : { s: first, sharer: a.owner };
}

export const amsKernelHandlers = [
  bindKernel(VIRT_MEM_AMS, async (k, caller, a) => {
    const E = VIRT_MEM_AMS.errors;
    if (!aligned(a.address)) return fail(E.UNALIGNED_ADDRESS);
    if (!aligned(a.length)) return fail(E.UNALIGNED_LENGTH);
    // Address 0 is the spec's invalid pointer (and page 0 holds the control block); nothing is empty.
    if (a.address === 0n || a.length === 0n) return fail(GenericErr.INVALID_ARGUMENT);
    if (a.address + a.length > WASM32_LIMIT) return fail(E.OUT_OF_RANGE);
    let ams: KAms;
    try {
      ams = k.ams.create(caller.pid, "virtual", Number(a.length));
    } catch (e) {
      k.refusedLine(caller, `VIRT_MEM_AMS refused: no shared memory: ${(e as Error).message}`);
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    const r = await k.mapAms(caller, {
      name: ams.segment.name,
      offset: 0,
      at: Number(a.address),
      length: ams.length,
      readOnly: false,
      private: false,
      source: true,
    });
    if (!r.ok) {
      k.ams.release(ams);
      if (r.refusal === "range") return fail(E.OUT_OF_RANGE);
      if (r.refusal === undefined) k.refusedLine(caller, `VIRT_MEM_AMS refused: ${r.error}`);
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    k.ams.addMapping(ams, caller.pid, {
      address: r.address,
      length: ams.length,
      from: 0,
      auto: false,
      source: true,
    });
    return ok({ ams: ams.id });
  }),

  bindKernel(BACKED_AMS, async (k, caller, a) => {
    const E = BACKED_AMS.errors;
    if (a.copyOnWrite > 1) return fail(E.INVALID_COW_MODE);
    if (!aligned(a.length)) return fail(E.UNALIGNED_LENGTH);
    // Decided (docs/ipc.md): nothing is empty, and no 32-bit memory could map more than 4 GiB.
    if (a.length === 0n || a.length > WASM32_LIMIT) return fail(GenericErr.INVALID_ARGUMENT);
    let ams: KAms;
    try {
      ams = k.ams.create(caller.pid, "backed", Number(a.length), a.copyOnWrite === 1);
    } catch (e) {
      k.refusedLine(caller, `BACKED_AMS refused: no shared memory: ${(e as Error).message}`);
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    return ok({ ams: ams.id });
  }),

  bindKernel(SHARE_AMS, async (k, caller, a) => {
    const E = SHARE_AMS.errors;
    if (a.notificationMode > 1) return fail(E.INVALID_NOTIFICATION_MODE);
    const mode = decodeShareMode(a.mode);
    if (mode.kind === "invalid") return fail(E.INVALID_MODE);
    if (mode.kind === "no-permissions") return fail(E.MUTUAL_WITHOUT_PERMISSIONS);
    // The spec names no errcode for an AMS the caller does not own or a target it may not reach: 0x02.
    const ams = k.ams.named(caller.pid, a.ams);
    if (ams === undefined || ams.owner !== caller.pid) return fail(GenericErr.INVALID_ARGUMENT);
    const target = peer(k, caller, a.pid);
    if (target === undefined) return fail(GenericErr.INVALID_ARGUMENT);
    // "only when sharing AMS made from existing memory pages", and shared with nobody else.
    if (mode.kind === "exclusive" && (ams.kind !== "virtual" || ams.sharings.length > 0))
      return fail(E.INVALID_EXCLUSIVE_MODE);
    // Decided (docs/ipc.md): one sharing per receiver; a second SHARE_AMS to it is 0x02.
    if (ams.sharings.some((s) => s.receiver === target.pid))
      return fail(GenericErr.INVALID_ARGUMENT);
    const sharing: KSharing =
      mode.kind === "exclusive"
        ? {
            receiver: target.pid,
            exclusive: true,
            permissions: 0,
            copyOnWrite: false,
            command: a.command,
          }
        : {
            receiver: target.pid,
            exclusive: false,
            permissions: mode.permissions,
            copyOnWrite: mode.copyOnWrite,
            command: a.command,
          };
    const write = sharing.exclusive || (sharing.permissions & AmsPermission.WRITE) !== 0;
    if (ams.backing !== undefined) {
      // The receiver's mapping is filled from the backer's answers first (docs/ipc.md).
      const access = backedAccess(sharing.permissions, AmsPermission.READ, AmsPermission.WRITE);
      const filled = await fillBacked(k, ams, { from: 0, length: ams.length }, access);
      if (filled !== "ok") {
        if (filled !== "gone")
          k.refusedLine(
            caller,
            `SHARE_AMS refused: the backer did not serve every word (${filled})`,
          );
        return fail(GenericErr.INVALID_ARGUMENT);
      }
    }
    const r = await k.mapAms(target, {
      name: ams.segment.name,
      offset: 0,
      at: 0,
      length: ams.length,
      readOnly: !write,
      private: sharing.copyOnWrite || ams.backing?.copyOnWrite === true,
      source: false,
    });
    if (!r.ok) {
      if (r.refusal === "space") return fail(E.NO_SPACE_IN_RECEIVER);
      k.refusedLine(caller, `SHARE_AMS refused: ${r.error}`);
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    // The sharer ended (and the AMS went) while the receiver mapped it: undo the mapping.
    if (k.ams.named(caller.pid, a.ams) !== ams) {
      await k.unmapAms(target, r.address, "zero");
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    k.ams.addMapping(ams, target.pid, {
      address: r.address,
      length: ams.length,
      from: 0,
      auto: true,
      source: false,
    });
    if (mode.kind === "exclusive") {
      // The sharer's mappings go: the source range is given back (bit 0) or kept as a private copy.
      for (const m of ams.mappings.get(caller.pid) ?? [])
        await unmapAll(
          k,
          ams,
          caller.pid,
          m.address,
          m.source && mode.unmapOriginal ? "zero" : "keep",
        );
      ams.owner = target.pid;
      ams.exclusive = { sharing, sharer: caller.pid };
    } else ams.sharings.push(sharing);
    if (a.notificationMode === 0)
      k.signal(target, Sig.RECV_SHARED_AMS, {
        datafield: encodeDatafield(Datafield[Sig.RECV_SHARED_AMS], {
          sender: BigInt(caller.pid),
          command: a.command,
          ams: ams.id,
          mode: sharing.exclusive ? 0x01 : 0x00,
          permissions: sharing.exclusive ? EXCLUSIVE_PERMISSIONS : sharing.permissions,
        }),
      });
    return ok({});
  }),

  bindKernel(AMS_SHARING_INFO, async (k, caller, a) => {
    const ams = k.ams.named(caller.pid, a.ams);
    const found = ams === undefined ? undefined : sharingFor(ams, caller.pid);
    if (ams === undefined || found === undefined) return fail(AMS_SHARING_INFO.errors.NO_SUCH_AMS);
    const mine = ams.mappings.get(caller.pid) ?? [];
    const m = mine.find((x) => x.auto || x.source) ?? mine[0];
    return ok({
      sharer: BigInt(found.sharer),
      receiver: BigInt(found.s.receiver),
      mode: found.s.exclusive ? 0x01 : 0x00,
      buffer: { addr: BigInt(m?.address ?? 0), len: BigInt(ams.length) },
      command: found.s.command,
      permissions: found.s.permissions,
    });
  }),

  bindKernel(UNSHARE_AMS, async (k, caller, a) => {
    const E = UNSHARE_AMS.errors;
    const ams = k.ams.named(caller.pid, a.ams);
    if (ams === undefined) return fail(E.NO_SUCH_AMS);
    if (ams.exclusive !== undefined && ams.owner === caller.pid) return fail(E.EXCLUSIVE);
    const ending =
      ams.owner !== caller.pid
        ? []
        : ams.sharings.filter((s) => a.pid === 0n || BigInt(s.receiver) === a.pid);
    if (ending.length === 0) return fail(E.NOT_SHARED_WITH);
    for (const s of ending) await endSharing(k, ams, s, Unsharing.PROPER);
    return ok({});
  }),

  bindKernel(MAP_AMS, async (k, caller, a) => {
    const E = MAP_AMS.errors;
    const ams = k.ams.named(caller.pid, a.ams);
    if (ams === undefined) return fail(E.NO_SUCH_AMS);
    const { addr, len } = a.mapping;
    if (!aligned(a.from) || !aligned(addr) || !aligned(len) || len === 0n || addr === 0n)
      return fail(GenericErr.INVALID_ARGUMENT);
    if (a.from + len > BigInt(ams.length)) return fail(E.OUT_OF_AMS_RANGE);
    if (addr + len > WASM32_LIMIT) return fail(E.OUT_OF_PROCESS_RANGE);
    const access = k.ams.accessOf(ams, caller.pid);
    if (access === undefined) return fail(E.NO_SUCH_AMS);
    if (ams.backing !== undefined) {
      // Decided (docs/ipc.md): the backer serves its AMS through its handlers; it does not map it.
      if (ams.owner === caller.pid) return fail(GenericErr.INVALID_ARGUMENT);
      const how = backedAccess(access.permissions, AmsPermission.READ, AmsPermission.WRITE);
      const filled = await fillBacked(k, ams, { from: Number(a.from), length: Number(len) }, how);
      if (filled === "gone") return fail(E.NO_SUCH_AMS);
      if (filled === "out-of-range") return fail(E.OUT_OF_AMS_RANGE);
      if (filled === "fault") return fail(GenericErr.INVALID_ARGUMENT);
    }
    const r = await k.mapAms(caller, {
      name: ams.segment.name,
      offset: Number(a.from),
      at: Number(addr),
      length: Number(len),
      readOnly: access.readOnly,
      private: access.private,
      source: false,
    });
    if (!r.ok) {
      if (r.refusal === "range") return fail(E.OUT_OF_PROCESS_RANGE);
      if (r.refusal === undefined) k.refusedLine(caller, `MAP_AMS refused: ${r.error}`);
      return fail(GenericErr.INVALID_ARGUMENT);
    }
    // The AMS went (its owner ended, or unshared it) while the runner mapped it: undo the mapping.
    if (k.ams.named(caller.pid, a.ams) !== ams) {
      await k.unmapAms(caller, r.address, "keep");
      return fail(E.NO_SUCH_AMS);
    }
    k.ams.addMapping(ams, caller.pid, {
      address: r.address,
      length: Number(len),
      from: Number(a.from),
      auto: false,
      source: false,
    });
    return ok({});
  }),

  bindKernel(UNMAP_AMS, async (k, caller, a) => {
    const E = UNMAP_AMS.errors;
    const ams = k.ams.named(caller.pid, a.ams);
    if (ams === undefined) return fail(E.NO_SUCH_AMS);
    const at = a.address === 0n ? undefined : Number(a.address);
    // What the caller wrote there goes back to a backer before the mapping goes (docs/ipc.md).
    if (ams.backing !== undefined) await writeBack(k, ams, rangesOf(ams, caller.pid, at));
    const gone = await unmapAll(k, ams, caller.pid, at);
    return gone.length === 0 ? fail(E.NOT_MAPPED_HERE) : ok({});
  }),
];
