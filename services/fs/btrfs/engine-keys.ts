// Small helpers shared by the engine's files: key bounds for range scans and the missing-tree error.

import { NcwError } from "../../../ncw/errors.js";
import { type Key, U64_MAX } from "./format/key.js";

/** The smallest key with this objectid (and type). */
export const MIN_KEY = (objectid: bigint, type = 0): Key => ({ objectid, type, offset: 0n });
/** The largest key with this objectid (and type). */
export const MAX_KEY = (objectid: bigint, type = 255): Key => ({ objectid, type, offset: U64_MAX });

export function noTree(rootId: bigint): NcwError {
  return new NcwError("not-found", `btrfs tree ${rootId} does not exist in this image`, {
    code: "BTRFS_NO_TREE",
  });
}
