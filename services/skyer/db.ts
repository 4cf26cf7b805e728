// Skyer's database of installed items: /etc/sys/skyer/installed.json in the NightOS tree (NCW
// decision, docs/skyer.md). Replaced atomically; its `lastTx` marks which transaction committed.

import { NcwError } from "../../ncw/errors.js";
import type { FsLayer } from "../fs/layer.js";
import { DB_PATH, SKYER_DIR } from "./layout.js";
import type { InstalledItem } from "./model.js";

export const DB_FORMAT = "ncw-skyer-db";
export const DB_VERSION = 1;

export interface SkyerDb {
  format: typeof DB_FORMAT;
  version: number;
  /** The id of the last committed transaction (see services/skyer/txn.ts), or null. */
  lastTx: string | null;
  items: InstalledItem[];
}

export function emptyDb(): SkyerDb {
  return { format: DB_FORMAT, version: DB_VERSION, lastTx: null, items: [] };
}

function corrupt(why: string): NcwError {
  return new NcwError("config", `Skyer's database (${DB_PATH}) is invalid: ${why}`, {
    code: "SKYER_DB_CORRUPT",
    hint: "the installed applications cannot be read; restore the file or reset the home",
  });
}

export function decodeDb(bytes: Uint8Array): SkyerDb {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw corrupt((e as Error).message);
  }
  const o = raw as Partial<SkyerDb> | null;
  if (typeof o !== "object" || o === null) throw corrupt("not a JSON object");
  if (o.format !== DB_FORMAT) throw corrupt(`"format" must be "${DB_FORMAT}"`);
  if (o.version !== DB_VERSION) throw corrupt(`unsupported version ${String(o.version)}`);
  if (!Array.isArray(o.items)) throw corrupt(`"items" must be a list`);
  for (const it of o.items) {
    if (
      typeof it?.aid !== "string" ||
      typeof it.anid !== "number" ||
      !Number.isInteger(it.anid) ||
      it.anid <= 0 ||
      it.anid > 0xffffffff ||
      (it.kind !== "app" && it.kind !== "lib") ||
      (it.scope !== "global" && it.scope !== "user") ||
      !Array.isArray(it.versions) ||
      it.versions.length === 0
    ) {
      throw corrupt(`bad item ${JSON.stringify(it?.aid)}`);
    }
  }
  return {
    format: DB_FORMAT,
    version: DB_VERSION,
    lastTx: typeof o.lastTx === "string" ? o.lastTx : null,
    items: o.items,
  };
}

export function encodeDb(db: SkyerDb): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(db, null, 2)}\n`);
}

export async function readDb(fs: FsLayer): Promise<SkyerDb> {
  const st = await fs.stat(DB_PATH);
  if (st === null) return emptyDb();
  return decodeDb(await fs.readFile(DB_PATH));
}

/** Replace the database atomically (temporary file, sync, rename over the old one, sync). */
export async function writeDb(fs: FsLayer, db: SkyerDb): Promise<void> {
  await fs.mkdir(SKYER_DIR, { recursive: true });
  const tmp = `${DB_PATH}.tmp`;
  await fs.writeFile(tmp, encodeDb(db));
  await fs.sync();
  await fs.rename(tmp, DB_PATH, { replace: true });
  await fs.sync();
}
