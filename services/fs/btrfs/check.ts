// `ncw fs check`: NCW's own consistency walk of a Btrfs image (read-only). It verifies every tree
// block (checksum, position, level, generation, key order), extent back-references against what
// the trees reference, block group and superblock accounting, the free space tree, directory
// entries against inode back-references, link counts, directory sizes, inode byte counts, and
// every data checksum. A subset of `btrfs check`, written from the on-disk rules.

import { isNcwError, NcwError } from "../../../ncw/errors.js";
import type { BlockDevice } from "./device.js";
import {
  decodeBlockGroupItem,
  decodeDirItems,
  decodeExtentItem,
  decodeFileExtentItem,
  decodeFreeSpaceInfo,
  decodeInodeExtrefs,
  decodeInodeItem,
  decodeInodeRefs,
  EXTENT_FLAG_DATA,
  FILE_EXTENT_INLINE,
  FREE_SPACE_USING_BITMAPS,
  INODE_NODATASUM,
  S_IFDIR,
  S_IFMT,
} from "./format/items.js";
import {
  BLOCK_GROUP_ITEM_KEY,
  CHUNK_TREE_OBJECTID,
  DATA_RELOC_TREE_OBJECTID,
  DIR_INDEX_KEY,
  DIR_ITEM_KEY,
  EXTENT_DATA_KEY,
  EXTENT_DATA_REF_KEY,
  EXTENT_ITEM_KEY,
  EXTENT_TREE_OBJECTID,
  FIRST_FREE_OBJECTID,
  FREE_SPACE_BITMAP_KEY,
  FREE_SPACE_EXTENT_KEY,
  FREE_SPACE_INFO_KEY,
  FREE_SPACE_TREE_OBJECTID,
  FS_TREE_OBJECTID,
  formatKey,
  INODE_EXTREF_KEY,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  LAST_FREE_OBJECTID,
  METADATA_ITEM_KEY,
  ORPHAN_ITEM_KEY,
  ORPHAN_OBJECTID,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  SHARED_DATA_REF_KEY,
} from "./format/key.js";
import { checkFileExtent, FsReader } from "./fsread.js";
import { MAX_KEY, MIN_KEY, Volume } from "./volume.js";

export interface CheckReport {
  ok: boolean;
  errors: string[];
  stats: {
    trees: number;
    treeBlocks: number;
    items: number;
    inodes: number;
    dataExtents: number;
    dataBytesChecked: number;
    generation: bigint;
  };
}

const MAX_ERRORS = 200;

/** Runs every check; never throws for damage it finds (it is reported), only for unreadable superblocks. */
export function checkImage(dev: BlockDevice, opts: { dataCsums?: boolean } = {}): CheckReport {
  const errors: string[] = [];
  const err = (m: string) => {
    if (errors.length < MAX_ERRORS) errors.push(m);
  };
  const vol = new Volume(dev);
  const ns = BigInt(vol.nodesize);
  const stats = {
    trees: 0,
    treeBlocks: 0,
    items: 0,
    inodes: 0,
    dataExtents: 0,
    dataBytesChecked: 0,
    generation: vol.sb.generation,
  };

  // 1. Every tree: blocks readable and well-formed (Volume.readNode verifies), references counted.
  const trees: bigint[] = [ROOT_TREE_OBJECTID, CHUNK_TREE_OBJECTID];
  for (const it of vol.items(ROOT_TREE_OBJECTID, MIN_KEY, MAX_KEY)) {
    if (it.key.type === ROOT_ITEM_KEY && !trees.includes(it.key.objectid))
      trees.push(it.key.objectid);
  }
  /** Tree blocks reachable, each counted once even when shared by snapshots. */
  const blocks = new Map<bigint, { owners: Set<bigint>; level: number }>();
  /** EXTENT_DATA references per data extent, counted once per distinct leaf (as btrfs counts them). */
  const dataRefs = new Map<bigint, { count: number; len: bigint }>();
  const fsTrees: bigint[] = [];
  const seenLeaf = new Set<bigint>();
  for (const id of trees) {
    stats.trees++;
    const subvol =
      id === FS_TREE_OBJECTID ||
      id === DATA_RELOC_TREE_OBJECTID ||
      (id >= FIRST_FREE_OBJECTID && id <= LAST_FREE_OBJECTID);
    if (subvol) fsTrees.push(id);
    try {
      for (const node of vol.blocks(id)) {
        const b = blocks.get(node.header.bytenr);
        if (b) {
          b.owners.add(id);
          continue; // shared: its subtree was walked already via vol.blocks? (re-walk is harmless)
        }
        blocks.set(node.header.bytenr, { owners: new Set([id]), level: node.header.level });
        stats.treeBlocks++;
        if (node.items) {
          stats.items += node.items.length;
          if (subvol && !seenLeaf.has(node.header.bytenr)) {
            seenLeaf.add(node.header.bytenr);
            for (const it of node.items) {
              if (it.key.type !== EXTENT_DATA_KEY) continue;
              const fe = decodeFileExtentItem(it.data);
              if (fe.type === FILE_EXTENT_INLINE || fe.diskBytenr === 0n) continue;
              const r = dataRefs.get(fe.diskBytenr) ?? { count: 0, len: fe.diskNumBytes };
              r.count++;
              if (r.len !== fe.diskNumBytes)
                err(`data extent ${fe.diskBytenr} referenced with two lengths`);
              dataRefs.set(fe.diskBytenr, r);
            }
          }
        }
      }
    } catch (e) {
      if (!isNcwError(e)) throw e;
      err(`tree ${id}: ${(e as Error).message}`);
    }
  }

  // 2. Extent tree against what is reachable; block group usage; superblock bytes_used.
  const metaItems = new Map<bigint, bigint>();
  const dataItems = new Map<bigint, { len: bigint; refs: bigint; counted: number }>();
  const groups: { start: bigint; len: bigint; used: bigint; flags: bigint }[] = [];
  for (const it of vol.items(EXTENT_TREE_OBJECTID, MIN_KEY, MAX_KEY)) {
    const k = it.key;
    try {
      if (k.type === BLOCK_GROUP_ITEM_KEY) {
        const bg = decodeBlockGroupItem(it.data);
        groups.push({ start: k.objectid, len: k.offset, used: bg.used, flags: bg.flags });
      } else if (k.type === METADATA_ITEM_KEY || k.type === EXTENT_ITEM_KEY) {
        const ei = decodeExtentItem(it.data, k.type === METADATA_ITEM_KEY);
        if ((ei.flags & EXTENT_FLAG_DATA) !== 0n) {
          let counted = 0;
          for (const r of ei.inline)
            if (r.type === EXTENT_DATA_REF_KEY || r.type === SHARED_DATA_REF_KEY)
              counted += r.count;
          dataItems.set(k.objectid, { len: k.offset, refs: ei.refs, counted });
        } else {
          metaItems.set(k.objectid, ei.refs);
        }
      } else if (k.type === EXTENT_DATA_REF_KEY) {
        const d = dataItems.get(k.objectid);
        if (d) d.counted += new DataView(it.data.buffer, it.data.byteOffset).getUint32(24, true);
      } else if (k.type === SHARED_DATA_REF_KEY) {
        const d = dataItems.get(k.objectid);
        if (d) d.counted += new DataView(it.data.buffer, it.data.byteOffset).getUint32(0, true);
      }
    } catch (e) {
      if (!isNcwError(e)) throw e;
      err(`extent tree item ${formatKey(k)}: ${(e as Error).message}`);
    }
  }
  for (const [bytenr, b] of blocks) {
    if (!metaItems.has(bytenr))
      err(`tree block ${bytenr} (tree ${[...b.owners].join(",")}) has no extent item`);
  }
  for (const [bytenr, refs] of metaItems) {
    if (!blocks.has(bytenr))
      err(`extent item for tree block ${bytenr} (refs ${refs}) but no tree reaches it`);
    if (refs < 1n) err(`tree block ${bytenr} has ${refs} references`);
  }
  for (const [bytenr, r] of dataRefs) {
    const d = dataItems.get(bytenr);
    if (!d) err(`data extent ${bytenr}+${r.len} is referenced by files but has no extent item`);
    else {
      if (d.len !== r.len)
        err(`data extent ${bytenr}: extent item length ${d.len}, files say ${r.len}`);
      if (d.refs !== BigInt(r.count))
        err(`data extent ${bytenr}: extent item says ${d.refs} references, files hold ${r.count}`);
      if (d.counted !== Number(d.refs))
        err(`data extent ${bytenr}: back-references count ${d.counted}, refs field ${d.refs}`);
    }
  }
  for (const [bytenr, d] of dataItems)
    if (!dataRefs.has(bytenr))
      err(`data extent ${bytenr}+${d.len} is allocated but no file references it`);
  stats.dataExtents = dataItems.size;
  let totalUsed = 0n;
  for (const g of groups) {
    let used = 0n;
    for (const b of blocks.keys()) if (b >= g.start && b < g.start + g.len) used += ns;
    for (const [b, d] of dataItems) if (b >= g.start && b < g.start + g.len) used += d.len;
    if (used !== g.used) err(`block group ${g.start}: used ${g.used}, extents add up to ${used}`);
    totalUsed += g.used;
    if (!vol.chunks.find(g.start)) err(`block group ${g.start} has no chunk`);
  }
  if (totalUsed !== vol.sb.bytesUsed)
    err(`superblock bytes_used ${vol.sb.bytesUsed}, block groups add up to ${totalUsed}`);

  // 3. Free space tree: free + used = each block group, nothing overlapping.
  if (vol.hasTree(FREE_SPACE_TREE_OBJECTID)) {
    const used: [bigint, bigint][] = [
      ...[...blocks.keys()].map((b): [bigint, bigint] => [b, b + ns]),
      ...[...dataItems].map(([b, d]): [bigint, bigint] => [b, b + d.len]),
    ].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const g of groups) {
      const info = vol.lookup(FREE_SPACE_TREE_OBJECTID, {
        objectid: g.start,
        type: FREE_SPACE_INFO_KEY,
        offset: g.len,
      });
      if (!info) {
        err(`free space tree has no info for block group ${g.start}`);
        continue;
      }
      const fi = decodeFreeSpaceInfo(info);
      const free: [bigint, bigint][] = [];
      let extents = 0;
      for (const it of vol.items(
        FREE_SPACE_TREE_OBJECTID,
        { objectid: g.start, type: FREE_SPACE_EXTENT_KEY, offset: 0n },
        { objectid: g.start + g.len - 1n, type: FREE_SPACE_BITMAP_KEY, offset: MAX_KEY.offset },
      )) {
        if (it.key.type === FREE_SPACE_EXTENT_KEY) {
          free.push([it.key.objectid, it.key.objectid + it.key.offset]);
          extents++;
        } else if (it.key.type === FREE_SPACE_BITMAP_KEY) {
          const ss = BigInt(vol.sectorsize);
          let runStart: bigint | undefined;
          const bits = Number(it.key.offset / ss);
          if (
            it.key.offset % ss !== 0n ||
            it.key.offset > g.len ||
            it.data.length !== Math.ceil(bits / 8)
          ) {
            err(
              `free space bitmap ${formatKey(it.key)}: ${it.data.length} bytes do not describe ${it.key.offset} bytes`,
            );
            continue;
          }
          for (let i = 0; i <= bits; i++) {
            const set = i < bits && ((it.data[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
            const at = it.key.objectid + BigInt(i) * ss;
            if (set && runStart === undefined) runStart = at;
            if (!set && runStart !== undefined) {
              free.push([runStart, at]);
              extents++;
              runStart = undefined;
            }
          }
        }
      }
      const bitmaps = (fi.flags & FREE_SPACE_USING_BITMAPS) !== 0;
      if (!bitmaps && fi.extentCount !== extents)
        err(
          `block group ${g.start}: free space info counts ${fi.extentCount} extents, tree holds ${extents}`,
        );
      free.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      // Walk the group: every byte is exactly one of free or used (super-mirror stripes may be neither).
      const inGroup = used.filter(([a]) => a >= g.start && a < g.start + g.len);
      let freeBytes = 0n;
      for (const [a, b] of free) {
        freeBytes += b - a;
        if (a < g.start || b > g.start + g.len)
          err(`free extent ${a}..${b} outside block group ${g.start}`);
        for (const [ua, ub] of inGroup)
          if (ua < b && ub > a) err(`free extent ${a}..${b} overlaps used ${ua}..${ub}`);
      }
      if (freeBytes + g.used > g.len)
        err(`block group ${g.start}: free ${freeBytes} + used ${g.used} exceed its ${g.len} bytes`);
    }
  }

  // 4. Filesystem trees: directory entries, back-references, link counts, sizes, data checksums.
  const reader = new FsReader(vol, vol, vol.sectorsize);
  for (const root of fsTrees) {
    try {
      checkFsTree(vol, reader, root, err, stats, opts.dataCsums !== false);
    } catch (e) {
      if (!isNcwError(e)) throw e;
      err(`subvolume ${root}: ${(e as Error).message}`);
    }
  }
  return { ok: errors.length === 0, errors, stats };
}

function checkFsTree(
  vol: Volume,
  reader: FsReader,
  root: bigint,
  err: (m: string) => void,
  stats: CheckReport["stats"],
  dataCsums: boolean,
): void {
  interface Ino {
    mode: number;
    nlink: number;
    size: bigint;
    nbytes: bigint;
    flags: bigint;
    refs: number;
    dirSize: bigint;
    extentBytes: bigint;
  }
  const inodes = new Map<bigint, Ino>();
  const dirItems = new Set<string>();
  const dirIndexes: { dir: bigint; name: string; target: bigint; type: number; subvol: boolean }[] =
    [];
  const refs: { ino: bigint; parent: bigint; name: string }[] = [];
  /** Inodes with an ORPHAN item: no name and no link, to be deleted (an unfinished replacement). */
  const orphans = new Set<bigint>();
  const dec = new TextDecoder();
  for (const it of vol.iterate(root, MIN_KEY, MAX_KEY)) {
    const k = it.key;
    switch (k.type) {
      case INODE_ITEM_KEY: {
        const v = decodeInodeItem(it.data);
        inodes.set(k.objectid, {
          mode: v.mode,
          nlink: v.nlink,
          size: v.size,
          nbytes: v.nbytes,
          flags: v.flags,
          refs: 0,
          dirSize: 0n,
          extentBytes: 0n,
        });
        break;
      }
      case ORPHAN_ITEM_KEY:
        if (k.objectid === ORPHAN_OBJECTID) orphans.add(k.offset);
        break;
      case INODE_REF_KEY:
        for (const r of decodeInodeRefs(it.data))
          refs.push({ ino: k.objectid, parent: k.offset, name: dec.decode(r.name) });
        break;
      case INODE_EXTREF_KEY:
        for (const r of decodeInodeExtrefs(it.data))
          refs.push({ ino: k.objectid, parent: r.parent, name: dec.decode(r.name) });
        break;
      case DIR_ITEM_KEY:
        for (const d of decodeDirItems(it.data))
          dirItems.add(`${k.objectid}/${dec.decode(d.name)}`);
        break;
      case DIR_INDEX_KEY:
        for (const d of decodeDirItems(it.data)) {
          dirIndexes.push({
            dir: k.objectid,
            name: dec.decode(d.name),
            target: d.location.objectid,
            type: d.type,
            subvol: d.location.type === ROOT_ITEM_KEY,
          });
        }
        break;
      case EXTENT_DATA_KEY: {
        const fe = decodeFileExtentItem(it.data);
        checkFileExtent(fe, vol.sectorsize, `${formatKey(k)} of tree ${root}`);
        const ino = inodes.get(k.objectid);
        if (!ino) {
          err(`subvolume ${root}: file extent ${formatKey(k)} of a missing inode`);
          break;
        }
        if (fe.type === FILE_EXTENT_INLINE) ino.extentBytes += fe.ramBytes;
        else if (fe.diskBytenr !== 0n) {
          ino.extentBytes += fe.numBytes;
          if (dataCsums && (ino.flags & INODE_NODATASUM) === 0n && fe.type !== 2) {
            const raw = vol.readData(fe.diskBytenr, Number(fe.diskNumBytes));
            for (const bad of reader.badSectors(fe.diskBytenr, raw)) {
              err(
                bad.want === undefined
                  ? `subvolume ${root} inode ${k.objectid}: no checksum for data at ${bad.at}`
                  : `subvolume ${root} inode ${k.objectid}: data checksum mismatch at ${bad.at}`,
              );
            }
            stats.dataBytesChecked += raw.length;
          }
        }
        break;
      }
    }
  }
  stats.inodes += inodes.size;
  for (const d of dirIndexes) {
    if (!dirItems.has(`${d.dir}/${d.name}`))
      err(`subvolume ${root}: DIR_INDEX ${d.dir}/${d.name} has no DIR_ITEM`);
    const dir = inodes.get(d.dir);
    if (dir) dir.dirSize += BigInt(new TextEncoder().encode(d.name).length * 2);
    else err(`subvolume ${root}: entry ${d.name} in missing directory ${d.dir}`);
    if (d.subvol) {
      if (!vol.hasTree(d.target))
        err(`subvolume ${root}: entry ${d.name} points at missing subvolume ${d.target}`);
      continue;
    }
    const t = inodes.get(d.target);
    if (!t) err(`subvolume ${root}: entry ${d.dir}/${d.name} points at missing inode ${d.target}`);
    else if (!refs.some((r) => r.ino === d.target && r.parent === d.dir && r.name === d.name)) {
      err(`subvolume ${root}: entry ${d.dir}/${d.name} has no inode back-reference`);
    }
  }
  if (dirItems.size !== dirIndexes.length)
    err(
      `subvolume ${root}: ${dirItems.size} DIR_ITEM names but ${dirIndexes.length} DIR_INDEX entries`,
    );
  for (const r of refs) {
    const ino = inodes.get(r.ino);
    if (ino) ino.refs++;
    if (r.parent === r.ino) continue; // the subvolume's own ".." ref
    if (!dirIndexes.some((d) => d.dir === r.parent && d.name === r.name && d.target === r.ino)) {
      err(
        `subvolume ${root}: inode ${r.ino} says it is ${r.parent}/${r.name} but that entry is missing`,
      );
    }
  }
  for (const [ino, v] of inodes) {
    if (orphans.has(ino) && v.nlink === 0 && v.refs === 0) {
      // Deleted (or never named) and recorded as such: btrfs check accepts it; checked like a file.
      if (v.nbytes !== v.extentBytes)
        err(
          `subvolume ${root}: orphan ${ino} nbytes ${v.nbytes}, extents add up to ${v.extentBytes}`,
        );
      continue;
    }
    if ((v.mode & S_IFMT) === S_IFDIR) {
      if (v.size !== v.dirSize)
        err(`subvolume ${root}: directory ${ino} size ${v.size}, entries add up to ${v.dirSize}`);
      if (v.refs !== 1) err(`subvolume ${root}: directory ${ino} has ${v.refs} names`);
    } else {
      if (v.nlink !== v.refs)
        err(`subvolume ${root}: inode ${ino} link count ${v.nlink}, names ${v.refs}`);
      if (v.nbytes !== v.extentBytes)
        err(
          `subvolume ${root}: inode ${ino} nbytes ${v.nbytes}, extents add up to ${v.extentBytes}`,
        );
    }
    if (v.refs === 0)
      err(`subvolume ${root}: inode ${ino} has no name and no ORPHAN item saying it is to go`);
  }
}

/** The report as lines for people. */
export function formatCheckReport(r: CheckReport): string[] {
  const s = r.stats;
  const lines = [
    `generation ${s.generation}: ${s.trees} trees, ${s.treeBlocks} tree blocks, ${s.items} items, ${s.inodes} inodes, ${s.dataExtents} data extents, ${s.dataBytesChecked} data bytes checksummed`,
  ];
  if (r.ok) lines.push("no problems found");
  else lines.push(...r.errors.map((e) => `problem: ${e}`));
  return lines;
}

/** Throws a DATA error summarising the problems (for callers that need a clean image). */
export function assertClean(r: CheckReport): void {
  if (!r.ok) {
    throw new NcwError("data", `the image has ${r.errors.length} problem(s): ${r.errors[0]}`, {
      code: "BTRFS_CHECK_FAILED",
      hint: "See `ncw fs check` for the full list.",
    });
  }
}
