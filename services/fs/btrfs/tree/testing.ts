// Test helpers for the engine's own tests: minimal, semantically valid filesystem items (empty files
// and small data files in a directory) so `btrfs check` can judge the trees the engine writes.
// fs.ts is the real filesystem layer; these exist so the engine is tested without it.

import { readLogical } from "../chunks.js";
import type { BtrfsEngine } from "../engine.js";
import { btrfsNameHash, crc32c } from "../format/crc32c.js";
import {
  decodeDirItems,
  decodeFileExtentItem,
  decodeInodeItem,
  decodeInodeRefs,
  encodeDirItems,
  encodeFileExtentItem,
  encodeInodeItem,
  encodeInodeRefs,
  FILE_EXTENT_INLINE,
  FILE_EXTENT_REG,
  FT_REG_FILE,
  type InodeItem,
  newInodeItem,
  S_IFREG,
} from "../format/items.js";
import {
  DIR_INDEX_KEY,
  DIR_ITEM_KEY,
  EXTENT_DATA_KEY,
  INODE_ITEM_KEY,
  INODE_REF_KEY,
  type Key,
  U64_MAX,
} from "../format/key.js";
import type { Transaction } from "../transaction.js";
import type { TreeReader } from "./index.js";

const te = new TextEncoder();
const td = new TextDecoder();

function inodeKey(ino: bigint): Key {
  return { objectid: ino, type: INODE_ITEM_KEY, offset: 0n };
}

function fileInode(gen: bigint, size: bigint, nbytes: bigint): InodeItem {
  return newInodeItem(gen, S_IFREG | 0o644, { sec: 1700000000n, nsec: 0 }, { size, nbytes });
}

function adjustDir(txn: Transaction, root: bigint, dir: bigint, delta: number): void {
  const d = decodeInodeItem(txn.lookup(root, inodeKey(dir))!);
  d.size += BigInt(delta);
  d.transid = txn.generation;
  txn.updateItem(root, inodeKey(dir), encodeInodeItem(d));
}

/**
 * Create a file `name` (inode `ino`, dir index `ino`) in directory `dir` of tree `root`; with
 * `data`, one regular extent holding it (with checksums).
 */
export function addFile(
  txn: Transaction,
  root: bigint,
  dir: bigint,
  name: string,
  ino: bigint,
  data?: Uint8Array,
): void {
  const n = te.encode(name);
  const gen = txn.generation;
  let size = 0n;
  let nbytes = 0n;
  if (data && data.length > 0) {
    const ext = txn.allocDataExtent(data.length);
    const buf = new Uint8Array(ext.len);
    buf.set(data);
    txn.writeData(ext.bytenr, buf);
    const ss = ext.len / 4096;
    const sums = new Uint8Array(ss * 4);
    const dv = new DataView(sums.buffer);
    for (let i = 0; i < ss; i++) dv.setUint32(i * 4, crc32c(buf, i * 4096, (i + 1) * 4096), true);
    txn.insertCsums(ext.bytenr, sums);
    txn.insertItem(
      root,
      { objectid: ino, type: EXTENT_DATA_KEY, offset: 0n },
      encodeFileExtentItem({
        type: FILE_EXTENT_REG,
        generation: gen,
        ramBytes: BigInt(ext.len),
        compression: 0,
        encryption: 0,
        otherEncoding: 0,
        diskBytenr: ext.bytenr,
        diskNumBytes: BigInt(ext.len),
        offset: 0n,
        numBytes: BigInt(ext.len),
      }),
    );
    txn.addDataRef({ bytenr: ext.bytenr, numBytes: BigInt(ext.len), root, inode: ino, offset: 0n });
    size = BigInt(data.length);
    nbytes = BigInt(ext.len);
  }
  txn.insertItem(root, inodeKey(ino), encodeInodeItem(fileInode(gen, size, nbytes)));
  txn.insertItem(
    root,
    { objectid: ino, type: INODE_REF_KEY, offset: dir },
    encodeInodeRefs([{ index: ino, name: n }]),
  );
  const entry = {
    location: inodeKey(ino),
    transid: gen,
    type: FT_REG_FILE,
    name: n,
    data: new Uint8Array(0),
  };
  const hashKey = { objectid: dir, type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(n)) };
  if (txn.lookup(root, hashKey)) throw new Error(`test helper: name hash collision for ${name}`);
  txn.insertItem(root, hashKey, encodeDirItems([entry]));
  txn.insertItem(
    root,
    { objectid: dir, type: DIR_INDEX_KEY, offset: ino },
    encodeDirItems([entry]),
  );
  adjustDir(txn, root, dir, n.length * 2);
}

/** Remove a file made by addFile (dropping its data reference). */
export function removeFile(
  txn: Transaction,
  root: bigint,
  dir: bigint,
  name: string,
  ino: bigint,
): void {
  const n = te.encode(name);
  // Every extent of the file (files written by the kernel may have several).
  for (const it of txn.items(
    root,
    { objectid: ino, type: EXTENT_DATA_KEY, offset: 0n },
    { objectid: ino, type: EXTENT_DATA_KEY, offset: U64_MAX },
  )) {
    const fe = decodeFileExtentItem(it.data);
    txn.deleteItem(root, it.key);
    if (fe.type === FILE_EXTENT_INLINE || fe.diskBytenr === 0n) continue;
    txn.dropDataRef({
      bytenr: fe.diskBytenr,
      numBytes: fe.diskNumBytes,
      root,
      inode: ino,
      offset: it.key.offset - fe.offset,
    });
  }
  txn.deleteItem(root, inodeKey(ino));
  const refKey = { objectid: ino, type: INODE_REF_KEY, offset: dir };
  const index = decodeInodeRefs(txn.lookup(root, refKey)!)[0]!.index;
  txn.deleteItem(root, refKey);
  txn.deleteItem(root, { objectid: dir, type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(n)) });
  txn.deleteItem(root, { objectid: dir, type: DIR_INDEX_KEY, offset: index });
  adjustDir(txn, root, dir, -n.length * 2);
}

/** The inode number of `name` in directory `dir`, if it exists. */
export function inodeOf(
  r: TreeReader,
  root: bigint,
  dir: bigint,
  name: string,
): bigint | undefined {
  const n = te.encode(name);
  const d = r.lookup(root, { objectid: dir, type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(n)) });
  return d ? decodeDirItems(d)[0]!.location.objectid : undefined;
}

/** Names in directory `dir` of tree `root` (from its DIR_INDEX items), in index order. */
export function listDir(r: TreeReader, root: bigint, dir: bigint): string[] {
  return r
    .items(
      root,
      { objectid: dir, type: DIR_INDEX_KEY, offset: 0n },
      { objectid: dir, type: DIR_INDEX_KEY, offset: U64_MAX },
    )
    .map((it) => td.decode(decodeDirItems(it.data)[0]!.name));
}

/** Content of a file made by addFile (its single extent, cut to the inode size). */
export function readTestFile(
  e: BtrfsEngine,
  r: TreeReader,
  root: bigint,
  dir: bigint,
  name: string,
): Uint8Array | undefined {
  const n = te.encode(name);
  const d = r.lookup(root, { objectid: dir, type: DIR_ITEM_KEY, offset: BigInt(btrfsNameHash(n)) });
  if (!d) return undefined;
  const ino = decodeDirItems(d)[0]!.location.objectid;
  const inode = decodeInodeItem(r.lookup(root, inodeKey(ino))!);
  const ext = r.lookup(root, { objectid: ino, type: EXTENT_DATA_KEY, offset: 0n });
  if (!ext) return new Uint8Array(0);
  const fe = decodeFileExtentItem(ext);
  if (fe.type === FILE_EXTENT_INLINE) return fe.inlineData.slice(0, Number(inode.size));
  const data = readLogical(e.dev, e.chunkMap, fe.diskBytenr, Number(fe.diskNumBytes));
  return data.slice(0, Number(inode.size));
}
