// Hydre's file commands (specs/shell-scripting.md "Native commands": wt, rd, mkdir, ren, mv, rm, ls,
// syml), the file end of redirections ("Redirecting the output to a file") and filesystem iteration's
// globs, on the NightOS tree (FsLayer: the home's Btrfs image from `ncw hydre`, memory in the
// conformance suite). Paths start from the script's folder, the user's NightOS home; decisions where
// the spec is silent: docs/hydre.md "Files".

import type { Value } from "../../commonassembly/abi/values.js";
import { NcwError } from "../../ncw/errors.js";
import type { CommandSpec } from "../../ncw/manifest/types.js";
import type { FsLayer } from "../fs/layer.js";
import type { CommandOutcome } from "./natives.js";
import { type HValue, type StreamSource, VOID } from "./values.js";

/** The NightOS tree a script's file commands work on, and where its relative paths start. */
export interface ScriptFs {
  /** The tree, opened when a file command first needs it. */
  tree(): Promise<FsLayer>;
  /** The script's folder (absolute): `./x` and `x/y` start here. */
  cwd: string;
  /** The user's home (absolute): `~/x` starts here. */
  home: string;
}

const flag = (short: string, help: string, long?: string) => ({
  syntax: "flag" as const,
  short,
  ...(long === undefined ? {} : { long }),
  help,
});
const pos = (type: string, help: string, optional = false) => ({
  syntax: "pos" as const,
  type,
  help,
  ...(optional ? { optional: true as const } : {}),
});

/** The typing of the file commands, as manifests type commands (checked by services/shell/arguments.ts). */
export const FILE_COMMANDS: Record<string, CommandSpec> = {
  // wt [-a] [-n] [-c] <path> <anystr>
  wt: {
    help: "Write a content to a file",
    return: "void",
    args: [
      { name: "append", arg: flag("a", "append to the end of the file") },
      { name: "no_newline", arg: flag("n", "no line break after the content") },
      {
        name: "existing",
        arg: flag("c", "fail if the file does not exist instead of creating it"),
      },
      { name: "path", arg: pos("path", "the file") },
      { name: "content", arg: pos("anystr", "what to write") },
    ],
  },
  // rd [-s] [--stream-size <int>] <path> (`-s`: the value is a `stream`, the checker's type)
  rd: {
    help: "Read a file as a string (-s: as a stream)",
    return: "string",
    args: [
      { name: "stream", arg: flag("s", "read a stream instead of reading the full content") },
      {
        name: "stream_size",
        arg: {
          syntax: "dash",
          long: "stream-size",
          type: "int",
          optional: true,
          requires: ["stream"],
          help: "the stream's buffer, in bytes (rounded up to 64 KiB)",
        },
      },
      { name: "path", arg: pos("path", "the file") },
    ],
  },
  // mkdir [-s] <path>
  mkdir: {
    help: "Create a directory (and its missing parents)",
    return: "void",
    args: [
      { name: "strict", arg: flag("s", "fail if the directory already exists") },
      { name: "path", arg: pos("path", "the directory") },
    ],
  },
  // ren [-m] <oldname: path> <newname: path>
  ren: {
    help: "Rename a filesystem item",
    return: "void",
    args: [
      { name: "move", arg: flag("m", "move if the new name is inside another directory") },
      { name: "oldname", arg: pos("path", "the item") },
      { name: "newname", arg: pos("path", "its new name") },
    ],
  },
  // mv [-n] <file: path> <dest_dir: path>
  mv: {
    help: "Move a filesystem item into a directory",
    return: "void",
    args: [
      { name: "create", arg: flag("n", "create the target directory if it does not exist") },
      { name: "file", arg: pos("path", "the item") },
      { name: "dest_dir", arg: pos("path", "the directory it goes into") },
    ],
  },
  // rm [-r | --recursive] [-n | --non-empty] [-t | --trash] {<path> | -l <list[path]>}
  rm: {
    help: "Remove a filesystem item",
    return: "void",
    args: [
      { name: "recursive", arg: flag("r", "allow removing an empty directory", "recursive") },
      { name: "non_empty", arg: flag("n", "allow removing a non-empty directory", "non-empty") },
      { name: "trash", arg: flag("t", "move the item to the user's trash", "trash") },
      {
        name: "list",
        arg: {
          syntax: "dash",
          short: "l",
          type: "list[path]",
          optional: true,
          conflicts: ["path"],
          help: "remove a list of paths",
        },
      },
      { name: "path", arg: pos("path", "the item", true) },
    ],
  },
  // ls [-t | --tree] [-r | --recursive] [-h | --hidden] [--file-only | --dir-only] [<path>]
  ls: {
    help: "List filesystem items",
    return: "list[path]",
    args: [
      { name: "tree", arg: flag("t", "display as a tree (implies -r)", "tree") },
      { name: "recursive", arg: flag("r", "list recursively", "recursive") },
      { name: "hidden", arg: flag("h", "list hidden items", "hidden") },
      {
        name: "file_only",
        arg: { syntax: "flag", long: "file-only", conflicts: ["dir_only"], help: "only files" },
      },
      { name: "dir_only", arg: { syntax: "flag", long: "dir-only", help: "only directories" } },
      { name: "path", arg: pos("path", "the directory (default: the script's folder)", true) },
    ],
  },
  // syml {-r | --read} <path>; syml [-u | --update] <srcpath> <targetpath> (docs/hydre.md "Files":
  // srcpath is the link, targetpath what it points to)
  syml: {
    help: "Read a symlink's target, or create a symlink",
    return: "path",
    args: [
      {
        name: "read",
        arg: {
          ...flag("r", "read the symlink's target", "read"),
          conflicts: ["update", "targetpath"],
        },
      },
      { name: "update", arg: flag("u", "replace the symlink if it exists", "update") },
      { name: "srcpath", arg: pos("path", "the symlink") },
      { name: "targetpath", arg: pos("path", "the path it points to", true) },
    ],
  },
};

/** The absolute NightOS path of a script's path: `/…` as is, `~/…` in the home, else from `cwd`. */
export function resolvePath(p: string, fs: Pick<ScriptFs, "cwd" | "home">): string {
  const base = p.startsWith("/") ? "" : p === "~" || p.startsWith("~/") ? fs.home : fs.cwd;
  const rest = p === "~" ? "" : p.startsWith("~/") ? p.slice(2) : p;
  const parts: string[] = [];
  for (const part of `${base}/${rest}`.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw new NcwError("usage", `${p} goes above the root folder`);
      parts.pop();
    } else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

const parentOf = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";
const baseName = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const joined = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
export const fileFailure = (message: string): CommandOutcome => ({
  ok: false,
  value: VOID,
  msg: [],
  err: [message],
});
const done = (value: HValue = VOID, display?: string): CommandOutcome & { display?: string } => ({
  ok: true,
  value,
  msg: [],
  err: [],
  ...(display === undefined ? {} : { display }),
});

const text = (v: Value | undefined) =>
  v?.type === "string" || v?.type === "path" ? v.value : undefined;
const isSet = (v: Value | undefined) => v?.type === "bool" && v.value;

/**
 * Runs a file command with its arguments as the argument reader gave them (declaration order). A
 * filesystem error is the command's failure, its message on CMDERR (as an app command's would be).
 */
export async function runFileCommand(
  name: string,
  values: readonly Value[],
  sfs: ScriptFs,
): Promise<CommandOutcome & { display?: string }> {
  try {
    return await fileCommand(name, values, sfs);
  } catch (e) {
    if (e instanceof NcwError) return fileFailure(`${name}: ${e.message}`);
    throw e;
  }
}

async function fileCommand(
  name: string,
  v: readonly Value[],
  sfs: ScriptFs,
): Promise<CommandOutcome & { display?: string }> {
  const at = (i: number) => resolvePath(text(v[i]) ?? ".", sfs);
  const fs = await sfs.tree();
  switch (name) {
    case "wt": {
      const file = at(3);
      const content = new TextEncoder().encode(`${text(v[4]) ?? ""}${isSet(v[1]) ? "" : "\n"}`);
      await writeText(fs, file, content, { append: isSet(v[0]), existing: isSet(v[2]) });
      return done();
    }
    case "rd": {
      const file = at(2);
      if (!isSet(v[0]))
        return done({ t: "string", v: new TextDecoder().decode(await fs.readFile(file)) });
      const size = v[1]?.type === "int" ? v[1].value : undefined;
      return done({ t: "stream", source: await fileStream(sfs, file, size) });
    }
    case "mkdir": {
      const dir = at(1);
      const st = await fs.stat(dir);
      if (st !== null) {
        if (st.kind !== "dir") return fileFailure(`mkdir: ${dir} exists and is not a directory`);
        if (isSet(v[0])) return fileFailure(`mkdir: ${dir} already exists`);
        return done();
      }
      await fs.mkdir(dir, { recursive: true });
      return done();
    }
    case "ren": {
      const from = at(1);
      const to = at(2);
      if (!isSet(v[0]) && parentOf(from) !== parentOf(to))
        return fileFailure(
          `ren: ${to} is in another directory than ${from} (give -m to move it there)`,
        );
      await fs.rename(from, to);
      return done();
    }
    case "mv": {
      const from = at(1);
      const dir = at(2);
      const st = await fs.stat(dir);
      if (st === null) {
        if (!isSet(v[0]))
          return fileFailure(`mv: the directory ${dir} does not exist (give -n to create it)`);
        await fs.mkdir(dir, { recursive: true });
      } else if (st.kind !== "dir") return fileFailure(`mv: ${dir} is not a directory`);
      await fs.rename(from, joined(dir, baseName(from)));
      return done();
    }
    case "rm": {
      const list = v[3];
      const paths =
        list?.type === "list" ? list.items.map((x) => resolvePath(text(x) ?? ".", sfs)) : [at(4)];
      for (const p of paths) await remove(fs, p, v, sfs);
      return done();
    }
    case "ls":
      return list(fs, text(v[5]), v, sfs);
    case "syml": {
      const link = at(2);
      if (isSet(v[0])) return done({ t: "path", v: await fs.readlink(link) });
      const target = at(3);
      const st = await fs.stat(link);
      if (st !== null) {
        if (st.kind !== "symlink") return fileFailure(`syml: ${link} exists and is not a symlink`);
        if (!isSet(v[1])) return fileFailure(`syml: ${link} exists (give -u to update it)`);
        await fs.rm(link);
      }
      await fs.symlink(target, link);
      return done({ t: "path", v: target });
    }
    default:
      throw new Error(`internal: ${name} is no file command`);
  }
}

async function writeText(
  fs: FsLayer,
  file: string,
  content: Uint8Array,
  opts: { append: boolean; existing: boolean },
): Promise<void> {
  const st = await fs.stat(file);
  if (st === null && opts.existing)
    throw new NcwError("not-found", `${file} does not exist (-c: it is not created)`);
  if (st !== null && st.kind !== "file")
    throw new NcwError("conflict", `${file} is not a file (it is a ${st.kind})`);
  // Appending adds the bytes at the file's end (FsLayer.appendFile): the file is never read or
  // rewritten, so a `>>` to a big file costs what it adds.
  if (opts.append && st !== null) await fs.appendFile(file, content);
  else await fs.writeFile(file, content);
}

/** Writes a redirected output (`>`, `>>`, `?>`, …): the text as is, appended for `>>`. */
export async function writeRedirect(
  sfs: ScriptFs,
  target: string,
  content: string,
  append: boolean,
): Promise<void> {
  const fs = await sfs.tree();
  await writeText(fs, resolvePath(target, sfs), new TextEncoder().encode(content), {
    append,
    existing: false,
  });
}

/** A pipe's buffer unit (specs ipc.md: "The default size of the pipe's buffer is 64 KB"). */
export const STREAM_UNIT = 64 * 1024;

/**
 * `rd -s`: the file as a stream the script holds (docs/hydre.md "Streams held by the script"), read
 * from the tree as it is asked, in bounded pieces. Modelled as a pipe of `bufferSize` (rounded up to
 * STREAM_UNIT; one unit by default) its writer fills from the file as the reader makes room: it is
 * pending while the file's last byte has not fitted in the buffer yet. (The bytes themselves are read
 * from the tree in the pieces the reader asks for, 1 MiB for a command's CMDIN.) Its size hint is
 * the file's size. Throws NcwError (missing, a folder).
 */
async function fileStream(
  sfs: ScriptFs,
  path: string,
  bufferSize: bigint | undefined,
): Promise<StreamSource> {
  const st = await (await sfs.tree()).stat(path);
  if (st === null) throw new NcwError("not-found", `no such file: ${path}`);
  if (st.kind === "dir") throw new NcwError("conflict", `${path} is a directory`);
  if (bufferSize !== undefined && (bufferSize < 1n || bufferSize > 1n << 30n))
    throw new NcwError("usage", `--stream-size ${bufferSize}: from 1 byte to 1 GiB`);
  const units = bufferSize === undefined ? 1 : Math.ceil(Number(bufferSize) / STREAM_UNIT);
  const buffer = units * STREAM_UNIT;
  const size = Number(st.size);
  let taken = 0;
  let ended = false;
  return {
    sizeHint: BigInt(size),
    pending: () => !ended && taken + buffer < size,
    async read(max) {
      if (ended) return null;
      // The tree may have been closed and reopened since (an app command ran): asked for each read.
      const bytes = await (await sfs.tree()).readRange(path, taken, max);
      if (bytes.length === 0) {
        ended = true;
        return null;
      }
      taken += bytes.length;
      return bytes;
    },
  };
}

/**
 * A stream read to its end as UTF-8 text (`echo -b`), at most `max` bytes (more fails: a string is
 * held whole). Throws NcwError (too large, a stream the script cannot read).
 */
export async function streamText(v: HValue, max: number): Promise<string> {
  const source = v.t === "stream" ? v.source : undefined;
  if (source === undefined)
    throw new NcwError(
      "usage",
      "this stream cannot be read by the script (an app command returned it)",
    );
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let b = await source.read(INPUT_CHUNK); b !== null; b = await source.read(INPUT_CHUNK)) {
    size += b.length;
    if (size > max)
      throw new NcwError(
        "usage",
        `the stream holds more than ${max} bytes: too large for a string`,
      );
    parts.push(b);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}

/**
 * `> file` / `>>` of a stream value (specs "Redirecting the output to a file": "stream values … are
 * written as they are"): its bytes, read and added to the file in pieces of OUTPUT_CHUNK, never
 * whole. Throws NcwError (the file, or a stream the script cannot read).
 */
export async function writeStreamRedirect(
  sfs: ScriptFs,
  target: string,
  v: HValue,
  append: boolean,
): Promise<void> {
  const source = v.t === "stream" ? v.source : undefined;
  if (source === undefined)
    throw new NcwError(
      "usage",
      "this stream cannot be read by the script (an app command returned it)",
    );
  const path = resolvePath(target, sfs);
  await writeText(await sfs.tree(), path, new Uint8Array(0), { append, existing: false });
  for (let b = await source.read(OUTPUT_CHUNK); b !== null; b = await source.read(OUTPUT_CHUNK))
    await (await sfs.tree()).appendFile(path, b);
}

/** How much of a `< file` is read at a time into a `stream` input: the CMDIN ring's size. */
export const INPUT_CHUNK = 1 << 20;

/**
 * The file of a `<` redirection (specs "Input of a command"; docs/hydre.md "Files"): checked to be
 * a file there is (a symlink is followed), then read whole as text or in pieces as a stream's bytes.
 * Throws NcwError (missing, a folder).
 */
export async function inputFile(
  sfs: ScriptFs,
  target: string,
): Promise<{
  path: string;
  /** Its text (UTF-8, as `rd` reads it); fails when it holds more than `max` bytes. */
  text(max: number): Promise<string>;
  /** The next piece of its bytes (at most INPUT_CHUNK), null at its end. */
  next(): Promise<Uint8Array | null>;
}> {
  const path = resolvePath(target, sfs);
  await (await sfs.tree()).readRange(path, 0, 0);
  let offset = 0;
  return {
    path,
    async text(max) {
      // The tree may have been closed and reopened since (an app command ran): asked for each read.
      const bytes = await (await sfs.tree()).readRange(path, 0, max + 1);
      if (bytes.length > max)
        throw new NcwError(
          "usage",
          `${path} holds more than ${max} bytes: too large for a typed input (a \`stream\` input takes any size)`,
        );
      return new TextDecoder().decode(bytes);
    },
    async next() {
      const bytes = await (await sfs.tree()).readRange(path, offset, INPUT_CHUNK);
      if (bytes.length === 0) return null;
      offset += bytes.length;
      return bytes;
    },
  };
}

/** How much of a command's CMDRAW `@>` holds before it adds it to the file (one commit each). */
export const OUTPUT_CHUNK = 4 << 20;

/**
 * The file of a `@>` redirection (docs/hydre.md "Files"): created, or emptied, now (its folder must
 * exist; a folder is refused), then written in pieces as the bytes come. Throws NcwError.
 */
export async function outputFile(
  sfs: ScriptFs,
  target: string,
): Promise<{
  path: string;
  /** Adds bytes (kept until OUTPUT_CHUNK of them are there); resolves once they may be reused. */
  write(bytes: Uint8Array): Promise<void>;
  /** Writes what is kept. */
  end(): Promise<void>;
}> {
  const path = resolvePath(target, sfs);
  await writeText(await sfs.tree(), path, new Uint8Array(0), { append: false, existing: false });
  let held: Uint8Array[] = [];
  let size = 0;
  const flush = async () => {
    if (size === 0) return;
    const all = new Uint8Array(size);
    let at = 0;
    for (const b of held) {
      all.set(b, at);
      at += b.length;
    }
    held = [];
    size = 0;
    // The tree may have been closed and reopened since (an app command ran): asked for each write.
    await (await sfs.tree()).appendFile(path, all);
  };
  return {
    path,
    async write(bytes) {
      held.push(bytes.slice());
      size += bytes.length;
      if (size >= OUTPUT_CHUNK) await flush();
    },
    end: flush,
  };
}

async function remove(fs: FsLayer, p: string, v: readonly Value[], sfs: ScriptFs): Promise<void> {
  const st = await fs.stat(p);
  if (st === null) throw new NcwError("not-found", `no such file or directory: ${p}`);
  if (st.kind === "dir") {
    const empty = (await fs.readdir(p)).length === 0;
    if (!isSet(v[1]) && !(isSet(v[0]) && empty))
      throw new NcwError(
        "conflict",
        empty
          ? `${p} is a directory (give -r to remove it)`
          : `${p} is a directory that is not empty (give -n to remove it and what it holds)`,
      );
  }
  if (isSet(v[2])) {
    const trash = resolvePath("~/trash", sfs);
    await fs.mkdir(trash, { recursive: true });
    let dest = joined(trash, baseName(p));
    for (let n = 2; (await fs.stat(dest)) !== null; n++)
      dest = joined(trash, `${baseName(p)}.${n}`);
    await fs.rename(p, dest);
    return;
  }
  await fs.rm(p, { recursive: st.kind === "dir" });
}

async function list(
  fs: FsLayer,
  given: string | undefined,
  v: readonly Value[],
  sfs: ScriptFs,
): Promise<CommandOutcome & { display?: string }> {
  const tree = isSet(v[0]);
  const recursive = tree || isSet(v[1]);
  const hidden = isSet(v[2]);
  const filesOnly = isSet(v[3]);
  const dirsOnly = isSet(v[4]);
  const root = resolvePath(given ?? ".", sfs);
  const st = await fs.stat(root);
  if (st === null) throw new NcwError("not-found", `no such directory: ${root}`);
  if (st.kind !== "dir") throw new NcwError("conflict", `${root} is not a directory`);
  // The listed items are written as the path given starts them (`./a.txt`, `/apps/x`).
  const prefix = given === undefined ? "." : given.replace(/\/+$/, "") || "/";
  const items: HValue[] = [];
  const lines: string[] = [];
  const walk = async (dir: string, shown: string, depth: number): Promise<void> => {
    const entries = (await fs.readdir(dir))
      .filter((e) => hidden || !e.name.startsWith("."))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = shown === "/" ? `/${e.name}` : `${shown}/${e.name}`;
      const keep = e.kind === "dir" ? !filesOnly : !dirsOnly;
      if (keep) {
        items.push({ t: "path", v: p });
        const mark = e.kind === "dir" ? "/" : "";
        lines.push(tree ? `${"  ".repeat(depth)}${e.name}${mark}` : `${p}${mark}`);
      }
      if (recursive && e.kind === "dir") await walk(joined(dir, e.name), p, depth + 1);
    }
  };
  await walk(root, prefix, 0);
  return done({ t: "list", items }, lines.length === 0 ? "" : `${lines.join("\n")}\n`);
}

const GLOB_CHARS = /[*?[]/;

/** A glob segment as a regular expression: `*` any characters, `?` one, `[…]` one of a set. */
function segmentRegex(seg: string): RegExp {
  let re = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = seg.indexOf("]", i + 2);
      if (close < 0) re += "\\[";
      else {
        const body = seg.slice(i + 1, close);
        const neg = body.startsWith("!") || body.startsWith("^");
        re += `[${neg ? "^" : ""}${(neg ? body.slice(1) : body).replace(/[\\\]]/g, "\\$&")}]`;
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "u");
}

/**
 * The items a glob pattern matches (specs "Filesystem iteration"), sorted, each written as the pattern
 * starts (`./a.txt` for `./*.txt`, `a/b.txt` for `**\/*.txt`). `**` is any number of directories;
 * `*` and `?` do not match a name's leading `.` (hidden items), as in POSIX shells.
 */
export async function globPaths(sfs: ScriptFs, pattern: string): Promise<string[]> {
  const segs = pattern.split("/");
  // The leading segments without glob characters are the folder the walk starts from.
  let n = 0;
  while (n < segs.length - 1 && !GLOB_CHARS.test(segs[n] as string)) n++;
  const baseText = segs.slice(0, n).join("/");
  const base = resolvePath(n === 0 ? "." : baseText === "" ? "/" : baseText, sfs);
  const rest = segs.slice(n);
  const fs = await sfs.tree();
  const found = new Set<string>();
  const shownOf = (shown: string, name: string) =>
    shown === "" ? name : shown.endsWith("/") ? `${shown}${name}` : `${shown}/${name}`;
  const walk = async (dir: string, shown: string, i: number): Promise<void> => {
    const seg = rest[i] as string;
    const last = i === rest.length - 1;
    if (seg === "**") {
      if (last) {
        // A final `**`: everything below.
        for (const e of await visible(fs, dir)) {
          found.add(shownOf(shown, e.name));
          if (e.kind === "dir") await walk(joined(dir, e.name), shownOf(shown, e.name), i);
        }
        return;
      }
      await walk(dir, shown, i + 1);
      for (const e of await visible(fs, dir))
        if (e.kind === "dir") await walk(joined(dir, e.name), shownOf(shown, e.name), i);
      return;
    }
    if (seg === "") {
      // `dir/` at the end (or `a//b`): the directory itself.
      if (last) found.add(shown === "" ? "." : `${shown}/`);
      else await walk(dir, shown, i + 1);
      return;
    }
    const re = GLOB_CHARS.test(seg) ? segmentRegex(seg) : undefined;
    const entries =
      re === undefined
        ? (await fs.readdir(dir)).filter((e) => e.name === seg)
        : (await visible(fs, dir)).filter((e) => re.test(e.name));
    for (const e of entries) {
      if (last) found.add(shownOf(shown, e.name));
      else if (e.kind === "dir") await walk(joined(dir, e.name), shownOf(shown, e.name), i + 1);
    }
  };
  const st = await fs.stat(base);
  if (st?.kind === "dir") await walk(base, n === 0 ? "" : baseText === "" ? "/" : baseText, 0);
  return [...found].sort();
}

const visible = async (fs: FsLayer, dir: string) =>
  (await fs.readdir(dir)).filter((e) => !e.name.startsWith("."));
