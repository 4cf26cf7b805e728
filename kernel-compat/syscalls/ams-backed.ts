// Signal-backed AMS (specs/kernel/syscalls.md 0x41 BACKED_AMS, signals.md 0x33 READ_BACKED_AMS and 0x34
// WRITE_BACKED_AMS; docs/ipc.md "Signal-backed AMS"). NCW cannot turn a single WebAssembly load into a
// signal (V8 turns a fault in wasm code into a trap that cannot resume), so the kernel asks the backer at
// synchronisation points instead: a mapping is filled word by word from READ_BACKED_AMS answers before
// the receiver gets it, and the words a receiver changed go back as WRITE_BACKED_AMS before a mapping
// goes (UNMAP_AMS, UNSHARE_AMS, the receiver's end) and before another mapping of them is filled. The
// bytes sit in the AMS' host segment, which every receiver maps as for any AMS.

import { Sig } from "../../commonassembly/abi/numbers.js";
import {
  BackedAccess,
  BackedFault,
  Datafield,
  decodeReadBackedAnswer,
  decodeWriteBackedAnswer,
  encodeDatafield,
  MemAccess,
} from "../../commonassembly/abi/signals.js";
import type { KAms, KernelApi } from "../kernel/api.js";

/** The answers' unit: "Associated data (4 bytes)" / "Data to write (4 bytes)". */
const WORD = 4;
/** The kernel keeps what the backer gave per 4 KiB page (NightOS pages, docs/ipc.md). */
const PAGE = 4096;

type Backed = Pick<KernelApi, "ams" | "processes" | "askBacker" | "signal">;

/** A byte range of the AMS (relative addresses). */
export interface AmsRange {
  from: number;
  length: number;
}

/** What a fill found: every word answered, a page fault the backer answered, or the backer is gone. */
export type FillResult = "ok" | "out-of-range" | "fault" | "gone";

/** READ_BACKED_AMS' access mode for a receiver with these AmsPermission bits: exec-only is 0x01. */
export function backedAccess(permissions: number, read: number, write: number): number {
  return permissions & (read | write) ? BackedAccess.READ : BackedAccess.EXECUTE;
}

/** The AMS still exists and its backer still names it (it did not end meanwhile). */
function alive(k: Backed, a: KAms) {
  const owner = k.processes.get(a.owner);
  return owner !== undefined && owner.state !== "exited" && k.ams.named(a.owner, a.id) === a
    ? owner
    : undefined;
}

const wordAt = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset + at, WORD).getUint32(0, true);
const setWord = (b: Uint8Array, at: number, v: number) =>
  new DataView(b.buffer, b.byteOffset + at, WORD).setUint32(0, v, true);

/** The page of `served` holding relative address `at`, made (zeros) when asked to. */
function servedPage(a: KAms, at: number, make: boolean): Uint8Array | undefined {
  const served = a.backing?.served;
  const n = Math.floor(at / PAGE);
  let p = served?.get(n);
  if (p === undefined && make && served !== undefined) {
    p = new Uint8Array(PAGE);
    served.set(n, p);
  }
  return p;
}

/**
 * Fill `r` of backed AMS `a` from its backer: first the words changed there go back (a receiver's stores
 * are not overwritten by the backer's older bytes), then one READ_BACKED_AMS per word. A word another
 * receiver stored to while the backer answered keeps that store (it goes back at the next sync).
 */
export async function fillBacked(
  k: Backed,
  a: KAms,
  r: AmsRange,
  access: number,
): Promise<FillResult> {
  await writeBack(k, a, [r]);
  const owner = alive(k, a);
  if (owner === undefined) return "gone";
  const seg = a.segment.bytes;
  const before = seg.slice(r.from, r.from + r.length);
  const addresses = Array.from({ length: r.length / WORD }, (_, i) => r.from + i * WORD);
  const answers = await k.askBacker(owner, {
    ams: a.id,
    signal: Sig.READ_BACKED_AMS,
    addresses,
    access,
  });
  if (answers === undefined || alive(k, a) === undefined) return "gone";
  let result: FillResult = "ok";
  answers.forEach((answer, i) => {
    const at = addresses[i] as number;
    // No handler ran (none registered, not READY, HANDLER_FAULT): the backer could not serve the word.
    const { data, fault } =
      answer === null ? { data: 0, fault: BackedFault.HARDWARE } : decodeReadBackedAnswer(answer);
    if (fault !== BackedFault.NONE) {
      if (result === "ok") result = fault === BackedFault.OUT_OF_RANGE ? "out-of-range" : "fault";
      return;
    }
    setWord(servedPage(a, at, true) as Uint8Array, at % PAGE, data);
    if (wordAt(seg, at) === wordAt(before, at - r.from)) setWord(seg, at, data);
  });
  return result;
}

/**
 * Send the backer every word of `ranges` that differs from what it last gave or acknowledged
 * (WRITE_BACKED_AMS, in address order). A word it refuses (a page-fault answer, or no handler) is put
 * back to its bytes, and each process mapping it shared and writable gets one MEM_FAULT (write) at its
 * first refused word: its store did not reach the backer.
 */
export async function writeBack(k: Backed, a: KAms, ranges: readonly AmsRange[]): Promise<void> {
  const owner = a.backing === undefined ? undefined : alive(k, a);
  if (owner === undefined) return;
  const seg = a.segment.bytes;
  const addresses: number[] = [];
  const seen = new Set<number>();
  for (const r of ranges)
    for (let at = r.from; at < r.from + r.length; at += WORD) {
      const page = servedPage(a, at, false);
      if (page === undefined || seen.has(at)) continue;
      seen.add(at);
      if (wordAt(seg, at) === wordAt(page, at % PAGE)) continue;
      addresses.push(at);
    }
  if (addresses.length === 0) return;
  addresses.sort((x, y) => x - y);
  const ordered = addresses.map((at) => wordAt(seg, at));
  const answers = await k.askBacker(owner, {
    ams: a.id,
    signal: Sig.WRITE_BACKED_AMS,
    addresses,
    data: ordered,
  });
  if (answers === undefined || alive(k, a) === undefined) return;
  const refused: number[] = [];
  answers.forEach((answer, i) => {
    const at = addresses[i] as number;
    const sent = ordered[i] as number;
    const page = servedPage(a, at, true) as Uint8Array;
    const fault = answer === null ? BackedFault.HARDWARE : decodeWriteBackedAnswer(answer).fault;
    if (fault === BackedFault.NONE) setWord(page, at % PAGE, sent);
    else {
      if (wordAt(seg, at) === sent) setWord(seg, at, wordAt(page, at % PAGE));
      refused.push(at);
    }
  });
  if (refused.length > 0) faultWriters(k, a, refused);
}

/** MEM_FAULT (write) to each process whose shared, writable mapping holds a refused word: its first. */
function faultWriters(k: Backed, a: KAms, refused: readonly number[]): void {
  for (const [pid, mappings] of a.mappings) {
    const access = k.ams.accessOf(a, pid);
    const p = k.processes.get(pid);
    if (access === undefined || access.readOnly || access.private || p === undefined) continue;
    if (p.state === "exited") continue;
    let address: number | undefined;
    for (const at of refused) {
      const m = mappings.find((x) => at >= x.from && at < x.from + x.length);
      if (m !== undefined) {
        address = m.address + (at - m.from);
        break;
      }
    }
    if (address === undefined) continue;
    k.signal(p, Sig.MEM_FAULT, {
      datafield: encodeDatafield(Datafield[Sig.MEM_FAULT], {
        address: BigInt(address),
        access: MemAccess.WRITE,
      }),
    });
  }
}
