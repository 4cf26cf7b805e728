// sys::fs's open files (OPEN_FILE … CLOSE_FILE) with the locking rules of fs.md OPEN_FILE: an item
// open for reading cannot be written or removed, one open for writing cannot be read, written or
// removed, by any other opening (docs/sysfs.md "Open files").

/** An opened file: whose it is, where it is (kept up to date on renames) and how it was opened. */
export interface OpenFile {
  readonly id: bigint;
  readonly client: number;
  path: string;
  /** The item's filesystem (the tree's or a host mount's) and its FEID there. */
  readonly fsid: bigint;
  readonly feid: bigint;
  readonly read: boolean;
  readonly write: boolean;
}

export class OpenFiles {
  private readonly byId = new Map<bigint, OpenFile>();
  /** Opened file IDs are service-wide, from 1, never reused; each one answers only its client. */
  private nextId = 1n;

  /** Whether another opening of item `feid` of filesystem `fsid` forbids opening it with this access. */
  conflicts(fsid: bigint, feid: bigint, write: boolean): boolean {
    for (const f of this.byId.values())
      if (f.fsid === fsid && f.feid === feid && (f.write || write)) return true;
    return false;
  }

  open(
    client: number,
    path: string,
    item: { fsid: bigint; feid: bigint },
    read: boolean,
    write: boolean,
  ): OpenFile {
    const f: OpenFile = { id: this.nextId++, client, path, ...item, read, write };
    this.byId.set(f.id, f);
    return f;
  }

  /** The client's opened file with this ID (another client's is not found). */
  get(client: number, id: bigint): OpenFile | undefined {
    const f = this.byId.get(id);
    return f?.client === client ? f : undefined;
  }

  close(f: OpenFile): void {
    this.byId.delete(f.id);
  }

  /** Close every file of a client that went away; returns them (for the unlock notifications). */
  closeAll(client: number): OpenFile[] {
    const gone = [...this.byId.values()].filter((f) => f.client === client);
    for (const f of gone) this.byId.delete(f.id);
    return gone;
  }

  /** Close every file at or under `path` (a host mount that went); returns them. */
  closeUnder(path: string): OpenFile[] {
    const gone = [...this.byId.values()].filter(
      (f) => f.path === path || f.path.startsWith(`${path}/`),
    );
    for (const f of gone) this.byId.delete(f.id);
    return gone;
  }

  /** Whether an open file is `path` or inside it (removal is refused then). */
  openAtOrUnder(path: string): boolean {
    for (const f of this.byId.values())
      if (f.path === path || f.path.startsWith(path === "/" ? "/" : `${path}/`)) return true;
    return false;
  }

  /** `from` was moved to `to`: open files at or under it follow. */
  moved(from: string, to: string): void {
    for (const f of this.byId.values()) {
      if (f.path === from) f.path = to;
      else if (f.path.startsWith(`${from}/`)) f.path = to + f.path.slice(from.length);
    }
  }
}
