// What sys::fs needs of a filesystem layer beyond FsLayer: reads and writes at an offset, an item's
// FEID and the item a FEID names. On the Btrfs image these work on the inode (no whole-file copy);
// on other layers (memory, host directory) they are made of FsLayer's whole-file calls, which is
// what unit tests need and no more.

// Type only: the Btrfs code is loaded only for homes that use it (open.ts).
import type { BtrfsLayer } from "../btrfs/layer.js";
import { type FsLayer, type NodeStat, splitPath } from "../layer.js";
import { MountView } from "../mount-view.js";

export interface ItemStore {
  readonly layer: FsLayer;
  /** `length` bytes at `offset` of the file at `path` (clipped to its size). */
  read(path: string, offset: bigint, length: number): Promise<Uint8Array>;
  /** Writes `data` at `offset` (the file grows as needed); with `truncate`, ends the file after it. */
  write(path: string, offset: bigint, data: Uint8Array, truncate: boolean): Promise<void>;
  /** The path of the item with this FEID, or null. */
  pathOfFeid(feid: bigint): Promise<string | null>;
}

/** The FEID of an item: the backend's (Btrfs: subvolume and inode), else derived from its path. */
export function feidOf(stat: NodeStat, path: string): bigint {
  if (stat.feid !== undefined) return stat.feid;
  // filesystem.md "Element unique identifier": without one, derived from the split path (FNV-1a).
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(path)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
  }
  // The top bit marks temporary FEIDs (temporary.ts): a derived FEID keeps the low 63 bits.
  return h & 0x7fff_ffff_ffff_ffffn;
}

export function storeOf(layer: FsLayer): ItemStore {
  if (layer instanceof MountView) return new MountStore(layer);
  return layer.backend === "btrfs" ? new BtrfsStore(layer as BtrfsLayer) : new GenericStore(layer);
}

/**
 * The home's tree and its host mounts (docs/sysfs.md "Host mounts"): an item of a mount is read by
 * range and written at its offset in the host file, any other through the tree's store.
 * FEIDs are the tree's (a mount's: MountView.pathOfFeidIn, with the mount's FSID).
 */
class MountStore implements ItemStore {
  private readonly home: ItemStore;
  private readonly mounted: GenericStore;

  constructor(readonly layer: MountView) {
    this.home = storeOf(layer.base);
    this.mounted = new GenericStore(layer);
  }

  private of(path: string): ItemStore {
    return this.layer.mountOf(splitPath(path)) === undefined ? this.home : this.mounted;
  }
  read(path: string, offset: bigint, length: number): Promise<Uint8Array> {
    return this.of(path).read(path, offset, length);
  }
  write(path: string, offset: bigint, data: Uint8Array, truncate: boolean): Promise<void> {
    if (this.layer.mountOf(splitPath(path)) === undefined)
      return this.home.write(path, offset, data, truncate);
    return this.layer.writeRange(path, Number(offset), data, truncate);
  }
  pathOfFeid(feid: bigint): Promise<string | null> {
    return this.home.pathOfFeid(feid);
  }
}

class BtrfsStore implements ItemStore {
  constructor(readonly layer: BtrfsLayer) {}

  private async inode(path: string) {
    const id = await this.layer.inodeAt(path);
    if (id === undefined) throw new Error(`sys::fs: ${path} vanished`);
    return id;
  }

  async read(path: string, offset: bigint, length: number): Promise<Uint8Array> {
    const id = await this.inode(path);
    // A file's bytes: no folder changes, so the layer keeps the folders it resolved.
    return this.layer.exclusive((fs) => fs.reader().read(id, offset, length), true);
  }

  async write(path: string, offset: bigint, data: Uint8Array, truncate: boolean): Promise<void> {
    const id = await this.inode(path);
    await this.layer.exclusive(async (fs) => {
      if (data.length > 0) await fs.write(id, offset, data);
      const end = offset + BigInt(data.length);
      if (truncate && (fs.inode(id)?.size ?? end) !== end) await fs.truncate(id, end);
    }, true);
  }

  pathOfFeid(feid: bigint): Promise<string | null> {
    return this.layer.pathOfFeid(feid);
  }
}

class GenericStore implements ItemStore {
  constructor(readonly layer: FsLayer) {}

  read(path: string, offset: bigint, length: number): Promise<Uint8Array> {
    return this.layer.readRange(path, Number(offset), length);
  }

  async write(path: string, offset: bigint, data: Uint8Array, truncate: boolean): Promise<void> {
    const old = await this.layer.readFile(path);
    const from = Number(offset);
    const end = from + data.length;
    const out = new Uint8Array(truncate ? end : Math.max(old.length, end));
    out.set(old.subarray(0, Math.min(old.length, out.length)));
    out.set(data, from);
    await this.layer.writeFile(path, out);
  }

  /** A walk of the whole tree: these layers have no index from FEIDs. */
  async pathOfFeid(feid: bigint): Promise<string | null> {
    const queue = ["/"];
    while (queue.length > 0) {
      const dir = queue.shift()!;
      const st = await this.layer.stat(dir);
      if (st && feidOf(st, dir) === feid) return dir;
      for (const e of await this.layer.readdir(dir)) {
        const p = dir === "/" ? `/${e.name}` : `${dir}/${e.name}`;
        if (e.kind === "dir") queue.push(p);
        else {
          const s = await this.layer.stat(p);
          if (s && feidOf(s, p) === feid) return p;
        }
      }
    }
    return null;
  }
}

/** The FSID of a tree without a filesystem UUID (memory, host directory): "NCWTREE\0" read as u64. */
export const FIXED_FSID = 0x0045_4552_5457_434en;

/**
 * The FSID of the home's tree (docs/sysfs.md "Identifiers"): the first 8 bytes, little-endian, of the
 * Btrfs image's filesystem UUID (random per home: stable across restarts, different between
 * computers); FIXED_FSID for other layers.
 */
export function fsidOfTree(layer: FsLayer): bigint {
  if (layer.backend !== "btrfs") return FIXED_FSID;
  // The engine (BtrfsEngine) carries the UUID its tree blocks are stamped with.
  const uuid = ((layer as BtrfsLayer).fs.engine as { fsid?: Uint8Array }).fsid;
  if (uuid === undefined || uuid.length < 8) return FIXED_FSID;
  return new DataView(uuid.buffer, uuid.byteOffset, 8).getBigUint64(0, true);
}
