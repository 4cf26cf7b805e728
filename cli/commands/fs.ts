// `ncw fs`: tools for people on NightOS Btrfs images (docs/btrfs.md) — mkfs, ls, cat, put, get,
// mkdir, rm, snapshot, subvolume, info, check, trim. Thin: parse, call services/fs/btrfs, print.

import * as fs from "node:fs";
import nodePath from "node:path";
import type { Argv, CommandModule } from "yargs";
import type { RemoteFs } from "../../kernel-compat/tree-client.js";
import { ExitCode, isNcwError, NcwError } from "../../ncw/errors.js";
import { type Progress, safeText } from "../../ncw/output.js";
import { FileDevice } from "../../services/fs/btrfs/device.js";
import { crc32cBackend } from "../../services/fs/btrfs/format/crc32c.js";

import { type Compression, feidOf, listSubvolumes } from "../../services/fs/btrfs/fs.js";
import {
  defaultImagePath,
  getHostTree,
  getToHost,
  imageInfo,
  parseSize,
  putHostFile,
  putHostTree,
  streamFile,
} from "../../services/fs/btrfs/image.js";
import { BtrfsLayer } from "../../services/fs/btrfs/layer.js";
import { lockImage } from "../../services/fs/btrfs/lock.js";
import { mkfsImageFile } from "../../services/fs/btrfs/mkfs.js";
import { loadHolePunching } from "../../services/fs/btrfs/punch.js";
import { type CommandContext, type GlobalArgs, runCommand } from "../context.js";
import { kernelTree } from "../kernel-tree.js";
import { intArg } from "../usage.js";

interface ImageArgs extends GlobalArgs {
  image?: string;
}

function imagePath(ctx: CommandContext, argv: ImageArgs): string {
  return argv.image ?? defaultImagePath(ctx.home());
}

const imageOption = <T>(y: Argv<T>) =>
  y.option("image", {
    type: "string",
    describe: "The Btrfs image file (default: nightos.img in the NCW home)",
  });

/** Opens the image, runs `fn`, commits and closes (also on failure, keeping the last commit). */
async function withImage<T>(
  ctx: CommandContext,
  argv: ImageArgs,
  write: boolean,
  fn: (l: BtrfsLayer) => Promise<T>,
  opts: { compression?: Compression; oneShot?: boolean } = {},
): Promise<T> {
  const img = imagePath(ctx, argv);
  if (write) await loadHolePunching(); // freed space goes back to the host (docs/btrfs.md)
  const layer = BtrfsLayer.open(img, {
    readOnly: !write,
    ...(opts.compression ? { compression: opts.compression } : {}),
    // A copy reads or writes each byte once: a data cache would only be filled and thrown away.
    ...(opts.oneShot ? { dataCacheBytes: 0 } : {}),
  });
  let ok = false;
  try {
    const r = await fn(layer);
    ok = true;
    return r;
  } finally {
    if (ok) await layer.close();
    else {
      layer.fs.abort();
      await layer.close();
    }
  }
}

/**
 * A change to the home's image: sent to the home's kernel when one runs (it is then the image's only
 * writer, docs/skyer.md "Writers and readers"), else made on the image directly. An image named
 * with `--image` is always opened directly (while a kernel holds it: BTRFS_IMAGE_LOCKED).
 */
async function viaKernel<T>(
  ctx: CommandContext,
  argv: ImageArgs,
  remote: (k: RemoteFs) => Promise<T>,
  direct: (l: BtrfsLayer) => Promise<T>,
  opts: { compression?: Compression; oneShot?: boolean } = {},
): Promise<T> {
  const own = argv.image === undefined;
  for (let attempt = 1; ; attempt++) {
    const k = own ? await kernelTree(ctx.home()) : undefined;
    if (k !== undefined) {
      try {
        return await remote(k);
      } finally {
        await k.close();
      }
    }
    try {
      return await withImage(ctx, argv, true, direct, opts);
    } catch (e) {
      // A kernel that started meanwhile took the image: ask it.
      if (!own || attempt >= 2 || (e as { code?: string }).code !== "BTRFS_IMAGE_LOCKED") throw e;
    }
  }
}

/** Files at least this large show progress while copied (on a terminal only: Output.progress). */
const PROGRESS_FROM_BYTES = 8 << 20;

/** Progress of one put/get on stderr, started at the first piece of a large file. */
function copyProgress(ctx: CommandContext, label: string) {
  let bar: Progress | undefined;
  const mib = (n: number) => (n / (1 << 20)).toFixed(1);
  return {
    update: (done: number, total: number) => {
      if (total < PROGRESS_FROM_BYTES) return;
      bar ??= ctx.out.progress(label, total);
      bar.update(done, `${mib(done)} / ${mib(total)} MiB`);
    },
    done: () => bar?.done(),
  };
}

function cmd<A>(def: {
  command: string;
  describe: string;
  builder: (y: Argv<ImageArgs>) => Argv<A>;
  handler: (
    ctx: CommandContext,
    argv: A & ImageArgs,
  ) => Promise<number | undefined> | Promise<void>;
}): CommandModule<ImageArgs, A & ImageArgs> {
  return {
    command: def.command,
    describe: def.describe,
    builder: (y) =>
      def.builder(imageOption(y) as Argv<ImageArgs>) as unknown as Argv<A & ImageArgs>,
    handler: (argv) =>
      runCommand(argv, (ctx) => def.handler(ctx, argv as unknown as A & ImageArgs)),
  };
}

const mkfsCmd = cmd({
  command: "mkfs [file]",
  describe: "Create a Btrfs image (btrfs check and Linux accept it)",
  builder: (y) =>
    y
      .positional("file", {
        type: "string",
        describe: "Image file to create (default: the home's image)",
      })
      .option("size", { type: "string", default: "256M", describe: "Image size, e.g. 256M, 4G" })
      .option("label", { type: "string", default: "nightos", describe: "Filesystem label" })
      .option("metadata", {
        choices: ["dup", "single"] as const,
        default: "dup" as const,
        describe: "Metadata profile",
      })
      .option("nodesize", {
        type: "string",
        default: "16384",
        describe: "Tree block size (4096..65536)",
      })
      .option("force", { type: "boolean", default: false, describe: "Overwrite an existing file" }),
  handler: async (ctx, argv) => {
    const file = argv.file ?? imagePath(ctx, argv);
    if (fs.existsSync(file) && !argv.force) {
      throw new NcwError("conflict", `${file} already exists`, {
        code: "BTRFS_IMAGE_EXISTS",
        hint: "Pass --force to overwrite it.",
      });
    }
    const size = parseSize(argv.size);
    const nodesize = intArg(
      argv.nodesize,
      "--nodesize",
      { min: 4096, max: 65536 },
      "BTRFS_BAD_NODESIZE",
    );
    const lock = lockImage(file);
    try {
      const r = mkfsImageFile(file, size, {
        label: argv.label,
        metadata: argv.metadata,
        nodesize,
      });
      if (ctx.out.json)
        ctx.out.data({ image: file, size: r.size, nodesize: r.nodesize, chunks: r.chunks.length });
      else
        ctx.out.info(
          `created ${file}: ${r.size} bytes, ${r.chunks.length} chunks, metadata ${argv.metadata}`,
        );
    } finally {
      lock.release();
    }
  },
});

const lsCmd = cmd({
  command: "ls [path]",
  describe: "List a folder of the image",
  builder: (y) =>
    y
      .positional("path", { type: "string", default: "/", describe: "NightOS path" })
      .option("long", {
        alias: "l",
        type: "boolean",
        default: false,
        describe: "Show kind, size, time and FEID",
      }),
  handler: (ctx, argv) =>
    withImage(ctx, argv, false, async (l) => {
      // Each entry's stat comes with it (BtrfsLayer.list): a name that is not valid UTF-8 could
      // not be looked up again by its text.
      const rows = (await l.list(argv.path)).map((e) => ({
        name: e.name,
        ...(e.raw ? { nameHex: Buffer.from(e.raw).toString("hex") } : {}),
        kind: e.kind,
        size: e.stat?.size ?? 0,
        mtimeMs: e.stat?.mtimeMs ?? 0,
        feid: e.stat?.feid ?? 0n,
      }));
      // Names come from the image: exact in --json, made safe for the terminal otherwise.
      if (ctx.out.json) ctx.out.data(rows);
      else if (argv.long) {
        for (const r of rows) {
          ctx.out.info(
            `${r.kind.padEnd(7)} ${String(r.size).padStart(12)} ${new Date(r.mtimeMs).toISOString()} ${`0x${r.feid.toString(16)}`.padStart(14)} ${safeText(r.name)}`,
          );
        }
      } else
        for (const r of rows) ctx.out.info(`${safeText(r.name)}${r.kind === "dir" ? "/" : ""}`);
    }),
});

/** The inode and metadata of what `path` names in the image, or FS_NOT_FOUND. */
async function entryAt(l: BtrfsLayer, path: string) {
  const id = await l.inodeAt(path);
  const st = await l.stat(path);
  if (!id || !st) {
    throw new NcwError("not-found", `no such file in the image: ${path}`, { code: "FS_NOT_FOUND" });
  }
  return { id, st };
}

const catCmd = cmd({
  command: "cat <path>",
  describe: "Print a file of the image",
  builder: (y) =>
    y.positional("path", { type: "string", demandOption: true, describe: "NightOS path" }),
  handler: (ctx, argv) =>
    withImage(
      ctx,
      argv,
      false,
      async (l) => {
        const { id, st } = await entryAt(l, argv.path);
        if (st.kind === "dir")
          throw new NcwError("conflict", `${argv.path} is a folder`, { code: "FS_IS_DIR" });
        // Through stdout's stream, waiting for each chunk to be taken: stdout may be a non-blocking
        // pipe (a synchronous write would fail with EAGAIN when the reader is slower than us).
        await l.exclusive((f) => streamFile(f, id, (chunk) => ctx.out.write(chunk)));
      },
      { oneShot: true },
    ),
});

const putCmd = cmd({
  command: "put <source> <path>",
  describe: "Copy a host file (or, with -r, a folder) into the image",
  builder: (y) =>
    y
      .positional("source", { type: "string", demandOption: true, describe: "Host file or folder" })
      .positional("path", { type: "string", demandOption: true, describe: "NightOS path" })
      .option("recursive", {
        alias: "r",
        type: "boolean",
        default: false,
        describe: "Copy a folder with everything in it",
      })
      .option("compress", {
        choices: ["none", "zlib", "zstd"] as const,
        default: "none" as const,
        describe: "Compress the data extents",
      }),
  handler: async (ctx, argv) => {
    if (!fs.existsSync(argv.source)) {
      throw new NcwError("not-found", `host file ${argv.source} does not exist`, {
        code: "FS_HOST_MISSING",
      });
    }
    const recursive = fs.statSync(argv.source).isDirectory();
    if (recursive && !argv.recursive) {
      throw new NcwError("usage", `${argv.source} is a folder`, {
        code: "FS_HOST_IS_DIR",
        hint: "Pass -r to copy a folder.",
      });
    }
    type Put = Awaited<ReturnType<typeof putHostTree>> | { bytes: bigint; feid: bigint };
    const r: Put = await viaKernel(
      ctx,
      argv,
      (k) =>
        k.request<Put>({
          op: "putHost",
          hostPath: nodePath.resolve(argv.source),
          path: argv.path,
          recursive,
          compression: argv.compress,
        }),
      async (l) => {
        if (recursive) return putHostTree(l, argv.source, argv.path);
        const bar = copyProgress(ctx, `put ${argv.path}`);
        const { bytes, id } = await putHostFile(l, argv.source, argv.path, bar.update).finally(
          bar.done,
        );
        return { bytes, feid: feidOf(id) };
      },
      { compression: argv.compress, oneShot: true },
    );
    if ("files" in r) {
      for (const s of r.skipped) ctx.out.warn(`skipped ${s} (not a file, folder or symlink)`);
      if (ctx.out.json) ctx.out.data({ path: argv.path, ...r });
      else
        ctx.out.info(
          `${argv.path}: ${r.files} files, ${r.dirs} folders, ${r.links} symlinks, ${r.bytes} bytes`,
        );
      return;
    }
    if (ctx.out.json) ctx.out.data({ path: argv.path, bytes: r.bytes, feid: r.feid });
    else ctx.out.info(`${argv.path}: ${r.bytes} bytes`);
  },
});

const getCmd = cmd({
  command: "get <path> <dest>",
  describe: "Copy a file (or, with -r, a folder) of the image to the host",
  builder: (y) =>
    y
      .positional("path", { type: "string", demandOption: true, describe: "NightOS path" })
      .positional("dest", {
        type: "string",
        demandOption: true,
        describe: "Host file or folder to write",
      })
      .option("recursive", {
        alias: "r",
        type: "boolean",
        default: false,
        describe: "Copy a folder with everything in it",
      }),
  handler: (ctx, argv) =>
    withImage(
      ctx,
      argv,
      false,
      async (l) => {
        const { id, st } = await entryAt(l, argv.path);
        if (st.kind === "dir") {
          if (!argv.recursive) {
            throw new NcwError("conflict", `${argv.path} is a folder`, {
              code: "FS_IS_DIR",
              hint: "Pass -r to copy a folder.",
            });
          }
          const r = await getHostTree(l, argv.path, argv.dest);
          for (const s of r.skipped) ctx.out.warn(`skipped ${s.path}: ${s.reason}`);
          if (ctx.out.json) ctx.out.data({ path: argv.path, dest: argv.dest, ...r });
          else
            ctx.out.info(
              `${argv.dest}: ${r.files} files, ${r.dirs} folders, ${r.links} symlinks, ${r.bytes} bytes`,
            );
          // An incomplete copy is not a success (docs/btrfs.md "Copying out of an image").
          return r.skipped.length > 0 ? ExitCode.DATA : 0;
        }
        const fd = fs.openSync(argv.dest, "w");
        try {
          const bar = copyProgress(ctx, `get ${argv.path}`);
          const n = await l.exclusive((f) => getToHost(f, id, fd, bar.update)).finally(bar.done);
          if (ctx.out.json) ctx.out.data({ path: argv.path, dest: argv.dest, bytes: n });
          else ctx.out.info(`${argv.dest}: ${n} bytes`);
        } finally {
          fs.closeSync(fd);
        }
      },
      { oneShot: true },
    ),
});

const mkdirCmd = cmd({
  command: "mkdir <path>",
  describe: "Create a folder in the image",
  builder: (y) =>
    y
      .positional("path", { type: "string", demandOption: true, describe: "NightOS path" })
      .option("parents", {
        alias: "p",
        type: "boolean",
        default: false,
        describe: "Create missing parents; no error if it exists",
      }),
  handler: (ctx, argv) => {
    // Without -p a missing parent is the likely mistake: say so, and how to go on.
    const missingParent = (e: unknown): never => {
      if (argv.parents || !isNcwError(e) || e.code !== "FS_NOT_FOUND") throw e;
      throw new NcwError("not-found", `cannot create ${argv.path}: its parent folder is missing`, {
        code: "FS_NOT_FOUND",
        hint: "Pass -p to create the missing parent folders too.",
      });
    };
    return viaKernel(
      ctx,
      argv,
      (k) => k.mkdir(argv.path, { recursive: argv.parents }).catch(missingParent),
      (l) => l.mkdir(argv.path, { recursive: argv.parents }).catch(missingParent),
    );
  },
});
const rmCmd = cmd({
  command: "rm <path>",
  describe: "Remove a file, symlink, folder or subvolume from the image",
  builder: (y) =>
    y
      .positional("path", { type: "string", demandOption: true, describe: "NightOS path" })
      .option("recursive", {
        alias: "r",
        type: "boolean",
        default: false,
        describe: "Remove folders and what they hold",
      })
      .option("force", {
        alias: "f",
        type: "boolean",
        default: false,
        describe: "No error when missing",
      }),
  handler: (ctx, argv) => {
    const opts = { recursive: argv.recursive, force: argv.force };
    return viaKernel(
      ctx,
      argv,
      (k) => k.rm(argv.path, opts),
      (l) => l.rm(argv.path, opts),
    );
  },
});

const snapshotCmd = cmd({
  command: "snapshot <source> <dest>",
  describe: 'Snapshot a subvolume ("/" for the whole tree) — instant, shares all data',
  builder: (y) =>
    y
      .positional("source", { type: "string", demandOption: true, describe: "Subvolume path" })
      .positional("dest", {
        type: "string",
        demandOption: true,
        describe: "Where the snapshot appears",
      })
      .option("readonly", {
        type: "boolean",
        default: false,
        describe: "Make the snapshot read-only",
      }),
  handler: (ctx, argv) =>
    withImage(ctx, argv, true, async (l) => {
      const t0 = performance.now();
      const id = await l.snapshot(argv.source, argv.dest, { readOnly: argv.readonly });
      await l.sync();
      const ms = performance.now() - t0;
      if (ctx.out.json) ctx.out.data({ id, dest: argv.dest, ms });
      else ctx.out.info(`snapshot ${argv.dest} (subvolume ${id}) in ${ms.toFixed(1)} ms`);
    }),
});

const subvolumeCmd = cmd({
  command: "subvolume <action> [path]",
  describe: "Create, delete or list subvolumes",
  builder: (y) =>
    y
      .positional("action", {
        choices: ["create", "delete", "list"] as const,
        demandOption: true,
        describe: "What to do",
      })
      .positional("path", {
        type: "string",
        describe: "The subvolume (create, delete; delete also removes subvolumes inside it)",
      }),
  handler: (ctx, argv) =>
    withImage(ctx, argv, argv.action !== "list", async (l) => {
      if (argv.action !== "list" && !argv.path) {
        throw new NcwError("usage", `say which subvolume to ${argv.action}`, {
          code: "BTRFS_SUBVOL_PATH",
          hint: `ncw fs subvolume ${argv.action} /path/of/subvolume`,
        });
      }
      if (argv.action === "create") {
        const id = await l.createSubvolume(argv.path!);
        if (ctx.out.json) ctx.out.data({ id, path: argv.path });
        else ctx.out.info(`subvolume ${id} at ${argv.path}`);
        return;
      }
      if (argv.action === "delete") {
        const t0 = performance.now();
        await l.deleteSubvolume(argv.path!);
        await l.sync();
        const ms = performance.now() - t0;
        if (ctx.out.json) ctx.out.data({ deleted: argv.path, ms });
        else ctx.out.info(`deleted subvolume ${argv.path} in ${ms.toFixed(1)} ms`);
        return;
      }
      const list = await l.exclusive((f) => listSubvolumes(f));
      if (ctx.out.json)
        ctx.out.data(
          list.map((s) => ({ id: s.id, name: s.name, parent: s.parent, readOnly: s.readOnly })),
        );
      else
        for (const s of list)
          ctx.out.info(`${s.id}\t${safeText(s.name)}${s.readOnly ? "\t(read-only)" : ""}`);
    }),
});

const infoCmd = cmd({
  command: "info",
  describe: "Show the image's superblock, features, space and subvolumes",
  builder: (y) => y,
  handler: (ctx, argv) =>
    withImage(ctx, argv, false, async (l) => {
      const img = imagePath(ctx, argv);
      const dev = FileDevice.open(img, { readOnly: true });
      try {
        const info = await l.exclusive((f) => imageInfo(dev, f));
        const top = await l.stat("/");
        // How this NCW handles the image: the CRC-32C code in use and the data cache's bound.
        const host = {
          crc32c: crc32cBackend(),
          dataCacheBytes: await l.exclusive((f) => f.engine.dataCache.capacity),
        };
        if (ctx.out.json) ctx.out.data({ image: img, ...info, rootMtimeMs: top?.mtimeMs, ...host });
        else {
          ctx.out.info(`image:      ${img}`);
          ctx.out.info(
            `label:      ${safeText(info.label)}   fsid ${info.fsid}   generation ${info.generation}`,
          );
          ctx.out.info(`size:       ${info.totalBytes} bytes, ${info.bytesUsed} used`);
          ctx.out.info(`blocks:     node ${info.nodesize}, sector ${info.sectorsize}`);
          ctx.out.info(`features:   ${info.features.join(", ")}`);
          for (const c of info.chunks)
            ctx.out.info(
              `chunk:      ${c.type.padEnd(16)} at ${c.logical}, ${c.used}/${c.length} used`,
            );
          for (const s of info.subvolumes)
            ctx.out.info(
              `subvolume:  ${s.id} ${safeText(s.name)}${s.readOnly ? " (read-only)" : ""}`,
            );
          ctx.out.info(
            `this host: crc32c ${host.crc32c === "native" ? "native (CPU instruction)" : host.crc32c}, data cache up to ${Math.round(host.dataCacheBytes / 2 ** 20)} MiB`,
          );
        }
      } finally {
        dev.close();
      }
    }),
});

/** Bytes the image file takes on the host disk (allocated blocks; a sparse file takes less than its size). */
function onDisk(file: string): number {
  return fs.statSync(file).blocks * 512;
}

const trimCmd = cmd({
  command: "trim",
  describe: "Give the image's free space back to the host (punch it out of the sparse file)",
  builder: (y) => y,
  handler: (ctx, argv) =>
    withImage(ctx, argv, true, async (l) => {
      const img = imagePath(ctx, argv);
      const before = onDisk(img);
      const punched = await l.exclusive(async (f) => f.trim());
      const after = onDisk(img);
      if (ctx.out.json)
        ctx.out.data({ image: img, punched, onDiskBefore: before, onDiskAfter: after });
      else if (punched === 0n)
        ctx.out.info(
          `${img}: this host cannot punch holes in files; the image keeps its size on disk`,
        );
      else
        ctx.out.info(
          `${img}: ${(before / 2 ** 20).toFixed(1)} MiB on disk before, ${(after / 2 ** 20).toFixed(1)} MiB after`,
        );
    }),
});

const checkCmd = cmd({
  command: "check",
  describe: "Check the image's consistency (NCW's own walk; read-only)",
  builder: (y) =>
    y.option("data", {
      type: "boolean",
      default: true,
      describe: "Verify every data checksum (--no-data to skip)",
    }),
  handler: async (ctx, argv) => {
    // Loaded only here: the checker is large and no other command needs it.
    const { checkImage, formatCheckReport } = await import("../../services/fs/btrfs/check.js");
    const dev = FileDevice.open(imagePath(ctx, argv), { readOnly: true });
    try {
      const r = checkImage(dev, { dataCsums: argv.data });
      if (ctx.out.json) ctx.out.data(r);
      else for (const line of formatCheckReport(r)) ctx.out.info(safeText(line));
      return r.ok ? 0 : 1;
    } finally {
      dev.close();
    }
  },
});

export const fsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: "fs <command>",
  describe:
    "Work with NightOS Btrfs images (mkfs, ls, cat, put, get, mkdir, rm, snapshot, info, check, trim)",
  builder: (y) =>
    y
      .command(mkfsCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(lsCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(catCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(putCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(getCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(mkdirCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(rmCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(snapshotCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(subvolumeCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(trimCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(infoCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(checkCmd as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .demandCommand(1, "Say which fs command to run: see `ncw fs --help`.")
      .epilogue(
        "Images are genuine Btrfs: `btrfs check` accepts them and Linux mounts them. " +
          "Without --image, commands use nightos.img in the NCW home. See docs/btrfs.md.",
      ),
  handler: () => {},
};
