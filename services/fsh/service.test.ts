// sys::fsh's handlers (services/fsh/service.ts; specs/services/system/fsh.md) through the service host as
// the kernel calls them: argument and answer bytes written out by hand from the page (delimited lists of
// delimited strings, 8-byte ANIDs, FSID / FEID, the presence byte, timestamp and TFEID, bitmap images of
// data-structures.md), every errcode of each method, in the page's order, on an in-memory tree.

import { describe, expect, it } from "vitest";
import { MemoryFs } from "../fs/memory.js";
import { ServiceHost } from "../host/host.js";
import { FSH_DIR, MAX_CACHED_IMAGES, SysFsh } from "./service.js";

const FSH = 11;
const FSID = 0x77n;
const OPENER = 101; // an app exposing a file opener service, ANID 0x0a0b0c0d
const MANAGER = 102; // a file manager, ANID 0x11
const PLAIN = 103; // an app exposing neither
const BOTH = 104; // a file opener that is also a file manager, ANID 0x22

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const u64 = (v: bigint | number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b.toString("hex");
};
/** A delimited string: its length on 8 bytes, then UTF-8. */
const dstr = (s: string) => u64(Buffer.byteLength(s)) + Buffer.from(s).toString("hex");
/** A delimited list of delimited strings. */
const dlist = (...items: string[]) => {
  const body = items.map(dstr).join("");
  return u64(body.length / 2) + body;
};

function setup() {
  const layer = new MemoryFs();
  let queue: Promise<unknown> = Promise.resolve();
  const apps = new Map<number, { anid: number; integration: string[] }>([
    [OPENER, { anid: 0x0a0b0c0d, integration: ["fs_items_opener"] }],
    [MANAGER, { anid: 0x11, integration: ["file_manager"] }],
    [PLAIN, { anid: 0x33, integration: [] }],
    [BOTH, { anid: 0x22, integration: ["fs_items_opener", "file_manager"] }],
  ]);
  const installed = new Set([0x0a0b0c0d, 0x11, 0x33, 0x22]);
  /** The items of filesystem FSID: FEID → modification time. */
  const items = new Map<bigint, number>([
    [0x500n, 1000],
    [0x501n, 1000],
  ]);
  const tfeids: { path: string; holder: number }[] = [];
  const host = new ServiceHost({ checker: () => false });
  host.register(
    new SysFsh({
      layer: async () => layer,
      serialize: (fn) => {
        const p = queue.then(fn);
        queue = p.catch(() => undefined);
        return p;
      },
      user: (pid) => (apps.has(pid) ? "ada" : undefined),
      app: async (pid) => apps.get(pid),
      installed: async (anid) => installed.has(anid),
      items: {
        itemFor: async (_caller, fsid, feid) => {
          if (fsid !== FSID) return { ok: false, why: "unknown-fsid" };
          const mtimeMs = items.get(feid);
          return mtimeMs === undefined
            ? { ok: false, why: "unknown-feid" }
            : { ok: true, feid, mtimeMs };
        },
      },
      feids: {
        createTemporaryFeid: async (path, holder) => {
          tfeids.push({ path, holder });
          return 0x8000_0000_0000_0000n + BigInt(tfeids.length);
        },
      },
    }),
  );
  const call = async (pid: number, code: number, args: string) => {
    expect(await host.connect(FSH, pid)).toBe(true);
    return host.call(FSH, pid, code, hex(args));
  };
  return { host, layer, call, items, installed, tfeids };
}

const ok = (answer = "") => ({ ok: true, answer: hex(answer) });
const err = (errcode: number) => ({ ok: false, errcode });

describe("sys::fsh openers", () => {
  it("REGISTER_OPENER, LIST_OPENERS and UNREGISTER_OPENER, byte for byte", async () => {
    const { call, layer } = setup();
    expect(await call(OPENER, 0x0001, dlist("txt", "MD"))).toEqual(ok());
    expect(await call(BOTH, 0x0001, dlist("txt"))).toEqual(ok());
    // LIST_OPENERS "txt": a delimited list of 8-byte ANIDs, in registration order
    expect(await call(MANAGER, 0x0003, dstr("txt"))).toEqual(
      ok(u64(16) + u64(0x0a0b0c0d) + u64(0x22)),
    );
    // extensions compare without case
    expect(await call(MANAGER, 0x0003, dstr("md"))).toEqual(ok(u64(8) + u64(0x0a0b0c0d)));
    expect(await call(MANAGER, 0x0003, dstr("png"))).toEqual(ok(u64(0)));
    // kept in the home's tree, per user
    const file = JSON.parse(
      new TextDecoder().decode(await layer.readFile(`${FSH_DIR}/openers/ada.json`)),
    );
    expect(file.openers).toEqual({ txt: [0x0a0b0c0d, 0x22], md: [0x0a0b0c0d] });
    expect(await call(OPENER, 0x0002, dlist("txt"))).toEqual(ok());
    expect(await call(MANAGER, 0x0003, dstr("txt"))).toEqual(ok(u64(8) + u64(0x22)));
  });

  it("REGISTER_OPENER's errcodes, in the page's order, and all or nothing", async () => {
    const { call } = setup();
    expect(await call(OPENER, 0x0001, dlist("txt", ""))).toEqual(err(0x1000));
    // the system's own packages
    expect(await call(OPENER, 0x0001, dlist("txt", "NAP"))).toEqual(err(0x1001));
    expect(await call(OPENER, 0x0001, dlist("nva"))).toEqual(err(0x1001));
    // the constant checks come before the client's
    expect(await call(PLAIN, 0x0001, dlist(""))).toEqual(err(0x1000));
    expect(await call(PLAIN, 0x0001, dlist("txt"))).toEqual(err(0x3000));
    expect(await call(MANAGER, 0x0001, dlist("txt"))).toEqual(err(0x3000));
    expect(await call(OPENER, 0x0001, dlist("txt"))).toEqual(ok());
    // one already handled: refused, and "csv" was not registered either
    expect(await call(OPENER, 0x0001, dlist("csv", "txt"))).toEqual(err(0x3001));
    expect(await call(MANAGER, 0x0003, dstr("csv"))).toEqual(ok(u64(0)));
    // twice in one list counts once
    expect(await call(OPENER, 0x0001, dlist("csv", "CSV"))).toEqual(ok());
    expect(await call(MANAGER, 0x0003, dstr("csv"))).toEqual(ok(u64(8) + u64(0x0a0b0c0d)));
  });

  it("UNREGISTER_OPENER's errcodes (its empty extension is 0x1001), all or nothing", async () => {
    const { call } = setup();
    expect(await call(OPENER, 0x0001, dlist("txt"))).toEqual(ok());
    expect(await call(OPENER, 0x0002, dlist(""))).toEqual(err(0x1001));
    expect(await call(PLAIN, 0x0002, dlist("txt"))).toEqual(err(0x3000));
    expect(await call(OPENER, 0x0002, dlist("txt", "md"))).toEqual(err(0x3001));
    expect(await call(MANAGER, 0x0003, dstr("txt"))).toEqual(ok(u64(8) + u64(0x0a0b0c0d)));
  });

  it("LIST_OPENERS refuses a client that is neither an opener nor a file manager, and skips removed apps", async () => {
    const { call, installed } = setup();
    expect(await call(PLAIN, 0x0003, dstr("txt"))).toEqual(err(0x3000));
    expect(await call(OPENER, 0x0001, dlist("txt"))).toEqual(ok());
    expect(await call(BOTH, 0x0001, dlist("txt"))).toEqual(ok());
    expect(await call(OPENER, 0x0003, dstr("txt"))).toEqual(
      ok(u64(16) + u64(0x0a0b0c0d) + u64(0x22)),
    );
    installed.delete(0x0a0b0c0d);
    expect(await call(MANAGER, 0x0003, dstr("txt"))).toEqual(ok(u64(8) + u64(0x22)));
  });

  it("refuses arguments that are not a delimited list of delimited strings (0x1FFF)", async () => {
    const { call } = setup();
    expect(await call(OPENER, 0x0001, `${u64(10)}${dstr("a")}`)).toEqual(err(0x1fff));
  });
});

/** A 2x1 RGB bitmap (header: width 2, height 1, one byte per red, green, blue channel). */
const BITMAP = `0200 0100 01 01 01 00 ff0000 00ff00`;

describe("sys::fsh caches", () => {
  for (const [name, check, cache] of [
    ["thumbnail", 0x1000, 0x1001],
    ["preview", 0x1100, 0x1101],
  ] as const) {
    it(`CACHE_ITEM_${name.toUpperCase()} then CHECK_ITEM_${name.toUpperCase()}_CACHE, byte for byte`, async () => {
      const { call, layer, tfeids, items } = setup();
      // nothing cached: presence 0x00 only
      expect(await call(MANAGER, check, u64(FSID) + u64(0x500))).toEqual(ok("00"));
      const t0 = Date.now();
      const cached = await call(MANAGER, cache, u64(FSID) + u64(0x500) + BITMAP);
      expect(cached).toEqual(ok(u64(0x8000_0000_0000_0001n)));
      // the image file is the bitmap as given, the TFEID the caller's, for that file
      const path = `${FSH_DIR}/cache/${name}s/${"77".padStart(16, "0")}-${"500".padStart(16, "0")}`;
      expect(Buffer.from(await layer.readFile(path)).toString("hex")).toBe(
        BITMAP.replace(/ /g, ""),
      );
      expect(tfeids).toEqual([{ path, holder: MANAGER }]);
      // present: 0x01, the caching timestamp (ms), a new TFEID
      const r = await call(MANAGER, check, u64(FSID) + u64(0x500));
      expect(r.ok).toBe(true);
      const a = Buffer.from((r as { answer: Uint8Array }).answer);
      expect(a.length).toBe(17);
      expect(a[0]).toBe(0x01);
      const at = Number(a.readBigUInt64LE(1));
      expect(at).toBeGreaterThanOrEqual(t0 - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
      expect(a.readBigUInt64LE(9)).toBe(0x8000_0000_0000_0002n);
      // the other item has none
      expect(await call(MANAGER, check, u64(FSID) + u64(0x501))).toEqual(ok("00"));
      // the item changed after caching: stale, dropped
      items.set(0x500n, Date.now() + 60_000);
      expect(await call(MANAGER, check, u64(FSID) + u64(0x500))).toEqual(ok("00"));
      expect(await layer.stat(path)).toBeNull();
    });

    it(`CACHE_ITEM_${name.toUpperCase()} and its check: every errcode, in the page's order`, async () => {
      const { call } = setup();
      const bad = [
        "0200 0100 01 01 01", // shorter than the header
        "0200 0100 01 01 01 00 ff0000", // one pixel short
        "0200 0100 01 01 01 00 ff0000 00ff00 00", // one byte too many
        "0000 0100 01 01 01 00", // no pixel
        "0100 0100 00 00 00 00", // no channel
      ];
      for (const b of bad)
        expect(await call(MANAGER, cache, u64(FSID) + u64(0x500) + b), b).toEqual(err(0x1000));
      // 0x1000 is a constant check: before the client's
      expect(await call(PLAIN, cache, u64(FSID) + u64(0x500) + bad[0])).toEqual(err(0x1000));
      for (const pid of [PLAIN, OPENER]) {
        expect(await call(pid, cache, u64(FSID) + u64(0x500) + BITMAP)).toEqual(err(0x3000));
        expect(await call(pid, check, u64(FSID) + u64(0x500))).toEqual(err(0x3000));
      }
      expect(await call(MANAGER, cache, u64(0x78) + u64(0x500) + BITMAP)).toEqual(err(0x3001));
      expect(await call(MANAGER, check, u64(0x78) + u64(0x500))).toEqual(err(0x3001));
      expect(await call(MANAGER, cache, u64(FSID) + u64(0x999) + BITMAP)).toEqual(err(0x3002));
      expect(await call(MANAGER, check, u64(FSID) + u64(0x999))).toEqual(err(0x3002));
      // 15 bytes where FSID and FEID are 16
      expect(await call(MANAGER, check, u64(FSID) + u64(0x500).slice(0, 14))).toEqual(err(0x1fff));
    });
  }

  it("a new image replaces the cached one", async () => {
    const { call, layer } = setup();
    await call(MANAGER, 0x1001, u64(FSID) + u64(0x500) + BITMAP);
    const other = "0100 0100 00 00 00 01 80";
    expect((await call(MANAGER, 0x1001, u64(FSID) + u64(0x500) + other)).ok).toBe(true);
    const path = `${FSH_DIR}/cache/thumbnails/${"77".padStart(16, "0")}-${"500".padStart(16, "0")}`;
    expect(Buffer.from(await layer.readFile(path)).toString("hex")).toBe("010001000000000180");
  });

  it(`keeps at most ${MAX_CACHED_IMAGES} images per cache, the oldest dropped first`, async () => {
    const { call, layer, items } = setup();
    const dir = `${FSH_DIR}/cache/thumbnails`;
    await layer.mkdir(dir, { recursive: true });
    // the cache already full of older images
    for (let i = 0; i < MAX_CACHED_IMAGES; i++)
      await layer.writeFile(`${dir}/${u64(FSID)}-old${i}`, new Uint8Array(1));
    items.set(0x600n, 0);
    expect((await call(MANAGER, 0x1001, u64(FSID) + u64(0x600) + BITMAP)).ok).toBe(true);
    const left = await layer.readdir(dir);
    expect(left.length).toBe(MAX_CACHED_IMAGES);
    expect(
      left.some((e) => e.name === `${"77".padStart(16, "0")}-${"600".padStart(16, "0")}`),
    ).toBe(true);
  }, 60_000);
});
