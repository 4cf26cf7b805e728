// sys::crashsave (PID 16; specs/services/system/crashsave.md, specs/crash-saves.md, features/
// crash-saves.md; table: commonassembly/abi/services/crashsave.ts): collects crash saves from the
// running instances of the apps whose manifest declares support, keeps the awake indicators, and
// offers the last crash save to the next instance after a crash. Decisions: docs/crash-saves.md.

import { SystemPid } from "../../commonassembly/abi/numbers.js";
import {
  CollectStatus,
  CRASHSAVE_STRUCTURES,
  GET_LAST_CRASH_SAVE,
  REMOVE_CRASH_SAVE,
  RemoveStatus,
  RestoreStatus,
  SYS_CRASHSAVE,
} from "../../commonassembly/abi/services/crashsave.js";
import type { Fields } from "../../commonassembly/abi/services/fields.js";
import type { MethodDef } from "../../commonassembly/abi/services/method.js";
import type { FsLayer } from "../fs/layer.js";
import type { TemporaryRights } from "../fs/service/temporary.js";
import type { Answer, Caller, NativeService, ServiceContext } from "../host/service.js";
import {
  awakePath,
  type CrashSave,
  crashDir,
  csfName,
  listCrashSaves,
  markerName,
  pendingName,
  removeCrashSave,
} from "./store.js";

/**
 * Temporary FEIDs: sys::fs's (services/fs/service/sysfs.ts, temporary.ts; docs/sysfs.md "Temporary
 * FEIDs"): one holder, the rights given, dead with its item, its holder, or when revoked.
 */
export interface TemporaryFeids {
  createTemporaryFeid(path: string, holder: number, rights: TemporaryRights): Promise<bigint>;
  revokeTemporaryFeid(id: bigint): boolean;
}

export interface SysCrashSaveOptions {
  layer: () => Promise<FsLayer>;
  /** Runs `fn` as one step of the tree's queue (the kernel's TreeOwner), as sys::fs's calls. */
  serialize: <R>(fn: () => Promise<R>) => Promise<R>;
  /** Who process `pid` is: its user and app folder (undefined: not a live process). */
  identity: (pid: number) => Promise<{ user: string; app?: string } | undefined> | undefined;
  feids: TemporaryFeids;
  /** Whether `pid`'s connection to this service is open (its notifications can be delivered). */
  connected: (pid: number) => boolean;
  /**
   * system.crash_saves.collect_every in ms (Registry.getMs): read at each instance's connection, and
   * again for every running instance on `settingsChanged`.
   */
  collectEveryMs: () => Promise<number>;
  /**
   * system.crash_saves.collect_if_previous_unanswered (Registry), read at each collection that finds
   * the previous one unanswered; false (the spec's default) when not given or unreadable.
   */
  collectIfUnanswered?: () => Promise<boolean>;
  now?: () => number;
}

/** A collection sent and not answered yet. */
interface Pending {
  sentAt: number;
  feid: bigint;
  path: string;
}

/** A running instance of an app that supports crash saves. */
interface Instance {
  pid: number;
  user: string;
  app: string;
  dir: string;
  afterCrash: boolean;
  timer: NodeJS.Timeout | undefined;
  pending: Pending | undefined;
  unansweredLast: boolean;
  /** Seconds to answer: the period (until the next collection), at most 255 (the byte). */
  answerWithin: number;
  /** It answered 0x03: no crash save for this instance any more. */
  never: boolean;
  /** The crash save being restored, waiting for RESTORE_CRASH_SAVE's answer. */
  restoring: { save: CrashSave; feid: bigint } | undefined;
}

/** How long a connection is waited for before its first notification (it opens after onConnect). */
const CONNECTED_WAIT_MS = 5000;

export class SysCrashSave implements NativeService {
  readonly name = "sys::crashsave";
  readonly pid = SystemPid["sys::crashsave"];
  readonly def = SYS_CRASHSAVE;
  readonly structures = CRASHSAVE_STRUCTURES;

  private ctx: ServiceContext | undefined;
  private readonly instances = new Map<number, Instance>();
  /** The temporary FEIDs GET_LAST_CRASH_SAVE gave each client, dropped when it goes away. */
  private readonly given = new Map<number, bigint[]>();
  private readonly now: () => number;

  constructor(private readonly opts: SysCrashSaveOptions) {
    this.now = opts.now ?? Date.now;
  }

  attach(ctx: ServiceContext): void {
    this.ctx = ctx;
  }

  private log(line: string): void {
    this.ctx?.log(line);
  }

  /** Run `fn` on the tree in its queue, then commit (an answered change survives a kill). */
  private tree<R>(fn: (l: FsLayer) => Promise<R>): Promise<R> {
    return this.opts.serialize(async () => {
      const l = await this.opts.layer();
      const r = await fn(l);
      await l.sync();
      return r;
    });
  }

  // ------------------------------------------------------------ the kernel's side: starts and ends

  /**
   * An instance of `app` (which supports crash saves) is about to start for `user`: whether it starts
   * after a crash (its awake indicator was left and no instance of it runs), so its startup reason gets
   * bit 4. Nothing is written: a start that does not happen leaves no trace. (The system's own awake
   * indicator, /etc/sys/awake, is the tree owner's: services/fs/structure.ts; docs/crash-saves.md.)
   */
  async starting(user: string, app: string): Promise<boolean> {
    const dir = crashDir(user, app);
    const running = [...this.instances.values()].some((i) => i.user === user && i.app === app);
    const crashed = !running && (await this.tree(async (l) => l.stat(awakePath(dir)))) !== null;
    if (crashed) this.log(`${app} (user ${user}) crashed last time: it starts after a crash`);
    return crashed;
  }

  /**
   * The instance started as process `pid` (after `starting`): its app's awake indicator is created (in
   * the tree's queue, so before anything its end does).
   */
  started(pid: number, user: string, app: string, afterCrash: boolean): void {
    const dir = crashDir(user, app);
    void this.tree(async (l) => {
      await l.mkdir(dir, { recursive: true });
      await l.writeFile(awakePath(dir), new Uint8Array(0));
    }).catch((e) => this.log(`PID ${pid}: no awake indicator: ${(e as Error).message}`));
    this.instances.set(pid, {
      pid,
      user,
      app,
      dir,
      afterCrash,
      answerWithin: 60,
      timer: undefined,
      pending: undefined,
      unansweredLast: false,
      never: false,
      restoring: undefined,
    });
  }

  /**
   * Process `pid` ended; `graceful`: by itself (its program ended or called EXIT), not killed or
   * trapped. A graceful end of an app's last instance removes its awake indicator; a crash leaves it,
   * and marks the restoration it had not answered as crashed.
   */
  async ended(pid: number, graceful: boolean): Promise<void> {
    const i = this.instances.get(pid);
    if (i === undefined) return;
    this.instances.delete(pid);
    if (i.timer !== undefined) clearInterval(i.timer);
    const pending = i.pending;
    i.pending = undefined;
    // sys::fs ends the holder's temporary FEIDs itself too (onProcessExit); this also covers a
    // process whose end reaches this service first.
    if (pending !== undefined) this.opts.feids.revokeTemporaryFeid(pending.feid);
    if (i.restoring !== undefined) this.opts.feids.revokeTemporaryFeid(i.restoring.feid);
    const last = ![...this.instances.values()].some((o) => o.user === i.user && o.app === i.app);
    await this.tree(async (l) => {
      if (pending !== undefined) await l.rm(pending.path, { force: true });
      if (i.restoring !== undefined && !graceful) {
        const s = i.restoring.save;
        await l.writeFile(
          `${i.dir}/${markerName(s.collectedAt, s.pid)}`,
          new TextEncoder().encode("crashed"),
        );
      }
      // Decided (docs/crash-saves.md): a graceful end needs no restoration: its crash saves go.
      if (graceful)
        for (const s of await listCrashSaves(l, i.dir))
          if (s.pid === pid) await removeCrashSave(l, i.dir, s);
      if (graceful && last) await l.rm(awakePath(i.dir), { force: true });
    }).catch((e) => this.log(`PID ${pid}'s end: ${(e as Error).message}`));
  }

  // ------------------------------------------------------------ connections: collection and restoration

  async onConnect(client: Caller): Promise<boolean> {
    const i = this.instances.get(client.pid);
    if (i !== undefined && i.timer === undefined) void this.begin(i);
    return true;
  }

  onDisconnect(clientPid: number): void {
    for (const f of this.given.get(clientPid) ?? []) this.opts.feids.revokeTemporaryFeid(f);
    this.given.delete(clientPid);
  }

  /** Once its connection is open: the restoration (after a crash), then a collection every period. */
  private async begin(i: Instance): Promise<void> {
    const until = this.now() + CONNECTED_WAIT_MS;
    while (!this.opts.connected(i.pid)) {
      if (this.now() > until || !this.instances.has(i.pid)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    const every = await this.collectEveryMs();
    if (!this.instances.has(i.pid) || i.timer !== undefined) return;
    this.schedule(i, every);
    this.log(`PID ${i.pid} (${i.app}): a collection every ${every / 1000} s`);
    if (i.afterCrash) await this.restore(i);
  }

  /** system.crash_saves.collect_every in ms, at least the spec's 1 s; 60 s when unreadable. */
  private async collectEveryMs(): Promise<number> {
    try {
      return Math.max(1000, await this.opts.collectEveryMs());
    } catch (e) {
      this.log(`system.crash_saves.collect_every unreadable, 60 s: ${(e as Error).message}`);
      return 60_000;
    }
  }

  /** system.crash_saves.collect_if_previous_unanswered; false when not given or unreadable. */
  private async collectIfUnanswered(): Promise<boolean> {
    try {
      return (await this.opts.collectIfUnanswered?.()) === true;
    } catch (e) {
      this.log(
        `system.crash_saves.collect_if_previous_unanswered unreadable, false: ${(e as Error).message}`,
      );
      return false;
    }
  }

  /** A collection every `everyMs`; the answer is due before the next one (at most 255 s, the byte). */
  private schedule(i: Instance, everyMs: number): void {
    if (i.timer !== undefined) clearInterval(i.timer);
    i.answerWithin = Math.min(255, Math.floor(everyMs / 1000));
    i.timer = setInterval(() => void this.collect(i), everyMs);
    i.timer.unref?.();
  }

  /**
   * The registry changed (the kernel's one listener, server/main.ts): a new collect_every applies to
   * the running instances at once, their next collection one new period from now.
   */
  async settingsChanged(): Promise<void> {
    const every = await this.collectEveryMs();
    let n = 0;
    for (const i of this.instances.values())
      if (i.timer !== undefined && !i.never) {
        this.schedule(i, every);
        n++;
      }
    if (n > 0)
      this.log(`collect_every changed: a collection every ${every / 1000} s for ${n} running`);
  }

  /** The crash save a new instance restores: the last one no other running instance holds. */
  private async toRestore(l: FsLayer, i: Instance): Promise<CrashSave | undefined> {
    const saves = await listCrashSaves(l, i.dir);
    const held = (s: CrashSave) => s.pid !== i.pid && this.instances.has(s.pid);
    return saves.filter((s) => !held(s)).at(-1);
  }

  private async restore(i: Instance): Promise<void> {
    const found = await this.tree(async (l) => {
      const s = await this.toRestore(l, i);
      if (s === undefined) return undefined;
      // "It is renamed using the new instance's PID and kept until the next collect".
      const renamed: CrashSave = {
        ...s,
        name: csfName(s.collectedAt, i.pid),
        path: `${i.dir}/${csfName(s.collectedAt, i.pid)}`,
        pid: i.pid,
      };
      if (renamed.path !== s.path) await l.rename(s.path, renamed.path, { replace: true });
      await l.rm(`${i.dir}/${markerName(s.collectedAt, s.pid)}`, { force: true });
      await l.writeFile(`${i.dir}/${markerName(s.collectedAt, i.pid)}`, new Uint8Array(0));
      return { before: s.restoring, save: renamed };
    });
    if (found === undefined) {
      this.log(
        `PID ${i.pid} (${i.app}) starts after a crash, but there is no crash save to restore`,
      );
      return;
    }
    const { before, save } = found;
    let feid: bigint;
    try {
      feid = await this.opts.feids.createTemporaryFeid(save.path, i.pid, { read: true });
    } catch (e) {
      this.log(`PID ${i.pid}: no temporary FEID for ${save.name}: ${(e as Error).message}`);
      return;
    }
    if (!this.instances.has(i.pid)) {
      this.opts.feids.revokeTemporaryFeid(feid);
      return;
    }
    i.restoring = { save, feid };
    const sent = this.ctx?.ask?.(
      i.pid,
      "RESTORE_CRASH_SAVE",
      {
        feid,
        collectedAt: BigInt(save.collectedAt),
        writtenAt: BigInt(Math.trunc(save.writtenAt)),
        interrupted: before === null ? 0 : 1,
        crashedRestoring: before === "crashed" ? 1 : 0,
      },
      (a) => void this.restored(i, save, feid, a),
    );
    if (sent !== true) this.log(`PID ${i.pid}: RESTORE_CRASH_SAVE not delivered`);
  }

  private async restored(
    i: Instance,
    save: CrashSave,
    feid: bigint,
    a: Fields | undefined,
  ): Promise<void> {
    if (i.restoring?.save.path !== save.path) return;
    i.restoring = undefined;
    this.opts.feids.revokeTemporaryFeid(feid);
    if (a?.status === RestoreStatus.CORRUPTED)
      this.log(`PID ${i.pid} (${i.app}): crash save ${save.name} is corrupted or invalid`);
    else if (a?.status !== RestoreStatus.RESTORED)
      this.log(`PID ${i.pid} (${i.app}): RESTORE_CRASH_SAVE answered an unknown status`);
    // An answer that does not decode keeps the crash save (nothing is lost on bad input).
    const keep = a === undefined || a.keep !== 0x00;
    await this.tree(async (l) => {
      if (keep) await l.rm(`${i.dir}/${markerName(save.collectedAt, save.pid)}`, { force: true });
      else await removeCrashSave(l, i.dir, save);
    });
  }

  /** One collection for instance `i` (every collect_every). */
  private async collect(i: Instance): Promise<void> {
    if (i.never || !this.instances.has(i.pid)) return;
    if (i.pending !== undefined) {
      // "If the application didn't answer when the next collect occurs, the signal is aborted, but
      // the next one will be sent" (collect_if_previous_unanswered: false, the default). With the
      // setting true ("ask an application to create a new crash save even if the previous one has
      // not been completed yet"), the aborted one is followed at once by a new one, which says so.
      const p = i.pending;
      i.pending = undefined;
      i.unansweredLast = true;
      this.opts.feids.revokeTemporaryFeid(p.feid);
      await this.tree((l) => l.rm(p.path, { force: true })).catch(() => {});
      this.log(`PID ${i.pid} (${i.app}) did not answer CRASH_SAVE_COLLECTION in time`);
      if (!(await this.collectIfUnanswered())) return;
      if (i.never || !this.instances.has(i.pid) || i.pending !== undefined) return;
    }
    const sentAt = this.now();
    const path = `${i.dir}/${pendingName(i.pid)}`;
    let last: number;
    try {
      last = await this.tree(async (l) => {
        await l.mkdir(i.dir, { recursive: true });
        await l.writeFile(path, new Uint8Array(0));
        return (await listCrashSaves(l, i.dir)).at(-1)?.collectedAt ?? 0;
      });
    } catch (e) {
      this.log(`PID ${i.pid}: no collection file: ${(e as Error).message}`);
      return;
    }
    let feid: bigint;
    try {
      // The app writes its state in it: write rights only (docs/crash-saves.md).
      feid = await this.opts.feids.createTemporaryFeid(path, i.pid, { write: true });
    } catch (e) {
      this.log(`PID ${i.pid}: no temporary FEID for the collection: ${(e as Error).message}`);
      await this.tree((l) => l.rm(path, { force: true })).catch(() => {});
      return;
    }
    if (!this.instances.has(i.pid) || i.pending !== undefined) {
      this.opts.feids.revokeTemporaryFeid(feid);
      return;
    }
    const pending: Pending = { sentAt, feid, path };
    i.pending = pending;
    const sent = this.ctx?.ask?.(
      i.pid,
      "CRASH_SAVE_COLLECTION",
      {
        answerWithin: i.answerWithin,
        lastCrashSave: BigInt(last),
        unansweredLast: i.unansweredLast ? 1 : 0,
        feid,
      },
      (a) => void this.collected(i, pending, a),
    );
    if (sent !== true) {
      i.pending = undefined;
      this.opts.feids.revokeTemporaryFeid(feid);
    }
  }

  private async collected(i: Instance, p: Pending, a: Fields | undefined): Promise<void> {
    if (i.pending !== p) {
      this.log(`PID ${i.pid} (${i.app}) answered an aborted CRASH_SAVE_COLLECTION: ignored`);
      return;
    }
    i.pending = undefined;
    i.unansweredLast = false;
    this.opts.feids.revokeTemporaryFeid(p.feid);
    if (typeof a?.log === "string") this.log(`PID ${i.pid} (${i.app}): ${a.log}`);
    const status = a?.status;
    await this.tree(async (l) => {
      if (status !== CollectStatus.WRITTEN) {
        await l.rm(p.path, { force: true });
        return;
      }
      // The new crash save replaces this instance's previous one (a restored one too).
      for (const s of await listCrashSaves(l, i.dir))
        if (s.pid === i.pid) await removeCrashSave(l, i.dir, s);
      await l.rename(p.path, `${i.dir}/${csfName(p.sentAt, i.pid)}`, { replace: true });
    }).catch((e) => this.log(`PID ${i.pid}: crash save not stored: ${(e as Error).message}`));
    if (status === CollectStatus.WRITTEN && i.restoring !== undefined) {
      // A new crash save ends the restoration's watch: the old one is gone.
      this.opts.feids.revokeTemporaryFeid(i.restoring.feid);
      i.restoring = undefined;
    }
    if (status === CollectStatus.NEVER) {
      i.never = true;
      if (i.timer !== undefined) clearInterval(i.timer);
    } else if (status === undefined)
      this.log(`PID ${i.pid} (${i.app}): an answer that does not decode`);
    else if (status !== CollectStatus.WRITTEN)
      this.log(`PID ${i.pid} (${i.app}): no crash save this time (status 0x0${status})`);
  }

  // ------------------------------------------------------------ methods

  async handle(method: MethodDef, _args: Fields, caller: Caller): Promise<Answer> {
    const who = await this.opts.identity(caller.pid);
    const dir = who?.app === undefined ? undefined : crashDir(who.user, who.app);
    switch (method.code) {
      case GET_LAST_CRASH_SAVE.code: {
        if (dir === undefined) return { ok: true, value: { crashSave: undefined } };
        const s = await this.tree(async (l) => (await listCrashSaves(l, dir)).at(-1));
        if (s === undefined) return { ok: true, value: { crashSave: undefined } };
        let feid: bigint;
        try {
          feid = await this.opts.feids.createTemporaryFeid(s.path, caller.pid, { read: true });
        } catch {
          // Removed since it was listed: there is none now.
          return { ok: true, value: { crashSave: undefined } };
        }
        this.given.set(caller.pid, [...(this.given.get(caller.pid) ?? []), feid]);
        return {
          ok: true,
          value: {
            crashSave: {
              feid,
              collectedAt: BigInt(s.collectedAt),
              writtenAt: BigInt(Math.trunc(s.writtenAt)),
              interrupted: s.restoring === null ? 0 : 1,
              crashedRestoring: s.restoring === "crashed" ? 1 : 0,
            },
          },
        };
      }
      case REMOVE_CRASH_SAVE.code: {
        if (dir === undefined) return { ok: true, value: { status: RemoveStatus.NONE } };
        const status = await this.tree(async (l) => {
          const s = (await listCrashSaves(l, dir)).at(-1);
          if (s === undefined) return RemoveStatus.NONE;
          const other = this.instances.get(s.pid);
          if (
            other !== undefined &&
            other.pid !== caller.pid &&
            other.restoring?.save.path === s.path
          )
            return RemoveStatus.IN_USE;
          await removeCrashSave(l, dir, s);
          return RemoveStatus.REMOVED;
        });
        return { ok: true, value: { status } };
      }
      default:
        throw new Error(`sys::crashsave has no handler for ${method.name}`);
    }
  }
}
